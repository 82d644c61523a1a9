"""Reading comments and worklogs for people: what an issue's page shows of them."""

from dataclasses import dataclass

from django.db.models import Count, Q, Sum

from activity.models import Comment, Worklog
from issues.models import Issue

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
