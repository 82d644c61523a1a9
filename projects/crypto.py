"""Encryption at rest for Jira credentials (Fernet, keys from the environment).

JIRASYNC_ENCRYPTION_KEYS lists keys newest first: the first encrypts, all of
them decrypt, so a key can be rotated in without losing stored tokens.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class TokenDecryptionError(Exception):
    """A stored token cannot be decrypted with any configured key."""


def encryption_key_problems(keys: list[str]) -> list[str]:
    """Return a description of every malformed key (empty when all are usable)."""
    if not keys:
        return ["JIRASYNC_ENCRYPTION_KEYS is empty"]
    problems = []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            problems.append(f"key #{position} is not a url-safe base64 32-byte Fernet key")
    return problems


@lru_cache(maxsize=4)
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def current_cipher() -> MultiFernet:
    return _cipher(tuple(settings.JIRASYNC_ENCRYPTION_KEYS))


def encrypt_token(clear: str) -> str:
    """Return the token encrypted with the newest key."""
    return current_cipher().encrypt(clear.encode()).decode()


def decrypt_token(stored: str) -> str:
    """Return the clear token, or raise TokenDecryptionError naming the cause (never the token)."""
    try:
        return current_cipher().decrypt(stored.encode()).decode()
    except (InvalidToken, ValueError) as exc:
        raise TokenDecryptionError(
            "stored token cannot be decrypted with JIRASYNC_ENCRYPTION_KEYS (was the key that encrypted it removed?)"
        ) from exc


def reencrypt_token(stored: str) -> str:
    """Return the token re-encrypted with the newest key (for key rotation)."""
    try:
        return current_cipher().rotate(stored.encode()).decode()
    except InvalidToken as exc:
        raise TokenDecryptionError("stored token cannot be decrypted with any configured key") from exc


def generate_key() -> str:
    return Fernet.generate_key().decode()
