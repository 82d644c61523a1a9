"""Schedules as instance settings (#17 item 6): when each one runs next, pause and resume, and the first
scheduled runs of a new instance not repeating the full sync that was just run."""

import io
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Schedule
from django_q.scheduler import scheduler

from audit.services import COMMAND
from syncing.instance_settings import instance_save
from syncing.models import SyncRun
from syncing.runs.bookkeeping import RunOptions, run_queue
from syncing.runs.schedules import schedule_next_after
from tests.support.sites import register

pytestmark = pytest.mark.django_db(transaction=True)

INTERVALS = {"full": 60, "census": 360, "incremental": 15}


def schedules_of(instance) -> dict[str, Schedule]:
    instance.refresh_from_db()
    return {purpose: Schedule.objects.get(pk=pk) for purpose, pk in instance.schedule_ids.items()}


def queued_by_the_scheduler(instance) -> list[str]:
    """What django-q2's scheduler queues now from the instance's schedules (it records each task it made)."""
    scheduler(get_broker())
    return sorted(purpose for purpose, schedule in schedules_of(instance).items() if schedule.task)


def instance_run(instance) -> SyncRun:
    return SyncRun.objects.filter(instance=instance, parent=None, project=None).latest("id")


def test_a_new_instance_waits_an_interval_and_its_initial_full_sync_moves_every_schedule_past_it(
    cloud_site, reference_mappings
):
    instance = register(cloud_site, "instance_1", full_every_minutes=INTERVALS["full"])
    added = timezone.now()
    for purpose, schedule in schedules_of(instance).items():  # nothing due the moment it is added
        assert schedule.next_run >= added + timedelta(minutes=INTERVALS[purpose]) - timedelta(seconds=30), purpose
    # The initial full sync outlasted the incremental interval: every schedule came due meanwhile.
    ids = list(instance.schedule_ids.values())
    Schedule.objects.filter(pk__in=ids).update(next_run=timezone.now() - timedelta(seconds=1))
    call_command("sync_jira", "instance_1", "--full", stdout=io.StringIO())
    run = instance_run(instance)
    assert (run.kind, run.status) == ("full", "succeeded")
    moved = schedules_of(instance)
    for purpose, minutes in INTERVALS.items():
        assert moved[purpose].next_run == run.finished_at + timedelta(minutes=minutes), purpose
    assert queued_by_the_scheduler(instance) == []  # the scheduler's next tick repeats none of it


def test_a_full_sync_through_the_queue_moves_the_schedules_when_its_last_project_closes_it(
    cloud_site, reference_mappings, monkeypatch
):
    from syncing import tasks

    enqueued = []
    monkeypatch.setattr(tasks, "async_task", lambda func, *args, **kwargs: enqueued.append(args))
    instance = register(cloud_site, "instance_1", full_every_minutes=INTERVALS["full"])
    Schedule.objects.filter(pk__in=list(instance.schedule_ids.values())).update(next_run=timezone.now())
    queued = run_queue(instance, None, RunOptions(full=True, trigger=SyncRun.Trigger.ADMIN))  # Sync now (full)
    tasks.sync_instance_task(instance.pk, "full", "admin", queued.pk)
    for args in enqueued:  # as the queue's workers would
        tasks.sync_project_task(*args)
    run = SyncRun.objects.get(pk=queued.pk)
    assert run.status == SyncRun.Status.SUCCEEDED
    moved = schedules_of(instance)
    for purpose, minutes in INTERVALS.items():
        assert moved[purpose].next_run == run.finished_at + timedelta(minutes=minutes), purpose
    assert queued_by_the_scheduler(instance) == []


def test_a_run_moves_only_what_it_stands_for_and_never_the_schedule_that_started_it(cloud_site, reference_mappings):
    from syncing.runs.runner import sync_instance

    instance = register(cloud_site, "instance_1")
    before = {purpose: schedule.next_run for purpose, schedule in schedules_of(instance).items()}
    # A scheduled incremental: django-q2 already moved its schedule on when it queued it.
    sync_instance(instance.pk, RunOptions(trigger=SyncRun.Trigger.SCHEDULE))
    assert {p: s.next_run for p, s in schedules_of(instance).items()} == before
    # The same from Sync now moves the incremental schedule, and only it.
    sync_instance(instance.pk, RunOptions(trigger=SyncRun.Trigger.ADMIN))
    after = {p: s.next_run for p, s in schedules_of(instance).items()}
    assert after["incremental"] == instance_run(instance).finished_at + timedelta(minutes=15)
    assert (after["full"], after["census"]) == (before["full"], before["census"])
    # A census moves the census.
    sync_instance(instance.pk, RunOptions(census=True, trigger=SyncRun.Trigger.COMMAND))
    assert schedules_of(instance)["census"].next_run == instance_run(instance).finished_at + timedelta(minutes=360)


def test_a_dry_run_or_a_failed_full_sync_moves_no_schedule(cloud_site, reference_mappings):
    from syncing.runs.runner import sync_instance

    instance = register(cloud_site, "instance_1", full_every_minutes=60)
    before = {purpose: schedule.next_run for purpose, schedule in schedules_of(instance).items()}
    sync_instance(instance.pk, RunOptions(full=True, dry_run=True))
    assert instance_run(instance).status == SyncRun.Status.SUCCEEDED
    unreachable = register(SimpleNamespace(url="http://127.0.0.1:9"), "instance_2", full_every_minutes=60)
    unreachable_before = {purpose: schedule.next_run for purpose, schedule in schedules_of(unreachable).items()}
    sync_instance(unreachable.pk, RunOptions(full=True))
    assert instance_run(unreachable).status == SyncRun.Status.FAILED
    assert {p: s.next_run for p, s in schedules_of(instance).items()} == before
    assert {p: s.next_run for p, s in schedules_of(unreachable).items()} == unreachable_before


def test_a_cron_slot_soon_after_a_full_sync_is_skipped_and_the_one_after_kept():
    weekly = {"schedule_type": Schedule.CRON, "cron": "30 3 * * 0", "minutes": None}  # Sundays 03:30
    saturday_night = datetime(2026, 1, 3, 23, 0, tzinfo=UTC)
    wednesday = datetime(2026, 1, 7, 12, 0, tzinfo=UTC)
    next_sunday, the_sunday_after = datetime(2026, 1, 4, 3, 30, tzinfo=UTC), datetime(2026, 1, 11, 3, 30, tzinfo=UTC)
    assert schedule_next_after(weekly, saturday_night, ran=False) == next_sunday  # a new schedule: the next slot
    assert schedule_next_after(weekly, saturday_night, ran=True) == the_sunday_after  # 4.5 h after a full: skipped
    assert schedule_next_after(weekly, wednesday, ran=True) == the_sunday_after  # 3.6 days after: kept
    every = {"schedule_type": Schedule.MINUTES, "cron": None, "minutes": 90}
    assert schedule_next_after(every, wednesday, ran=True) == wednesday + timedelta(minutes=90)


def test_editing_pausing_and_resuming_keep_the_schedules_in_step(cloud_instance):
    before = schedules_of(cloud_instance)
    cloud_instance.jql_filter = "issuetype != Epic"  # not a schedule setting: no schedule moves
    instance_save(instance=cloud_instance, actor=COMMAND)
    call_command("ensure_schedules", stdout=io.StringIO())
    assert {p: s.next_run for p, s in schedules_of(cloud_instance).items()} == {
        p: s.next_run for p, s in before.items()
    }

    cloud_instance.incremental_every_minutes, cloud_instance.full_cron = 5, "0 2 * * *"
    edited_at = timezone.now()
    instance_save(instance=cloud_instance, actor=COMMAND)
    edited = schedules_of(cloud_instance)
    assert (edited["incremental"].minutes, edited["full"].cron) == (5, "0 2 * * *")
    assert edited_at + timedelta(minutes=5) <= edited["incremental"].next_run <= timezone.now() + timedelta(minutes=5)
    assert edited["full"].next_run == schedule_next_after(
        {"schedule_type": Schedule.CRON, "cron": "0 2 * * *"}, edited_at, ran=False
    )
    assert edited["census"].next_run == before["census"].next_run

    cloud_instance.schedules_paused = True
    instance_save(instance=cloud_instance, actor=COMMAND)
    paused = schedules_of(cloud_instance)
    assert {s.repeats for s in paused.values()} == {0}
    Schedule.objects.filter(pk__in=list(cloud_instance.schedule_ids.values())).update(next_run=timezone.now())
    assert queued_by_the_scheduler(cloud_instance) == []  # due, but paused
    cloud_instance.schedules_paused = False
    instance_save(instance=cloud_instance, actor=COMMAND)
    assert {s.repeats for s in schedules_of(cloud_instance).values()} == {-1}
    # A time that passed while paused runs once, at once (as after a worker outage: catch_up is off).
    assert queued_by_the_scheduler(cloud_instance) == ["census", "full", "incremental"]
