"""Cloud's worklog change feed: an instance's changed and deleted worklogs since its watermark, in batches.

Jira Cloud lists the worklogs changed (`worklog/updated`) and deleted (`worklog/deleted`) since a moment, a
thousand a page, and returns up to a thousand worklogs by id (`worklog/list`): so the worklogs of every
issue are read without a request per issue. A search sends at most 20 of an issue's worklogs inline; a Cloud
page stores those and marks the issue pending (WorklogPending, with Jira's total), and this completes it.

worklog_feed_sync, once per instance run after its projects' pages (and after a project run of its own):
1. Ask Jira, no transaction open, for the ids changed and deleted since the instance's watermarks (0 at
   first: every worklog of the site, once).
2. Leave out the changes already stored (a live row with the `updated` moment the feed lists, stored well
   after that moment: its issue's page wrote it). A thousand of the other changed ids at a time: ask for those
   worklogs by id, then in one transaction upsert those of issues stored here (live) — those of other issues
   (projects not synced) are counted and left, unread.
   Then, in one more transaction, soft-delete the deleted ones, audited.
3. Each pending issue whose live worklogs now number its total and add up to its timespent (both as its
   answer said) is complete; one still short or disagreeing (its older worklogs predate the watermark: an
   issue moved in from a project not synced, a row that failed before; a worklog edited after the answer),
   and each stored issue holding a changed worklog that worklog/list did not return (nor the deleted
   listing), is read whole from its own endpoint and replaced exactly, in a transaction of its own.
4. Move the watermarks on (conditional updates, forward only) once everything read is committed: a run
   killed before reads the same changes again, and writes them once.
A worklog the feed sends that cannot be read keeps the watermark where it was (read again next run); a
pending issue that cannot be completed stays pending; both are the run's failures, never silent.
"""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from activity.fetch import IssueActivity, list_short, malformed_notes_warned
from activity.models import Worklog, WorklogFeed, WorklogPending
from activity.read import UnreadableActivity, WorklogRow, worklog_read, worklogs_whole
from activity.services import WORKLOG_COLUMNS, ActivityStored, activity_rows, activity_rows_upsert, activity_store
from audit.services import SOFT_DELETE, SYNC, Change, audit_record_many
from issues.models import Issue
from issues.selectors import issue_rows
from projects.models import JiraInstance, Project
from syncing.jira.client import JiraClient
from syncing.jira.errors import JiraCancelledError, JiraError, JiraNotFoundError

log = logging.getLogger(__name__)
ID_CHUNK = 2000  # ids per `IN (…)` of the soft-deletes
LIST_BATCH = 1000  # worklogs asked for by id at once (worklog/list's cap), stored in one transaction
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MILLISECOND = timedelta(milliseconds=1)
# A row stored less than this after its `updated` moment may have been read between two edits made in that same
# millisecond (a script's): its change is asked for again. Covers the page's own delay and the clocks' skew.
SETTLED = timedelta(minutes=2)


@dataclass
class FeedResult:
    listed: int = 0  # worklog ids the feed listed as changed
    current: int = 0  # of those, stored here live as they were at that change: not asked for again
    written: int = 0  # worklogs of stored issues written
    outside: int = 0  # worklogs of issues not stored here (projects not synced)
    unreturned: int = 0  # listed as changed, not returned by worklog/list nor listed deleted
    deleted: int = 0  # soft-deleted
    completed: int = 0  # pending issues made whole
    stored: ActivityStored = field(default_factory=ActivityStored)  # what the per-issue completions wrote
    failed: list[tuple[str, str]] = field(default_factory=list)  # (key or worklog, why)


def worklog_feed_sync(client: JiraClient, instance: JiraInstance, *, run_id: int | None) -> FeedResult:
    """Read the instance's worklog feed and complete its pending issues (see the module's steps).

    Raises JiraCancelledError when stopped and JiraError when the feed itself cannot be read (the caller's
    run fails or ends partial saying so); a pending issue that cannot be read is a failure in the result.
    """
    result = FeedResult()
    feed, _ = WorklogFeed.objects.get_or_create(instance=instance)
    listed, next_updated = client.worklogs_changed("updated", feed.updated_since)
    gone, next_deleted = client.worklogs_changed("deleted", feed.deleted_since)
    deleted = [worklog_id for worklog_id, _ in gone]
    result.listed = len(listed)
    changed = _not_stored_as_listed(instance, listed, result)
    unreturned: set[int] = set()
    # A batch at a time (one list request, one transaction): memory does not grow with the site's worklogs.
    for start in range(0, len(changed), LIST_BATCH):
        asked = changed[start : start + LIST_BATCH]
        answer = client.worklogs_by_id(asked)
        unreturned |= set(asked) - _returned_ids(answer)
        _store(instance, _rows(instance, answer, result), [], result, run_id)
    _store(instance, {}, deleted, result, run_id)
    reread = _unreturned_issues(instance, unreturned - set(deleted), result)
    _pending_complete(client, instance, result, run_id, reread)
    if not result.failed:  # else the same changes are read again next run
        WorklogFeed.objects.filter(pk=instance.pk, updated_since__lt=next_updated).update(updated_since=next_updated)
    WorklogFeed.objects.filter(pk=instance.pk, deleted_since__lt=next_deleted).update(deleted_since=next_deleted)
    result.failed = _each_named_once(result.failed)
    return result


def _not_stored_as_listed(
    instance: JiraInstance, listed: list[tuple[int, int | None]], result: FeedResult
) -> list[int]:
    """The ids of the listed changes to read: all but those stored here, live, with the `updated` moment the
    feed lists for them (Jira moves a worklog's `updated` with every edit, so such a row already holds that
    change: the page of its issue wrote it in this run, or an earlier run did) and stored SETTLED after it (two
    edits in one millisecond share it: a row read between them holds the first). A first feed lists every
    worklog of the site; most were written by their issues' pages a moment before. Counted in result.current.
    Each id once, in the order first listed."""
    # A worklog edited while a long listing was paged is listed twice: at its old moment on an early page, at its
    # new one on a later page. Only a row at its latest moment holds its change (None, unsaid: ask).
    latest: dict[int, int | None] = {}
    for worklog_id, moment in listed:
        seen = latest.get(worklog_id, -1)
        latest[worklog_id] = None if moment is None or seen is None else max(seen, moment)
    ids = sorted(latest)
    settled: dict[int, int] = {}  # Jira id: `updated` in epoch ms, of live rows stored SETTLED after it
    for start in range(0, len(ids), ID_CHUNK):
        rows = Worklog.objects.filter(
            instance=instance, jira_id__in=ids[start : start + ID_CHUNK], deleted_at__isnull=True
        ).values_list("jira_id", "updated", "synced_at")
        settled.update(
            (jira_id, (updated - EPOCH) // MILLISECOND)
            for jira_id, updated, synced_at in rows
            if synced_at - updated >= SETTLED
        )
    current = {
        worklog_id for worklog_id, moment in latest.items() if moment is not None and settled.get(worklog_id) == moment
    }
    result.current = len(current)
    return [worklog_id for worklog_id in latest if worklog_id not in current]


def _each_named_once(failed: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """One failure per issue (or worklog), its first reason, saying how many more it had."""
    reasons: dict[str, list[str]] = {}
    for name, why in failed:
        if why not in reasons.setdefault(name, []):
            reasons[name].append(why)
    return [(name, why[0] + (f" (and {len(why) - 1} more)" if len(why) > 1 else "")) for name, why in reasons.items()]


def _returned_ids(worklogs: list[dict]) -> set[int]:
    return {int(value["id"]) for value in worklogs if str(value.get("id")).isdigit()}


def _unreturned_issues(instance: JiraInstance, unreturned: set[int], result: FeedResult) -> set[int]:
    """The stored issues (pks) holding a worklog the feed listed as changed that worklog/list did not return:
    its change would be lost, so each is read whole from its own endpoint. Ids stored nowhere here are of
    issues not synced (hidden, or in projects not synced) or new on an issue whose own page reads them (a new
    worklog changes the issue's updated and total): said in the run's log and counted, not waited for."""
    if not unreturned:
        return set()
    ids = sorted(unreturned)
    stored: dict[int, int] = {}
    for start in range(0, len(ids), ID_CHUNK):
        rows = Worklog.objects.filter(instance=instance, jira_id__in=ids[start : start + ID_CHUNK])
        stored.update(rows.filter(deleted_at__isnull=True).values_list("jira_id", "issue_id"))
    result.unreturned = len(ids)
    log.warning(
        "worklog/list did not return %d of the worklogs worklog/updated listed (%s): %d of them stored here, "
        "their issues read whole from their own endpoints",
        len(ids),
        ", ".join(map(str, ids[:10])),
        len(stored),
    )
    return set(stored.values())


def _rows(instance: JiraInstance, worklogs: list[dict], result: FeedResult) -> dict[int, list[WorklogRow]]:
    """The worklogs of issues stored here read into rows by their issue's Jira id; one that cannot be read is a
    failure. Those of other issues (projects not synced) are counted and left, read or not: a bad one of them
    must not hold the instance's feed back."""
    by_issue: dict[int, list[dict]] = {}
    for value in worklogs:
        try:
            by_issue.setdefault(int(str(value.get("issueId"))), []).append(value)
        except (TypeError, ValueError) as exc:
            result.failed.append((f"worklog {str(value.get('id'))[:20]}", f"Jira answered with no issueId ({exc})"))
    stored = issue_rows(instance, list(by_issue), ["key", "deleted_at"])
    keys = {jira_id: key for jira_id, key, deleted_at in stored if deleted_at is None}
    rows: dict[int, list[WorklogRow]] = {}
    for issue_id, values in by_issue.items():
        if issue_id not in keys:
            result.outside += len(values)
            continue
        for value in values:
            try:
                row = worklog_read(value)
            except UnreadableActivity as exc:
                result.failed.append((keys[issue_id], f"Jira answered with {exc}"))
                continue
            malformed_notes_warned(keys[issue_id], IssueActivity(worklogs=[row]))
            rows.setdefault(issue_id, []).append(row)
    return rows


def _store(
    instance: JiraInstance, rows: dict[int, list[WorklogRow]], deleted: list[int], result: FeedResult, run_id
) -> None:
    now = timezone.now()
    with transaction.atomic():
        stored = {
            jira_id: pk
            for jira_id, pk, deleted_at in issue_rows(instance, list(rows), ["id", "deleted_at"])
            if deleted_at is None
        }
        written = activity_rows(
            instance.pk, stored, {jira_id: rows[jira_id] for jira_id in rows if jira_id in stored}, now
        )
        result.written += activity_rows_upsert(Worklog, written, WORKLOG_COLUMNS)
        result.outside += sum(len(listed) for jira_id, listed in rows.items() if jira_id not in stored)
        changes = []
        for start in range(0, len(deleted), ID_CHUNK):
            live = Worklog.objects.filter(
                instance=instance, jira_id__in=deleted[start : start + ID_CHUNK], deleted_at__isnull=True
            )
            gone = list(live.values_list("pk", "jira_id", "issue__key"))
            Worklog.objects.filter(pk__in=[pk for pk, _, _ in gone]).update(deleted_at=now)
            changes += [
                Change(
                    SOFT_DELETE,
                    "activity.worklog",
                    str(jira_id),
                    f"{key} worklog {jira_id}",
                    f"worklog {jira_id} of {key} is no longer in Jira: soft-deleted",
                    {},
                    instance.slug,
                )
                for _, jira_id, key in gone
            ]
        result.deleted += len(changes)
        audit_record_many(actor=SYNC, changes=changes, sync_run_id=run_id)


def _pending_complete(
    client: JiraClient, instance: JiraInstance, result: FeedResult, run_id: int | None, reread: set[int]
) -> None:
    """Drop the pending issues now whole; read from their own endpoints those still short and those in reread
    (issue pks whose changed worklogs worklog/list did not return)."""
    pending = {
        issue_id: (total, spent)
        for issue_id, total, spent in WorklogPending.objects.filter(instance=instance).values_list(
            "pk", "total", "spent"
        )
    }
    if not pending and not reread:
        return
    live = {
        issue_id: (n, seconds)
        for issue_id, n, seconds in Worklog.objects.filter(issue_id__in=list(pending), deleted_at__isnull=True)
        .values("issue_id")
        .annotate(n=Count("pk"), seconds=Sum("seconds"))
        .values_list("issue_id", "n", "seconds")
    }
    whole = {
        pk for pk, counted in pending.items() if pk not in reread and worklogs_whole(*counted, *live.get(pk, (0, 0)))
    }
    WorklogPending.objects.filter(pk__in=whole).delete()
    result.completed += len(whole)
    short = Issue.objects.filter(pk__in=(pending.keys() | reread) - whole, deleted_at__isnull=True)
    for issue in short.select_related("project__instance").order_by("pk"):
        _issue_complete(client, issue, result, run_id)
    # Deleted issues keep what they had: nothing more will come for them.
    WorklogPending.objects.filter(instance=instance, issue__deleted_at__isnull=False).delete()


def _issue_complete(client: JiraClient, issue: Issue, result: FeedResult, run_id: int | None) -> None:
    """Read one issue's worklogs whole from its endpoint and replace what is stored with them. An issue that
    answers 404 (deleted or hidden since) is left as it is, for the census to find."""
    try:
        listed = client.issue_worklogs(str(issue.jira_id))
        why = list_short("worklog", listed, None)
        rows = [] if why else [worklog_read(value) for value in listed]
    except JiraCancelledError:
        raise
    except JiraNotFoundError:
        if _issue_gone(client, issue, result):
            return
        why = "its worklogs answered 404 while the issue is there"
    except (JiraError, UnreadableActivity) as exc:
        why = f"its worklogs could not be read: {exc}"
    if why:
        result.failed.append((issue.key, why))
        return
    project: Project = issue.project
    with transaction.atomic():
        stored = activity_store(
            project=project,
            issues={issue.jira_id: (issue.pk, issue.key)},
            activity={issue.jira_id: IssueActivity(worklogs=rows)},
            now=timezone.now(),
            run_id=run_id,
        )
        WorklogPending.objects.filter(pk=issue.pk).delete()
    result.stored.add(stored)
    result.completed += 1


def _issue_gone(client: JiraClient, issue: Issue, result: FeedResult) -> bool:
    try:
        shown = client.issue_shown(str(issue.jira_id))
    except JiraCancelledError:
        raise
    except JiraError as exc:
        result.failed.append((issue.key, f"its worklogs answered 404, and the issue: {exc}"))
        return True
    if shown is None:
        log.info("%s answers 404 (deleted or hidden since): its worklogs left for the census", issue.key)
        return True
    return False
