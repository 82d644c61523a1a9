"""Keep secrets out of every log record, whichever logger or handler writes it."""

import json
import logging
import re
from datetime import UTC, datetime

from lib.secret_forms import REDACTED
from lib.secret_values import redact_secret_values

# A credential, as opposed to a word: 8+ characters mixing letters with digits, base64 punctuation or
# a lower-upper case change. "Basic authentication", "Bearer personal access token", "token: GET" are words.
_CHARS = r"[A-Za-z0-9._~+/=-]"


def _credential(shortest: int) -> str:
    return rf"(?={_CHARS}*?(?:[0-9+/=]|(?-i:[a-z][A-Z])))(?={_CHARS}*[A-Za-z]){_CHARS}{{{shortest},}}(?!{_CHARS})"


_CREDENTIAL = _credential(8)
# After a bare "token:" label, text is more often a word with a number ("token: Sprint2024 planning"):
# only a value as long as real tokens (Atlassian's are 24 characters and more) is taken for one.
_LONG_CREDENTIAL = _credential(16)
_SECRET_KEY = r"""(?:api[_-]?token|access[_-]?token|token|password|passwd|secret|api[_-]?key|private[_-]?key)"""

# Each pattern keeps its group 1 (the label) and replaces the secret after it. This is the second
# net: known secrets are removed by value first (secret_values).
_PATTERNS = [
    # Authorization headers: "Authorization: Basic abc", "'Authorization': 'Bearer x'"
    re.compile(rf"""(authorization['"]?\s*[:=]\s*['"]?(?:basic\s+|bearer\s+|token\s+)?){_CREDENTIAL}""", re.IGNORECASE),
    re.compile(rf"""(\b(?:basic|bearer)\s+){_CREDENTIAL}""", re.IGNORECASE),
    # key=value (query strings, command lines) and quoted "key": "value" pairs whose key names a secret
    re.compile(rf"""({_SECRET_KEY}=)[^\s'",}}&]+""", re.IGNORECASE),
    # (a quoted value only when the whole of it is one word: {"token": "must not be empty"} is a message)
    re.compile(rf"""(['"][\w-]*{_SECRET_KEY}['"]\s*:\s*['"])[^\s'",}}&]+(?=['"])""", re.IGNORECASE),
    # unquoted "key: value" (headers, YAML) only when the value looks like a credential, so that an
    # instance named "Cloud token" followed by an HTTP method stays readable
    re.compile(rf"""(\b{_SECRET_KEY}\s*:\s*){_LONG_CREDENTIAL}""", re.IGNORECASE),
    # credentials in URLs: scheme://user:password@host
    re.compile(r"""(\b[a-z][a-z0-9+.-]*://[^\s/:@]+:)[^\s/@]+(?=@)""", re.IGNORECASE),
]


def redact(text: str) -> str:
    """Return text with every known secret value, and every recognisable credential, replaced by ***."""
    text = redact_secret_values(text)
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
