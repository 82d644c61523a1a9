"""Accepting Jira's webhooks: authenticate, refuse replays and malformed bodies, record, ask for a refresh.

The payload is never trusted as the issue's state: it only names the issue, which `refresh_issue`
then fetches from Jira. Issue events (jira:issue_*), comment events (comment_*) and worklog events
(worklog_*) all ask for that refresh; other events are answered "ignored" and logged.
Bursts for one issue collapse into one refresh (a PendingRefresh row per
issue; only the event that creates it enqueues the task), and at most JIRASYNC_WEBHOOK_MAX_PENDING
refreshes wait per instance: past that a delivery for another issue is answered 429 and counted
(the incremental schedule picks the change up anyway).

Whoever is refused authentication — an unknown instance, one without a secret, a wrong signature or
token — gets the same answer, so the answers do not tell which instance slugs exist.
"""

import hashlib
import hmac
import json
import logging
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from projects.models import JiraInstance
from syncing.models import PendingRefresh, WebhookDelivery, WebhookRefusal

ISSUE_EVENTS = ("jira:issue_created", "jira:issue_updated", "jira:issue_deleted")
# A comment or worklog changes its issue (`updated`, the comment field, time tracking): the same refresh.
COMMENT_EVENTS = ("comment_created", "comment_updated", "comment_deleted")
WORKLOG_EVENTS = ("worklog_created", "worklog_updated", "worklog_deleted")
EVENTS = ISSUE_EVENTS + COMMENT_EVENTS + WORKLOG_EVENTS
# …/rest/api/2/issue/10148/comment/10046: where a comment event without an issue names it.
COMMENT_SELF = re.compile(r"/issue/(\d+)/comment/\d+/?$")
log = logging.getLogger(__name__)
UNAUTHENTICATED = "not authenticated"  # the one answer of every authentication failure


class WebhookRejected(Exception):
    """answer: what the sender is told (defaults to the reason); reason: what the log says."""

    def __init__(self, status: int, reason: str, answer: str = "") -> None:
        super().__init__(reason)
        self.status, self.reason, self.answer = status, reason, answer or reason


def unauthenticated(reason: str) -> WebhookRejected:
    return WebhookRejected(401, reason, UNAUTHENTICATED)


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
        raise unauthenticated("webhooks are not enabled for this instance (no webhook secret set)")
    if signature:
        algorithm, _, digest = signature.partition("=")
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        if algorithm != "sha256" or not hmac.compare_digest(digest.strip().lower(), expected):
            raise unauthenticated("bad signature")
        return
    if url_token:
        if not hmac.compare_digest(url_token.encode(), secret.encode()):
            raise unauthenticated("bad URL token")
        return
    raise unauthenticated("neither a signature (X-Hub-Signature) nor a URL token")


def _issue_id(payload: dict) -> tuple[int, str]:
    """(issue id, key or "") the event is about: its `issue`; for a worklog event without one the worklog's
    issueId; for a comment event without one the id in the comment's self URL."""
    issue = payload.get("issue")
    if isinstance(issue, dict):
        named, key = issue.get("id"), issue.get("key")
    elif isinstance(payload.get("worklog"), dict):
        named, key = payload["worklog"].get("issueId"), None
    elif isinstance(payload.get("comment"), dict):
        found = COMMENT_SELF.search(str(payload["comment"].get("self") or ""))
        named, key = found.group(1) if found else None, None
    else:
        raise WebhookRejected(400, "the payload has no issue")
    try:
        jira_id = int(str(named))
    except ValueError:
        raise WebhookRejected(400, "the issue has no numeric id") from None
    if not 0 < jira_id < 2**63:
        raise WebhookRejected(400, "the issue id is out of range")
    return jira_id, key[:64] if isinstance(key, str) else ""


def webhook_accept(
    instance: JiraInstance, body: bytes, *, signature: str = "", url_token: str = "", delivery_id: str = ""
) -> Accepted:
    """Authenticate and record one delivery; raise WebhookRejected with the HTTP status to answer."""
    if len(body) > settings.JIRASYNC_WEBHOOK_MAX_BYTES:
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
        # Answered 202 "ignored" (Jira would retry an error), and said here: never dropped without a word.
        log.info("webhook event %r for %s ignored: not an issue, comment or worklog event", event, instance.slug)
        return Accepted(str(event)[:64], 0, "", queued=False, ignored=True)
    jira_id, key = _issue_id(payload)
    digest = hashlib.sha256(body).hexdigest()
    identifier = (delivery_id or "sha256:" + digest)[:128]
    pending = PendingRefresh.objects.filter(instance=instance, issue_jira_id=jira_id)
    if not pending.exists() and _pending_full(instance):
        raise WebhookRejected(429, f"{settings.JIRASYNC_WEBHOOK_MAX_PENDING} refreshes already waiting; try later")
    try:
        with transaction.atomic():
            WebhookDelivery.objects.create(
                instance=instance,
                identifier=identifier,
                body_sha256=digest,
                event=event,
                issue_jira_id=jira_id,
                issue_key=key,
            )
            _, created = PendingRefresh.objects.get_or_create(instance=instance, issue_jira_id=jira_id)
            if not created:
                pending.update(events=F("events") + 1)
    except IntegrityError:
        raise WebhookRejected(409, "this delivery was received before (replay)") from None
    if created:
        from syncing.tasks import enqueue

        enqueue("syncing.tasks.refresh_issue", instance.pk, jira_id, task_name=f"refresh issue {jira_id}")
    return Accepted(event, jira_id, key, queued=created)


def _pending_full(instance: JiraInstance) -> bool:
    """Whether the instance's refreshes waiting reached the cap; a refusal for that reason is counted."""
    cap = settings.JIRASYNC_WEBHOOK_MAX_PENDING
    if PendingRefresh.objects.filter(instance=instance)[: cap + 1].count() < cap:
        return False
    counted = WebhookRefusal.objects.filter(instance=instance, reason="pending_full").update(count=F("count") + 1)
    if not counted:
        try:
            with transaction.atomic():
                WebhookRefusal.objects.create(instance=instance, reason="pending_full", count=1)
        except IntegrityError:  # another request created it meanwhile
            WebhookRefusal.objects.filter(instance=instance, reason="pending_full").update(count=F("count") + 1)
    return True
