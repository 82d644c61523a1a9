"""Reads of instances that more than one place needs."""

from collections.abc import Iterator

from projects.crypto import TokenDecryptionError, decrypt_token
from projects.models import JiraInstance


def instance_secret_values() -> Iterator[tuple[str, str]]:
    """(secret, user name) for every stored token and webhook secret, for redaction by value."""
    rows = JiraInstance.objects.values_list("username", "token_encrypted", "webhook_secret_encrypted")
    for username, token, webhook_secret in rows:
        for stored, user in ((token, username), (webhook_secret, "")):
            if stored:
                try:
                    yield decrypt_token(stored), user
                except TokenDecryptionError:
                    continue
