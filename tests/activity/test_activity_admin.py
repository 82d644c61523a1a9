"""An issue's page shows its comments and worklogs (deleted ones marked), in queries that do not grow with them."""

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from activity.models import Comment, Worklog
from issues.models import FieldChange, Issue
from issues.templatetags.humanize_seconds import duration_text
from syncing.runs.runner import RunOptions, sync_instance
from tests.support.sites import busy, register

pytestmark = pytest.mark.django_db(transaction=True)  # syncs run threads with connections of their own


def test_an_issue_page_shows_comments_and_worklogs_in_as_many_queries_however_many_there_are(
    admin_client, cloud_site, reference_mappings
):
    busy(cloud_site, "OPS-2", comments=30, worklogs=25)
    data = cloud_site.sim.data
    with data.lock:
        record = data.by_key["OPS-2"]
        data.add_comment(record, 1, "<script>alert(1)</script> & more", data.now_ms - 1000)
    instance = register(cloud_site, "instance_1")
    assert sync_instance(instance.pk, RunOptions(full=True)).status == "succeeded"
    with data.lock:  # deleted in Jira after it was stored
        data.delete_note(record, data.activity(record).live_comments(data.now_ms)[0], data.now_ms, worklog=False)
        data.version += 1
    assert sync_instance(instance.pk, RunOptions()).status == "succeeded"
    issue = Issue.objects.get(key="OPS-2")
    url = reverse("admin:issues_issue_change", args=[issue.pk])
    admin_client.get(url)  # warm what a running server keeps warm
    with CaptureQueriesContext(connection) as captured:
        page = admin_client.get(url).content.decode()
    live = Comment.objects.filter(issue=issue, deleted_at__isnull=True).count()
    assert live >= 30
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page and "<script>alert" not in page
    seconds = sum(Worklog.objects.filter(issue=issue, deleted_at__isnull=True).values_list("seconds", flat=True))
    logged = Worklog.objects.filter(issue=issue).count()
    assert page.count('class="num">15 min 0 s') >= 25
    assert f"Worklogs ({logged}, {duration_text(seconds)} logged)" in page
    assert f"Comments ({live}, 1 deleted in Jira)" in page and page.count("deleted in Jira (seen ") == 1
    # A quiet issue's page costs exactly as many queries.
    quiet = Issue.objects.exclude(pk=issue.pk).filter(comments__isnull=True).first()
    admin_client.get(reverse("admin:issues_issue_change", args=[quiet.pk]))
    with CaptureQueriesContext(connection) as other:
        quiet_page = admin_client.get(reverse("admin:issues_issue_change", args=[quiet.pk])).content.decode()
    assert "No comments stored." in quiet_page
    assert len(captured) == len(other), "an issue page's queries must not grow with its comments and worklogs"


def fragment(text: str) -> str:
    """The start of a stored text as a page renders it (escaped, its first line)."""
    return escape(text.strip().splitlines()[0][:40])


def test_a_viewer_of_issues_sees_field_history_comments_and_worklogs_only_with_their_own_view_permission(
    client, django_user_model, reference_mappings, cloud_instance
):
    assert sync_instance(cloud_instance.pk, RunOptions(full=True)).status == "succeeded"
    # An issue with a comment restricted to a role or group, worklogs with text, and a field history.
    restricted = Comment.objects.exclude(visibility_type="").filter(
        issue__worklogs__comment__gt="", issue__field_changes__isnull=False
    )
    issue = restricted.first().issue
    restricted = Comment.objects.filter(issue=issue).exclude(visibility_type="")
    worklog = Worklog.objects.filter(issue=issue).exclude(comment="").first()
    assert FieldChange.objects.filter(issue=issue).exists()
    user = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_issue"))
    client.force_login(user)
    url = reverse("admin:issues_issue_change", args=[issue.pk])

    def page() -> str:
        response = client.get(url)
        assert response.status_code == 200
        return response.content.decode()

    shown = page()
    assert 'id="timeline"' in shown and 'id="raw-json"' in shown  # the issue itself: its view permission
    for section in ('id="field-history"', 'id="comments"', 'id="worklogs"'):
        assert section not in shown
    for text in [*restricted.values_list("body", flat=True), worklog.comment]:
        assert fragment(text) not in shown, text  # nor in the raw JSON the page shows
    assert escape('"comment": "[not shown: you may not view these]"') in shown
    assert client.get(reverse("admin:issues_fieldchange_changelist")).status_code == 403  # its own list
    for codename, section in (
        ("view_fieldchange", 'id="field-history"'),
        ("view_comment", 'id="comments"'),
        ("view_worklog", 'id="worklogs"'),
    ):
        user.user_permissions.add(Permission.objects.get(codename=codename))
        user = django_user_model.objects.get(pk=user.pk)  # permissions are cached per user object
        client.force_login(user)
        assert section in page(), codename
    shown = page()
    assert fragment(restricted.first().body) in shown and fragment(worklog.comment) in shown
    assert "[not shown" not in shown
