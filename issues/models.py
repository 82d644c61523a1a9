from django.db import models

from config.models import StatusMilestone
from projects.models import JiraInstance, Project


class Issue(models.Model):
    """One Jira issue as last synced, identified by (instance, Jira id): keys change on move, ids do not."""

    # No index of its own: the unique (instance, jira_id) index leads with it, and a second one on instance
    # alone is what PostgreSQL picked for page lookups by (instance, jira_id) before it had statistics.
    instance = models.ForeignKey(JiraInstance, on_delete=models.CASCADE, related_name="issues", db_index=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="issues", db_index=False)
    jira_id = models.BigIntegerField()
    key = models.CharField(max_length=64)
    summary = models.TextField(blank=True)
    issue_type = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=255, blank=True, help_text="As Jira sends it.")
    status_id = models.CharField(max_length=32, blank=True)
    status_category = models.CharField(max_length=32, blank=True, help_text="new, indeterminate or done.")
    priority = models.CharField(max_length=100, blank=True)
    assignee = models.CharField(max_length=255, blank=True)
    assignee_id = models.CharField(max_length=128, blank=True, help_text="accountId (Cloud) or user key (DC).")
    reporter = models.CharField(max_length=255, blank=True)
    reporter_id = models.CharField(max_length=128, blank=True)
    created = models.DateTimeField(null=True, blank=True)
    updated = models.DateTimeField(null=True, blank=True)
    resolved = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=100, blank=True)
    labels = models.JSONField(default=list, blank=True)
    fields = models.JSONField(default=dict, blank=True, help_text="Mapped field values by target name.")
    field_errors = models.JSONField(default=list, blank=True)
    has_field_errors = models.BooleanField(default=False)
    changelog_total = models.PositiveIntegerField(default=0, help_text="History entries Jira reports.")
    changelog_complete = models.BooleanField(default=True)
    raw_hash = models.CharField(max_length=32, blank=True, help_text="Digest of the raw JSON, to skip unchanged.")
    milestones_digest = models.CharField(
        max_length=16, blank=True, help_text="Digest of the milestone rules its milestones were derived with."
    )
    deleted_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["instance", "jira_id"], name="issue_unique_jira_id"),
            models.CheckConstraint(condition=models.Q(jira_id__gt=0), name="issue_jira_id_positive"),
        ]
        indexes = [
            models.Index(fields=["key"], name="issue_key"),
            models.Index(fields=["project", "-updated"], name="issue_project_updated"),
            models.Index(fields=["-updated", "-id"], name="issue_updated_id"),
            models.Index(fields=["status"], name="issue_status"),
            models.Index(fields=["instance", "status_category"], name="issue_instance_category"),
            # Few issues are deleted: a partial index finds them without reading the live ones.
            models.Index(fields=["instance"], condition=models.Q(deleted_at__isnull=False), name="issue_deleted"),
            models.Index(
                fields=["-updated", "-id"], condition=models.Q(has_field_errors=True), name="issue_field_errors"
            ),
            models.Index(
                fields=["instance"], condition=models.Q(changelog_complete=False), name="issue_changelog_incomplete"
            ),
        ]

    def __str__(self) -> str:
        return self.key


class IssueRaw(models.Model):
    """The issue exactly as Jira sent it (orjson bytes), apart from the hot row so lists stay fast."""

    issue = models.OneToOneField(Issue, on_delete=models.CASCADE, primary_key=True, related_name="raw")
    body = models.BinaryField()

    class Meta:
        verbose_name = "raw issue JSON"

    def __str__(self) -> str:
        return f"raw {self.issue_id}"


class StatusChange(models.Model):
    """One status transition; the issue's initial status is stored with history_id 0, dated at creation, and a
    move to its current status that the changelog does not hold with history_id -1, dated at its last update."""

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="status_changes", db_index=False)
    history_id = models.BigIntegerField()
    changed_at = models.DateTimeField()
    from_status_id = models.CharField(max_length=32, blank=True)
    from_status = models.CharField(max_length=255, blank=True)
    to_status_id = models.CharField(max_length=32, blank=True)
    to_status = models.CharField(max_length=255, blank=True)
    author = models.CharField(max_length=255, blank=True)
    author_id = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["issue", "changed_at", "history_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["issue", "history_id", "from_status_id", "to_status_id"], name="statuschange_unique"
            ),
        ]
        indexes = [models.Index(fields=["to_status", "changed_at"], name="statuschange_to_status")]

    def __str__(self) -> str:
        return f"{self.from_status or '∅'} → {self.to_status} at {self.changed_at:%Y-%m-%d %H:%M}"

    @property
    def is_initial(self) -> bool:
        """The status the issue was created in (history id 0, dated at creation)."""
        return self.history_id == 0

    @property
    def is_inferred(self) -> bool:
        """A move to the issue's current status that Jira's changelog does not hold (history id -1)."""
        return self.history_id == -1


class FieldChange(models.Model):
    """One item of an issue's changelog: a field (any field the instance keeps) changed from one value to another.

    Keyed by the Jira history's id and the item's place in it. `field_id` is Jira Cloud's fieldId (Data Center
    sends none: blank); the values are Jira's `from`/`to` (ids, account ids, raw values) and `fromString`/
    `toString` (what people read), NULL where Jira sent null.
    """

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="field_changes", db_index=False)
    history_id = models.BigIntegerField()
    position = models.PositiveIntegerField(help_text="The item's place in its history, as Jira sent it.")
    changed_at = models.DateTimeField()
    field_id = models.CharField(max_length=255, blank=True)
    field_name = models.CharField(max_length=255, blank=True)
    field_type = models.CharField(max_length=64, blank=True)
    from_id = models.TextField(null=True, blank=True)
    from_string = models.TextField(null=True, blank=True)
    to_id = models.TextField(null=True, blank=True)
    to_string = models.TextField(null=True, blank=True)
    author = models.CharField(max_length=255, blank=True)
    author_id = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["issue", "changed_at", "history_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["issue", "history_id", "position"], name="fieldchange_unique"),
        ]
        indexes = [models.Index(fields=["field_id", "changed_at"], name="fieldchange_field")]

    def __str__(self) -> str:
        moment = f"{self.changed_at:%Y-%m-%d %H:%M}"
        return f"{self.field_name}: {self.from_string or '∅'} → {self.to_string or '∅'} at {moment}"


class IssueMilestone(models.Model):
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="milestones", db_index=False)
    milestone = models.ForeignKey(
        StatusMilestone,
        on_delete=models.CASCADE,
        related_name="issue_milestones",
        db_index=False,
    )
    first_reached = models.DateTimeField()
    last_reached = models.DateTimeField()
    times_reached = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issue", "milestone"], name="issuemilestone_unique"),
        ]
        indexes = [models.Index(fields=["milestone", "first_reached"], name="issuemilestone_first")]

    def __str__(self) -> str:
        return f"{self.milestone_id} reached {self.times_reached}×"


class TimeInStatus(models.Model):
    """How long an issue spent in one status, over all its visits; the current visit counts up to the sync."""

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="time_in_status", db_index=False)
    status = models.CharField(max_length=255)
    status_id = models.CharField(max_length=32, blank=True)
    seconds = models.FloatField()
    visits = models.PositiveIntegerField()
    first_entered = models.DateTimeField()
    last_entered = models.DateTimeField()
    current = models.BooleanField(default=False, help_text="The issue is in this status now.")
    as_of = models.DateTimeField(help_text="When the current visit was last counted up to.")

    class Meta:
        verbose_name_plural = "time in status"
        constraints = [
            models.UniqueConstraint(fields=["issue", "status_id", "status"], name="timeinstatus_unique"),
        ]
        indexes = [models.Index(fields=["status", "current"], name="timeinstatus_status")]

    def __str__(self) -> str:
        return f"{self.status}: {self.seconds:.0f} s over {self.visits} visit(s)"


class IssueLink(models.Model):
    """One issue's relation to another as this issue's JSON shows it: an issue link (one row per end, with
    its direction), its parent (or epic, on Cloud) or one of its sub-tasks. The other issue is named by its
    Jira id (and key when read), so a link to an issue not synced (yet) is kept; join on
    (issue.instance_id, other_jira_id) = (issues_issue.instance_id, jira_id)."""

    class Kind(models.TextChoices):
        LINK = "link", "Issue link"
        PARENT = "parent", "Parent"
        SUBTASK = "subtask", "Sub-task"

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="links", db_index=False)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    link_id = models.BigIntegerField(default=0, help_text="Jira's issue link id; 0 for parent and sub-tasks.")
    link_type = models.CharField(max_length=255, blank=True, help_text="The link type's name, e.g. Blocks.")
    direction = models.CharField(max_length=8, blank=True, help_text="outward or inward; blank for parent/sub-task.")
    description = models.CharField(max_length=255, blank=True, help_text="This issue <description> the other.")
    other_jira_id = models.BigIntegerField()
    other_key = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issue", "kind", "link_id", "other_jira_id"], name="issuelink_unique"),
        ]
        indexes = [models.Index(fields=["other_jira_id"], name="issuelink_other")]

    def __str__(self) -> str:
        return f"{self.description or self.kind} {self.other_key or self.other_jira_id}"


class IssueVersion(models.Model):
    """A fix or affects version of an issue, as its JSON names it (version ids are per Jira instance)."""

    class Kind(models.TextChoices):
        FIX = "fix", "Fix version"
        AFFECTS = "affects", "Affects version"

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="versions", db_index=False)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    version_jira_id = models.BigIntegerField()
    name = models.CharField(max_length=255, blank=True)
    released = models.BooleanField(null=True)
    release_date = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issue", "kind", "version_jira_id"], name="issueversion_unique"),
        ]
        indexes = [models.Index(fields=["version_jira_id"], name="issueversion_version")]

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


class IssueComponent(models.Model):
    """A component of an issue, as its JSON names it."""

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="components", db_index=False)
    component_jira_id = models.BigIntegerField()
    name = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issue", "component_jira_id"], name="issuecomponent_unique"),
        ]
        indexes = [models.Index(fields=["component_jira_id"], name="issuecomponent_component")]

    def __str__(self) -> str:
        return self.name


class Version(models.Model):
    """A project's version as Jira lists it (`/project/{key}/versions`), read on full syncs; IssueVersion rows
    name it by `version_jira_id`. `deleted_at`: no longer listed."""

    instance = models.ForeignKey(JiraInstance, on_delete=models.CASCADE, related_name="versions", db_index=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="versions")
    jira_id = models.BigIntegerField()
    name = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    released = models.BooleanField(default=False)
    archived = models.BooleanField(default=False)
    release_date = models.DateField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["instance", "jira_id"], name="version_unique_jira_id")]

    def __str__(self) -> str:
        return self.name


class Component(models.Model):
    """A project's component as Jira lists it (`/project/{key}/components`), read on full syncs."""

    instance = models.ForeignKey(JiraInstance, on_delete=models.CASCADE, related_name="components", db_index=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="components")
    jira_id = models.BigIntegerField()
    name = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["instance", "jira_id"], name="component_unique_jira_id")]

    def __str__(self) -> str:
        return self.name
