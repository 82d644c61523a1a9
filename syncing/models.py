from django.db import models

from projects.models import JiraInstance, Project


class SyncRun(models.Model):
    """One run of the engine, updated as it goes so progress is visible while it runs."""

    class Kind(models.TextChoices):
        FULL = "full", "Full"
        INCREMENTAL = "incremental", "Incremental"
        WEBHOOK = "webhook", "Webhook"
        CENSUS = "census", "Census"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        ADMIN = "admin", "Admin"
        COMMAND = "command", "Command"
        WEBHOOK = "webhook", "Webhook"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        PARTIAL = "partial", "Partly failed"
        SKIPPED = "skipped", "Skipped"  # another run holds the project, or nothing was enabled: the error says which
        CANCELLED = "cancelled", "Cancelled"
        ABANDONED = "abandoned", "Abandoned (its worker stopped)"

    instance = models.ForeignKey(JiraInstance, on_delete=models.CASCADE, related_name="sync_runs")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, null=True, blank=True, related_name="sync_runs")
    parent = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="children")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    fetched = models.PositiveIntegerField(default=0)
    inserted = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    failed_rows = models.PositiveIntegerField(default=0)
    status_changes = models.PositiveIntegerField(default=0)
    requests = models.PositiveIntegerField(default=0)
    retries = models.PositiveIntegerField(default=0)
    rate_limited = models.PositiveIntegerField(default=0, help_text="429 responses received.")
    incomplete_histories = models.PositiveIntegerField(default=0, help_text="Issues whose history stayed short.")
    deleted = models.PositiveIntegerField(default=0, help_text="Issues a census found gone (soft-deleted).")
    recovered = models.PositiveIntegerField(
        default=0, help_text="Issues a census found in Jira but not stored, then fetched and stored."
    )
    field_changes = models.PositiveIntegerField(
        default=0, help_text="Field history items (changelog items of kept fields) written: new or replaced."
    )
    comments = models.PositiveIntegerField(default=0, help_text="Comments written (new, or as they are now).")
    worklogs = models.PositiveIntegerField(
        default=0, help_text="Worklogs written (new, or as they are now), the Cloud worklog feed's included."
    )
    comments_deleted = models.PositiveIntegerField(
        default=0, help_text="Comments soft-deleted: no longer in their issue's list."
    )
    worklogs_deleted = models.PositiveIntegerField(
        default=0, help_text="Worklogs soft-deleted: no longer in their issue's list, or listed deleted by the feed."
    )
    pages = models.PositiveIntegerField(default=0)
    expected_issues = models.PositiveIntegerField(
        null=True, blank=True, help_text="What Jira counted for this run's query (or the last census), when known."
    )
    dry_run = models.BooleanField(
        default=False,
        help_text="Fetched and processed, nothing written: not a sync (no last success, charts, metrics).",
    )
    expected_children = models.PositiveIntegerField(
        default=0, help_text="Project runs fanned out to queue workers; the last to finish closes this run."
    )
    error = models.TextField(blank=True, help_text="Why it failed (secrets removed).")
    owner = models.CharField(max_length=200, blank=True, help_text="The worker running it (host:pid:nonce).")
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last renewal of its lease by its worker.")
    cancel_requested = models.BooleanField(default=False, help_text="Cancel was asked for: it stops at its next page.")
    watermark_before = models.DateTimeField(null=True, blank=True)
    watermark_after = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("cancel_syncrun", "Can cancel queued and running sync runs"),
            ("retry_syncrun", "Can retry failed sync runs (queue the same kind again)"),
        ]
        indexes = [
            models.Index(fields=["instance", "-created_at"], name="syncrun_instance_created"),
            models.Index(fields=["project", "-created_at"], name="syncrun_project_created"),
            models.Index(fields=["status", "-created_at"], name="syncrun_status_created"),
        ]

    def __str__(self) -> str:
        scope = self.project.key if self.project is not None else self.instance.slug
        return f"{self.get_kind_display()} sync of {scope} #{self.pk}"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def duration_seconds(self) -> float | None:
        if not self.started_at:
            return None
        end = self.finished_at
        if end is None:
            from django.utils import timezone

            end = timezone.now()
        return (end - self.started_at).total_seconds()


class RunLogLine(models.Model):
    """One log record of a run (level, time, message; requests with status and duration at DEBUG), secrets
    redacted by value; at most JIRASYNC_RUN_LOG_MAX_LINES a run (how many more there were is its last line).
    Deleted with its run."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="log_lines")
    at = models.DateTimeField()
    level = models.PositiveSmallIntegerField(help_text="The logging level number (10 DEBUG … 50 CRITICAL).")
    logger = models.CharField(max_length=100)
    message = models.TextField()

    class Meta:
        indexes = [models.Index(fields=["run", "at"], name="runlogline_run_at")]

    def __str__(self) -> str:
        return f"#{self.run_id} {self.at:%H:%M:%S} {self.message[:60]}"


class RunTotals(models.Model):
    """What pruned sync runs added up to, per instance, kind and result, so metrics counters never go back."""

    instance = models.ForeignKey(JiraInstance, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=SyncRun.Kind.choices)
    status = models.CharField(max_length=16, choices=SyncRun.Status.choices)
    runs = models.PositiveBigIntegerField(default=0)
    requests = models.PositiveBigIntegerField(default=0)
    retries = models.PositiveBigIntegerField(default=0)
    rate_limited = models.PositiveBigIntegerField(default=0)
    failed_rows = models.PositiveBigIntegerField(default=0)
    fetched = models.PositiveBigIntegerField(default=0)
    deleted = models.PositiveBigIntegerField(default=0)
    recovered = models.PositiveBigIntegerField(default=0)
    field_changes = models.PositiveBigIntegerField(default=0)
    comments = models.PositiveBigIntegerField(default=0)
    worklogs = models.PositiveBigIntegerField(default=0)
    comments_deleted = models.PositiveBigIntegerField(default=0)
    worklogs_deleted = models.PositiveBigIntegerField(default=0)
    timed_runs = models.PositiveBigIntegerField(default=0)
    duration_seconds = models.FloatField(default=0.0)
    duration_buckets = models.JSONField(default=list, help_text="Cumulative run counts per duration bucket.")

    class Meta:
        verbose_name_plural = "run totals"
        constraints = [
            models.UniqueConstraint(fields=["instance", "kind", "status"], name="runtotals_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.instance_id} {self.kind} {self.status}: {self.runs} runs"


class WorkerHeartbeat(models.Model):
    """The last time a qcluster worker on a host ran the heartbeat task; /readyz reads it."""

    host = models.CharField(max_length=255, unique=True)
    pid = models.PositiveIntegerField(default=0)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.host} at {self.seen_at:%Y-%m-%d %H:%M:%S}"


class WebhookDelivery(models.Model):
    """A webhook Jira delivered, kept to refuse replays: by Jira's delivery id, and by the body's digest —
    the id header is not signed, so a replayed body with a fresh id is still the same delivery."""

    instance = models.ForeignKey(JiraInstance, on_delete=models.CASCADE, related_name="+")
    identifier = models.CharField(max_length=128)
    body_sha256 = models.CharField(max_length=64, null=True, blank=True)
    event = models.CharField(max_length=64)
    issue_jira_id = models.BigIntegerField()
    issue_key = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["instance", "identifier"], name="webhookdelivery_unique"),
            models.UniqueConstraint(fields=["instance", "body_sha256"], name="webhookdelivery_unique_body"),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.issue_key or self.issue_jira_id}"


class PendingRefresh(models.Model):
    """An issue a webhook asked to refresh: one row however many events arrive before the task runs."""

    instance = models.ForeignKey(JiraInstance, on_delete=models.CASCADE, related_name="+")
    issue_jira_id = models.BigIntegerField()
    events = models.PositiveIntegerField(default=1)
    requested_at = models.DateTimeField(auto_now_add=True)
    # Set while the refresh waits for a project run holding the issue's project: queued again when it lets go.
    parked_for = models.ForeignKey(Project, null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["instance", "issue_jira_id"], name="pendingrefresh_unique")]

    def __str__(self) -> str:
        return f"refresh {self.issue_jira_id} ({self.events} events)"


class WebhookRefusal(models.Model):
    """Webhook deliveries refused for a reason worth a metric (too many refreshes already waiting), per instance."""

    instance = models.ForeignKey(JiraInstance, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=32)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["instance", "reason"], name="webhookrefusal_unique")]

    def __str__(self) -> str:
        return f"{self.reason}: {self.count}"


class IssueRetry(models.Model):
    """An issue a run could not store (a failed row): asked for again by every later run of its project until
    it is stored, so a failed row is counted and retried, never left behind the watermark."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="issue_retries")
    jira_id = models.BigIntegerField()
    key = models.CharField(max_length=64, blank=True)
    reason = models.TextField(blank=True, help_text="Why it could not be stored, the last time (secrets removed).")
    attempts = models.PositiveIntegerField(default=1)
    first_failed_at = models.DateTimeField(auto_now_add=True)
    last_failed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "jira_id"], name="issueretry_unique")]

    def __str__(self) -> str:
        return f"{self.key or self.jira_id}: {self.attempts} failed attempt(s)"
