"""What people do on an issue besides moving it: its comments and worklogs, as last synced.

Each is identified by (instance, Jira id): Jira numbers comments and worklogs per site. A comment or worklog
that Jira no longer has is soft-deleted (`deleted_at`), never removed, so what was said and logged stays
readable and the deletion is visible.
"""

from django.db import models

from issues.models import Issue
from projects.models import JiraInstance


class Comment(models.Model):
    """One comment of an issue: its text flattened from ADF (Cloud v3) or as sent (wiki text), and its raw body."""

    instance = models.ForeignKey(JiraInstance, on_delete=models.CASCADE, related_name="+", db_index=False)
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="comments", db_index=False)
    jira_id = models.BigIntegerField()
    author = models.CharField(max_length=255, blank=True, help_text="Display name.")
    author_id = models.CharField(max_length=128, blank=True, help_text="accountId (Cloud) or user key (DC).")
    update_author = models.CharField(max_length=255, blank=True)
    created = models.DateTimeField()
    updated = models.DateTimeField()
    body = models.TextField(blank=True, help_text="Plain text (ADF flattened).")
    body_raw = models.JSONField(null=True, blank=True, help_text="The body as Jira sent it (ADF or text).")
    visibility_type = models.CharField(max_length=16, blank=True, help_text="role or group; blank: everyone.")
    visibility_value = models.CharField(max_length=255, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField()

    class Meta:
        ordering = ["created", "jira_id"]
        constraints = [models.UniqueConstraint(fields=["instance", "jira_id"], name="comment_unique_jira_id")]
        indexes = [
            models.Index(fields=["issue", "created"], name="comment_issue_created"),
            # Few are deleted: a partial index counts them without reading the live ones.
            models.Index(fields=["instance"], condition=models.Q(deleted_at__isnull=False), name="comment_deleted"),
        ]

    def __str__(self) -> str:
        return f"comment {self.jira_id}"


class Worklog(models.Model):
    """Time logged on an issue: who, when the work started, how many seconds, and what they wrote."""

    instance = models.ForeignKey(JiraInstance, on_delete=models.CASCADE, related_name="+", db_index=False)
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="worklogs", db_index=False)
    jira_id = models.BigIntegerField()
    author = models.CharField(max_length=255, blank=True)
    author_id = models.CharField(max_length=128, blank=True)
    started = models.DateTimeField()
    seconds = models.BigIntegerField(help_text="timeSpentSeconds.")
    comment = models.TextField(blank=True, help_text="Plain text (ADF flattened).")
    comment_raw = models.JSONField(null=True, blank=True)
    created = models.DateTimeField()
    updated = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField()

    class Meta:
        ordering = ["started", "jira_id"]
        constraints = [
            models.UniqueConstraint(fields=["instance", "jira_id"], name="worklog_unique_jira_id"),
            models.CheckConstraint(condition=models.Q(seconds__gte=0), name="worklog_seconds_not_negative"),
        ]
        indexes = [
            models.Index(fields=["issue", "started"], name="worklog_issue_started"),
            models.Index(fields=["instance"], condition=models.Q(deleted_at__isnull=False), name="worklog_deleted"),
        ]

    def __str__(self) -> str:
        return f"worklog {self.jira_id}"


class WorklogFeed(models.Model):
    """Where an instance's Cloud worklog change feed (worklog/updated, worklog/deleted) goes on from: epoch ms,
    moved forward only after what was read before it is committed."""

    instance = models.OneToOneField(JiraInstance, on_delete=models.CASCADE, primary_key=True, related_name="+")
    updated_since = models.BigIntegerField(default=0)
    deleted_since = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"worklog feed of instance {self.instance_id}"


class WorklogPending(models.Model):
    """A Cloud issue whose answer held fewer worklogs than its total: the instance's worklog feed completes it,
    else (its older worklogs predate the feed's watermark) its own worklog endpoint. Kept until complete, so
    a run killed in between leaves it to the next."""

    issue = models.OneToOneField(Issue, on_delete=models.CASCADE, primary_key=True, related_name="+")
    instance = models.ForeignKey(JiraInstance, on_delete=models.CASCADE, related_name="+")
    total = models.PositiveIntegerField(help_text="Worklogs Jira counted for the issue when it was read.")
    spent = models.BigIntegerField(
        null=True, blank=True, help_text="The issue's timespent (seconds) in that answer; blank: it did not say."
    )

    def __str__(self) -> str:
        return f"worklogs of issue {self.issue_id} pending"
