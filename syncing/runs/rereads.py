"""What an instance's next sync must read again after its settings were widened to keep more than before.

Keeping more — the history of a field not kept before (`field_history`), comments or worklogs once turned off
(`sync_comments`, `sync_worklogs`) — leaves every stored issue short of it, and an incremental sync reads only
the issues changed since its watermark. So the instance's live issues are flagged `changelog_complete = false`,
and the next sync, incremental or full, asks for each again by id (store.retry_ids, 100 a search) and stores it
whole: changelog, comments and worklogs as the instance now keeps them (an issue not stored whole is never
taken as unchanged). Narrowing asks for nothing: what is no longer kept is simply not written from then on.

Cloud worklogs need no more: the instance's worklog feed (activity.worklog_feed) keeps its watermark where the
feed was last read while worklogs were on (0 if never), so it lists every worklog changed or deleted while they
were off, and a re-read issue whose inline list is short is completed by it or, for older worklogs, by its own
endpoint. Moving the watermark instead would let a pending issue count stale rows deleted meanwhile as whole.
"""

from issues.models import Issue
from projects.models import JiraInstance
from syncing.engine.field_history import KeptFields


def instance_widened(before: JiraInstance, after: JiraInstance) -> list[str]:
    """What `after` keeps that `before` did not, in words ([] when nothing)."""
    widened = []
    if KeptFields.parse(after.field_history).widened_from(KeptFields.parse(before.field_history)):
        widened.append("the history of more fields")
    if after.sync_comments and not before.sync_comments:
        widened.append("comments")
    if after.sync_worklogs and not before.sync_worklogs:
        widened.append("worklogs")
    return widened


def issues_reread_flag(*, before: JiraInstance, after: JiraInstance) -> int:
    """Flag the instance's live issues to be read again by its next sync when `after` keeps more than `before`
    (see the module); returns how many were flagged (0 when nothing was widened)."""
    if not instance_widened(before, after):
        return 0
    return Issue.objects.filter(instance_id=after.pk, deleted_at__isnull=True, changelog_complete=True).update(
        changelog_complete=False
    )
