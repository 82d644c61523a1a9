"""#17 item 2 in Chromium: the operator deletes an instance from its page, reads what goes with it, confirms,
and sees it marked in the list until the worker's removal is done."""

import pytest
from django.urls import reverse

from issues.models import Issue
from jirasim.testing import running_sim
from projects.models import JiraInstance
from syncing.models import SyncRun
from syncing.runs.runner import RunOptions, sync_instance
from syncing.tasks import instance_delete_task
from tests.support.sites import register

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "deleting-operator-password"


def test_an_operator_deletes_an_instance_from_its_page(
    live_server, page, screenshots, django_user_model, reference_mappings, monkeypatch
):
    queued = []
    monkeypatch.setattr("syncing.tasks.async_task", lambda *args, **kwargs: queued.append(args))
    with running_sim(flavour="cloud", projects=2, issues=25, seed=31) as site:
        instance = register(site, "instance_1", name="Acme Cloud")
        sync_instance(instance.pk, RunOptions(full=True))
    runs = SyncRun.objects.filter(instance=instance).count()
    django_user_model.objects.create_superuser("operator", "op@example.com", PASSWORD)
    base = live_server.url
    page.goto(f"{base}/admin/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click('input[type="submit"]')

    page.goto(f"{base}{reverse('admin:projects_jirainstance_change', args=[instance.pk])}")
    with page.expect_navigation():
        page.click("a.deletelink")
    summary = page.locator("#content").inner_text()
    for line in ("Issues (with their histories and raw JSON): 50", f"Sync runs: {runs}", "Projects: 2"):
        assert line in summary
    assert "removed in the background" in page.locator("#deletion-note").inner_text()
    page.screenshot(path=screenshots / "instance-delete-confirmation.png", full_page=True)
    with page.expect_navigation():
        page.click('input[type="submit"][value^="Yes"]')

    assert page.url.endswith(reverse("admin:projects_jirainstance_changelist"))
    assert "Acme Cloud is being deleted: it no longer syncs" in page.locator("ul.messagelist").inner_text()
    row = page.locator("#result_list tbody tr", has_text="Acme Cloud").inner_text()
    assert "being deleted" in row and "asked by operator" in row
    page.screenshot(path=screenshots / "instance-being-deleted.png", full_page=True)
    assert page.csp_problems == []

    assert queued == [("syncing.tasks.instance_delete_task", instance.pk)]
    instance_delete_task(instance.pk)  # what the worker does
    page.reload()
    assert page.locator("#result_list tbody tr", has_text="Acme Cloud").count() == 0
    assert not JiraInstance.objects.exists() and not Issue.objects.exists()
