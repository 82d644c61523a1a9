"""NUL characters, which PostgreSQL stores in neither text nor JSON, and Jira may send in any string."""

from typing import Any


def without_nul(value: Any) -> Any:
    """The value with NUL characters removed from every string: PostgreSQL stores none, in text or JSON."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    if isinstance(value, dict):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    return value
