"""An issue's page shows its comments and worklogs (deleted ones marked), in queries that do not grow with them."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from activity.models import Comment, Worklog
from issues.models import Issue
from issues.templatetags.humanize_seconds import duration_text
from syncing.runner import RunOptions, sync_instance
from tests.activity.test_activity_sync import busy
from tests.syncing.conftest import register

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
