"""Secrets stay secret: key rotation, and a known token searched for everywhere after real use — in
every encoding it could be echoed in, including by a server that repeats the Authorization header."""

import base64
import contextlib
import io
import logging
from urllib.parse import quote

import pytest
from django.contrib import admin
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.urls import NoReverseMatch, reverse
from django_q.models import OrmQ, Schedule, Task
from django_q.signing import SignedPackage

from audit.models import AuditLog
from audit.services import COMMAND
from jirasim.testing import USER, running_sim
from lib.log_redaction import RedactSecretsFilter
from projects.crypto import generate_key
from projects.models import JiraInstance
from syncing.instance_settings import instance_save
from syncing.models import SyncRun
from syncing.runs.runner import RunOptions, sync_instance
from tests.support.database import database_bytes
from tests.support.echo_server import ECHOES, echo_server
from tests.support.sites import register

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "tok-Known-5e1f9a7c3d/never+shown="
WEBHOOK_SECRET = "whs-Known-8b2d6e0a4c-never-shown"


def encodings(secret: str, user: str = "") -> dict[str, str]:
    """The secret as it would appear echoed: plain, base64 of user:secret, URL-encoded, base64 alone."""
    found = {
        "plain": secret,
        "url-encoded": quote(secret, safe=""),
        "base64": base64.b64encode(secret.encode()).decode(),
    }
    if user:
        basic = base64.b64encode(f"{user}:{secret}".encode()).decode()
        found["base64 of user:token"] = basic.rstrip("=")
        found["url-encoded base64 of user:token"] = quote(basic, safe="")
    return found


def assert_nowhere(places: dict[str, str], secrets: dict[str, str]) -> None:
    for place, text in places.items():
        for form, value in secrets.items():
            assert value not in text, f"the token ({form}) found in {place}"


@contextlib.contextmanager
def captured_logs(path):
    """Every log record, through the redacting filter as the configured handlers are."""
    handler = logging.FileHandler(path)
    handler.setLevel(logging.DEBUG)
    handler.addFilter(RedactSecretsFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()


def all_database_text() -> bytes:
    if connection.vendor == "sqlite":
        return database_bytes()
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT row_to_json(t)::text FROM "{table}" t')
            chunks.extend(row[0] for row in cursor.fetchall())
    return "\n".join(chunks).encode()


def test_rotation_reencrypts_every_secret_and_a_missing_key_changes_nothing(settings, instance):
    instance_save(instance=instance, actor=COMMAND, webhook_secret=WEBHOOK_SECRET)
    old_keys = list(settings.JIRASYNC_ENCRYPTION_KEYS)
    new_key = generate_key()
    with override_settings(JIRASYNC_ENCRYPTION_KEYS=[new_key, *old_keys]):
        call_command("rotate_encryption_keys", stdout=io.StringIO())
    with override_settings(JIRASYNC_ENCRYPTION_KEYS=[new_key]):  # the old key removed: all still readable
        stored = JiraInstance.objects.get(pk=instance.pk)
        assert stored.get_token() == "s3cr3t-token-value" and stored.get_webhook_secret() == WEBHOOK_SECRET
    assert AuditLog.objects.filter(action="rotate_keys").exists()
    before = JiraInstance.objects.values_list("token_encrypted", "webhook_secret_encrypted").get()
    wrong = override_settings(JIRASYNC_ENCRYPTION_KEYS=[generate_key()])  # a wrong key: a clear error
    with wrong, pytest.raises(CommandError, match="instance_1: token_encrypted cannot be decrypted") as failure:
        call_command("rotate_encryption_keys")
    assert "s3cr3t" not in str(failure.value)
    assert JiraInstance.objects.values_list("token_encrypted", "webhook_secret_encrypted").get() == before


def test_a_known_token_appears_nowhere_after_syncs_failures_webhooks_tasks_and_admin(
    admin_client, reference_mappings, tmp_path, monkeypatch
):
    log_file = tmp_path / "all.log"
    with captured_logs(log_file), running_sim(flavour="cloud", projects=2, issues=20, seed=5) as server:
        server.sim.token = TOKEN
        instance = register(server, "instance_1")
        instance.set_token(TOKEN)
        instance_save(instance=instance, actor=COMMAND, token=TOKEN, webhook_secret=WEBHOOK_SECRET)
        assert sync_instance(instance.pk, RunOptions(full=True)).status == "succeeded"
        server.sim.token = "rotated-on-the-jira-side"  # the stored token stops working: a failed run
        failed = sync_instance(instance.pk, RunOptions())
        assert failed.status == "failed" and failed.error
        # Queue a sync from admin, as an operator would: the task's arguments are ids.
        admin_client.post(
            reverse("admin:projects_jirainstance_changelist"),
            {"action": "sync_incremental", "_selected_action": [instance.pk]},
        )
        admin_client.post(
            reverse("admin:projects_jirainstance_changelist"),
            {"action": "test_connection", "_selected_action": [instance.pk]},
        )
        webhook = reverse("jira_webhook", args=[instance.slug])
        admin_client.post(f"{webhook}?token=wrong", b"{}", content_type="application/json")
        pages = [reverse("admin:index"), reverse("admin:projects_jirainstance_fields", args=[instance.pk])]
        for model in admin.site._registry:
            opts = model._meta
            pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
            first = model.objects.first()
            if first is not None:
                with contextlib.suppress(NoReverseMatch):
                    pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk]))
        html = "".join(admin_client.get(page).content.decode() for page in pages)

    queued = [SignedPackage.loads(item.payload) for item in OrmQ.objects.all()]
    assert queued, "the admin's sync should have queued a task"
    places = {
        "admin pages": html,
        "logs": log_file.read_text(),
        "audit entries": "".join(f"{e.summary} {e.changes} {e.object_repr}" for e in AuditLog.objects.all()),
        "sync run errors": "".join(SyncRun.objects.values_list("error", flat=True)),
        "queued task arguments": repr([(task["args"], task["kwargs"]) for task in queued]),
        "task results": repr(list(Task.objects.values_list("args", "kwargs", "result"))),
        "schedules": repr(list(Schedule.objects.values_list("args", "kwargs"))),
    }
    assert "s3cr3t" not in html
    database = all_database_text().decode("utf-8", "replace")
    for secret, user in ((TOKEN, USER), (WEBHOOK_SECRET, "")):
        assert_nowhere(places | {"the database": database}, encodings(secret, user))
    assert len(places["logs"]) > 1000  # the logs did record the work


@pytest.mark.parametrize("echo", ECHOES)
def test_credentials_echoed_by_the_server_are_redacted_wherever_they_are_shown_or_stored(
    admin_client, reference_mappings, tmp_path, echo
):
    """A proxy or Jira error page repeats the Authorization header (in one encoding or another)."""
    log_file = tmp_path / "all.log"
    with captured_logs(log_file), echo_server(status=502 if echo == "query string" else 401, echo=echo) as server:
        instance = JiraInstance(
            name="Echoing", slug="echoing", base_url=server.url, auth_kind="basic", username=USER, flavour="cloud"
        )
        instance = instance_save(instance=instance, actor=COMMAND, token=TOKEN)
        changelist = reverse("admin:projects_jirainstance_changelist")
        messages = "".join(
            admin_client.post(
                changelist, {"action": action, "_selected_action": [instance.pk]}, follow=True
            ).content.decode()
            for action in ("test_connection", "discover_projects")
        )
        fields = admin_client.get(reverse("admin:projects_jirainstance_fields", args=[instance.pk])).content.decode()
        out = io.StringIO()
        with pytest.raises(CommandError) as refused:
            call_command("check_jira", "echoing", stdout=out)
        run = sync_instance(instance.pk, RunOptions())
        assert server.authorizations, "the server was asked"
    assert run.status == "failed" and "Proxy refused the request" in run.error  # what it said, less the secret
    assert "Proxy refused the request" in messages and "Proxy refused the request" in fields
    run_log = admin_client.get(reverse("admin:syncing_syncrun_log", args=[run.pk])).content.decode()
    run_log += b"".join(
        admin_client.get(reverse("admin:syncing_syncrun_log_download", args=[run.pk])).streaming_content
    ).decode()
    assert "Proxy refused the request" in run_log  # the run's own log has what it said, less the secret
    places = {
        "run logs": run_log,
        "admin messages": messages,
        "Discover fields": fields,
        "check_jira": out.getvalue() + str(refused.value),
        "run errors": "".join(SyncRun.objects.values_list("error", flat=True)),
        "audit entries": "".join(f"{e.summary} {e.changes} {e.object_repr}" for e in AuditLog.objects.all()),
        "logs": log_file.read_text(),
    }
    assert_nowhere(places, encodings(TOKEN, USER))


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_a_jira_that_repeats_the_credentials_in_ordinary_answers_gets_them_stored_and_shown_nowhere(
    admin_client, reference_mappings, tmp_path, flavour
):
    """Not an error page: project, field and status names, the account's time zone, the server's version
    and issue summaries all carry the token (jirasim's `echo-credentials` fault)."""
    from jirasim.faults import FaultPlan, FaultRule

    log_file = tmp_path / "all.log"
    faults = FaultPlan([FaultRule("echo-credentials")])
    with (
        captured_logs(log_file),
        running_sim(flavour=flavour, projects=1, issues=15, seed=6, faults=faults) as server,
    ):
        server.sim.token = TOKEN
        instance = register(server, "instance_1" if flavour == "cloud" else "instance_2")
        instance_save(instance=instance, actor=COMMAND, token=TOKEN)
        sync_instance(instance.pk, RunOptions(full=True))
        changelist = reverse("admin:projects_jirainstance_changelist")
        messages = "".join(
            admin_client.post(
                changelist, {"action": action, "_selected_action": [instance.pk]}, follow=True
            ).content.decode()
            for action in ("test_connection", "discover_projects")
        )
        out = io.StringIO()
        with contextlib.suppress(CommandError):
            call_command("check_jira", instance.slug, stdout=out)
        pages = [
            reverse("admin:projects_jirainstance_change", args=[instance.pk]),
            reverse("admin:projects_jirainstance_fields", args=[instance.pk]),
            reverse("admin:projects_project_changelist"),
            reverse("admin:issues_issue_changelist"),
        ]
        html = "".join(admin_client.get(page).content.decode() for page in pages)
        assert server.sim.faults.inflicted["echo-credentials"], "the Jira did echo"
    places = {
        "admin pages": html,
        "admin messages": messages,
        "check_jira": out.getvalue(),
        "logs": log_file.read_text(),
        "audit entries": "".join(f"{e.summary} {e.changes} {e.object_repr}" for e in AuditLog.objects.all()),
        "run errors": "".join(SyncRun.objects.values_list("error", flat=True)),
        "the database": all_database_text().decode("utf-8", "replace"),
    }
    assert "***" in places["the database"], "the echoes were stored, without what they echoed"
    assert_nowhere(places, encodings(TOKEN, USER))


def test_every_configured_logger_writes_through_the_redaction_filter():
    """Django's defaults give `django` and `django.server` (runserver's request lines, query strings
    included) handlers of their own: every logger that exists must still redact what it writes."""
    secret = "whsec-0123456789abcdefXYZ"
    from lib.secret_values import secrets_remember

    secrets_remember(secret)
    names = ["django.server", "django", "django.request", "django_q", "axes", *logging.root.manager.loggerDict]
    checked = 0
    for name in names:
        logger = logging.getLogger(name)
        handlers, current = [], logger
        while current is not None:  # the handlers a record of this logger reaches, as logging walks them
            handlers += current.handlers
            current = current.parent if current.propagate else None
        for handler in handlers:
            if (
                isinstance(handler, logging.NullHandler)
                or type(handler).__module__.startswith("_pytest")
                or handler.level > logging.INFO
            ):
                continue  # pytest's own capture, or a handler that writes nothing at INFO
            record = logging.LogRecord(name, logging.INFO, __file__, 1, '"POST /hook/?token=%s" 202', (secret,), None)
            if handler.filter(record):
                assert secret not in handler.format(record), f"{name}: {handler!r} writes the secret"
                checked += 1
    assert checked > 5
