"""The admin's buttons: test connection, discover projects, sync now (queued with a link to the run)."""

import pytest
from django.urls import reverse

from jirasim.testing import running_sim
from projects.models import Project
from syncing.models import SyncRun
from tests.support.sites import register


@pytest.fixture
def queued_tasks(monkeypatch) -> list:
    calls = []
    monkeypatch.setattr("syncing.tasks.async_task", lambda *args, **kwargs: calls.append(args))
    return calls


def post_action(client, model: str, action: str, ids: list[int]):
    return client.post(reverse(f"admin:{model}_changelist"), {"action": action, "_selected_action": ids}, follow=True)


def test_test_connection_and_discover_projects_report_what_jira_said(admin_client, reference_mappings):
    with running_sim(flavour="datacenter", projects=3, issues=2) as server:
        instance = register(server, "instance_2")
        page = post_action(admin_client, "projects_jirainstance", "test_connection", [instance.pk]).content.decode()
        assert "authenticated; datacenter" in page and "3 projects visible" in page
        page = post_action(admin_client, "projects_jirainstance", "discover_projects", [instance.pk]).content.decode()
        assert "3 projects visible, 3 enabled" in page
        assert Project.objects.filter(instance=instance).count() == 3


def test_sync_now_queues_a_task_and_links_to_its_run(admin_client, queued_tasks, django_capture_on_commit_callbacks):
    with running_sim(flavour="cloud", projects=1, issues=2) as server:
        instance = register(server, "instance_1")
    with django_capture_on_commit_callbacks(execute=True):
        page = post_action(admin_client, "projects_jirainstance", "sync_full", [instance.pk]).content.decode()
    run = SyncRun.objects.get()
    assert (run.status, run.kind, run.trigger) == ("queued", "full", "admin")
    assert queued_tasks == [("syncing.tasks.sync_instance_task", instance.pk, "full", "admin", run.pk)]
    assert reverse("admin:syncing_syncrun_change", args=[run.pk]) in page
    running = admin_client.get(reverse("admin:syncing_syncrun_change", args=[run.pk])).content.decode()
    assert 'http-equiv="refresh"' in running  # a queued or running run refreshes itself


def test_projects_list_counts_and_bulk_enable(admin_client, reference_mappings):
    with running_sim(flavour="cloud", projects=2, issues=4) as server:
        instance = register(server, "instance_1", enable_new_projects=False)
        post_action(admin_client, "projects_jirainstance", "discover_projects", [instance.pk])
        ids = list(Project.objects.values_list("id", flat=True))
        post_action(admin_client, "projects_project", "enable", ids)
        assert Project.objects.filter(enabled=True).count() == 2
        page = admin_client.get(reverse("admin:projects_project_changelist")).content.decode()
        assert "never" in page  # no run yet
