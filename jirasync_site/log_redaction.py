"""Keep secrets out of every log record, whichever logger or handler writes it."""

import json
import logging
import re
from datetime import UTC, datetime

REDACTED = "***"

# Each pattern keeps its group 1 (the label) and replaces the secret after it.
_PATTERNS = [
    # Authorization headers: "Authorization: Basic abc", "'Authorization': 'Bearer x'"
    re.compile(r"""(authorization['"]?\s*[:=]\s*['"]?(?:basic|bearer|token)?\s*)[^\s'",}]+""", re.IGNORECASE),
    re.compile(r"""(\b(?:basic|bearer)\s+)[A-Za-z0-9._~+/=-]{8,}""", re.IGNORECASE),
    # key=value and "key": "value" pairs whose key names a secret
    re.compile(
        r"""((?:api[_-]?token|access[_-]?token|token|password|passwd|secret|api[_-]?key|private[_-]?key)"""
        r"""['"]?\s*[:=]\s*['"]?)[^\s'",}&]+""",
        re.IGNORECASE,
    ),
    # credentials in URLs: scheme://user:password@host
    re.compile(r"""(\b[a-z][a-z0-9+.-]*://[^\s/:@]+:)[^\s/@]+(?=@)""", re.IGNORECASE),
]


def redact(text: str) -> str:
    """Return text with every recognised secret replaced by ***."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


class RedactSecretsFilter(logging.Filter):
    """Rewrite the formatted message (and exception text) of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = redact(message)
        record.args = None
        if record.exc_info:
            formatter = logging.Formatter()
            record.exc_text = redact(formatter.formatException(record.exc_info))
            record.exc_info = None
        return True


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per line, for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:
            entry["exception"] = record.exc_text
        elif record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)
