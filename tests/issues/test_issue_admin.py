"""The read-only issue pages: filters, search, the detail page, and query counts that do not grow with data."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agile.models import IssueSprint
from issues.models import FieldChange, Issue, IssueLink, IssueMilestone, StatusChange
from issues.selectors import FIELD_CHANGES_SHOWN
from syncing.runs.runner import RunOptions, sync_instance
from tests.support.sites import register

pytestmark = pytest.mark.django_db(transaction=True)  # syncs run threads with connections of their own

CHANGELIST = reverse("admin:issues_issue_changelist")
# An issue's page: session, user, the issue, its status changes, raw JSON, time in status, milestones, and (issue
# #14) its field history, links, versions, components, sprint stays, comments and worklogs (two queries each) — whatever
# their number.
PAGE_QUERIES = 16


@pytest.fixture
def synced(reference_mappings, cloud_instance):
    sync_instance(cloud_instance.pk, RunOptions(full=True))
    return cloud_instance


def listed_keys(page: str) -> set[str]:
    return set(re.findall(r'/browse/([A-Z]+-\d+)"', page))


def test_the_list_links_keys_to_jira_and_shows_milestones_reached(admin_client, synced):
    page = admin_client.get(CHANGELIST).content.decode()
    newest = Issue.objects.order_by("-updated", "-id").first()
    assert f'href="{synced.base_url}/browse/{newest.key}"' in page
    reached = IssueMilestone.objects.filter(issue=newest).select_related("milestone").order_by("milestone__order")
    if reached:
        assert ", ".join(m.milestone.label or m.milestone.name for m in reached) in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status_category__exact=done", lambda: Issue.objects.filter(status_category="done")),
        ("milestone=started", lambda: Issue.objects.filter(milestones__milestone__name="started")),
        ("milestone=!started", lambda: Issue.objects.exclude(milestones__milestone__name="started")),
        ("has_field_errors__exact=1", lambda: Issue.objects.filter(has_field_errors=True)),
        ("deleted=yes", lambda: Issue.objects.filter(deleted_at__isnull=False)),
    ],
)
def test_filters_select_exactly_the_matching_issues(admin_client, synced, query, expected):
    page = admin_client.get(f"{CHANGELIST}?{query}&deleted=all" if "deleted" not in query else f"{CHANGELIST}?{query}")
    assert page.status_code == 200
    want = set(expected().values_list("key", flat=True)[:100])
    assert listed_keys(page.content.decode()) == want


def test_the_status_filter_offers_the_stored_statuses_and_filters_by_them(admin_client, synced):
    status = Issue.objects.values_list("status", flat=True).first()
    page = admin_client.get(CHANGELIST).content.decode()
    assert f"?status={status.replace(' ', '+')}" in page or f"status={status}" in page
    filtered = admin_client.get(CHANGELIST, {"status": status}).content.decode()
    assert listed_keys(filtered) == set(Issue.objects.filter(status=status).values_list("key", flat=True)[:100])


def test_deleted_issues_are_hidden_unless_asked_for(admin_client, synced):
    gone = Issue.objects.order_by("-updated").first()
    Issue.objects.filter(pk=gone.pk).update(deleted_at=gone.updated)
    assert gone.key not in listed_keys(admin_client.get(CHANGELIST).content.decode())
    assert listed_keys(admin_client.get(CHANGELIST, {"deleted": "yes"}).content.decode()) == {gone.key}


def test_search_by_exact_key_and_by_summary_words(admin_client, synced):
    issue = Issue.objects.order_by("id").first()
    assert listed_keys(admin_client.get(CHANGELIST, {"q": issue.key.lower()}).content.decode()) == {issue.key}
    word = max(issue.summary.split(), key=len)
    found = listed_keys(admin_client.get(CHANGELIST, {"q": word}).content.decode())
    assert issue.key in found
    assert found == set(Issue.objects.filter(summary__icontains=word).values_list("key", flat=True)[:100])


def test_the_changelist_costs_the_same_queries_whatever_it_shows(admin_client, synced):
    def queries(params: dict) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(CHANGELIST, params).status_code == 200
        return len(captured)

    queries({})  # warm what a running server keeps warm (the cached list of statuses)
    few = queries({"q": Issue.objects.first().key})
    many = queries({})
    # session, user, filter choices (instances, projects with their instances, milestones),
    # capped count, page, prefetched milestones: pinned, so an N+1 slipping in fails here.
    assert many == few == 8, (few, many)


def test_an_issue_page_shows_timeline_time_in_status_milestones_and_raw_json(admin_client, synced):
    issue = max(Issue.objects.all(), key=lambda i: i.status_changes.count())
    url = reverse("admin:issues_issue_change", args=[issue.pk])
    admin_client.get(url)  # warm the caches a running server has warm (content types)
    with CaptureQueriesContext(connection) as captured:
        page = admin_client.get(url).content.decode()
    changes = StatusChange.objects.filter(issue=issue).count()
    assert f"Status timeline ({changes} changes)" in page
    assert page.count("<td><strong>") == changes
    for reached in IssueMilestone.objects.filter(issue=issue).select_related("milestone"):
        assert (reached.milestone.label or reached.milestone.name) in page
    assert '<div class="js-section module" id="time-in-status">' in page
    assert "<details>" in page and f"&quot;key&quot;: &quot;{issue.key}&quot;" in page
    assert f"{synced.base_url}/browse/{issue.key}" in page
    items = FieldChange.objects.filter(issue=issue).count()
    newest = FieldChange.objects.filter(issue=issue).order_by("-changed_at", "-history_id", "-position")
    if items > FIELD_CHANGES_SHOWN:  # a busy issue: the newest shown, and said so
        assert f"Field history ({FIELD_CHANGES_SHOWN} changes, the newest)" in page
        assert "Older changes are not shown here" in page
    else:
        assert f"Field history ({items} changes)" in page
    for change in newest[:FIELD_CHANGES_SHOWN]:
        if change.field_name == "assignee":
            assert f"<td>{change.to_string}</td>" in page
    # Issue #14: its links, versions, components and sprint stays, each list one query (8 detail queries).
    assert '<div class="js-section module" id="relations">' in page
    for link in IssueLink.objects.filter(issue=issue):
        assert (link.other_key or str(link.other_jira_id)) in page
    for stay in IssueSprint.objects.filter(issue=issue):
        assert stay.added_at.strftime("%Y-%m-%d %H:%M:%S") in page
    assert len(captured) == PAGE_QUERIES, [query["sql"][:80] for query in captured]
    short = min(Issue.objects.all(), key=lambda i: i.status_changes.count())
    with CaptureQueriesContext(connection) as other:
        admin_client.get(reverse("admin:issues_issue_change", args=[short.pk]))
    assert len(captured) == len(other), "an issue page's queries must not grow with its history"
    # Session, user, the issue (with its instance and project), then issue_detail's five: status changes, raw
    # JSON, field history, time in status, milestones. Pinned, so a query per row slipping in fails here.
    assert len(captured) == PAGE_QUERIES, [query["sql"][:80] for query in captured]


def test_synced_data_cannot_be_changed_in_admin(admin_client, synced):
    issue = Issue.objects.first()
    assert admin_client.post(reverse("admin:issues_issue_delete", args=[issue.pk]), {"post": "yes"}).status_code == 403
    assert admin_client.get(reverse("admin:issues_issue_add")).status_code == 403
    assert Issue.objects.filter(pk=issue.pk).exists()


def test_admin_never_renders_an_unbounded_value_of_a_hostile_jira(admin_client, reference_mappings):
    from jirasim.testing import running_sim

    with running_sim(flavour="cloud", projects=1, issues=10, seed=71) as server:
        data = server.sim.data
        sample = server.sim.r.issue(data.live()[0], "3", None, set(), None)
        fields = {**sample["fields"], "summary": "s" * 1_500_000, "labels": ["l" * 1000] * 1000}
        data.add_replayed({**sample, "id": "930001", "key": "OPS-9301", "fields": fields})
        instance = register(server, "instance_1")
        sync_instance(instance.pk, RunOptions(full=True))
    huge = Issue.objects.get(key="OPS-9301")
    assert len(huge.summary) == 1_500_000  # stored whole
    listing = admin_client.get(CHANGELIST)
    assert listing.status_code == 200 and len(listing.content) < 200_000
    page = admin_client.get(reverse("admin:issues_issue_change", args=[huge.pk]))
    text = page.content.decode()
    assert page.status_code == 200 and len(page.content) < 800_000, len(page.content)
    assert "1,500,000 characters in all" in text and "bytes in all" in text
