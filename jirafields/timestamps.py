"""Jira timestamps, e.g. 2021-02-02T07:17:42.719+0000: milliseconds, offset without a colon.

Python 3.11+ `fromisoformat` reads that form directly, and is ~70x faster than strptime.
"""

from datetime import UTC, date, datetime


def parse_jira_datetime(value: str) -> datetime:
    """Return an aware UTC datetime, or raise ValueError when value has no time or no offset."""
    parsed = datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no time zone offset")
    return parsed.astimezone(UTC)


def parse_jira_date(value: str) -> date:
    """Return the date of a date or date-time string; a date-time keeps its own day, not UTC's."""
    text = value.strip()
    return date.fromisoformat(text) if len(text) <= 10 else datetime.fromisoformat(text).date()


def datetime_from_epoch_ms(value: int | float) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


def format_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, the form mapped datetimes are stored in."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
