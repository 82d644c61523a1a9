"""Admin messages go through redaction: an action reporting what Jira said must not show an echoed token."""

from django.contrib.messages.storage.fallback import FallbackStorage
from django.utils.safestring import SafeData, mark_safe

from lib.log_redaction import redact


class RedactingStorage(FallbackStorage):
    def add(self, level: int, message, extra_tags: str | None = "") -> None:
        text = str(message)
        cleaned = redact(text)
        if cleaned != text:
            # *** adds no markup, so a message that was safe HTML stays safe.
            message = mark_safe(cleaned) if isinstance(message, SafeData) else cleaned
        super().add(level, message, extra_tags)
