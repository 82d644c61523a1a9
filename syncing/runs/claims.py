"""A project is never synced by two workers at once: a claim is a lease, taken and renewed with conditional
updates.

The holder renews the lease (every quarter of JIRASYNC_CLAIM_LEASE_SECONDS, see runs.RunKeeper); nobody
else may take the project before it expires — whatever host name or process id the holder has, so two
containers with the same host name cannot both believe they hold it — and a holder that fails to renew
stops. A worker killed with -9 blocks its project for at most one lease.
"""

import os
import socket
import uuid
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from projects.models import Project
from syncing.models import PendingRefresh


def _lease() -> timedelta:
    return timedelta(seconds=settings.JIRASYNC_CLAIM_LEASE_SECONDS)


def new_owner() -> str:
    """A holder's name: host and process for the reader, a random part for uniqueness."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def project_claim(project_id: int, owner: str) -> bool:
    """Take the project for owner; False while another holder's lease has not expired."""
    now = timezone.now()
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now) | Q(claimed_by="")
    return bool(
        Project.objects.filter(pk=project_id).filter(free).update(claimed_by=owner, claimed_until=now + _lease())
    )


def project_claim_renew(project_id: int, owner: str) -> bool:
    """Extend owner's lease; False when owner no longer holds the project (it must stop)."""
    return bool(Project.objects.filter(pk=project_id, claimed_by=owner).update(claimed_until=timezone.now() + _lease()))


def project_claim_release(project_id: int, owner: str) -> None:
    """Let the project go, and queue again the webhook refreshes parked while owner held it."""
    if Project.objects.filter(pk=project_id, claimed_by=owner).update(claimed_by="", claimed_until=None):
        parked_refreshes_queue(project_id)


def parked_refreshes_queue(project_id: int) -> int:
    """Queue again the webhook refreshes parked on the project (PendingRefresh.parked_for); returns how many."""
    from syncing.tasks import enqueue  # the queue's door imports the runs: asked for when needed

    parked = list(
        PendingRefresh.objects.filter(parked_for_id=project_id).values_list("pk", "instance_id", "issue_jira_id")
    )
    PendingRefresh.objects.filter(pk__in=[pk for pk, _, _ in parked]).update(parked_for=None)
    for _, instance_id, jira_id in parked:
        enqueue("syncing.tasks.refresh_issue", instance_id, jira_id, task_name=f"refresh issue {jira_id}")
    return len(parked)


def project_claim_holder(project_id: int) -> str:
    return Project.objects.filter(pk=project_id).values_list("claimed_by", flat=True).first() or ""
