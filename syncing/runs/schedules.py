"""Each instance's django-q2 Schedules, created or updated idempotently from its settings, and when they run.

Schedule names are not unique in django-q2, so the ids are kept on the instance (`schedule_ids`).
A disabled or paused instance's schedules are paused (repeats = 0), not deleted; an instance being deleted
has none. The instance is the only place they are edited: django-q2's own schedule admin is read-only
(jirasync's queue_admin).

When a schedule runs next:
- a new schedule, or one whose interval or cron changed: an interval from now, or the cron's next slot;
- a paused one resumed: when it was due (a time that passed while paused runs once, at once, as after
  a worker outage — django-q2's catch_up is off);
- after an instance run that stands for it finished (a full sync stands for the next full, census and
  incremental; `instance_schedules_after_run`): an interval after that run, so the first scheduled runs
  of a new instance do not repeat the full sync that was just run.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from croniter import croniter
from django.db import transaction
from django.utils import timezone
from django.utils.timesince import timeuntil
from django_q.models import Schedule

from projects.models import JiraInstance

TASK = "syncing.tasks.sync_instance_task"
PURPOSES = ("incremental", "full", "census")
# The schedules an instance run of each kind stands for once it finished: a full sync re-reads
# everything and ends with a census.
STANDS_FOR = {"full": PURPOSES, "incremental": ("incremental",), "census": ("census",)}
# A run that ended so counts; a failed or cancelled one leaves the schedules as they were.
COUNTED = ("succeeded", "partial")


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


def schedule_next_after(spec: dict, after: datetime, *, ran: bool) -> datetime:
    """When a schedule (its type, minutes, cron) runs next, counted from `after` (aware).

    ran: `after` is when a run it stands for finished. An interval then counts from it; a cron slot
    less than half the cron's period after it is skipped (it would re-read what was just read).
    """
    if spec["schedule_type"] != Schedule.CRON:
        return after + timedelta(minutes=spec["minutes"])
    slots = croniter(spec["cron"], after)
    first = slots.get_next(datetime)
    if not ran:
        return first
    second = slots.get_next(datetime)
    return second if first - after < (second - first) / 2 else first


def instance_schedules_ensure(instance: JiraInstance) -> dict[str, int]:
    """Create, update, pause or remove the instance's schedules so they match its settings; return their ids.

    Only the columns that differ are written: django-q2's scheduler moves next_run meanwhile.
    """
    kept: dict[str, int] = {}
    now = timezone.now()
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
                "repeats": -1 if instance.enabled and not instance.schedules_paused else 0,
            }
            if schedule is None:
                schedule = Schedule.objects.create(**values, next_run=schedule_next_after(spec, now, ran=False))
            else:
                changed = {key: value for key, value in values.items() if getattr(schedule, key) != value}
                if any(key in changed for key in ("schedule_type", "minutes", "cron")):
                    changed["next_run"] = schedule_next_after(spec, now, ran=False)
                if changed:
                    Schedule.objects.filter(pk=schedule.pk).update(**changed)
            kept[purpose] = schedule.pk
        if kept != instance.schedule_ids:
            JiraInstance.objects.filter(pk=instance.pk).update(schedule_ids=kept)
            instance.schedule_ids = kept
    return kept


def instance_schedules_after_run(run, *, dry_run: bool = False) -> list[str]:
    """Move the next runs of the schedules a finished instance run stands for to an interval after it.

    run: a finished instance-level SyncRun. Never moves a schedule earlier; the schedule that started
    the run was already moved on by django-q2. Returns the purposes moved.
    """
    if dry_run or run.project_id or run.parent_id or run.status not in COUNTED or not run.finished_at:
        return []
    instance = JiraInstance.objects.get(pk=run.instance_id)
    wanted = _wanted(instance)
    moved = []
    for purpose in STANDS_FOR.get(run.kind, ()):
        schedule_id, spec = instance.schedule_ids.get(purpose), wanted[purpose]
        if schedule_id is None or spec is None or (run.trigger == "schedule" and purpose == run.kind):
            continue
        due = schedule_next_after(spec, run.finished_at, ran=True)
        if Schedule.objects.filter(pk=schedule_id, next_run__lt=due).update(next_run=due):
            moved.append(purpose)
    return moved


@dataclass(frozen=True)
class ScheduleState:
    purpose: str  # incremental, full, census
    every: str  # "every 15 min", "cron 30 3 * * 0"
    next_run: datetime | None
    paused: bool
    instance_enabled: bool = True

    def when(self) -> str:
        """When it runs next, in words: "in 12 minutes", "paused", "due: …"."""
        if not self.instance_enabled:
            return "off (instance disabled)"
        if self.paused:
            return "paused"
        if self.next_run is None:
            return "not planned"
        if self.next_run <= timezone.now():
            return "due: runs at the queue worker's next check"
        return f"in {timeuntil(self.next_run, depth=1)}".replace("\xa0", " ")  # read in terminals too


def instances_schedule_states(instances) -> dict[int, list[ScheduleState]]:
    """Each instance's schedules as they stand (one query for all): purpose order, off ones left out."""
    owner = {sid: (instance.pk, purpose) for instance in instances for purpose, sid in instance.schedule_ids.items()}
    rows = Schedule.objects.filter(pk__in=list(owner)).values(
        "pk", "schedule_type", "minutes", "cron", "next_run", "repeats"
    )
    states: dict[int, list[ScheduleState]] = {instance.pk: [] for instance in instances}
    enabled = {instance.pk: instance.enabled for instance in instances}
    for row in rows:
        instance_id, purpose = owner[row["pk"]]
        every = f"cron {row['cron']}" if row["schedule_type"] == Schedule.CRON else f"every {row['minutes']} min"
        states[instance_id].append(
            ScheduleState(purpose, every, row["next_run"], row["repeats"] == 0, enabled[instance_id])
        )
    for found in states.values():
        found.sort(key=lambda state: PURPOSES.index(state.purpose))
    return states


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
