from django.conf import settings
from django.db import models


class AuditLog(models.Model):
    """Who or what changed what, and when. Written by services, never edited."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor = models.CharField(max_length=150, help_text='A username, or "sync", "command", "webhook".')
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=255, blank=True)
    instance_slug = models.CharField(max_length=100, blank=True)
    summary = models.TextField(blank=True)
    changes = models.JSONField(default=dict, blank=True, help_text="field: [old, new]")
    sync_run = models.ForeignKey(
        "syncing.SyncRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="audit_entries"
    )

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
            models.Index(fields=["action", "-at"], name="audit_action_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.object_type} {self.object_repr}"
