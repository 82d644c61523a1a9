"""Creating and changing Jira instances and projects, audited, tokens encrypted."""

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.forms.models import model_to_dict

from audit.services import Actor, audit_object_change, changes_between
from lib.columns import verbose_name
from projects.models import JiraInstance, Project

SECRET_FIELDS = frozenset({"token_encrypted", "webhook_secret_encrypted"})


def instance_snapshot(instance: JiraInstance) -> dict:
    """The instance's audited fields; the token only as whether it is set (masked by the audit)."""
    values = model_to_dict(instance, exclude=["id", "schedule_ids"])
    values["token_encrypted"] = instance.token_encrypted
    values["webhook_secret_encrypted"] = instance.webhook_secret_encrypted
    return {key: value for key, value in values.items() if key not in {"created_at", "updated_at"}}


def token_required_message(changed: list[str]) -> str:
    names = ", ".join(verbose_name(JiraInstance, name) for name in changed)
    return (
        f"Enter the token again: the {names} changed, and a stored token is only ever sent "
        "with the URL, auth kind and user name it was entered for."
    )


def instance_write(
    *,
    instance: JiraInstance,
    actor: Actor,
    token: str | None = None,
    webhook_secret: str | None = None,
    note: str = "",
) -> JiraInstance:
    """Create or update instance (and its token when one is given), with an audit entry of what changed.

    The row only: what the sync engine keeps in step with an instance's settings (its schedules, its
    issues to read again) is brought up to date by the doors' save, syncing.instance_settings.instance_save.
    note: added to the audit entry's summary (what the connection test said before the save).
    Raises ValidationError for an instance being deleted, a credential changed without its token, or a
    field the model refuses.
    """
    before = {}
    stored = JiraInstance.objects.filter(pk=instance.pk).first() if instance.pk else None
    if stored is not None and stored.being_deleted:
        raise ValidationError({NON_FIELD_ERRORS: [f"{stored.name} is being deleted: it can no longer be changed"]})
    if stored is not None:
        before = instance_snapshot(stored)
        if not token and stored.has_token and (changed := instance.credentials_changed(stored)):
            raise ValidationError({"token": token_required_message(changed)})
    if token:
        instance.set_token(token)
    if webhook_secret:
        instance.set_webhook_secret(webhook_secret)
    with transaction.atomic():
        instance.full_clean()
        created = not instance.pk
        instance.save()
        changes = changes_between(before, instance_snapshot(instance), SECRET_FIELDS)
        if created or changes:
            audit_object_change(
                actor=actor,
                obj=instance,
                action="create" if created else "update",
                changes=changes,
                summary=f"{'created' if created else 'updated'} Jira instance {instance.name}"
                + (f" ({note})" if note else ""),
                instance_slug=instance.slug,
            )
    return instance


def _project_change(project: Project, actor: Actor, before: bool, after: bool) -> None:
    audit_object_change(
        actor=actor,
        obj=project,
        action="update",
        changes={"enabled": [before, after]},
        summary=f"{'enabled' if after else 'disabled'} project {project.key}",
        instance_slug=project.instance.slug,
    )


def project_save(*, project: Project, actor: Actor) -> Project:
    """Write what admin may edit on a project (whether it is synced), audited.

    Only that column is written: a sync may be moving the same row's watermark and claim meanwhile.
    """
    with transaction.atomic():
        before = Project.objects.select_for_update().filter(pk=project.pk).values_list("enabled", flat=True).first()
        if before is not None and before != project.enabled:
            Project.objects.filter(pk=project.pk).update(enabled=project.enabled)
            _project_change(project, actor, before, project.enabled)
    return project


def projects_set_enabled(*, projects, enabled: bool, actor: Actor) -> int:
    """Enable or disable the projects of a queryset; each one that changes is audited. Returns how many changed."""
    changed = 0
    ids = list(projects.values_list("pk", flat=True))  # the admin's queryset is annotated (no FOR UPDATE)
    with transaction.atomic():
        selected = Project.objects.filter(pk__in=ids).exclude(enabled=enabled).select_related("instance")
        for project in selected.select_for_update(of=("self",)):
            Project.objects.filter(pk=project.pk).update(enabled=enabled)
            _project_change(project, actor, project.enabled, enabled)
            changed += 1
    return changed
