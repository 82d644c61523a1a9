from django.core.validators import RegexValidator
from django.db import models

identifier_validator = RegexValidator(
    r"^[a-z_][a-z0-9_]*$", "Use lower-case letters, digits and underscores, not starting with a digit."
)

instance_slug_validator = RegexValidator(r"^(\*|[-a-zA-Z0-9_]+)$", 'An instance slug, or "*" for every instance.')
ANY_INSTANCE = "*"


class FieldType(models.TextChoices):
    STRING = "string", "String"
    TEXT = "text", "Text (rich text flattened)"
    INTEGER = "integer", "Integer"
    DECIMAL = "decimal", "Decimal"
    BOOLEAN = "boolean", "Boolean"
    DATE = "date", "Date"
    DATETIME = "datetime", "Date and time"
    OPTION = "option", "Option (select value)"
    USER = "user", "User"
    STRING_LIST = "string_list", "List of strings"
    JSON = "json", "JSON (as Jira sends it)"
    SPRINT = "sprint", "Sprint (the current one's name)"
    SPRINT_LIST = "sprint_list", "Sprints (every name)"
    VERSION_LIST = "version_list", "Versions (names)"
    COMPONENT_LIST = "component_list", "Components (names)"


class CombineMode(models.TextChoices):
    JOIN = "join", "Join the non-empty values"
    FIRST = "first", "First non-empty value"


class FieldMapping(models.Model):
    """A target field of the shared schema, filled from each instance's own Jira fields."""

    name = models.CharField(max_length=63, unique=True, validators=[identifier_validator])
    label = models.CharField(max_length=200, blank=True)
    group = models.CharField(max_length=100, blank=True, default="")
    field_type = models.CharField(max_length=16, choices=FieldType.choices, default=FieldType.STRING)
    required = models.BooleanField(default=False)
    default = models.JSONField(null=True, blank=True, help_text="Value used when every source is empty.")
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["group", "position", "name"]

    def __str__(self) -> str:
        return self.name


class FieldSource(models.Model):
    """Where one instance keeps a target field: one or more field ids or dot paths."""

    mapping = models.ForeignKey(FieldMapping, on_delete=models.CASCADE, related_name="sources")
    # A slug, not a foreign key: a mapping file may name instances that are added later.
    instance_slug = models.CharField(
        max_length=100, validators=[instance_slug_validator], help_text='The Jira instance\'s slug, or "*" for any.'
    )
    paths = models.JSONField(
        default=list, help_text='Jira field ids or dot paths, e.g. ["customfield_10700", "assignee.displayName"].'
    )
    jira_names = models.JSONField(default=list, blank=True, help_text="The fields' names in Jira, for reference.")
    combine = models.CharField(max_length=8, choices=CombineMode.choices, default=CombineMode.JOIN)
    separator = models.CharField(max_length=20, default=" ", blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mapping", "instance_slug"], name="fieldsource_unique_instance"),
        ]

    def __str__(self) -> str:
        return f"{self.mapping_id}@{self.instance_slug}: {', '.join(self.paths)}"


class StatusMilestone(models.Model):
    """A workflow moment the business cares about, reached when an issue enters one of its statuses."""

    name = models.CharField(max_length=63, unique=True, validators=[identifier_validator])
    label = models.CharField(max_length=200, blank=True)
    order = models.PositiveIntegerField(default=0)
    description = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name


class MilestoneStatuses(models.Model):
    """The Jira status names and/or ids that mean a milestone, on one instance."""

    milestone = models.ForeignKey(StatusMilestone, on_delete=models.CASCADE, related_name="statuses")
    instance_slug = models.CharField(
        max_length=100, validators=[instance_slug_validator], help_text='The Jira instance\'s slug, or "*" for any.'
    )
    status_names = models.JSONField(default=list, blank=True)
    status_ids = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name_plural = "milestone statuses"
        constraints = [
            models.UniqueConstraint(fields=["milestone", "instance_slug"], name="milestonestatuses_unique_instance"),
        ]

    def __str__(self) -> str:
        return f"{self.milestone_id}@{self.instance_slug}"
