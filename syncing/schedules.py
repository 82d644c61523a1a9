"""Each instance's django-q2 Schedules, created or updated idempotently from its settings.

Schedule names are not unique in django-q2, so the ids are kept on the instance (`schedule_ids`).
A disabled instance's schedules are paused (repeats = 0), not deleted; an instance being deleted has none.
"""

from django.db import transaction
from django_q.models import Schedule

from projects.models import JiraInstance

TASK = "syncing.tasks.sync_instance_task"


def _wanted(instance: JiraInstance) -> dict[str, dict | None]:
    """The schedules the instance's settings ask for, by purpose (None: that one is off; all are for an
    instance being deleted)."""
    if instance.being_deleted:
        return {"incremental": None, "full": None, "census": None}

    def every(minutes: int, kind: str) -> dict | None:
        if not minutes:
            return None
        return {"schedule_type": Schedule.MINUTES, "minutes": minutes, "cron": None, "args": args(kind)}

    def args(kind: str) -> str:
        return f"{instance.pk}, {kind!r}, 'schedule'"  # django-q2 stores args as text

    full = every(instance.full_every_minutes, "full")
    if full is None and instance.full_cron:
        full = {"schedule_type": Schedule.CRON, "minutes": None, "cron": instance.full_cron, "args": args("full")}
    return {
        "incremental": every(instance.incremental_every_minutes, "incremental"),
        "full": full,
        "census": every(instance.census_every_minutes, "census"),
    }


def instance_schedules_ensure(instance: JiraInstance) -> dict[str, int]:
    """Create, update, pause or remove the instance's schedules so they match its settings; return their ids."""
    kept: dict[str, int] = {}
    with transaction.atomic():
        for purpose, spec in _wanted(instance).items():
            schedule = Schedule.objects.filter(pk=instance.schedule_ids.get(purpose)).first()
            if spec is None:
                if schedule:
                    schedule.delete()
                continue
            values = {
                **spec,
                "func": TASK,
                "name": f"jirasync {instance.slug} {purpose}",
                "repeats": -1 if instance.enabled else 0,
            }
            if schedule is None:
                schedule = Schedule.objects.create(**values)
            else:
                changed = {k: v for k, v in values.items() if getattr(schedule, k) != v}
                if changed:
                    for key, value in changed.items():
                        setattr(schedule, key, value)
                    schedule.save()
            kept[purpose] = schedule.pk
        if kept != instance.schedule_ids:
            JiraInstance.objects.filter(pk=instance.pk).update(schedule_ids=kept)
            instance.schedule_ids = kept
    return kept


# Schedules of the whole site, one each, found by their task (instance schedules have their ids kept).
HOUSEKEEPING = {
    "syncing.tasks.heartbeat_task": {"schedule_type": Schedule.MINUTES, "minutes": 1, "name": "queue heartbeat"},
    "syncing.tasks.prune_task": {"schedule_type": Schedule.DAILY, "minutes": None, "name": "prune old runs and logs"},
}


def housekeeping_schedules_ensure() -> int:
    for func, values in HOUSEKEEPING.items():
        with transaction.atomic():
            existing = list(Schedule.objects.select_for_update().filter(func=func).order_by("pk"))
            for extra in existing[1:]:
                extra.delete()
            if existing:
                Schedule.objects.filter(pk=existing[0].pk).update(repeats=-1, **values)
            else:
                Schedule.objects.create(func=func, repeats=-1, **values)
    return len(HOUSEKEEPING)


def schedules_ensure_all() -> int:
    count = housekeeping_schedules_ensure()
    for instance in JiraInstance.objects.all():
        count += len(instance_schedules_ensure(instance))
    return count
