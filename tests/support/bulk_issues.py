"""Many stored issues, made in bulk (no Jira): for the export tests and bench/export.py."""

from datetime import UTC, datetime, timedelta

from django.db.models import Max

from config.models import StatusMilestone
from issues.models import Issue, IssueMilestone
from projects.models import JiraInstance, Project

START = datetime(2026, 1, 1, tzinfo=UTC)
BATCH = 5000


def issues_bulk_create(*, instance: JiraInstance, count: int, key: str = "BULK") -> Project:
    """count issues in one project, each with mapped fields and two milestones reached."""
    project, _ = Project.objects.get_or_create(instance=instance, key=key, defaults={"jira_id": f"9{key}"})
    offset = Issue.objects.filter(instance=instance).aggregate(top=Max("jira_id"))["top"] or 0
    milestones = list(StatusMilestone.objects.order_by("order")[:2])
    for first in range(0, count, BATCH):
        issues = Issue.objects.bulk_create(
            _issue(instance, project, key, n, offset + n) for n in range(first + 1, min(first + BATCH, count) + 1)
        )
        IssueMilestone.objects.bulk_create(
            IssueMilestone(issue=issue, milestone=m, first_reached=issue.created, last_reached=issue.updated)
            for issue in issues
            for m in milestones
        )
    return project


def _issue(instance: JiraInstance, project: Project, key: str, n: int, jira_id: int) -> Issue:
    created = START + timedelta(minutes=n)
    return Issue(
        instance=instance,
        project=project,
        jira_id=jira_id,
        key=f"{key}-{n}",
        summary=f"Photo shoot {n}: kitchen, garden and twilight exterior",
        issue_type="Task",
        status="Scheduled" if n % 3 else "Closed",
        status_category="new" if n % 3 else "done",
        created=created,
        updated=created + timedelta(hours=1),
        fields={
            "order_number": f"ND-{n:07d}",
            "access_instructions": "Key in the lockbox by the side door; code 4711",
            "rooms": n % 9,
            "services": ["photos", "drone"],
            "rush": n % 2 == 0,
        },
    )
