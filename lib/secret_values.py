"""Redaction by value: every secret jirasync knows, in every encoding it may come back in, becomes ***.

A Jira error page or a proxy may echo what it was sent: the Authorization header (base64 of
`user:token`), the token URL-encoded in a query string, the bare token. Patterns cannot recognise
those reliably, so every secret value is registered here when it is stored or read (instance tokens
and webhook secrets) or configured (the metrics token, SECRET_KEY, the encryption keys), and removed
from any text in all its forms. The pattern filter (`log_redaction`) remains a second net.

Secrets shorter than secret_forms.MIN_LENGTH are not redacted by value: removing a four-letter word
everywhere would mangle ordinary text.
"""

import re
import threading
import time
from collections.abc import Callable, Iterable

from lib.secret_forms import REDACTED, secret_forms

RELOAD_AFTER_FAILURE_SECONDS = 60.0

# (secret, user name or "") pairs, e.g. every instance's token and webhook secret from the database.
SecretSource = Callable[[], Iterable[tuple[str, str]]]


class KnownSecrets:
    """The set of secret forms this process knows, compiled into one pattern (longest first)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._forms: set[str] = set()
        self._pattern: re.Pattern | None = None
        self._sources: list[SecretSource] = []
        self._loaded_at: float | None = None
        self._failed_at: float | None = None
        self._busy = threading.local()
        self._settings_seen: tuple = ()

    def remember(self, secret: str, username: str = "") -> None:
        forms = secret_forms(secret, username) if secret else set()
        if forms - self._forms:
            with self._lock:
                self._forms |= forms
                self._pattern = None

    def add_source(self, source: SecretSource) -> None:
        """A callable listing stored secrets, read once on first use (and after a failure, a minute later)."""
        self._sources.append(source)
        self._loaded_at = None

    def redact(self, text: str) -> str:
        if not text:
            return text
        self._load()
        pattern = self._compiled()
        return pattern.sub(REDACTED, text) if pattern else text

    def _compiled(self) -> re.Pattern | None:
        pattern = self._pattern
        if pattern is None and self._forms:
            with self._lock:
                forms = sorted(self._forms, key=len, reverse=True)
                pattern = self._pattern = re.compile("|".join(re.escape(form) for form in forms))
        return pattern

    def _load(self) -> None:
        self._remember_settings()
        if self._loaded_at is not None or getattr(self._busy, "on", False):
            return
        if self._failed_at is not None and time.monotonic() - self._failed_at < RELOAD_AFTER_FAILURE_SECONDS:
            return
        self._busy.on = True  # a log record written while loading must not load again
        try:
            for source in self._sources:
                for secret, username in source():
                    self.remember(secret, username)
            self._loaded_at = time.monotonic()
        except Exception:  # no database yet, or none allowed here: the values met later still count
            self._failed_at = time.monotonic()
        finally:
            self._busy.on = False

    def _remember_settings(self) -> None:
        try:
            from django.conf import settings

            current = (
                settings.METRICS_TOKEN,
                settings.SECRET_KEY,
                *getattr(settings, "JIRASYNC_ENCRYPTION_KEYS", []),
            )
        except Exception:  # settings not configured yet
            return
        if current != self._settings_seen:
            self._settings_seen = current
            for value in current:
                self.remember(value or "")


KNOWN_SECRETS = KnownSecrets()


def secrets_remember(secret: str, username: str = "") -> None:
    """Register a secret (and, for basic auth, the user it goes with) so that it is redacted everywhere."""
    KNOWN_SECRETS.remember(secret, username)


def redact_secret_values(text: str) -> str:
    """text with every known secret, in any of its forms, replaced by ***."""
    return KNOWN_SECRETS.redact(text)
