from django import forms

from projects.models import CREDENTIAL_FIELDS, JiraInstance
from projects.services import token_required_message


class JiraInstanceForm(forms.ModelForm):
    """The token is write-only: never rendered back, blank keeps the stored one."""

    # What Jira's JQL parser said of the submitted filter (None: not asked), and why the connection test
    # failed (None: not tested, or it worked); set by the admin, which asks Jira before the save's
    # transaction opens.
    jql_parse_problems: list[str] | None = None
    connection_problem: str | None = None

    token = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="API token (Cloud) or personal access token (Data Center). Leave blank to keep the stored one — "
        "except when you change the URL, auth kind or user name: then enter it again (a stored token is only "
        "sent to the host it was entered for).",
    )

    webhook_secret = forms.CharField(
        required=False,
        strip=True,
        min_length=16,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Enables webhooks: the secret of the Jira Cloud webhook (it signs each delivery), or the "
        "token= in the Data Center webhook's URL. At least 16 characters. Leave blank to keep the stored one.",
    )

    save_anyway = forms.BooleanField(
        required=False,
        label="Save without a connection test",
        help_text="The connection is tested with what you entered before an instance is added or its URL, "
        "user or token changes, and what cannot connect is not saved. Tick to save it anyway (Jira is down, "
        "or not reachable from here yet); press Test connection later.",
    )

    class Meta:
        model = JiraInstance
        fields = [
            "name",
            "slug",
            "base_url",
            "allow_insecure_http",
            "flavour",
            "auth_kind",
            "username",
            "token",
            "enabled",
            "request_budget",
            "max_parallel_projects",
            "jql_filter",
            "enable_new_projects",
            "webhook_secret",
            "incremental_every_minutes",
            "full_every_minutes",
            "full_cron",
            "census_every_minutes",
            "schedules_paused",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field_history = self.fields.get("field_history")
        if isinstance(field_history, forms.CharField):  # blanks alone are refused saying why, as at every door
            field_history.strip = False

    def clean(self) -> dict:
        cleaned = super().clean() or {}  # a ModelForm's clean() returns cleaned_data, never None
        has_token = bool(cleaned.get("token")) or (self.instance.pk and self.instance.has_token)
        if not has_token:
            self.add_error("token", "A token is required.")
        elif self.instance.pk and not cleaned.get("token") and (changed := self._credentials_changed()):
            self.add_error("token", token_required_message(changed))
        if self.connection_problem and not cleaned.get("save_anyway"):
            self.add_error(
                None,
                f"The connection test failed: {self.connection_problem}. Correct the connection, or tick "
                '"Save without a connection test" to save it as it is.',
            )
        if self.jql_parse_problems:
            self.add_error("jql_filter", f"Jira's JQL parser refuses it: {'; '.join(self.jql_parse_problems)}")
        if cleaned.get("auth_kind") == JiraInstance.AuthKind.BASIC and not cleaned.get("username"):
            self.add_error("username", "Basic authentication needs the account's email or username.")
        return cleaned

    def clean_full_cron(self) -> str:
        return " ".join(self.cleaned_data["full_cron"].split())  # as django-q2 will read it

    def _credentials_changed(self) -> list[str]:
        return [name for name in CREDENTIAL_FIELDS if name in self.changed_data]
