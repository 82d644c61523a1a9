"""Items 3 and 6 of #12: a stored token only goes to the host it was entered for; no credentials in
instance URLs; plain http:// to another machine only when acknowledged, and then warned about."""

import base64
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from audit.services import COMMAND
from jirasim.testing import TOKEN, USER
from projects.models import JiraInstance
from syncing.instance_settings import instance_save
from syncing.models import SyncRun
from syncing.runs.runner import RunOptions, sync_instance
from tests.support.echo_server import echo_server
from tests.support.formdata import instance_form
from tests.support.sites import register

pytestmark = pytest.mark.django_db(transaction=True)


def test_changing_the_url_without_the_token_is_refused_and_the_form_says_why(admin_client, cloud_site):
    instance = register(cloud_site, "instance_1")
    change = reverse("admin:projects_jirainstance_change", args=[instance.pk])
    with echo_server() as attacker:
        for field, value in (("base_url", attacker.url), ("username", "someone@else"), ("auth_kind", "bearer")):
            response = admin_client.post(change, instance_form(instance, **{field: value}))
            assert response.status_code == 200
            assert "Enter the token again" in response.content.decode()
        assert JiraInstance.objects.get(pk=instance.pk).base_url == cloud_site.url
        page = admin_client.get(change).content.decode()
        assert "only" in page and "sent to the host it was entered for" in page  # the token's help text
        assert attacker.authorizations == []  # the stored token was not tried at the new URL
        # With the token typed again, the connection is tested at the URL it was typed for: no Jira there,
        # so it is refused, saying why without echoing the token back ...
        typed = instance_form(instance, base_url=attacker.url, token="typed-again-123")
        refused = admin_client.post(change, typed)
        text = refused.content.decode()
        assert refused.status_code == 200 and "The connection test failed" in text and "401" in text
        assert "typed-again-123" not in text
        sent = {base64.b64decode(header.split()[1]).decode() for header in attacker.authorizations}
        assert sent == {f"{instance.username}:typed-again-123"}  # only what was typed for it, never TOKEN
        # ... and saves when the operator insists (the token is then bound to the new URL).
        saved = admin_client.post(change, typed | {"save_anyway": "on"})
        assert saved.status_code == 302
        assert JiraInstance.objects.get(pk=instance.pk).get_token() == "typed-again-123"


def test_a_token_is_never_sent_to_another_host_whatever_changed_the_url(admin_client, cloud_instance):
    with echo_server() as attacker:
        # The URL changed behind the form's back (a migration, the shell, another code path).
        JiraInstance.objects.filter(pk=cloud_instance.pk).update(base_url=attacker.url)
        page = admin_client.post(
            reverse("admin:projects_jirainstance_changelist"),
            {"action": "test_connection", "_selected_action": [cloud_instance.pk]},
            follow=True,
        ).content.decode()
        run = sync_instance(cloud_instance.pk, RunOptions())
        out = io.StringIO()
        with pytest.raises(CommandError):
            call_command("check_jira", cloud_instance.slug, stdout=out)
        assert attacker.authorizations == []  # nothing reached it, not even once
    assert "the stored token was entered for" in page and "enter the token again" in page
    assert run.status == SyncRun.Status.FAILED and "enter the token again" in run.error
    assert TOKEN not in page + run.error + out.getvalue()


def test_a_token_typed_for_one_url_stays_bound_to_it_through_the_service(cloud_site):
    instance = register(cloud_site, "instance_1")
    instance.base_url = "https://elsewhere.example.com"
    with pytest.raises(ValidationError, match="Enter the token again"):
        instance_save(instance=instance, actor=COMMAND)
    stored = JiraInstance.objects.get(pk=instance.pk)
    assert stored.base_url == cloud_site.url and stored.get_token() == TOKEN


@pytest.mark.parametrize(
    "url", ["https://ops%40acme.com:hunter2@acme.atlassian.net", "https://token@acme.atlassian.net"]
)
def test_credentials_in_the_url_are_refused_everywhere(admin_client, url, monkeypatch):
    with pytest.raises(ValidationError, match="Credentials do not belong in the URL"):
        JiraInstance(name="x", slug="x", base_url=url, username="u").full_clean(exclude=["token_encrypted"])
    monkeypatch.setenv("JIRA_TOKEN", "a-token-123")
    with pytest.raises(CommandError, match="Credentials do not belong in the URL"):
        call_command("add_jira_instance", "Acme", url, "--username", "u", "--token-env", "JIRA_TOKEN")
    instance = JiraInstance(name="Acme", slug="acme", base_url="https://acme.atlassian.net", username="u")
    form = instance_form(instance, base_url=url, token="a-token-123")
    response = admin_client.post(reverse("admin:projects_jirainstance_add"), form)
    assert response.status_code == 200 and "Credentials do not belong in the URL" in response.content.decode()
    assert not JiraInstance.objects.exists()


def test_plain_http_to_another_host_needs_an_acknowledgement_and_is_warned_about(admin_client, monkeypatch):
    monkeypatch.setenv("JIRA_TOKEN", "a-token-123")
    url = "http://jira.internal.example.com"
    with pytest.raises(CommandError, match="Plain http://"):
        call_command("add_jira_instance", "Acme", url, "--username", "u", "--token-env", "JIRA_TOKEN")
    instance = JiraInstance(name="Acme", slug="acme", base_url=url, username="u")
    response = admin_client.post(reverse("admin:projects_jirainstance_add"), instance_form(instance, token="t-123456"))
    assert "Plain http://" in response.content.decode() and not JiraInstance.objects.exists()
    call_command(
        "add_jira_instance",
        "Acme",
        url,
        "--username",
        "u",
        "--token-env",
        "JIRA_TOKEN",
        "--allow-insecure-http",
        "--no-check",  # no Jira there: only the acknowledgement is under test
        stdout=io.StringIO(),
    )
    stored = JiraInstance.objects.get(slug="acme")
    assert stored.allow_insecure_http and stored.get_token() == "a-token-123"
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert "js-insecure" in page and "crosses the network unencrypted" in page
    # Withdrawn behind the form's back: the token is withheld at the point of use, not only in the form.
    JiraInstance.objects.filter(pk=stored.pk).update(allow_insecure_http=False)
    with pytest.raises(Exception, match="plain http"):
        JiraInstance.objects.get(pk=stored.pk).get_token()


def test_loopback_http_needs_no_acknowledgement(db):
    for url in ("http://127.0.0.1:8089", "http://localhost:8090", "http://[::1]:8000"):
        instance = JiraInstance(name="Local", slug="local", base_url=url, username=USER)
        instance.set_token("a-token-123")
        instance.full_clean()
        assert not instance.sends_token_in_clear and instance.get_token() == "a-token-123"
