"""An instance's settings saved, with what the sync engine keeps in step with them.

The doors that change an instance (its admin page and actions, `add_jira_instance`, `schedule_jira`) call
these. projects.services.instance_write writes and audits the row; the engine builds on projects, so the
schedules (syncing.runs.schedules) and the issues to read again after a widening (syncing.runs.rereads) are brought
up to date here, in the same transaction as the row.
"""

from django.db import transaction

from audit.services import Actor, audit_object_change
from projects.models import JiraInstance
from projects.services import instance_write
from syncing.runs.rereads import issues_reread_flag
from syncing.runs.schedules import instance_schedules_ensure


def instance_save(
    *,
    instance: JiraInstance,
    actor: Actor,
    token: str | None = None,
    webhook_secret: str | None = None,
    note: str = "",
) -> JiraInstance:
    """Create or update instance as instance_write does (audited, the token encrypted), then match its
    schedules to its settings and, when it now keeps more than it did, flag its issues to be read again.

    note: added to the audit entry's summary. Raises ValidationError as instance_write does, writing nothing.
    """
    stored = JiraInstance.objects.filter(pk=instance.pk).first() if instance.pk else None
    with transaction.atomic():
        instance_write(instance=instance, actor=actor, token=token, webhook_secret=webhook_secret, note=note)
        instance_schedules_ensure(instance)
        if stored is not None:
            issues_reread_flag(before=stored, after=instance)  # what it keeps now and did not: read again
    return instance


def instances_set_schedules_paused(*, instances, paused: bool, actor: Actor) -> int:
    """Pause or resume the schedules of a queryset's instances; each one that changes is audited.

    Only that column is written (the rest of the row may be in an admin's form meanwhile). Returns how
    many changed.
    """
    changed = 0
    ids = list(instances.values_list("pk", flat=True))  # the admin's queryset is annotated (no FOR UPDATE)
    with transaction.atomic():
        chosen = JiraInstance.objects.filter(pk__in=ids, deleting_since__isnull=True).exclude(schedules_paused=paused)
        for instance in chosen.select_for_update():
            JiraInstance.objects.filter(pk=instance.pk).update(schedules_paused=paused)
            instance.schedules_paused = paused
            instance_schedules_ensure(instance)
            audit_object_change(
                actor=actor,
                obj=instance,
                action="update",
                changes={"schedules_paused": [not paused, paused]},
                summary=f"{'paused' if paused else 'resumed'} the schedules of {instance.name}",
                instance_slug=instance.slug,
            )
            changed += 1
    return changed
