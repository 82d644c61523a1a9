"""Writing the audit log: one entry per change, or many in one statement for a sync."""

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import models

from audit.models import AuditLog
from lib.log_redaction import redact
from lib.secret_values import redact_secret_values

MASK = "••••••"
# The action of a synced row (an issue, comment or worklog) that Jira no longer has: kept, marked deleted
# (deleted_at). Whichever door noticed (a sync, the census, a webhook), the entry's object_type says which kind.
SOFT_DELETE = "soft_delete"


@dataclass
class Actor:
    """Who made a change: a logged-in user, or a named process ("sync", "command", "webhook")."""

    name: str
    user: AbstractBaseUser | None = None

    @classmethod
    def of_user(cls, user: AbstractBaseUser | AnonymousUser) -> "Actor":
        """The actor for a request's user; raises PermissionDenied for an anonymous one (no change is anonymous)."""
        if not isinstance(user, AbstractBaseUser):
            raise PermissionDenied("an anonymous user changes nothing")
        return cls(name=user.get_username(), user=user)


SYNC = Actor("sync")
COMMAND = Actor("command")


@dataclass
class Change:
    action: str
    object_type: str
    object_id: str = ""
    object_repr: str = ""
    summary: str = ""
    changes: dict[str, list[Any]] = field(default_factory=dict)
    instance_slug: str = ""


def changes_between(old: dict[str, Any], new: dict[str, Any], secret_fields: frozenset[str] = frozenset()) -> dict:
    """Return {field: [old, new]} for every field that differs; secret fields show only that they changed."""
    diff: dict[str, list[Any]] = {}
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        if name in secret_fields:
            diff[name] = [MASK if before else "", MASK if after else ""]
        else:
            diff[name] = [before, after]
    return diff


def audit_record(*, actor: Actor, change: Change, sync_run_id: int | None = None) -> AuditLog:
    return AuditLog.objects.create(**_entry_fields(actor, change, sync_run_id))


def audit_record_many(*, actor: Actor, changes: list[Change], sync_run_id: int | None = None) -> int:
    entries = [AuditLog(**_entry_fields(actor, change, sync_run_id)) for change in changes]
    AuditLog.objects.bulk_create(entries, batch_size=500)
    return len(entries)


def audit_object_change(
    *, actor: Actor, obj: models.Model, action: str, changes: dict, summary: str = "", instance_slug: str = ""
) -> AuditLog:
    return audit_record(
        actor=actor,
        change=Change(
            action=action,
            object_type=obj._meta.label_lower,
            object_id=str(obj.pk or ""),
            object_repr=str(obj)[:255],
            summary=summary,
            changes=changes,
            instance_slug=instance_slug,
        ),
    )


def _without_secrets(value: Any) -> Any:
    """Known secret values removed from every string of a changes dict (the values are data: no patterns)."""
    if isinstance(value, str):
        return redact_secret_values(value)
    if isinstance(value, list):
        return [_without_secrets(item) for item in value]
    if isinstance(value, dict):
        return {key: _without_secrets(item) for key, item in value.items()}
    return value


def _entry_fields(actor: Actor, change: Change, sync_run_id: int | None) -> dict[str, Any]:
    return {
        "actor": actor.name,
        "actor_user": actor.user,
        "action": change.action,
        "object_type": change.object_type,
        "object_id": change.object_id,
        "object_repr": redact_secret_values(change.object_repr)[:255],
        "summary": redact(change.summary),
        "changes": _without_secrets(change.changes),
        "instance_slug": change.instance_slug,
        "sync_run_id": sync_run_id,
    }
