"""POST /webhooks/jira/<instance-slug>/: the HTTP door of syncing.webhook_receiver (no logic here)."""

import logging

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from projects.models import JiraInstance
from syncing.webhook_receiver import MAX_BODY_BYTES, WebhookRejected, webhook_accept

log = logging.getLogger("jirasync.webhooks")


@csrf_exempt
@require_POST
def jira_webhook(request: HttpRequest, slug: str) -> JsonResponse:
    instance = JiraInstance.objects.filter(slug=slug, enabled=True).first()
    if instance is None:
        return JsonResponse({"error": "unknown instance"}, status=404)
    length = int(request.headers.get("Content-Length") or 0)
    try:
        if length > MAX_BODY_BYTES:
            raise WebhookRejected(413, "body too large")
        accepted = webhook_accept(
            instance,
            request.body,
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
        return JsonResponse({"error": rejected.reason}, status=rejected.status)
    if accepted.ignored:
        return JsonResponse({"status": "ignored", "event": accepted.event}, status=202)
    return JsonResponse(
        {"status": "queued" if accepted.queued else "collapsed", "issue": accepted.issue_key or accepted.issue_jira_id},
        status=202,
    )
