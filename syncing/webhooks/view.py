"""POST /webhooks/jira/<instance-slug>/: the HTTP door of syncing.webhooks.receiver (no logic here)."""

import logging

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from projects.models import JiraInstance
from syncing.webhooks.receiver import WebhookRejected, unauthenticated, webhook_accept

log = logging.getLogger("jirasync.webhooks")


def _body(request: HttpRequest) -> bytes:
    """The raw body, up to JIRASYNC_WEBHOOK_MAX_BYTES: read here, so Django's smaller form-upload limit
    (DATA_UPLOAD_MAX_MEMORY_SIZE, an HTML 400) does not apply and the one limit answers 413 in JSON."""
    limit = settings.JIRASYNC_WEBHOOK_MAX_BYTES
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        raise WebhookRejected(400, "bad Content-Length") from None
    if declared > limit:
        raise WebhookRejected(413, "body too large")
    body = request.read(limit + 1)
    if len(body) > limit:
        raise WebhookRejected(413, "body too large")
    return body


@csrf_exempt
@require_POST
def jira_webhook(request: HttpRequest, slug: str) -> JsonResponse:
    instance = JiraInstance.objects.filter(slug=slug, enabled=True).first()
    try:
        body = _body(request)
        if instance is None:
            raise unauthenticated("no enabled instance has this slug")
        accepted = webhook_accept(
            instance,
            body,
            signature=request.headers.get("X-Hub-Signature", ""),
            url_token=request.GET.get("token", ""),
            delivery_id=request.headers.get("X-Atlassian-Webhook-Identifier", ""),
        )
    except WebhookRejected as rejected:
        # Who and why, never the body or the URL's token.
        log.warning(
            "webhook for %s rejected (%s): %s from %s",
            slug,
            rejected.status,
            rejected.reason,
            request.META.get("REMOTE_ADDR"),
        )
        response = JsonResponse({"error": rejected.answer}, status=rejected.status)
        if rejected.status == 429:
            response["Retry-After"] = "60"
        return response
    if accepted.ignored:
        return JsonResponse({"status": "ignored", "event": accepted.event}, status=202)
    return JsonResponse(
        {"status": "queued" if accepted.queued else "collapsed", "issue": accepted.issue_key or accepted.issue_jira_id},
        status=202,
    )
