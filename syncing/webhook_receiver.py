"""Accepting Jira's webhooks: authenticate, refuse replays and malformed bodies, record, ask for a refresh.

The payload is never trusted as the issue's state: it only names the issue, which `refresh_issue`
then fetches from Jira. Bursts for one issue collapse into one refresh (a PendingRefresh row per
issue; only the event that creates it enqueues the task).
"""

import hashlib
import hmac
import json
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F

from projects.models import JiraInstance
from syncing.models import PendingRefresh, WebhookDelivery

EVENTS = ("jira:issue_created", "jira:issue_updated", "jira:issue_deleted")
MAX_BODY_BYTES = 5 * 1024 * 1024


class WebhookRejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass(frozen=True)
class Accepted:
    event: str
    issue_jira_id: int
    issue_key: str
    queued: bool  # False when a refresh of this issue is already waiting (the burst collapsed)
    ignored: bool = False  # an event jirasync does not act on


def webhook_authenticate(instance: JiraInstance, body: bytes, signature: str, url_token: str) -> None:
    """Cloud signs with X-Hub-Signature (HMAC-SHA256 of the raw body); Data Center puts the secret in the URL."""
    secret = instance.get_webhook_secret()
    if not secret:
        raise WebhookRejected(403, "webhooks are not enabled for this instance (no webhook secret set)")
    if signature:
        algorithm, _, digest = signature.partition("=")
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        if algorithm != "sha256" or not hmac.compare_digest(digest.strip().lower(), expected):
            raise WebhookRejected(401, "bad signature")
        return
    if url_token:
        if not hmac.compare_digest(url_token.encode(), secret.encode()):
            raise WebhookRejected(401, "bad URL token")
        return
    raise WebhookRejected(401, "neither a signature (X-Hub-Signature) nor a URL token")


def _issue_id(payload: dict) -> tuple[int, str]:
    issue = payload.get("issue")
    if not isinstance(issue, dict):
        raise WebhookRejected(400, "the payload has no issue")
    try:
        jira_id = int(str(issue.get("id")))
    except ValueError:
        raise WebhookRejected(400, "the issue has no numeric id") from None
    if not 0 < jira_id < 2**63:
        raise WebhookRejected(400, "the issue id is out of range")
    key = issue.get("key")
    return jira_id, key[:64] if isinstance(key, str) else ""


def webhook_accept(
    instance: JiraInstance, body: bytes, *, signature: str = "", url_token: str = "", delivery_id: str = ""
) -> Accepted:
    """Authenticate and record one delivery; raise WebhookRejected with the HTTP status to answer."""
    if len(body) > MAX_BODY_BYTES:
        raise WebhookRejected(413, "body too large")
    webhook_authenticate(instance, body, signature, url_token)
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookRejected(400, "the body is not JSON") from None
    if not isinstance(payload, dict):
        raise WebhookRejected(400, "the body is not a JSON object")
    event = payload.get("webhookEvent")
    if event not in EVENTS:
        return Accepted(str(event)[:64], 0, "", queued=False, ignored=True)
    jira_id, key = _issue_id(payload)
    identifier = (delivery_id or "sha256:" + hashlib.sha256(body).hexdigest())[:128]
    try:
        with transaction.atomic():
            WebhookDelivery.objects.create(
                instance=instance, identifier=identifier, event=event, issue_jira_id=jira_id, issue_key=key
            )
            pending, created = PendingRefresh.objects.get_or_create(instance=instance, issue_jira_id=jira_id)
            if not created:
                PendingRefresh.objects.filter(pk=pending.pk).update(events=F("events") + 1)
    except IntegrityError:
        raise WebhookRejected(409, "this delivery was received before (replay)") from None
    if created:
        from syncing.tasks import enqueue

        enqueue("syncing.tasks.refresh_issue", instance.pk, jira_id, task_name=f"refresh issue {jira_id}")
    return Accepted(event, jira_id, key, queued=created)
