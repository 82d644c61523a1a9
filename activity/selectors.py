"""Reading comments and worklogs for people: what an issue's page shows of them."""

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, Sum

from activity.models import Comment, Worklog
from activity.read import WORKLOG_FIELD, WORKLOG_ITEMS, inline_list, timespent_read, worklogs_whole
from issues.models import Issue
from projects.models import JiraInstance

SHOWN_PER_KIND = 200  # comments (and worklogs) an issue's page lists at most: a busy issue has thousands


@dataclass
class IssueActivityDetail:
    comments: list[Comment] | None  # oldest first, soft-deleted ones included (marked); None: not shown
    comments_live: int
    comments_deleted: int
    worklogs: list[Worklog] | None  # None: not shown
    worklogs_live: int
    worklogs_deleted: int
    seconds_logged: int  # live worklogs' time spent: Jira's timespent


def issue_activity(issue: Issue, *, comments: bool = True, worklogs: bool = True) -> IssueActivityDetail:
    """An issue's comments and worklogs as its page shows them: two queries a kind whatever their number; a kind
    not asked for (the viewer may not see it) is neither read nor counted."""
    gone = Q(deleted_at__isnull=False)
    comment_counts = {"all": 0, "deleted": 0}
    worklog_counts = {"all": 0, "deleted": 0, "seconds": 0}
    if comments:
        comment_counts = Comment.objects.filter(issue=issue).aggregate(
            all=Count("pk"), deleted=Count("pk", filter=gone)
        )
    if worklogs:
        worklog_counts = Worklog.objects.filter(issue=issue).aggregate(
            all=Count("pk"), deleted=Count("pk", filter=gone), seconds=Sum("seconds", filter=~gone)
        )
    return IssueActivityDetail(
        comments=list(Comment.objects.filter(issue=issue).order_by("created", "jira_id")[:SHOWN_PER_KIND])
        if comments
        else None,
        comments_live=comment_counts["all"] - comment_counts["deleted"],
        comments_deleted=comment_counts["deleted"],
        worklogs=list(Worklog.objects.filter(issue=issue).order_by("started", "jira_id")[:SHOWN_PER_KIND])
        if worklogs
        else None,
        worklogs_live=worklog_counts["all"] - worklog_counts["deleted"],
        worklogs_deleted=worklog_counts["deleted"],
        seconds_logged=worklog_counts["seconds"] or 0,
    )


def worklogs_disagreeing(instance: JiraInstance, issues: dict[int, dict[str, Any]]) -> set[int]:
    """The Jira ids of these stored issues ({jira_id: issue as Jira sent it}) whose live worklogs are not what
    the answer counts: another number than its worklog total, or seconds adding up to other than its timespent
    (when it says them). One query. A full sync reads such an issue's worklogs again although the issue is
    unchanged: stored content a past answer left stale (a worklog edit it missed) is never trusted as whole."""
    said: dict[int, tuple[int, int | None]] = {}
    for jira_id, issue in issues.items():
        found_fields = issue.get("fields")
        fields: dict[str, Any] = found_fields if isinstance(found_fields, dict) else {}
        found = inline_list(fields, WORKLOG_FIELD, WORKLOG_ITEMS)
        if found is not None and found.total is not None:
            said[jira_id] = (found.total, timespent_read(fields))
    if not said:
        return set()
    stored = {
        jira_id: (n, seconds or 0)
        for jira_id, n, seconds in Worklog.objects.filter(
            instance=instance, issue__jira_id__in=list(said), deleted_at__isnull=True
        )
        .values("issue__jira_id")
        .annotate(n=Count("pk"), seconds=Sum("seconds"))
        .values_list("issue__jira_id", "n", "seconds")
    }
    return {jira_id for jira_id, counted in said.items() if not worklogs_whole(*counted, *stored.get(jira_id, (0, 0)))}
