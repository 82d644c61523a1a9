"""An operator's afternoon in a real browser: add an instance, test it, discover, sync through a real
qcluster, look at the issues, edit a mapping with a preview, re-map, and read the audit log."""

import re

import pytest
from django.urls import reverse

from audit.models import AuditLog
from config.models import FieldMapping
from issues.models import Issue
from jirasim.testing import TOKEN, USER, running_sim
from syncing.models import SyncRun
from tests.support.browser import run_action
from tests.support.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "browser-test-password"


def test_an_operator_configures_syncs_and_remaps_from_the_browser(
    live_server, page, qcluster, screenshots, django_user_model, reference_mappings
):
    django_user_model.objects.create_superuser("operator", "op@example.com", PASSWORD)
    base = live_server.url
    with running_sim(flavour="cloud", projects=2, issues=40, seed=11) as sim:
        # Log in.
        page.goto(f"{base}/admin/")
        page.fill("#id_username", "operator")
        page.fill("#id_password", PASSWORD)
        page.click('input[type="submit"]')
        page.wait_for_selector("#jirasync-dashboard")

        # Add an instance pointed at the simulator.
        page.goto(f"{base}{reverse('admin:projects_jirainstance_add')}")
        page.fill("#id_slug", "instance_1")  # before the name, or the name's slug is prepopulated over it
        page.fill("#id_name", "Browser Cloud")
        page.fill("#id_base_url", sim.url)
        page.select_option("#id_auth_kind", "basic")
        page.fill("#id_username", USER)
        page.fill("#id_token", TOKEN)
        page.check("#id_enable_new_projects")
        with page.expect_navigation():
            page.click('input[name="_continue"]')
        page.wait_for_selector(".messagelist .success")
        assert TOKEN not in page.content()

        # Test the connection and discover projects from the instance's own page.
        run_action(page, "Test connection")
        assert "authenticated; cloud" in page.inner_text(".messagelist")
        run_action(page, "Discover projects")
        assert "2 projects visible, 2 enabled" in page.inner_text(".messagelist")

        # Sync now: the message links to the queued run, which a real qcluster process runs.
        run_action(page, "Sync now (full, then census)")
        with page.expect_navigation():
            page.click(".messagelist a:has-text('run #')")
        page.wait_for_url(re.compile(r"/admin/syncing/syncrun/\d+/change/"))
        assert "Full sync of instance_1" in page.content()
        run = wait_for(
            lambda: SyncRun.objects.filter(parent__isnull=True, status="succeeded").first(), 90, "the sync run"
        )
        assert Issue.objects.count() == 80
        page.reload()
        assert "Succeeded" in page.content()
        page.screenshot(path=screenshots / "sync-run.png", full_page=True)

        # The issues, an issue's timeline and milestones.
        page.goto(f"{base}{reverse('admin:issues_issue_changelist')}")
        assert page.locator("#result_list tbody tr").count() == 80
        busiest = max(Issue.objects.all(), key=lambda issue: issue.status_changes.count())
        page.fill("#searchbar", busiest.key)
        with page.expect_navigation():
            page.press("#searchbar", "Enter")
        page.wait_for_selector("#result_list tbody tr")
        assert page.locator("#result_list tbody tr").count() == 1
        page.click("#result_list tbody tr .field-summary_head a")
        page.wait_for_selector("#timeline")
        changes = busiest.status_changes.count()
        assert page.locator("#timeline tbody tr").count() == changes
        assert page.locator("#milestones tbody tr").count() == max(1, busiest.milestones.count())
        assert page.locator("#field-history tbody tr").count() == min(busiest.field_changes.count(), 500)
        assert not page.is_visible("pre.js-raw")  # collapsed until asked for
        page.click("#raw-json summary")
        assert page.is_visible("pre.js-raw")
        page.screenshot(path=screenshots / "issue.png", full_page=True)

        # Edit a mapping: preview, save, re-map in the background.
        mapping = FieldMapping.objects.get(name="order_number")
        page.goto(f"{base}{reverse('admin:config_fieldmapping_change', args=[mapping.pk])}")
        row = list(mapping.sources.order_by("id").values_list("instance_slug", flat=True)).index("instance_1")
        page.fill(f"#id_sources-{row}-paths", '["summary"]')
        page.select_option("#id__preview_instance", "instance_1")
        page.fill("#id__preview_limit", "5")
        page.click('input[name="_preview"]')
        page.wait_for_selector("#preview-result")
        assert page.locator("#preview-result tbody tr").count() == 5
        assert FieldMapping.objects.get(name="order_number").sources.get(instance_slug="instance_1").paths != [
            "summary"
        ]
        with page.expect_navigation():
            page.click('input[name="_save"]')
        page.click(".messagelist a:has-text('Re-map stored issues now')")
        page.select_option("#id_instance", "instance_1")
        with page.expect_navigation():
            page.click('input[name="_remap"]')
        assert "queued" in page.inner_text(".messagelist")
        wait_for(lambda: AuditLog.objects.filter(action="remap").exists(), what="the re-map")
        for issue in Issue.objects.filter(instance__slug="instance_1")[:10]:
            assert issue.fields["order_number"] == issue.summary

        # The audit log shows each change, by whom.
        page.goto(f"{base}{reverse('admin:audit_auditlog_changelist')}")
        log = page.inner_text("#result_list")
        assert re.search(r"operator\s+create\s+projects\.jirainstance", log)
        assert re.search(r"operator\s+update\s+config\.fieldmapping", log)
        assert re.search(r"operator\s+remap", log)
        assert "sync" in log

        # The dashboard, with the run on it.
        page.goto(f"{base}/admin/")
        card = page.inner_text("#instance-instance_1")
        assert "80" in card and "2 of 2 enabled" in card
        assert page.locator("#instance-instance_1 svg rect").count() >= 2
        page.screenshot(path=screenshots / "dashboard.png", full_page=True)
        assert run.fetched == 80

        # All of it under the Content-Security-Policy, and nothing it blocked.
        response = page.goto(f"{base}/admin/")
        assert "script-src 'self' 'nonce-" in response.headers["content-security-policy"]
        assert page.csp_problems == []
