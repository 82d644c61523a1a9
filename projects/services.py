"""Creating and changing Jira instances and projects, audited, tokens encrypted."""

from django.db import transaction
from django.forms.models import model_to_dict

from audit.services import Actor, audit_object_change, changes_between
from projects.models import JiraInstance

SECRET_FIELDS = frozenset({"token_encrypted", "webhook_secret_encrypted"})


def instance_snapshot(instance: JiraInstance) -> dict:
    """The instance's audited fields; the token only as whether it is set (masked by the audit)."""
    values = model_to_dict(instance, exclude=["id", "schedule_ids"])
    values["token_encrypted"] = instance.token_encrypted
    values["webhook_secret_encrypted"] = instance.webhook_secret_encrypted
    return {key: value for key, value in values.items() if key not in {"created_at", "updated_at"}}


def instance_save(
    *, instance: JiraInstance, actor: Actor, token: str | None = None, webhook_secret: str | None = None
) -> JiraInstance:
    """Create or update instance (and its token when one is given), with an audit entry of what changed."""
    before = {}
    if instance.pk:
        stored = JiraInstance.objects.filter(pk=instance.pk).first()
        before = instance_snapshot(stored) if stored else {}
    if token:
        instance.set_token(token)
    if webhook_secret:
        instance.set_webhook_secret(webhook_secret)
    with transaction.atomic():
        instance.full_clean()
        created = not instance.pk
        instance.save()
        changes = changes_between(before, instance_snapshot(instance), SECRET_FIELDS)
        from syncing.schedules import instance_schedules_ensure  # syncing builds on projects, not the reverse

        instance_schedules_ensure(instance)
        if created or changes:
            audit_object_change(
                actor=actor,
                obj=instance,
                action="create" if created else "update",
                changes=changes,
                summary=f"{'created' if created else 'updated'} Jira instance {instance.name}",
                instance_slug=instance.slug,
            )
    return instance


def instance_delete(*, instance: JiraInstance, actor: Actor) -> None:
    from django_q.models import Schedule

    with transaction.atomic():
        Schedule.objects.filter(pk__in=list(instance.schedule_ids.values())).delete()
        audit_object_change(
            actor=actor,
            obj=instance,
            action="delete",
            changes=changes_between(instance_snapshot(instance), {}, SECRET_FIELDS),
            summary=f"deleted Jira instance {instance.name}",
            instance_slug=instance.slug,
        )
        instance.delete()
