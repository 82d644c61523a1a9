from zoneinfo import available_timezones

from django.core.validators import MinValueValidator, URLValidator
from django.db import models
from django.utils.text import slugify

from projects.crypto import decrypt_token, encrypt_token


class JiraInstance(models.Model):
    class Flavour(models.TextChoices):
        AUTO = "auto", "Detect automatically"
        CLOUD = "cloud", "Jira Cloud"
        DATACENTER = "datacenter", "Jira Data Center / Server"

    class AuthKind(models.TextChoices):
        BASIC = "basic", "Email (or username) + API token"
        BEARER = "bearer", "Bearer personal access token"

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True, help_text="Used in mapping files, commands and URLs.")
    base_url = models.URLField(
        max_length=300,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="The site's root, e.g. https://example.atlassian.net",
    )
    flavour = models.CharField(max_length=16, choices=Flavour.choices, default=Flavour.AUTO)
    detected_flavour = models.CharField(max_length=16, choices=Flavour.choices, blank=True, editable=False)
    auth_kind = models.CharField(max_length=16, choices=AuthKind.choices, default=AuthKind.BASIC)
    username = models.CharField(max_length=200, blank=True, help_text="Account email (Cloud) or username.")
    token_encrypted = models.TextField(blank=True, editable=False)
    webhook_secret_encrypted = models.TextField(
        blank=True, editable=False, help_text="Signs Cloud webhooks (HMAC) or goes in Data Center's webhook URL."
    )
    enabled = models.BooleanField(default=True)
    request_budget = models.FloatField(
        default=10.0,
        validators=[MinValueValidator(0.1)],
        help_text="Requests per second this instance may receive, across all workers.",
    )
    max_parallel_projects = models.PositiveSmallIntegerField(default=2, validators=[MinValueValidator(1)])
    jql_filter = models.CharField(
        max_length=1000, blank=True, help_text="Extra JQL ANDed to every sync query, e.g. issuetype != Epic."
    )
    enable_new_projects = models.BooleanField(default=False, help_text="Projects found by discovery start enabled.")
    time_zone = models.CharField(
        max_length=64, blank=True, editable=False, help_text="The Jira account's time zone (detected)."
    )
    incremental_every_minutes = models.PositiveIntegerField(
        default=15, help_text="Incremental sync interval; 0 turns the schedule off."
    )
    full_every_minutes = models.PositiveIntegerField(
        default=0, help_text="Full sync (followed by a census) interval; 0 uses the cron below instead."
    )
    full_cron = models.CharField(
        max_length=100,
        blank=True,
        default="30 3 * * 0",
        help_text="Cron for the full sync when no interval is set (default: Sundays 03:30 UTC); blank: never.",
    )
    census_every_minutes = models.PositiveIntegerField(
        default=360, help_text="Census interval (deleted and moved issues); 0 turns it off."
    )
    schedule_ids = models.JSONField(
        default=dict,
        blank=True,
        editable=False,
        help_text="The django-q2 Schedule rows kept for this instance, by purpose.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(request_budget__gt=0), name="instance_budget_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if not self.slug:
            self.slug = slugify(self.name)
        super().save(*args, **kwargs)

    @property
    def has_token(self) -> bool:
        return bool(self.token_encrypted)

    def set_token(self, clear: str) -> None:
        self.token_encrypted = encrypt_token(clear) if clear else ""

    def get_token(self) -> str:
        return decrypt_token(self.token_encrypted) if self.token_encrypted else ""

    def set_webhook_secret(self, clear: str) -> None:
        self.webhook_secret_encrypted = encrypt_token(clear) if clear else ""

    def get_webhook_secret(self) -> str:
        return decrypt_token(self.webhook_secret_encrypted) if self.webhook_secret_encrypted else ""

    @property
    def effective_flavour(self) -> str:
        if self.flavour != self.Flavour.AUTO:
            return self.flavour
        return self.detected_flavour or self.Flavour.AUTO

    @staticmethod
    def is_valid_time_zone(name: str) -> bool:
        return name in available_timezones()


class Project(models.Model):
    instance = models.ForeignKey(JiraInstance, on_delete=models.CASCADE, related_name="projects")
    jira_id = models.CharField(max_length=32)
    key = models.CharField(max_length=64)
    name = models.CharField(max_length=255, blank=True)
    enabled = models.BooleanField(default=False)
    sync_watermark = models.DateTimeField(null=True, blank=True, help_text="Highest issue 'updated' committed (UTC).")
    last_full_sync_at = models.DateTimeField(null=True, blank=True)
    last_census_at = models.DateTimeField(null=True, blank=True)
    census_count = models.PositiveIntegerField(null=True, blank=True, help_text="Issues Jira listed at the census.")
    stored_count = models.PositiveIntegerField(null=True, blank=True, help_text="Live issues stored after it.")
    # Who is syncing it now ("host:pid:nonce") and until when the claim holds unless renewed.
    claimed_by = models.CharField(max_length=200, blank=True, editable=False)
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["instance__name", "key"]
        constraints = [
            models.UniqueConstraint(fields=["instance", "jira_id"], name="project_unique_jira_id"),
        ]
        indexes = [models.Index(fields=["instance", "key"], name="project_instance_key")]

    def __str__(self) -> str:
        return f"{self.key} ({self.instance.slug})" if self.instance_id else self.key
