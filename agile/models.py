"""Jira Software's boards and sprints of an instance, and each issue's time in each sprint."""

from django.db import models

from issues.models import Issue
from projects.models import JiraInstance


class Board(models.Model):
    """A board as the Agile API lists it (`/rest/agile/1.0/board`), read on full syncs."""

    instance = models.ForeignKey(JiraInstance, on_delete=models.CASCADE, related_name="boards", db_index=False)
    jira_id = models.BigIntegerField()
    name = models.CharField(max_length=255, blank=True)
    type = models.CharField(max_length=32, blank=True, help_text="scrum, kanban or simple.")
    project_key = models.CharField(max_length=64, blank=True, help_text="The project the board is located in.")
    deleted_at = models.DateTimeField(null=True, blank=True, help_text="No longer listed by Jira.")
    synced_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["instance", "jira_id"], name="board_unique_jira_id")]

    def __str__(self) -> str:
        return self.name or str(self.jira_id)


class Sprint(models.Model):
    """A sprint, from a board's sprint list on full syncs and from the Sprint field of the issues synced (which
    carries its state and dates too), so a sprint started or closed shows with the next sync of its issues."""

    class State(models.TextChoices):
        FUTURE = "future", "Future"
        ACTIVE = "active", "Active"
        CLOSED = "closed", "Closed"

    instance = models.ForeignKey(JiraInstance, on_delete=models.CASCADE, related_name="sprints", db_index=False)
    jira_id = models.BigIntegerField()
    board_jira_id = models.BigIntegerField(null=True, blank=True, help_text="The board it was created on.")
    name = models.CharField(max_length=255, blank=True)
    state = models.CharField(max_length=8, choices=State.choices, blank=True)
    start_date = models.DateTimeField(null=True, blank=True)
    end_date = models.DateTimeField(null=True, blank=True)
    complete_date = models.DateTimeField(null=True, blank=True)
    goal = models.TextField(blank=True)
    synced_at = models.DateTimeField()

    class Meta:
        ordering = ["instance", "jira_id"]
        constraints = [models.UniqueConstraint(fields=["instance", "jira_id"], name="sprint_unique_jira_id")]

    def __str__(self) -> str:
        return self.name or str(self.jira_id)


class IssueSprint(models.Model):
    """One stay of an issue in a sprint: added at `added_at` (its creation when the sprint was set then, or
    when no history says), removed at `removed_at` (null: still in it). From the Sprint field and the
    changelog's Sprint items; join on (issue.instance_id, sprint_jira_id) = (agile_sprint.instance_id, jira_id)."""

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="sprint_stays", db_index=False)
    sprint_jira_id = models.BigIntegerField()
    sprint_name = models.CharField(max_length=255, blank=True)
    added_at = models.DateTimeField()
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issue", "sprint_jira_id", "added_at"], name="issuesprint_unique"),
        ]
        indexes = [models.Index(fields=["sprint_jira_id", "added_at"], name="issuesprint_sprint")]

    def __str__(self) -> str:
        return f"{self.sprint_name or self.sprint_jira_id} from {self.added_at:%Y-%m-%d}"
