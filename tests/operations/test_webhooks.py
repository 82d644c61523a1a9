"""Webhooks: authenticated, replay-proof, collapsed per issue, and the whole path from jirasim to the database."""

import hashlib
import hmac
import json
import logging
import time

import pytest
import requests
from django.urls import reverse
from django_q.brokers import get_broker
from prometheus_client.parser import text_string_to_metric_families

from audit.models import AuditLog
from audit.services import COMMAND
from issues.models import Issue
from syncing.instance_settings import instance_save
from syncing.models import PendingRefresh, SyncRun, WebhookDelivery, WebhookRefusal
from syncing.runs.runner import RunOptions, sync_instance
from syncing.tasks import refresh_issue
from tests.support.reference import recorded
from tests.support.sites import register
from tests.support.truth import assert_database_equals_truth, moment
from tests.support.waiting import eventually

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "webhook-secret-0123456789"


def signed(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(client, slug: str, body: bytes, *, signature: str = "", token: str = "", delivery: str = ""):
    url = reverse("jira_webhook", args=[slug]) + (f"?token={token}" if token else "")
    headers = {}
    if signature:
        headers["HTTP_X_HUB_SIGNATURE"] = signature
    if delivery:
        headers["HTTP_X_ATLASSIAN_WEBHOOK_IDENTIFIER"] = delivery
    return client.post(url, body, content_type="application/json", **headers)


@pytest.fixture
def hooked(instance):
    return instance_save(instance=instance, actor=COMMAND, webhook_secret=SECRET)


def test_recorded_cloud_and_dc_payloads_are_accepted_and_queue_one_refresh_each(
    client, hooked, django_capture_on_commit_callbacks
):
    broker = get_broker()
    before = broker.queue_size()
    for name, delivery in (
        ("cloud-webhook-issue-created-custom-fields-2026.json", "d-1"),
        ("cloud-webhook-issue-deleted-2019.json", "d-2"),
    ):
        body = json.dumps(recorded(name)).encode()
        with django_capture_on_commit_callbacks(execute=True):
            response = post(client, "instance_1", body, signature=signed(body), delivery=delivery)
        assert response.status_code == 202, response.content
        assert response.json()["status"] == "queued"
    body = json.dumps(recorded("server-webhook-issue-updated-status-transition.json")).encode()
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, "instance_1", body, token=SECRET).status_code == 202
    assert broker.queue_size() == before + 3
    assert WebhookDelivery.objects.count() == 3


def test_forged_replayed_and_malformed_requests_are_refused(client, hooked, instance, caplog):
    body = json.dumps({"webhookEvent": "jira:issue_updated", "issue": {"id": "10001", "key": "OPS-1"}}).encode()
    assert post(client, "instance_1", body).status_code == 401  # neither signature nor token
    assert post(client, "instance_1", body, signature=signed(body, "wrong-secret")).status_code == 401
    assert post(client, "instance_1", body, signature="sha1=" + "0" * 40).status_code == 401
    assert post(client, "instance_1", body, token="wrong-token-value").status_code == 401
    assert post(client, "nope", body, token=SECRET).status_code == 401  # an unknown slug looks the same
    assert post(client, "instance_1", body, signature=signed(body), delivery="once").status_code == 202
    assert post(client, "instance_1", body, signature=signed(body), delivery="once").status_code == 409
    dc_body = json.dumps({"webhookEvent": "jira:issue_updated", "issue": {"id": "10002", "key": "OPS-2"}}).encode()
    assert post(client, "instance_1", dc_body, token=SECRET).status_code == 202
    assert post(client, "instance_1", dc_body, token=SECRET).status_code == 409  # same body without an id: a replay
    for bad in (
        b"{not json",
        b"[1, 2]",
        json.dumps({"webhookEvent": "jira:issue_updated"}).encode(),
        json.dumps({"webhookEvent": "jira:issue_updated", "issue": {"id": "x"}}).encode(),
        json.dumps({"webhookEvent": "jira:issue_updated", "issue": {"id": str(2**70)}}).encode(),
    ):
        assert post(client, "instance_1", bad, signature=signed(bad)).status_code == 400, bad
    other = json.dumps({"webhookEvent": "issue_property_set", "issue": {"id": "1"}}).encode()
    assert post(client, "instance_1", other, signature=signed(other)).json()["status"] == "ignored"
    assert "'issue_property_set' for instance_1 ignored" in caplog.text  # answered 202, and said
    # Logged: who and why, never the secret or the body.
    assert "rejected (401)" in caplog.text
    assert SECRET not in caplog.text and "OPS-1" not in caplog.text


def test_comment_and_worklog_events_queue_the_refresh_an_issue_update_does(
    client, hooked, django_capture_on_commit_callbacks
):
    """Cloud's comment events carry the issue; one without it is named by the comment's self URL; worklog
    events by the worklog's issueId. Each asks for the issue's refresh, as jira:issue_updated does."""
    comment = {"id": "10046", "self": "https://x.example/rest/api/2/issue/10148/comment/10046", "body": "hi"}
    payloads = [
        {"webhookEvent": "comment_created", "comment": comment, "issue": {"id": "10147", "key": "OPS-7"}},
        {"webhookEvent": "comment_deleted", "comment": comment},
        {"webhookEvent": "worklog_updated", "worklog": {"id": "10200", "issueId": "10149", "timeSpentSeconds": 60}},
    ]
    broker = get_broker()
    before = broker.queue_size()
    for number, payload in enumerate(payloads):
        body = json.dumps(payload).encode()
        with django_capture_on_commit_callbacks(execute=True):
            response = post(client, "instance_1", body, signature=signed(body), delivery=f"c-{number}")
        assert response.status_code == 202 and response.json()["status"] == "queued", response.content
    assert broker.queue_size() == before + 3
    assert set(PendingRefresh.objects.values_list("issue_jira_id", flat=True)) == {10147, 10148, 10149}
    assert set(WebhookDelivery.objects.values_list("event", flat=True)) == {
        "comment_created",
        "comment_deleted",
        "worklog_updated",
    }
    unnamed = json.dumps({"webhookEvent": "comment_updated", "comment": {"id": "1", "self": "nowhere"}}).encode()
    assert post(client, "instance_1", unnamed, signature=signed(unnamed)).status_code == 400


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_comment_and_worklog_changes_in_jira_reach_the_database_through_webhooks(
    live_server, qcluster, flavour, request
):
    """jirasim sends comment_* and worklog_* events for an advance's comments and worklogs (over loopback
    HTTP, signed on Cloud, with the URL token on Data Center); jirasync refreshes each issue they name."""
    site = request.getfixturevalue("cloud_site" if flavour == "cloud" else "dc_site")
    request.getfixturevalue("reference_mappings")
    instance = register(site, "instance_1" if flavour == "cloud" else "instance_2")
    instance_save(instance=instance, actor=COMMAND, webhook_secret=SECRET)
    sync_instance(instance.pk, RunOptions(full=True))
    url = live_server.url + reverse("jira_webhook", args=[instance.slug])
    registration = {"url": url, "secret": SECRET} if flavour == "cloud" else {"url": f"{url}?token={SECRET}"}
    requests.post(f"{site.url}/_sim/webhooks", json=registration, timeout=60).raise_for_status()
    activity = {"add": 2, "edit": 1, "delete": 1}
    done = requests.post(
        f"{site.url}/_sim/advance", json={"minutes": 3, "comments": activity, "worklogs": activity}, timeout=60
    ).json()
    changed = {change["issue"] for kind in ("comments", "worklogs") for side in done[kind].values() for change in side}
    truth = {row["key"]: row for row in site.sim.data.truth()}

    def arrived() -> bool:
        stored = {i.key: i for i in Issue.objects.filter(instance=instance, key__in=changed)}
        return (
            len(stored) == len(changed)
            and all(stored[key].updated == moment(truth[key]["updated"]) for key in changed)
            and not PendingRefresh.objects.exists()
        )

    expected = sorted(
        f"{noun}_{verb}" for noun in ("comment", "worklog") for verb in ("created", "created", "updated", "deleted")
    )

    def settled() -> list[dict]:
        """The simulator's deliveries, once each was answered and every refresh they asked for has stored Jira's
        state: a refresh takes its PendingRefresh row as it starts, so no row left is not enough."""
        deliveries = requests.get(f"{site.url}/_sim/webhooks", timeout=60).json()["deliveries"]
        assert sorted(d["event"] for d in deliveries) == expected
        assert all(d["status"] != "pending" for d in deliveries), deliveries
        assert not PendingRefresh.objects.exists(), "refreshes still queued"
        assert not SyncRun.objects.filter(status=SyncRun.Status.RUNNING).exists(), "a refresh still running"
        assert arrived(), "the changed issues are not all stored as Jira has them"
        assert_database_equals_truth(site, instance)
        return deliveries

    deliveries = eventually(settled)
    assert all(d["status"] == 202 for d in deliveries), deliveries
    received = WebhookDelivery.objects.filter(instance=instance)
    assert received.count() == len(deliveries)
    assert set(received.values_list("issue_key", flat=True)) - {""} <= changed
    assert_database_equals_truth(site, instance)


def test_webhooks_are_closed_until_a_secret_is_set(client, instance):
    body = json.dumps({"webhookEvent": "jira:issue_updated", "issue": {"id": "1"}}).encode()
    assert post(client, "instance_1", body, token="anything-at-all-here").status_code == 401


def big_body(size: int) -> bytes:
    """A valid delivery of a little over size bytes (Jira sends whole issues, changelogs and comments)."""
    padding = "x" * size
    return json.dumps({"webhookEvent": "jira:issue_updated", "issue": {"id": "4242"}, "pad": padding}).encode()


def test_one_body_limit_answered_in_json(client, hooked, settings, django_capture_on_commit_callbacks):
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE < 4 * 1024 * 1024 < settings.JIRASYNC_WEBHOOK_MAX_BYTES
    body = big_body(4 * 1024 * 1024)  # above Django's form limit (an HTML 400 before), below the webhook limit
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, "instance_1", body, signature=signed(body))
    assert response.status_code == 202 and response.json()["status"] == "queued"
    too_big = big_body(settings.JIRASYNC_WEBHOOK_MAX_BYTES)
    response = post(client, "instance_1", too_big, signature=signed(too_big))
    assert response.status_code == 413 and response.json() == {"error": "body too large"}


def test_a_replay_with_a_new_delivery_id_is_still_a_replay(client, hooked):
    body = json.dumps({"webhookEvent": "jira:issue_updated", "issue": {"id": "5150"}}).encode()
    assert post(client, "instance_1", body, signature=signed(body), delivery="first").status_code == 202
    # The delivery id header is not signed: an attacker holding a signed body can change it at will.
    for forged in ("second", "third", ""):
        response = post(client, "instance_1", body, signature=signed(body), delivery=forged)
        assert response.status_code == 409, forged
    assert WebhookDelivery.objects.count() == 1


def test_an_unknown_slug_and_a_wrong_signature_get_the_same_answer(client, hooked):
    body = json.dumps({"webhookEvent": "jira:issue_updated", "issue": {"id": "1"}}).encode()
    unknown = post(client, "no-such-instance", body, signature=signed(body))
    wrong = post(client, "instance_1", body, signature=signed(body, "not-the-secret"))
    unsigned = post(client, "instance_1", body)
    assert (unknown.status_code, unknown.json()) == (wrong.status_code, wrong.json()) == (401, unsigned.json())


def test_pending_refreshes_are_capped_per_instance_and_the_excess_counted(
    client, hooked, settings, django_capture_on_commit_callbacks
):
    settings.JIRASYNC_WEBHOOK_MAX_PENDING = 3
    answers = []
    for issue_id in (1, 2, 3, 4, 5, 2):
        body = json.dumps({"webhookEvent": "jira:issue_updated", "issue": {"id": str(issue_id)}, "n": len(answers)})
        with django_capture_on_commit_callbacks(execute=True):
            response = post(client, "instance_1", body.encode(), signature=signed(body.encode()))
        answers.append((response.status_code, response.get("Retry-After")))
    assert answers == [(202, None)] * 3 + [(429, "60")] * 2 + [(202, None)]  # an issue already waiting collapses
    assert PendingRefresh.objects.count() == 3
    assert WebhookRefusal.objects.get(instance=hooked).count == 2
    settings.METRICS_TOKEN = "scrape-token-for-webhooks"
    scrape = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-for-webhooks").content.decode()
    assert 'jirasync_webhook_refused_total{jira_instance="instance_1",reason="pending_full"} 2.0' in scrape
    assert 'jirasync_webhook_refreshes_pending{jira_instance="instance_1"} 3.0' in scrape
    # Prometheus's own target label is `instance`: none of ours may be named so (it would become
    # exported_instance and break the alerts' joins).
    for family in text_string_to_metric_families(scrape):
        if family.name.startswith("jirasync_"):
            assert all("instance" not in sample.labels for sample in family.samples), family.name


def test_a_burst_for_one_issue_collapses_into_one_refresh(client, hooked, django_capture_on_commit_callbacks):
    broker = get_broker()
    before = broker.queue_size()
    statuses = []
    for n in range(6):
        body = json.dumps({"timestamp": n, "webhookEvent": "jira:issue_updated", "issue": {"id": "777"}}).encode()
        with django_capture_on_commit_callbacks(execute=True):
            statuses.append(post(client, "instance_1", body, signature=signed(body), delivery=f"b{n}").json()["status"])
    assert statuses == ["queued"] + ["collapsed"] * 5
    assert broker.queue_size() == before + 1
    assert PendingRefresh.objects.get().events == 6


def test_refresh_fetches_the_issue_and_soft_deletes_what_jira_no_longer_has(cloud_site, reference_mappings):
    instance = register(cloud_site, "instance_1")
    sync_instance(instance.pk, RunOptions(full=True))
    done = cloud_site.sim.data.advance(minutes=5, update=0.05, delete=1)
    for key in done["updated"]:
        record = cloud_site.sim.data.find(key)
        refresh_issue(instance.pk, record.id)
    gone = Issue.objects.get(instance=instance, key=done["deleted"][0])
    refresh_issue(instance.pk, gone.jira_id)
    gone.refresh_from_db()
    assert gone.deleted_at is not None
    assert AuditLog.objects.filter(action="soft_delete", object_id=str(gone.pk)).exists()  # as a census says it
    live = {int(row["id"]) for row in cloud_site.sim.data.truth()}
    Issue.objects.filter(instance=instance).exclude(jira_id__in=live).delete()
    assert_database_equals_truth(cloud_site, instance)
    runs = SyncRun.objects.filter(kind="webhook")
    assert runs.count() == len(done["updated"]) + 1 and not runs.exclude(status="succeeded").exists()


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_a_change_in_jira_reaches_the_database_through_webhook_and_queue(live_server, qcluster, flavour, request):
    site = request.getfixturevalue("cloud_site" if flavour == "cloud" else "dc_site")
    request.getfixturevalue("reference_mappings")
    instance = register(site, "instance_1" if flavour == "cloud" else "instance_2")
    instance_save(instance=instance, actor=COMMAND, webhook_secret=SECRET)
    sync_instance(instance.pk, RunOptions(full=True))
    url = live_server.url + reverse("jira_webhook", args=[instance.slug])
    registration = {"url": url, "secret": SECRET} if flavour == "cloud" else {"url": f"{url}?token={SECRET}"}
    requests.post(f"{site.url}/_sim/webhooks", json=registration, timeout=60).raise_for_status()
    began = time.time()
    response = requests.post(f"{site.url}/_sim/advance", json={"minutes": 3, "update": 0.05, "create": 2}, timeout=60)
    done = response.json()
    changed = done["updated"] + done["created"]
    truth = {row["key"]: row for row in site.sim.data.truth()}

    def settled() -> list[dict]:
        """The simulator's deliveries, once each was answered and the database holds Jira's state (a change of
        fields alone leaves the status as it was: the whole issue is compared, not its status)."""
        deliveries = requests.get(f"{site.url}/_sim/webhooks", timeout=60).json()["deliveries"]
        assert deliveries and all(d["status"] != "pending" for d in deliveries), deliveries
        stored = {i.key: i for i in Issue.objects.filter(instance=instance, key__in=changed)}
        assert len(stored) == len(changed) and all(stored[key].status == truth[key]["status"] for key in changed)
        assert not PendingRefresh.objects.exists(), "refreshes still queued"
        assert not SyncRun.objects.filter(status=SyncRun.Status.RUNNING).exists(), "a refresh still running"
        assert_database_equals_truth(site, instance)
        return deliveries

    deliveries = eventually(settled, poll=0.1)
    latency = time.time() - began
    assert all(d["status"] == 202 for d in deliveries), deliveries
    logging.getLogger(__name__).warning(
        "webhook path latency (%s): %.2f s for %d issues", flavour, latency, len(changed)
    )
    print(
        f"\nwebhook → queue → database ({flavour}): {len(changed)} changed issues stored "
        f"{latency:.2f} s after the change"
    )
    assert_database_equals_truth(site, instance)


@pytest.mark.parametrize("kind", ["fields-null", "fields-missing", "core-fields-missing"])
def test_a_refresh_answered_with_less_than_asked_keeps_the_issue_and_says_so(cloud_site, reference_mappings, kind):
    from syncing.models import IssueRetry

    instance = register(cloud_site, "instance_1")
    sync_instance(instance.pk, RunOptions(full=True))
    stored = Issue.objects.filter(instance=instance).order_by("jira_id").first()
    before = (stored.summary, stored.status, stored.fields)
    rule = {"kind": kind, "endpoint": "GET /rest/api/3/issue/{issueIdOrKey}", "ids": [str(stored.jira_id)]}
    requests.post(f"{cloud_site.url}/_sim/faults", json={"rules": [rule]}, timeout=60).raise_for_status()
    refresh_issue(instance.pk, stored.jira_id)
    run = SyncRun.objects.get(kind=SyncRun.Kind.WEBHOOK)
    assert run.status == SyncRun.Status.FAILED and stored.key in run.error
    stored.refresh_from_db()
    assert (stored.summary, stored.status, stored.fields) == before  # nothing replaced by less
    assert AuditLog.objects.filter(action="sync_row_failed", object_repr=stored.key).exists()
    assert IssueRetry.objects.filter(jira_id=stored.jira_id).exists()  # the project's next run asks again
    requests.delete(f"{cloud_site.url}/_sim/faults", timeout=60)
    sync_instance(instance.pk, RunOptions())
    assert not IssueRetry.objects.filter(jira_id=stored.jira_id).exists()
