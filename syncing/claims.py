"""A project is never synced by two workers at once: a claim taken and renewed with conditional updates.

A claim holds until `claimed_until` unless renewed; a claim whose owner process on this host is gone
is taken over at once (a worker killed with -9 does not block the project for the whole lease).
"""

import os
import socket
import uuid
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from projects.models import Project

LEASE = timedelta(minutes=10)


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def project_claim(project_id: int, owner: str) -> bool:
    """Take the project for owner; False when someone alive holds it."""
    now = timezone.now()
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now) | Q(claimed_by="")
    if Project.objects.filter(pk=project_id).filter(free).update(claimed_by=owner, claimed_until=now + LEASE):
        return True
    holder = Project.objects.filter(pk=project_id).values_list("claimed_by", flat=True).first() or ""
    if holder and _owner_is_dead(holder):
        return bool(
            Project.objects.filter(pk=project_id, claimed_by=holder).update(claimed_by=owner, claimed_until=now + LEASE)
        )
    return False


def project_claim_renew(project_id: int, owner: str) -> bool:
    return bool(Project.objects.filter(pk=project_id, claimed_by=owner).update(claimed_until=timezone.now() + LEASE))


def project_claim_release(project_id: int, owner: str) -> None:
    Project.objects.filter(pk=project_id, claimed_by=owner).update(claimed_by="", claimed_until=None)


def project_claim_holder(project_id: int) -> str:
    return Project.objects.filter(pk=project_id).values_list("claimed_by", flat=True).first() or ""


def _owner_is_dead(owner: str) -> bool:
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False  # another machine's worker: only its lease can tell
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
