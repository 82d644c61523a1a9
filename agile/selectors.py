"""Reading boards and sprints for people: an issue's sprint stays, shown on its admin page."""

from django.db.models import OuterRef, Subquery

from agile.models import IssueSprint, Sprint
from issues.models import Issue


def issue_sprint_stays(issue: Issue) -> list[IssueSprint]:
    """The issue's stays in sprints, oldest first, each annotated with sprint_state (its sprint's state, None
    when that sprint is not stored). One query."""
    state = Sprint.objects.filter(instance_id=issue.instance_id, jira_id=OuterRef("sprint_jira_id")).values("state")
    return list(IssueSprint.objects.filter(issue=issue).annotate(sprint_state=Subquery(state[:1])).order_by("added_at"))
