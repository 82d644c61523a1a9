"""#17 item 2 in admin: an instance is deleted from its page or the list, after a confirmation that counts
what goes with it; the page answers at once and a worker removes the data in the background."""

import time

import pytest
from django.urls import reverse

from audit.models import AuditLog
from issues.models import Issue
from jirasim.testing import request_counts
from projects.models import JiraInstance, Project
from syncing.models import SyncRun
from syncing.runs.bookkeeping import RunOptions
from syncing.runs.runner import sync_instance
from syncing.tasks import instance_delete_task
from tests.support.bulk_issues import issues_bulk_create
from tests.support.sites import register

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queued_tasks(monkeypatch) -> list:
    calls = []
    monkeypatch.setattr("syncing.tasks.async_task", lambda *args, **kwargs: calls.append(args))
    return calls


@pytest.fixture
def synced(reference_mappings, cloud_instance) -> JiraInstance:
    assert sync_instance(cloud_instance.pk, RunOptions(full=True)).status == SyncRun.Status.SUCCEEDED
    return cloud_instance


def delete_page(instance: JiraInstance) -> str:
    return reverse("admin:projects_jirainstance_delete", args=[instance.pk])


def test_a_superuser_deletes_an_instance_from_its_page_after_a_confirmation_that_counts_what_goes(
    admin_client, synced, queued_tasks
):
    runs = SyncRun.objects.filter(instance=synced).count()
    page = admin_client.get(reverse("admin:projects_jirainstance_change", args=[synced.pk])).content.decode()
    assert delete_page(synced) in page  # the page's Delete link
    confirm = admin_client.get(delete_page(synced)).content.decode()
    assert "permission" not in confirm and "protected" not in confirm  # nothing stands in the way
    for line in ("Issues (with their histories and raw JSON): 120", f"Sync runs: {runs}", "Projects: 2"):
        assert line in confirm
    assert 'id="deletion-note"' in confirm and "removed in the background" in confirm
    response = admin_client.post(delete_page(synced), {"post": "yes"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("admin:projects_jirainstance_changelist")
    listing = response.content.decode()
    assert f"Instance 1 is being deleted: it no longer syncs, and 120 issues, {runs} sync runs" in listing
    assert "being deleted</b>" in listing and "asked by admin" in listing  # flagged in the list until gone
    assert "was deleted successfully" not in listing
    assert Issue.objects.filter(instance=synced).count() == 120  # the page did not wait for the removal
    assert queued_tasks == [("syncing.tasks.instance_delete_task", synced.pk)]
    instance_delete_task(*queued_tasks[0][1:])  # as the worker runs it
    assert not JiraInstance.objects.filter(pk=synced.pk).exists() and not Issue.objects.exists()
    assert list(
        AuditLog.objects.filter(object_id=str(synced.pk), action__startswith="delete")
        .values_list("action", "actor")
        .order_by("id")
    ) == [("delete_start", "admin"), ("delete", "admin")]
    assert "Instance 1" not in admin_client.get(reverse("admin:projects_jirainstance_changelist")).content.decode()


def test_the_confirmation_costs_the_same_queries_whatever_the_instance_holds(admin_client, synced, queued_tasks):
    def queries_for_the_confirmation() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(delete_page(synced)).status_code == 200
        return len(captured)

    few = queries_for_the_confirmation()
    issues_bulk_create(instance=synced, count=3000)
    assert queries_for_the_confirmation() == few
    assert "Issues (with their histories and raw JSON): 3120" in admin_client.get(delete_page(synced)).content.decode()


def test_deleting_selected_instances_from_the_list_confirms_with_their_counts(
    admin_client, synced, dc_site, queued_tasks
):
    other = register(dc_site, "instance_2")
    changelist = reverse("admin:projects_jirainstance_changelist")
    chosen = {"action": "delete_selected", "_selected_action": [synced.pk, other.pk]}
    confirm = admin_client.post(changelist, chosen).content.decode()
    assert (
        "Instance 1" in confirm
        and "Instance 2" in confirm
        and "Issues (with their histories and raw JSON): 120" in confirm
    )
    assert "Jira instances: 2" in confirm and 'id="deletion-note"' in confirm
    assert not JiraInstance.objects.filter(deleting_since__isnull=False).exists()  # asked, not yet confirmed
    listing = admin_client.post(changelist, {**chosen, "post": "yes"}, follow=True).content.decode()
    assert "Instance 1 is being deleted" in listing and "Instance 2 is being deleted" in listing
    assert JiraInstance.objects.filter(deleting_since__isnull=False).count() == 2
    assert sorted(args[1] for args in queued_tasks) == sorted([synced.pk, other.pk])


def test_an_instance_being_deleted_is_read_only_and_asks_jira_nothing(admin_client, synced, cloud_site, queued_tasks):
    admin_client.post(delete_page(synced), {"post": "yes"})
    asked = request_counts(cloud_site)
    page_url = reverse("admin:projects_jirainstance_change", args=[synced.pk])
    page = admin_client.get(page_url).content.decode()
    assert 'name="_save"' not in page  # read-only
    for action in ("test_connection", "discover_projects", "discover_fields", "sync_incremental"):
        answer = admin_client.post(
            page_url, {"CHANGE_FORM-action": action, "_selected_action": [synced.pk]}, follow=True
        ).content.decode()
        assert "Instance 1 is being deleted: nothing more is done with it" in answer, action
    fields = admin_client.get(reverse("admin:projects_jirainstance_fields", args=[synced.pk])).content.decode()
    assert "it is being deleted" in fields
    project = Project.objects.filter(instance=synced).first()
    admin_client.post(
        reverse("admin:projects_project_changelist"), {"action": "sync_full", "_selected_action": [project.pk]}
    )
    assert not SyncRun.objects.filter(instance=synced, trigger="admin").exists()
    dashboard = admin_client.get(reverse("admin:index")).content.decode()
    assert 'id="jirasync-dashboard"' in dashboard and 'id="instance-instance_1"' not in dashboard  # no card
    stats = request_counts(cloud_site)
    assert {k: v for k, v in stats.items() if "_sim" not in k} == {k: v for k, v in asked.items() if "_sim" not in k}


def test_a_queue_worker_removes_a_deleted_instance_in_the_background(admin_client, synced, qcluster):
    response = admin_client.post(delete_page(synced), {"post": "yes"})
    assert response.status_code == 302
    deadline = time.monotonic() + 180
    while JiraInstance.objects.filter(pk=synced.pk).exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not JiraInstance.objects.filter(pk=synced.pk).exists(), "the worker did not remove it within 3 minutes"
    assert not Issue.objects.exists() and not SyncRun.objects.exists() and not Project.objects.exists()
    assert AuditLog.objects.filter(action="delete", object_id=str(synced.pk)).exists()
