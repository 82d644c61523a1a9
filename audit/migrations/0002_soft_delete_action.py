"""One action name per event: a synced row that Jira no longer has, kept and marked deleted, is `soft_delete`
whoever noticed. The webhook's issue entries were `delete` (the name of a row really removed: a mapping, an
instance), comments' and worklogs' were `comment_deleted` and `worklog_deleted`; their object_type still says
which kind. The names are written here as they were and are: the app's may move on."""

from django.db import migrations

SOFT_DELETE = "soft_delete"
# (old action, object_type): what each old name was written for.
RENAMED = (("delete", "issues.issue"), ("comment_deleted", "activity.comment"), ("worklog_deleted", "activity.worklog"))
WEBHOOK_SUMMARY_END = "(webhook)"  # refresh's summary: "<key> deleted in Jira (webhook)"


def forwards(apps, schema_editor) -> None:
    AuditLog = apps.get_model("audit", "AuditLog")
    for action, object_type in RENAMED:
        AuditLog.objects.filter(action=action, object_type=object_type).update(action=SOFT_DELETE)


def backwards(apps, schema_editor) -> None:
    AuditLog = apps.get_model("audit", "AuditLog")
    soft = AuditLog.objects.filter(action=SOFT_DELETE)
    soft.filter(object_type="issues.issue", summary__endswith=WEBHOOK_SUMMARY_END).update(action="delete")
    soft.filter(object_type="activity.comment").update(action="comment_deleted")
    soft.filter(object_type="activity.worklog").update(action="worklog_deleted")


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
