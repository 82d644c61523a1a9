"""Issue #17 item 7: 'Sync now' leads to a run page that shows progress — its project runs, live counts that
sum them, pages done of pages expected, rate and ETA — and the dashboard card says 'syncing now'."""

import re

import pytest
from django.db.models import Sum
from django.urls import reverse
from django.utils.html import strip_tags

from jirasim.faults import FaultPlan
from jirasim.testing import request_counts, running_sim
from syncing.models import SyncRun
from syncing.runs.bookkeeping import options_for
from syncing.runs.runner import RunOptions, sync_instance
from tests.support.sites import register
from tests.support.waiting import in_background, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queued_tasks(monkeypatch) -> list:
    calls = []
    monkeypatch.setattr("syncing.tasks.async_task", lambda *args, **kwargs: calls.append(args))
    return calls


def text_of(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</(dd|p|td)>', html, re.S)
    assert found, f"no #{element_id}"
    return " ".join(strip_tags(found.group(1)).split())


def children_read() -> int:
    return SyncRun.objects.filter(parent__isnull=False, kind="full").aggregate(n=Sum("fetched"))["n"] or 0


def test_sync_now_leads_to_a_run_page_showing_its_project_runs_live_counts_pages_rate_and_eta(
    admin_client, reference_mappings, settings, queued_tasks
):
    settings.JIRASYNC_PAGE_SIZE = 10
    with running_sim(flavour="datacenter", projects=2, issues=300, seed=44, faults=FaultPlan(latency_ms=60)) as server:
        instance = register(server, "instance_2")
        response = admin_client.post(
            reverse("admin:projects_jirainstance_changelist"),
            {"action": "sync_full", "_selected_action": [instance.pk]},
            follow=True,
        )
        parent = SyncRun.objects.get(status="queued")
        link = reverse("admin:syncing_syncrun_change", args=[parent.pk])
        assert f'href="{link}"' in response.content.decode()  # the message leads to the run's page
        page = admin_client.get(link).content.decode()
        assert "waiting for a queue worker" in text_of(page, "run-state") and 'http-equiv="refresh"' in page

        # A worker takes it (the in-process door, adopting the queued run).
        thread, result = in_background(sync_instance, instance.pk, options_for("full", "admin"), parent.pk)
        wait_for(
            lambda: SyncRun.objects.filter(parent=parent, kind="full", pages__gte=3).count() == 2,
            what="both project runs three pages in",
        )
        before = children_read()
        page = admin_client.get(link).content.decode()
        after = children_read()
        children = list(SyncRun.objects.filter(parent=parent).order_by("id"))
        for child in children:
            assert f'href="{reverse("admin:syncing_syncrun_change", args=[child.pk])}"' in page
        read = int(re.match(r"([\d,]+) read", text_of(page, "run-issues")).group(1).replace(",", ""))
        assert 0 < before <= read <= after  # the instance run's count is its project runs' sum, live
        assert "of 600 Jira counted" in text_of(page, "run-issues")  # Data Center's total, both projects
        assert re.fullmatch(r"[\d,]+ done of ~60", text_of(page, "run-pages"))  # 600 issues, 10 a page
        assert re.search(r"\d issues/s", text_of(page, "run-rate"))
        assert text_of(page, "run-eta").startswith("about ")
        assert "2 of 2 project runs still going" in text_of(page, "run-state")

        card = admin_client.get(reverse("admin:index")).content.decode()
        assert re.search(r"Syncing now — run #\d+ \(full\): page \d+ of ~60", text_of(card, "syncing-instance_2"))
        listing = admin_client.get(reverse("admin:syncing_syncrun_changelist")).content.decode()
        row = listing[listing.index(f"#{parent.pk} Full") :]
        assert not row[: row.index("</tr>")].count(" 0 read,")  # the list's count is live too
        thread.join(120)

    parent.refresh_from_db()
    assert result[0].pk == parent.pk and parent.status == SyncRun.Status.SUCCEEDED
    page = admin_client.get(link).content.decode()
    assert text_of(page, "run-pages") == f"{parent.pages} done of {parent.pages}" and parent.pages == 60
    assert "of 600 Jira counted" in text_of(page, "run-issues") and parent.expected_issues == 600
    assert parent.fetched == children_read() == 600
    assert 'http-equiv="refresh"' not in page


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_jira_counts_what_a_run_will_read_without_costing_a_one_page_run_a_request(
    flavour, reference_mappings, settings
):
    settings.JIRASYNC_PAGE_SIZE = 10
    with running_sim(flavour=flavour, projects=1, issues=25, seed=45) as server:
        instance = register(server, "instance_1")
        child = sync_instance(instance.pk, RunOptions(full=True)).children.get(kind="full")
        counts = request_counts(server)
        # Cloud asks its approximate count once; Data Center's search answers carry the total.
        assert counts.get("POST /rest/api/3/search/approximate-count", {}) == ({"200": 1} if flavour == "cloud" else {})
        assert child.expected_issues == 25 and child.pages == 3
        child = sync_instance(instance.pk, RunOptions()).children.get()  # nothing changed: one page
        assert child.expected_issues == child.fetched and child.requests == 1  # the search alone
