from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, URLValidator
from django.db import models
from django.utils.text import slugify

from lib.secret_values import secrets_remember
from projects.cron import validate_cron
from projects.crypto import decrypt_token, encrypt_token
from projects.field_history_setting import field_history_normalised, validate_field_history
from projects.jql_filter import jql_filter_problems
from projects.origins import url_is_loopback, url_origin, url_userinfo

# What a token is entered for: changing any of them asks for the token again.
CREDENTIAL_FIELDS = ("base_url", "auth_kind", "username")
# django-q2 keeps a schedule's minutes as a small integer.
MAX_SCHEDULE_MINUTES = 32767
SCHEDULE_MINUTES = MaxValueValidator(
    MAX_SCHEDULE_MINUTES, f"At most {MAX_SCHEDULE_MINUTES} minutes (about 22 days); use the cron for rarer full syncs."
)


class TokenWithheld(Exception):
    """The stored token is not sent: the URL names another origin than the one it was entered for, or plain
    http:// to another machine that nobody acknowledged."""


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
    epic_link_field = models.CharField(
        max_length=64,
        null=True,
        blank=True,
        editable=False,
        help_text="Data Center: the Epic Link custom field's id, found by its schema (gh-epic-link) at a full "
        "sync; empty: the site has none; null: not looked for yet.",
    )
    auth_kind = models.CharField(max_length=16, choices=AuthKind.choices, default=AuthKind.BASIC)
    username = models.CharField(max_length=200, blank=True, help_text="Account email (Cloud) or username.")
    token_encrypted = models.TextField(blank=True, editable=False)
    # The origin (scheme://host:port) the token was entered for: it is only ever sent there.
    token_origin = models.CharField(max_length=300, blank=True, editable=False)
    allow_insecure_http = models.BooleanField(
        default=False,
        verbose_name="Allow plain http://",
        help_text="Send the token over unencrypted http:// to a host that is not this machine. "
        "Anyone on the network path can read it; use https:// unless you know the path is private.",
    )
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
    field_history = models.CharField(
        max_length=2000,
        blank=True,
        default="*",
        validators=[validate_field_history],
        help_text="Whose changes the field history keeps: * (alone) for every field; empty for none; else field "
        "ids or names separated by commas, case-insensitive, spaces around them ignored (e.g. assignee, "
        "priority, customfield_10020, Fix Version/s). No semicolons, quotes or wildcards. The status history "
        "is kept whatever this says.",
    )
    sync_comments = models.BooleanField(
        default=True, help_text="Store each issue's comments (every one, beyond what a search sends inline)."
    )
    sync_worklogs = models.BooleanField(default=True, help_text="Store each issue's worklogs (time logged).")
    time_zone = models.CharField(
        max_length=64, blank=True, editable=False, help_text="The Jira account's time zone (detected)."
    )
    incremental_every_minutes = models.PositiveIntegerField(
        "Incremental sync every (minutes)",
        default=15,
        validators=[SCHEDULE_MINUTES],
        help_text="0 turns the incremental schedule off.",
    )
    full_every_minutes = models.PositiveIntegerField(
        "Full sync every (minutes)",
        default=0,
        validators=[SCHEDULE_MINUTES],
        help_text="A full sync re-reads every issue and ends with a census; 0 uses the cron below instead.",
    )
    full_cron = models.CharField(
        "Full sync cron",
        max_length=100,
        blank=True,
        default="30 3 * * 0",
        validators=[validate_cron],
        help_text="Cron (UTC) for the full sync when no interval is set (default: Sundays 03:30); blank: never.",
    )
    census_every_minutes = models.PositiveIntegerField(
        "Census every (minutes)",
        default=360,
        validators=[SCHEDULE_MINUTES],
        help_text="A census finds deleted and moved issues; 0 turns its schedule off.",
    )
    schedules_paused = models.BooleanField(
        default=False,
        verbose_name="Schedules paused",
        help_text="No scheduled run starts while paused; Sync now, webhooks and commands still work "
        "(unlike Enabled, which turns the whole instance off).",
    )
    schedule_ids = models.JSONField(
        default=dict,
        blank=True,
        editable=False,
        help_text="The django-q2 Schedule rows kept for this instance, by purpose.",
    )
    # Set when its deletion began: it no longer syncs, and its data is being removed in the background.
    deleting_since = models.DateTimeField(null=True, blank=True, editable=False)
    deleting_by = models.CharField(max_length=150, blank=True, editable=False, help_text="Who asked for the deletion.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        permissions = [("sync_jirainstance", "Can start syncs and censuses (of instances and their projects)")]
        constraints = [
            models.CheckConstraint(condition=models.Q(request_budget__gt=0), name="instance_budget_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if not self.slug:
            self.slug = slugify(self.name)
        # One stored form, whatever the door: the report view's SQL reads it as KeptFields does.
        self.field_history = field_history_normalised(self.field_history)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        problems: dict[str, str | list[str]] = {}
        if self.base_url and url_userinfo(self.base_url):
            problems["base_url"] = (
                "Credentials do not belong in the URL (they would be logged and sent as they are): "
                "remove the user:password@ part and use the user name and token fields."
            )
        elif self.base_url and self.sends_token_in_clear and not self.allow_insecure_http:
            problems["base_url"] = (
                "Plain http:// sends the token unencrypted to a host that is not this machine: "
                'use https://, or tick "Allow plain http://" to accept the risk.'
            )
        if self.jql_filter and (jql_problems := jql_filter_problems(self.jql_filter)):
            problems["jql_filter"] = jql_problems
        if problems:
            raise ValidationError(problems)

    @property
    def being_deleted(self) -> bool:
        return self.deleting_since is not None

    @property
    def has_token(self) -> bool:
        return bool(self.token_encrypted)

    def credentials_changed(self, stored: "JiraInstance") -> list[str]:
        """The fields a token is entered for (URL, auth kind, user name) that differ from the stored row's."""
        return [name for name in CREDENTIAL_FIELDS if getattr(self, name) != getattr(stored, name)]

    @property
    def sends_token_in_clear(self) -> bool:
        """http:// to another machine: allowed only with allow_insecure_http, and warned about."""
        return self.base_url.lower().startswith("http://") and not url_is_loopback(self.base_url)

    def set_token(self, clear: str) -> None:
        """Store the token encrypted, bound to the origin the instance's URL names now."""
        self.token_encrypted = encrypt_token(clear) if clear else ""
        self.token_origin = url_origin(self.base_url) if clear else ""
        secrets_remember(clear, self.username)

    def get_token(self) -> str:
        """The clear token, for sending to the instance; refused when the URL moved to another origin."""
        if not self.token_encrypted:
            return ""
        if self.token_origin != url_origin(self.base_url):
            raise TokenWithheld(
                f"{self.name}: the stored token was entered for {self.token_origin or 'another host'}, "
                f"not {url_origin(self.base_url)}: enter the token again for the new URL"
            )
        if self.sends_token_in_clear and not self.allow_insecure_http:
            raise TokenWithheld(
                f"{self.name}: {self.base_url} is plain http:// to another machine; the token is not sent "
                'unless "Allow plain http://" is set on the instance (or use https://)'
            )
        clear = decrypt_token(self.token_encrypted)
        secrets_remember(clear, self.username)
        return clear

    def set_webhook_secret(self, clear: str) -> None:
        self.webhook_secret_encrypted = encrypt_token(clear) if clear else ""
        secrets_remember(clear)

    def get_webhook_secret(self) -> str:
        if not self.webhook_secret_encrypted:
            return ""
        clear = decrypt_token(self.webhook_secret_encrypted)
        secrets_remember(clear)
        return clear

    @property
    def effective_flavour(self) -> str:
        if self.flavour != self.Flavour.AUTO:
            return self.flavour
        return self.detected_flavour or self.Flavour.AUTO


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
