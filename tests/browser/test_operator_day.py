"""The operator's day of issue #17, in Chromium: readable lists, exports, unchanged saves that change
nothing, a legacy mapping file, messages that say things once, who pressed what, and a sync followed,
cancelled and retried from its run's page."""

import csv
import io
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.urls import reverse

from audit.models import AuditLog
from config.models import FieldMapping
from issues.models import Issue
from jirasim.faults import FaultPlan
from jirasim.testing import running_sim
from projects.models import JiraInstance
from syncing.models import SyncRun
from syncing.runs.runner import RunOptions, sync_instance
from tests.support.browser import pick_action
from tests.support.sites import register
from tests.support.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "operator-day-password"
LEGACY = Path(__file__).parent.parent / "config" / "files" / "legacy_field_mappings.json"


def log_in(page, base: str) -> None:
    page.goto(f"{base}/admin/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click('input[type="submit"]')
    page.wait_for_selector("#jirasync-dashboard")


def without_self_refresh(route) -> None:
    """A run's page as served, less its 3-second refresh (a page reloading itself cannot be read steadily)."""
    if route.request.method != "GET":
        route.continue_()
        return
    response = route.fetch()
    route.fulfill(response=response, body=response.text().replace('<meta http-equiv="refresh" content="3">', ""))


def goto(page, url: str) -> None:
    """Open url, again if the page being left refreshed itself at that moment (the navigation is aborted)."""
    from playwright.sync_api import Error

    for attempt in range(5):
        try:
            page.goto(url)
            return
        except Error:
            if attempt == 4:
                raise


def no_horizontal_scroll(page) -> bool:
    """Neither the page nor the list's own box (admin lets a wide table scroll inside it) scrolls sideways."""
    return page.evaluate(
        """() => document.documentElement.scrollWidth <= window.innerWidth
              && [...document.querySelectorAll('.results')].every(box => box.scrollWidth <= box.clientWidth)"""
    )


@pytest.fixture
def synced_site(reference_mappings):
    """Two synced instances and one whose Jira cannot be reached (its run failed)."""
    with (
        running_sim(flavour="cloud", projects=2, issues=30, seed=21) as cloud,
        running_sim(flavour="datacenter", profile="instance_2", projects=1, issues=30, seed=22) as dc,
    ):
        for site, slug in ((cloud, "instance_1"), (dc, "instance_2")):
            sync_instance(register(site, slug).pk, RunOptions(full=True))
    unreachable = register(SimpleNamespace(url="http://127.0.0.1:9"), "instance_3", name="Acme Cloud")  # nothing there
    unreachable.projects.create(jira_id="1", key="GONE", enabled=True)
    sync_instance(unreachable.pk, RunOptions())
    yield


def test_the_operators_day(live_server, page, screenshots, django_user_model, synced_site, tmp_path):
    django_user_model.objects.create_superuser("operator", "op@example.com", PASSWORD)
    base = live_server.url
    log_in(page, base)
    assert page.locator("text=View site").count() == 0

    # The run list: what, status, when, duration, counts, error — in 1,400 px, no horizontal scroll.
    assert page.viewport_size["width"] == 1400
    page.goto(f"{base}{reverse('admin:syncing_syncrun_changelist')}")
    headers = [h.strip().lower() for h in page.locator("#result_list thead th").all_inner_texts()]
    assert headers[-6:] == [
        "run",
        "status",
        "when",
        "duration",
        "counts",
        "error",
    ]
    assert page.locator("#result_list tbody tr").count() == SyncRun.objects.count()
    assert "Failed" in page.inner_text("#result_list")
    error = page.locator("#result_list .run-error").first  # the failed run's error, in view
    assert "serverInfo" in error.inner_text() and error.bounding_box()["x"] + 40 < 1400
    assert no_horizontal_scroll(page), page.evaluate("document.documentElement.scrollWidth")
    page.screenshot(path=screenshots / "run-list.png", full_page=True)

    # The instance list: health and last run per instance.
    page.goto(f"{base}{reverse('admin:projects_jirainstance_changelist')}")
    rows = {row.split("\t")[1].strip(): row for row in page.locator("#result_list tbody tr").all_inner_texts()}
    assert re.search(r"\bok\b.*last success", rows["Instance 1"]) and "succeeded" in rows["Instance 1"]
    assert (
        re.search(r"failing.*no successful sync yet", rows["Acme Cloud"]) and "incremental failed" in rows["Acme Cloud"]
    )
    assert no_horizontal_scroll(page)
    page.screenshot(path=screenshots / "instance-list.png", full_page=True)

    # Test connection on the unreachable instance: its name once, and the press audited with the user.
    pick_action(
        page, "Test connection", f"#result_list input[value='{JiraInstance.objects.get(slug='instance_3').pk}']"
    )
    message = page.inner_text(".messagelist")
    assert message.count("Acme Cloud") == 1, message
    page.screenshot(path=screenshots / "test-connection-message.png", full_page=True)
    pick_action(
        page, "Sync now (incremental)", f"#result_list input[value='{JiraInstance.objects.get(slug='instance_1').pk}']"
    )
    assert "sync queued" in page.inner_text(".messagelist")

    # The audit list: configuration apart from sync start/end; the presses by the operator.
    page.goto(f"{base}{reverse('admin:audit_auditlog_changelist')}")
    with page.expect_navigation():
        page.click("#changelist-filter a:has-text('sync start and end')")
    assert set(page.locator("#result_list td.field-action").all_inner_texts()) == {"sync_start", "sync_end"}
    with page.expect_navigation():
        page.click("#changelist-filter a:has-text('operator actions')")
    log = page.inner_text("#result_list")
    assert re.search(r"operator\s+test_connection", log) and re.search(r"operator\s+sync_request", log)
    page.screenshot(path=screenshots / "audit-kind-filter.png", full_page=True)

    # A mapping saved with only its label and one path edited: the audit shows those two, nothing else.
    mapping = FieldMapping.objects.get(name="access_instructions")
    change_url = f"{base}{reverse('admin:config_fieldmapping_change', args=[mapping.pk])}"
    page.goto(change_url)
    page.select_option("#id__preview_instance", "instance_2")
    page.click('input[name="_preview"]')
    page.wait_for_selector("#preview-result")
    assert re.search(r"\b0 of \d+ issues would change", page.inner_text("#preview-result"))
    page.screenshot(path=screenshots / "mapping-preview-unchanged.png", full_page=True)
    page.goto(change_url)
    row = list(mapping.sources.order_by("id").values_list("instance_slug", flat=True)).index("instance_1")
    page.fill("#id_label", "Access notes")
    page.fill(f"#id_sources-{row}-paths", '["customfield_10701"]')
    with page.expect_navigation():
        page.click('input[name="_save"]')
    entry = AuditLog.objects.get(object_type="config.fieldmapping", action="update")
    assert set(entry.changes) == {"label", "sources[instance_1]"}
    page.goto(f"{base}{reverse('admin:audit_auditlog_change', args=[entry.pk])}")
    assert "separator" not in page.inner_text(".audit-diff").replace('"separator": " "', "")
    page.screenshot(path=screenshots / "mapping-save-audit.png", full_page=True)

    # Export of a filtered issue list, as CSV: exactly its rows, mapped fields and milestones as columns.
    instance = JiraInstance.objects.get(slug="instance_2")
    page.goto(f"{base}{reverse('admin:issues_issue_changelist')}?instance__id__exact={instance.pk}")
    with page.expect_navigation():
        page.click(".object-tools a.export_link")
    page.select_option("#id_format", label="csv")
    fields = page.locator('.selectable-field-export-row:visible input[type="checkbox"]')
    assert fields.count() > 5
    page.uncheck("#select-all-toggle")  # "Select all" works under the Content-Security-Policy
    assert all(not box.is_checked() for box in fields.all())
    page.check("#select-all-toggle")
    assert all(box.is_checked() for box in fields.all())
    assert page.csp_problems == []
    page.screenshot(path=screenshots / "export-form.png", full_page=True)
    with page.expect_download() as download:
        page.click('input[type="submit"][value="Submit"]')
    path = tmp_path / "issues.csv"
    download.value.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    expected = Issue.objects.filter(instance=instance, deleted_at__isnull=True)
    assert sorted(r["key"] for r in rows) == sorted(expected.values_list("key", flat=True))
    assert {"order_number", "access_instructions", "scheduled_at", "closed_at"} <= set(rows[0])

    # The mapping file of the system jirasync replaces, imported from admin: converted, and said so.
    page.goto(f"{base}{reverse('admin:config_fieldmapping_import')}")
    page.set_input_files("#id_file", str(LEGACY))
    page.check("#id_dry_run")
    with page.expect_navigation():
        page.click('input[type="submit"][value="Import"]')
    assert "converted from the legacy format" in page.inner_text("#import-report")
    page.screenshot(path=screenshots / "legacy-import.png", full_page=True)


def test_the_operator_follows_a_sync_cancels_it_and_retries_it(
    live_server, page, qcluster, screenshots, django_user_model, reference_mappings
):
    """Sync now → the run's page shows its project runs filling up (pages of pages expected, rate, time left)
    and the dashboard says 'syncing now'; Cancel stops it at its next page; Retry queues it again and a real
    worker finishes it; the run's log shows every request."""
    django_user_model.objects.create_superuser("operator", "op@example.com", PASSWORD)
    base = live_server.url
    with running_sim(
        flavour="datacenter", projects=2, issues=1500, seed=23, faults=FaultPlan(latency_ms=200)
    ) as server:
        instance = register(server, "instance_2")
        log_in(page, base)
        page.goto(f"{base}{reverse('admin:projects_jirainstance_change', args=[instance.pk])}")
        page.select_option('select[name="CHANGE_FORM-action"]', label="Sync now (incremental)")
        with page.expect_navigation():
            page.click('.actions button[type="submit"]')
        with page.expect_navigation():
            page.click(".messagelist a:has-text('run #')")
        run = SyncRun.objects.get(parent__isnull=True)
        assert page.url.endswith(reverse("admin:syncing_syncrun_change", args=[run.pk]))

        # The page refreshes itself: the project runs appear and fill up, without a reload by hand.
        page.wait_for_selector("#run-children tbody tr:nth-child(2)", timeout=90_000)
        wait_for(lambda: SyncRun.objects.filter(parent=run, pages__gte=2).count() == 2, what="two project runs going")
        # From here on the run's pages are served less their 3-second refresh: steady to read and photograph.
        page.route(re.compile(r".*/admin/syncing/syncrun/\d+/change/.*"), without_self_refresh)
        run_url = f"{base}{reverse('admin:syncing_syncrun_change', args=[run.pk])}"
        goto(page, run_url)
        assert page.locator("#run-children tbody tr").count() == 2
        assert re.search(r"done of ~\d+", page.inner_text("#run-pages"))  # Data Center's total: 3,000 issues
        assert "issues/s" in page.inner_text("#run-rate") and page.inner_text("#run-eta").startswith("about")
        page.screenshot(path=screenshots / "run-progress.png", full_page=True)
        page.goto(f"{base}/admin/")
        assert "Syncing now" in page.inner_text("#syncing-instance_2")
        page.screenshot(path=screenshots / "dashboard-syncing-now.png", full_page=True)

        # Cancel, on the run's page: it stops at its next page.
        goto(page, run_url)
        with page.expect_navigation():
            page.click('.run-actions button[value="cancel_runs"]')
        assert "cancel asked for" in page.inner_text(".messagelist")
        wait_for(lambda: SyncRun.objects.get(pk=run.pk).status == "cancelled", what="the run to stop")
        stored = Issue.objects.count()
        assert 0 < stored < 3000
        goto(page, run_url)
        assert "Cancelled" in page.inner_text("#run-state") and page.locator('button[value="retry_runs"]').count()
        page.screenshot(path=screenshots / "run-cancelled.png", full_page=True)
        assert AuditLog.objects.filter(action="sync_cancel", actor="operator").exists()

        # Retry: the same kind again, which the worker runs to the end from where the cancelled one stopped.
        with page.expect_navigation():
            page.click('.run-actions button[value="retry_runs"]')
        with page.expect_navigation():
            page.click(f".messagelist a:has-text('run #'):not(:has-text('run #{run.pk}'))")
        retried = SyncRun.objects.get(parent__isnull=True, trigger="admin", pk__gt=run.pk)
        wait_for(lambda: SyncRun.objects.get(pk=retried.pk).status == "succeeded", what="the retried run")
        assert Issue.objects.count() == 3000
        goto(page, f"{base}{reverse('admin:syncing_syncrun_change', args=[retried.pk])}")
        assert "Succeeded" in page.inner_text("#run-state")
        page.screenshot(path=screenshots / "run-retried.png", full_page=True)

        # The run's log: its requests with status and duration.
        with page.expect_navigation():
            page.click("#run-log a:first-child")
        assert re.search(r"POST /rest/api/2/search -> 200 in \d+ ms", page.inner_text("#run-log-lines"))
        page.screenshot(path=screenshots / "run-log.png", full_page=True)
        assert not page.csp_problems, page.csp_problems
