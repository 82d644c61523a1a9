"""Issue #17 item 3: Cancel and Retry in admin — on the run list and as buttons on a run's page — each with
its own permission, and audited with the user who pressed."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.html import strip_tags

from audit.models import AuditLog
from issues.models import Issue
from jirasim.faults import FaultPlan, FaultRule
from jirasim.testing import running_sim
from projects.models import Project
from syncing.models import SyncRun
from syncing.runs.bookkeeping import run_queue
from syncing.runs.runner import RunOptions, sync_instance, sync_project
from syncing.tasks import census_project_task, sync_instance_task, sync_project_task
from tests.support.sites import register
from tests.support.waiting import in_background, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

TASKS = {
    "syncing.tasks.sync_instance_task": sync_instance_task,
    "syncing.tasks.sync_project_task": sync_project_task,
    "syncing.tasks.census_project_task": census_project_task,
}


@pytest.fixture
def queued_tasks(monkeypatch) -> list:
    """Tasks the admin queued, as (function name, args): a test runs them itself, in order."""
    calls = []
    monkeypatch.setattr("syncing.tasks.async_task", lambda *args, **kwargs: calls.append(args))
    return calls


def run_page(run: SyncRun) -> str:
    return reverse("admin:syncing_syncrun_change", args=[run.pk])


def press(client, run: SyncRun, action: str):
    """Press an action's button on the run's own page."""
    return client.post(run_page(run), {"CHANGE_FORM-action": action, "_selected_action": run.pk}, follow=True)


def messages_of(response) -> list[str]:
    return [strip_tags(str(message)) for message in response.context["messages"]]


def user_named(client) -> object:
    return get_user_model().objects.get(pk=client.session["_auth_user_id"])


def test_cancel_on_a_running_runs_page_stops_it_at_its_next_page_and_records_who_pressed(
    staff_with, reference_mappings, settings
):
    settings.JIRASYNC_PAGE_SIZE = 5
    with running_sim(flavour="datacenter", projects=1, issues=200, seed=41, faults=FaultPlan(latency_ms=80)) as server:
        instance = register(server, "instance_2")
        thread, result = in_background(sync_instance, instance.pk, RunOptions(full=True))
        wait_for(lambda: SyncRun.objects.filter(parent__isnull=False, pages__gte=1).exists(), what="a page stored")
        parent = SyncRun.objects.get(parent__isnull=True)
        operator = staff_with("syncing.view_syncrun", "syncing.cancel_syncrun", name="operator")
        page = operator.get(run_page(parent)).content.decode()
        assert 'value="cancel_runs"' in page and 'value="retry_runs"' not in page  # Retry: not permitted
        response = press(operator, parent, "cancel_runs")
        (message,) = messages_of(response)
        assert f"run #{parent.pk}" in message and "cancel asked for (2 runs)" in message
        thread.join(60)
    parent.refresh_from_db()
    child = parent.children.get()
    assert parent.status == child.status == SyncRun.Status.CANCELLED and result[0].pk == parent.pk
    assert Issue.objects.count() < 200  # it stopped: the next run resumes from the watermark
    entry = AuditLog.objects.get(action="sync_cancel")
    assert (entry.actor_user, entry.sync_run_id, entry.instance_slug) == (user_named(operator), parent.pk, "instance_2")


def test_cancel_on_the_list_ends_a_queued_run_at_once_and_says_when_there_is_nothing_to_cancel(admin_client, instance):
    queued = run_queue(instance, None, RunOptions())
    finished = SyncRun.objects.create(instance=instance, kind="full", trigger="schedule", status="succeeded")
    changelist = reverse("admin:syncing_syncrun_changelist")
    response = admin_client.post(
        changelist, {"action": "cancel_runs", "_selected_action": [queued.pk, finished.pk]}, follow=True
    )
    queued.refresh_from_db()
    assert queued.status == SyncRun.Status.CANCELLED and "cancelled by admin before it started" in queued.error
    said = " ".join(messages_of(response))
    assert f"run #{finished.pk} was not queued or running (succeeded): nothing to cancel" in said
    assert f"run #{queued.pk}: cancelled before it started" in said
    assert SyncRun.objects.get(pk=finished.pk).status == SyncRun.Status.SUCCEEDED


def test_retry_on_a_failed_runs_page_queues_the_same_kind_again_which_then_succeeds(
    staff_with, reference_mappings, queued_tasks
):
    # Every attempt of the first search fails (500): the project's run fails; Jira then recovers.
    faults = FaultPlan([FaultRule("500", endpoint="POST /rest/api/2/search", times=6)])
    with running_sim(flavour="datacenter", projects=1, issues=12, seed=42, faults=faults) as server:
        instance = register(server, "instance_2")
        failed = sync_instance(instance.pk, RunOptions(full=True)).children.get()
        assert failed.status == SyncRun.Status.FAILED
        operator = staff_with("syncing.view_syncrun", "syncing.retry_syncrun", name="operator")
        page = operator.get(run_page(failed)).content.decode()
        assert 'value="retry_runs"' in page and 'value="cancel_runs"' not in page
        response = press(operator, failed, "retry_runs")
        queued = SyncRun.objects.filter(status=SyncRun.Status.QUEUED).get()
        assert (queued.kind, queued.project_id, queued.trigger, queued.parent_id) == (
            "full",
            failed.project_id,
            "admin",
            None,
        )
        (message,) = messages_of(response)
        assert f"run #{failed.pk}" in message and f"run #{queued.pk}" in message
        press(operator, failed, "retry_runs")  # pressed twice: queued once
        assert SyncRun.objects.filter(status=SyncRun.Status.QUEUED).count() == 1
        ((function, *args),) = queued_tasks
        TASKS[function](*args)  # the queue worker's part
    queued.refresh_from_db()
    assert queued.status == SyncRun.Status.SUCCEEDED and Issue.objects.count() == 12
    entry = AuditLog.objects.get(action="sync_retry")
    assert (entry.actor_user, entry.sync_run_id) == (user_named(operator), queued.pk)
    assert f"retried run #{failed.pk} (failed)" in entry.summary


def test_retry_queues_an_instance_run_or_a_projects_census_as_what_it_was(admin_client, instance, queued_tasks):
    project = Project.objects.create(instance=instance, jira_id="1", key="OPS", enabled=True)
    whole = SyncRun.objects.create(instance=instance, kind="incremental", trigger="schedule", status="abandoned")
    census = SyncRun.objects.create(instance=instance, project=project, kind="census", trigger="admin", status="failed")
    fine = SyncRun.objects.create(instance=instance, kind="full", trigger="schedule", status="succeeded")
    dry = SyncRun.objects.create(instance=instance, kind="full", trigger="command", status="failed", dry_run=True)
    response = admin_client.post(
        reverse("admin:syncing_syncrun_changelist"),
        {"action": "retry_runs", "_selected_action": [whole.pk, census.pk, fine.pk, dry.pk]},
        follow=True,
    )
    assert sorted((call[0], call[1]) for call in queued_tasks) == [
        ("syncing.tasks.census_project_task", project.pk),
        ("syncing.tasks.sync_instance_task", instance.pk),
    ]
    said = " ".join(messages_of(response))
    assert f"run #{fine.pk} succeeded: only runs that failed" in said and f"run #{dry.pk} was a dry run" in said
    assert SyncRun.objects.filter(status="queued", trigger="admin").count() == 2


def test_a_runs_page_offers_only_the_buttons_that_apply_and_the_user_may_press(staff_with, instance):
    running = SyncRun.objects.create(instance=instance, kind="full", trigger="schedule", status="running")
    failed = SyncRun.objects.create(instance=instance, kind="full", trigger="schedule", status="failed")
    everything = staff_with("syncing.view_syncrun", "syncing.cancel_syncrun", "syncing.retry_syncrun")
    viewer = staff_with("syncing.view_syncrun")
    buttons = {
        (who, run.status): {
            name
            for name in ("cancel_runs", "retry_runs")
            if f'value="{name}"' in who.get(run_page(run)).content.decode()
        }
        for who in (everything, viewer)
        for run in (running, failed)
    }
    assert buttons == {
        (everything, "running"): {"cancel_runs"},
        (everything, "failed"): {"retry_runs"},
        (viewer, "running"): set(),
        (viewer, "failed"): set(),
    }
    # Pressing anyway, without the permission, changes nothing.
    before = list(SyncRun.objects.order_by("pk").values_list("status", "cancel_requested"))
    for run, action in ((running, "cancel_runs"), (failed, "retry_runs")):
        assert press(viewer, run, action).status_code in (200, 403)
    assert list(SyncRun.objects.order_by("pk").values_list("status", "cancel_requested")) == before
    assert not AuditLog.objects.filter(action__in=["sync_cancel", "sync_retry"]).exists()


def test_a_standalone_project_run_can_be_cancelled_while_it_waits_for_its_worker(admin_client, reference_mappings):
    with running_sim(flavour="cloud", projects=1, issues=5, seed=43) as server:
        instance = register(server, "instance_1")
        sync_instance(instance.pk, RunOptions())
        project = Project.objects.get(instance=instance)
        queued = run_queue(instance, project, RunOptions())
        press(admin_client, queued, "cancel_runs")
        ran = sync_project(project.pk, RunOptions(), run_id=queued.pk)  # the worker picks it up afterwards
    assert ran.pk == queued.pk and ran.status == SyncRun.Status.CANCELLED and ran.requests == 0
