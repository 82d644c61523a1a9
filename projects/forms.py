from django import forms

from projects.models import JiraInstance


class JiraInstanceForm(forms.ModelForm):
    """The token is write-only: never rendered back, blank keeps the stored one."""

    token = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="API token (Cloud) or personal access token (Data Center). Leave blank to keep the stored one.",
    )

    webhook_secret = forms.CharField(
        required=False,
        strip=True,
        min_length=16,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Enables webhooks: the secret of the Jira Cloud webhook (it signs each delivery), or the "
        "token= in the Data Center webhook's URL. At least 16 characters. Leave blank to keep the stored one.",
    )

    class Meta:
        model = JiraInstance
        fields = [
            "name",
            "slug",
            "base_url",
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
        ]

    def clean(self) -> dict:
        cleaned = super().clean()
        has_token = bool(cleaned.get("token")) or (self.instance.pk and self.instance.has_token)
        if not has_token:
            self.add_error("token", "A token is required.")
        if cleaned.get("auth_kind") == JiraInstance.AuthKind.BASIC and not cleaned.get("username"):
            self.add_error("username", "Basic authentication needs the account's email or username.")
        return cleaned
