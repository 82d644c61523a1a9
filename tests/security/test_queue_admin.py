"""Item 1 of #12: django-q2's admin cannot be used to run code as the worker."""

import pytest
from django.urls import reverse
from django.utils import timezone
from django_q.models import Failure, OrmQ, Schedule

pytestmark = pytest.mark.django_db

SCHEDULE_PERMISSIONS = [f"django_q.{verb}_schedule" for verb in ("add", "change", "delete", "view")]


def attack_form(**overrides) -> dict:
    """What a staff user would post to schedule a shell command."""
    form = {
        "name": "innocent",
        "func": "subprocess.getoutput",
        "args": "'env > /tmp/secrets'",
        "kwargs": "",
        "schedule_type": "O",
        "repeats": "-1",
        "next_run_0": "2030-01-01",
        "next_run_1": "00:00:00",
        "cluster": "",
        "intended_date_kwarg": "",
    }
    return form | overrides


def test_a_staff_user_with_every_schedule_permission_cannot_add_or_edit_a_schedule(staff_with):
    client = staff_with(*SCHEDULE_PERMISSIONS)
    assert client.get(reverse("admin:django_q_schedule_add")).status_code == 403
    assert client.post(reverse("admin:django_q_schedule_add"), attack_form()).status_code == 403
    schedule = Schedule.objects.create(func="syncing.tasks.heartbeat_task", schedule_type=Schedule.MINUTES, minutes=1)
    change = reverse("admin:django_q_schedule_change", args=[schedule.pk])
    assert client.post(change, attack_form(func="subprocess.getoutput")).status_code == 403
    assert Schedule.objects.get(pk=schedule.pk).func == "syncing.tasks.heartbeat_task"
    assert client.get(change).status_code == 200  # still visible, read-only
    assert not Schedule.objects.filter(func="subprocess.getoutput").exists()


def test_not_even_a_superuser_can_schedule_a_function(admin_client):
    assert admin_client.post(reverse("admin:django_q_schedule_add"), attack_form()).status_code == 403
    assert not Schedule.objects.filter(func="subprocess.getoutput").exists()


def failure(func: str, args=()) -> Failure:
    now = timezone.now()
    return Failure.objects.create(
        id=f"t{Failure.objects.count()}",
        name="x",
        func=func,
        args=args,
        kwargs={},
        started=now,
        stopped=now,
        success=False,
    )


def resubmit(client, ids):
    return client.post(
        reverse("admin:django_q_failure_changelist"), {"action": "resubmit", "_selected_action": ids}, follow=True
    )


def test_resubmitting_needs_the_change_permission_and_only_jirasync_tasks_go(staff_with, admin_client):
    ours = failure("syncing.tasks.heartbeat_task")
    planted = failure("subprocess.getoutput", ("id",))  # e.g. left by an older, unguarded version
    viewer = staff_with("django_q.view_failure")
    assert "resubmit" not in viewer.get(reverse("admin:django_q_failure_changelist")).content.decode()
    resubmit(viewer, [ours.pk, planted.pk])
    assert OrmQ.objects.count() == 0 and Failure.objects.count() == 2
    page = resubmit(admin_client, [ours.pk, planted.pk]).content.decode()
    assert "1 tasks resubmitted" in page and "not jirasync&#x27;s tasks" in page.lower()
    assert OrmQ.objects.count() == 1
    assert OrmQ.objects.get().func() == "syncing.tasks.heartbeat_task"
    assert list(Failure.objects.values_list("func", flat=True)) == ["subprocess.getoutput"]
