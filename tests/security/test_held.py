"""What #12 tried and found holding — kept as tests so that it keeps holding: markup from Jira or from
configuration is escaped, admin forms need their CSRF token, and every admin page carries the
Content-Security-Policy with no inline script or style it would block (item 14)."""

import re
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import NoReverseMatch, reverse

from audit.models import AuditLog
from audit.services import COMMAND, Change, audit_record
from projects.models import JiraInstance
from syncing.models import SyncRun
from syncing.runs.runner import RunOptions, sync_instance

pytestmark = pytest.mark.django_db(transaction=True)


class InlineAttributes(HTMLParser):
    """The style= and on*= attributes of a page's real tags (escaped text is not a tag)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.found += [(tag, name) for name, _ in attrs if name == "style" or name.startswith("on")]

    @classmethod
    def of(cls, html: str) -> list[tuple[str, str]]:
        parser = cls()
        parser.feed(html)
        return parser.found


MARKUP = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


def every_admin_page() -> list[str]:
    pages = [reverse("admin:index")]
    for model in admin.site._registry:
        opts = model._meta
        pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        first = model.objects.first()
        if first is not None:
            try:
                pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk]))
            except NoReverseMatch:
                continue
    return pages


@pytest.fixture
def hostile(reference_mappings, cloud_instance):
    """Markup wherever a user or Jira can put text: an instance's name, a run's error, an audit entry."""
    JiraInstance.objects.filter(pk=cloud_instance.pk).update(name=f"Acme {MARKUP}")
    sync_instance(cloud_instance.pk, RunOptions(full=True))
    SyncRun.objects.create(
        instance=cloud_instance, kind="full", trigger="admin", status="failed", error=f"Jira: {MARKUP}"
    )
    audit_record(
        actor=COMMAND, change=Change("update", "projects.jirainstance", str(cloud_instance.pk), MARKUP, MARKUP)
    )
    return cloud_instance


def test_markup_from_jira_or_configuration_is_escaped_on_every_admin_page(admin_client, hostile):
    for page in every_admin_page():
        html = admin_client.get(page).content.decode()
        assert "<script>alert(1)" not in html and "onerror=alert(2)>" not in html, page
    assert AuditLog.objects.filter(summary=MARKUP).exists()


def test_admin_forms_refuse_a_post_without_the_csrf_token(admin_user, hostile):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    changelist = reverse("admin:projects_jirainstance_changelist")
    response = client.post(changelist, {"action": "sync_full", "_selected_action": [hostile.pk]})
    assert response.status_code == 403
    assert not SyncRun.objects.filter(trigger="admin", status="queued").exists()


def test_every_admin_page_carries_the_csp_and_nothing_inline_that_it_would_block(admin_client, hostile):
    for page in every_admin_page():
        response = admin_client.get(page)
        policy = response["Content-Security-Policy"]
        nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
        assert "script-src 'self' 'nonce-" in policy and "'unsafe-inline'" not in policy
        html = response.content.decode()
        assert not InlineAttributes.of(html), f"inline style or event handler attributes on {page}"
        for tag in re.findall(r"<(?:script|style)\b[^>]*>", html):
            assert f'nonce="{nonce}"' in tag or (" src=" in tag and tag.startswith("<script")), (page, tag)
