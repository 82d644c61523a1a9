"""An instance's full-sync cron, checked as django-q2's scheduler will read it (croniter, UTC)."""

from datetime import UTC, datetime

from croniter import CroniterError, croniter
from django.core.exceptions import ValidationError


def validate_cron(value: str) -> None:
    """Five fields (minute hour day-of-month month day-of-week) that name a time that comes.

    Raises ValidationError otherwise: a cron that never fires (30 3 31 2 *) would make django-q2's
    scheduler fail on it at every tick, holding up every other schedule with it.
    """
    fields = value.split()
    if len(fields) != 5:
        raise ValidationError(
            f"A cron has five fields (minute hour day-of-month month day-of-week, UTC), e.g. 30 3 * * 0; "
            f"this has {len(fields)}."
        )
    try:
        croniter(value, datetime.now(UTC)).get_next(datetime)
    except (CroniterError, ValueError, KeyError) as exc:
        raise ValidationError(f"Not a cron that comes round: {exc}") from None
