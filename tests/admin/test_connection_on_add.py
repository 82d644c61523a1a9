"""Adding an instance tests its connection first (#17 item 5): what cannot connect is not saved unless the
operator insists, the reason is shown without the token, Jira is asked outside the save's transaction, and
the typed token goes only to the URL it was typed for."""

import base64
import re
import time

import pytest
from django.db import connection
from django.urls import reverse

from audit.models import AuditLog
from jirasim.testing import TOKEN, USER, request_counts
from projects.models import JiraInstance
from syncing.site import connection_test
from tests.support.echo_server import echo_server
from tests.support.formdata import form_fields
from tests.support.ports import url_dead
from tests.support.sites import register

pytestmark = pytest.mark.django_db(transaction=True)

ADD = "admin:projects_jirainstance_add"


def add_form(client, url: str, token: str = TOKEN, **changes: str) -> dict[str, list[str]]:
    """The add form as rendered, filled in as an operator would."""
    data = form_fields(client.get(reverse(ADD)).content.decode(), "jirainstance_form")
    values = {"name": "Acme", "slug": "acme", "base_url": url, "username": USER, "token": token, **changes}
    data.update({name: [value] for name, value in values.items()})
    data["_save"] = ["Save"]
    return data


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()).replace("\xa0", " "))


@pytest.fixture
def transaction_seen(monkeypatch) -> list[bool]:
    """Whether a database transaction was open each time the connection test asked Jira."""
    seen = []
    original = connection_test.instance_check

    def spied(instance, specs):
        seen.append(connection.in_atomic_block)
        return original(instance, specs)

    monkeypatch.setattr(connection_test, "instance_check", spied)
    return seen


def test_adding_an_instance_tests_its_connection_first_and_keeps_what_jira_said(
    admin_client, cloud_site, reference_mappings, transaction_seen
):
    answer = admin_client.post(reverse(ADD), add_form(admin_client, cloud_site.url), follow=True)
    assert answer.redirect_chain, text_of(answer)[:3000]
    assert transaction_seen == [False]  # asked once, before Django opened the save's transaction
    instance = JiraInstance.objects.get(slug="acme")
    assert (instance.detected_flavour, instance.get_token()) == ("cloud", TOKEN)
    assert instance.time_zone  # what the account's profile said
    page = text_of(answer)
    assert "Acme: ✓ authenticated; cloud" in page and "2 projects visible" in page and TOKEN not in page
    created = AuditLog.objects.get(object_type="projects.jirainstance", action="create")
    assert created.summary.startswith("created Jira instance Acme (connection tested: cloud ")


def test_a_dead_url_or_a_site_that_is_not_jira_is_refused_with_the_reason_until_the_operator_insists(
    admin_client, transaction_seen
):
    started = time.monotonic()
    refused = admin_client.post(reverse(ADD), add_form(admin_client, url_dead()))
    assert time.monotonic() - started < 30  # the interactive check answers at once, not after minutes of retries
    page = text_of(refused)
    assert refused.status_code == 200 and "The connection test failed" in page and "refused" in page, page[:3000]
    assert "Save without a connection test" in page
    with echo_server(status=404) as not_jira:
        refused = admin_client.post(reverse(ADD), add_form(admin_client, not_jira.url, token="typed-for-it-123"))
        page = text_of(refused)
        assert "The connection test failed" in page and "not a Jira REST root" in page, page[:3000]
        assert "typed-for-it-123" not in page  # the page echoed it; the message does not
        sent = {base64.b64decode(header.split()[1]).decode() for header in not_jira.authorizations}
        assert sent == {f"{USER}:typed-for-it-123"}  # the token typed for that URL, sent there only
        assert not JiraInstance.objects.exists()
        asked = len(not_jira.received)
        insisted = admin_client.post(
            reverse(ADD), add_form(admin_client, not_jira.url, token="typed-for-it-123", save_anyway="on")
        )
        assert insisted.status_code == 302, text_of(insisted)[:3000]
        assert len(not_jira.received) == asked  # insisting does not ask again
    assert transaction_seen == [False, False]
    instance = JiraInstance.objects.get(slug="acme")
    assert instance.get_token() == "typed-for-it-123" and instance.detected_flavour == ""
    created = AuditLog.objects.get(object_type="projects.jirainstance", action="create")
    assert created.summary == "created Jira instance Acme (saved without a connection test)"


def test_changing_only_the_schedule_or_the_name_asks_jira_nothing(admin_client, cloud_site, transaction_seen):
    instance = register(cloud_site, "instance_1")
    change = reverse("admin:projects_jirainstance_change", args=[instance.pk])
    before = sum(sum(codes.values()) for codes in request_counts(cloud_site).values())
    data = form_fields(admin_client.get(change).content.decode(), "jirainstance_form")
    data.update({"name": ["Renamed"], "census_every_minutes": ["60"], "_save": ["Save"]})
    assert admin_client.post(change, data).status_code == 302
    assert transaction_seen == []
    after = sum(sum(codes.values()) for codes in request_counts(cloud_site).values())
    assert after == before + 1  # only the stats request itself: Jira was not asked
    # A token typed again is tested, at the URL the instance has.
    data.update({"token": [TOKEN]})
    assert admin_client.post(change, data).status_code == 302
    assert transaction_seen == [False]
