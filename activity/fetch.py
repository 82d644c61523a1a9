"""An issue page's comments and worklogs made whole before the page's transaction: what the answer holds
inline, and what it truncated read from the per-issue endpoints. Jira is asked here, never in a transaction.

An issue whose list answers 404 is asked for itself: when Jira says it is gone too (deleted or hidden since its
page was read), it is left out of the page like an issue the search no longer finds — one stored before stays
until the census finds it gone; when the issue is there, the 404 was Jira answering wrongly, and it costs the
issue its row like any list that cannot be read (never a silent skip).

A search sends an issue's comments (Cloud: at most 20) and worklogs (at most 20) inline with their totals;
an issue whose inline list is short has the rest read from `issue/{id}/comment` or `issue/{id}/worklog` (a
few issues at once, within the instance's budget). A list that cannot be read whole — a request that failed
after its retries, an answer with fewer distinct ids than its total, an id twice (startAt pages that shifted
while read), an item without an id or dates — costs the issue its row (recorded, audited, asked for again by
the next run): the stored issue, comments and worklogs stay as they were, never replaced by less. A body in
malformed ADF is stored with the text read from it and as Jira sent it, with a warning in the run's log.
"""

import contextvars
import logging
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from activity.read import (
    COMMENT_FIELD,
    COMMENT_ITEMS,
    TIMESPENT_FIELD,
    WORKLOG_FIELD,
    WORKLOG_ITEMS,
    CommentRow,
    UnreadableActivity,
    WorklogRow,
    comment_read,
    inline_list,
    note_problems,
    timespent_read,
    worklog_read,
)
from syncing.jira.client import JiraClient
from syncing.jira.errors import JiraCancelledError, JiraError, JiraNotFoundError

log = logging.getLogger(__name__)
PARALLEL_FETCHES = 4  # per-issue requests in flight at once (the instance's budget paces them)


@dataclass(frozen=True)
class ActivityKinds:
    """Which kinds an instance syncs (JiraInstance.sync_comments / sync_worklogs)."""

    comments: bool = False
    worklogs: bool = False

    def fields(self) -> list[str]:
        """The issue fields that carry them inline, and the issue's timespent with its worklogs (a Cloud issue
        completed by the worklog feed is whole when its worklogs' seconds add up to it)."""
        on = [name for name, on in ((COMMENT_FIELD, self.comments), (WORKLOG_FIELD, self.worklogs)) if on]
        return [*on, TIMESPENT_FIELD] if self.worklogs else on


@dataclass
class IssueActivity:
    """One issue's comments and worklogs, whole (None: that kind is not synced)."""

    comments: list[CommentRow] | None = None
    worklogs: list[WorklogRow] | None = None
    # Cloud: the worklogs Jira counts when the answer held fewer (the rest come from the worklog feed), and
    # the issue's timespent in that answer (seconds; None: it did not say).
    worklogs_short_of: int | None = None
    worklogs_spent: int | None = None


@dataclass
class Gathered:
    activity: dict[int, IssueActivity] = field(default_factory=dict)  # by the issue's Jira id
    unreadable: dict[int, str] = field(default_factory=dict)  # Jira id -> why its row fails
    gone: set[int] = field(default_factory=set)  # deleted or hidden since the page was read (lists and issue 404)
    # (Jira id, field) a site does not offer: the answer carried no such list and its endpoint answers 404
    not_offered: set[tuple[int, str]] = field(default_factory=set)
    fetched: int = 0  # per-issue requests' issues (lists read beyond what was inline)


def activity_gather(
    client: JiraClient, kinds: ActivityKinds, issues: dict[int, dict[str, Any]], *, worklog_feed: bool = False
) -> Gathered:
    """The whole comment and worklog lists of these issues ({jira_id: issue as Jira sent it}).

    worklog_feed (Cloud): a short inline worklog list is not read from the issue's endpoint; what it holds is
    kept with the total Jira counts (worklogs_short_of), for the instance's worklog feed to complete.
    Raises JiraCancelledError when the run is stopped meanwhile; every other failure is the issue's own.
    """
    result = Gathered()
    wanted: list[tuple[int, str, Callable[[str], list[dict[str, Any]]]]] = []
    inline: dict[tuple[int, str], list[dict[str, Any]]] = {}
    short_of: dict[int, int] = {}
    spent_of: dict[int, int | None] = {}
    counted: dict[tuple[int, str], tuple[int, set[str]]] = {}  # what the issue's answer said of a list read apart
    absent: set[tuple[int, str]] = set()  # lists the answer did not carry at all
    for jira_id, issue in issues.items():
        found_fields = issue.get("fields")
        fields: dict[str, Any] = found_fields if isinstance(found_fields, dict) else {}
        for on, field_id, items, fetch in (
            (kinds.comments, COMMENT_FIELD, COMMENT_ITEMS, client.issue_comments),
            (kinds.worklogs, WORKLOG_FIELD, WORKLOG_ITEMS, client.issue_worklogs),
        ):
            if not on:
                continue
            found = inline_list(fields, field_id, items)
            if found is not None and found.whole:
                inline[(jira_id, field_id)] = found.items
            elif worklog_feed and field_id == WORKLOG_FIELD and found is not None and found.total is not None:
                inline[(jira_id, field_id)] = found.items
                short_of[jira_id] = found.total
                spent_of[jira_id] = timespent_read(fields)
            else:
                wanted.append((jira_id, field_id, fetch))
                if found is None:
                    absent.add((jira_id, field_id))
                elif found.total is not None:
                    counted[(jira_id, field_id)] = (found.total, _ids(found.items))
    fetched = _fetched(client, wanted, absent, result)
    inline.update(fetched)
    for (jira_id, field_id), listed in fetched.items():
        if jira_id in result.unreadable:
            continue
        total, shown = counted.get((jira_id, field_id), (None, set()))
        if why := list_short(field_id, listed, total, shown):
            result.unreadable[jira_id] = f"its {field_id}s: {why}"
    for jira_id in issues:
        if jira_id in result.unreadable or jira_id in result.gone:
            continue
        comments, worklogs = (
            on and (jira_id, field_id) not in result.not_offered
            for on, field_id in ((kinds.comments, COMMENT_FIELD), (kinds.worklogs, WORKLOG_FIELD))
        )
        try:
            result.activity[jira_id] = IssueActivity(
                comments=[comment_read(item) for item in inline[(jira_id, COMMENT_FIELD)]] if comments else None,
                worklogs=[worklog_read(item) for item in inline[(jira_id, WORKLOG_FIELD)]] if worklogs else None,
                worklogs_short_of=short_of.get(jira_id),
                worklogs_spent=spent_of.get(jira_id),
            )
        except UnreadableActivity as exc:
            result.unreadable[jira_id] = f"Jira answered with {exc}"
            continue
        malformed_notes_warned(str(issues[jira_id].get("key") or jira_id), result.activity[jira_id])
    return result


def malformed_notes_warned(owner: str, activity: IssueActivity) -> int:
    """Say in the run's log each comment body or worklog comment of the issue (owner: its key) that is not
    well-formed (activity.read.note_problems); returns how many. Such a note is stored all the same, with the
    text read from it and its body as Jira sent it: failing the row would fail it at every run, and storing
    nothing would be less."""
    said = 0
    for noun, part, rows in (("comment", "body", activity.comments), ("worklog", "comment", activity.worklogs)):
        for row in rows or ():
            if problems := note_problems(row.body_raw if isinstance(row, CommentRow) else row.comment_raw):
                said += 1
                log.warning(
                    "%s %s %s: its %s is malformed (%s): stored the text read from it and the %s as Jira sent it",
                    owner,
                    noun,
                    row.jira_id,
                    part,
                    "; ".join(problems),
                    part,
                )
    return said


def list_short(noun: str, listed: list[dict[str, Any]], total: int | None, shown: set[str] | None = None) -> str:
    """Why a list read from its endpoint is not the whole list ('' when it is): an item without a numeric id
    (it cannot be told apart), an id twice (its startAt pages shifted: an item added or deleted between them,
    so one may be missing), fewer distinct items than the issue counted (total; None: it did not say), or
    without one the issue showed inline. Never taken as the whole list: it would soft-delete what it left out."""
    ids = [str(item.get("id")) for item in listed if isinstance(item, dict) and _numeric(item.get("id"))]
    if len(ids) < len(listed):
        return f"Jira answered with a {noun} without a numeric id"
    distinct = set(ids)
    if len(distinct) < len(ids):
        twice = sorted((jira_id for jira_id, n in Counter(ids).items() if n > 1), key=int)
        return f"{noun} {', '.join(twice[:5])} came twice: its pages shifted while read (read again next run)"
    missing = not (shown or set()) <= distinct
    if (total is None or len(distinct) >= total) and not missing:
        return ""
    return f"the issue counted {total}, its own list held {len(distinct)}" + (
        " and not every one the issue showed" if missing else ""
    )


def _numeric(value: Any) -> bool:
    return isinstance(value, int | str) and not isinstance(value, bool) and str(value).isdigit()


def _ids(items: list[dict[str, Any]]) -> set[str]:
    return {str(item.get("id")) for item in items if isinstance(item, dict) and item.get("id") is not None}


def _fetched(
    client: JiraClient,
    wanted: list[tuple[int, str, Callable[[str], list[dict[str, Any]]]]],
    absent: set[tuple[int, str]],
    result: Gathered,
) -> dict[tuple[int, str], list[dict[str, Any]]]:
    """Each wanted list read from its endpoint; a list that could not be read makes its issue unreadable. One
    that answered 404: its issue gone when the issue answers 404 too; else not offered when the answer carried
    no such list at all (a site without it: nothing stored or deleted, said in the run's log), else unreadable."""
    if not wanted:
        return {}
    context = contextvars.copy_context()  # each thread logs into the caller's run log

    def read(job: tuple[int, str, Callable[[str], list[dict[str, Any]]]]) -> list[dict[str, Any]] | str | None:
        jira_id, field_id, fetch = job
        try:
            return context.copy().run(fetch, str(jira_id))
        except JiraCancelledError:
            raise
        except JiraNotFoundError:
            return None
        except JiraError as exc:
            return f"its {field_id}s could not be read: {exc}"

    found: dict[tuple[int, str], list[dict[str, Any]]] = {}
    not_found: list[tuple[int, str]] = []  # (Jira id, field) of the lists that answered 404
    with ThreadPoolExecutor(max_workers=min(PARALLEL_FETCHES, len(wanted))) as pool:
        for (jira_id, field_id, _), answer in zip(wanted, pool.map(read, wanted), strict=True):
            result.fetched += 1
            if answer is None:
                not_found.append((jira_id, field_id))
            elif isinstance(answer, str):
                result.unreadable.setdefault(jira_id, answer)
            else:
                found[(jira_id, field_id)] = answer
    present: set[int] = set()
    for jira_id, field_id in not_found:
        if jira_id in result.gone or jira_id in result.unreadable:
            continue
        if jira_id not in present:
            try:
                shown = client.issue_shown(str(jira_id))
            except JiraCancelledError:
                raise
            except JiraError as exc:
                result.unreadable[jira_id] = f"its {field_id}s answered 404, and the issue: {exc}"
                continue
            if shown is None:
                result.gone.add(jira_id)
                continue
            present.add(jira_id)
        if (jira_id, field_id) in absent:
            result.not_offered.add((jira_id, field_id))
            log.warning("issue %s: Jira sent no %s list and its endpoint answers 404: none stored", jira_id, field_id)
        else:
            result.unreadable[jira_id] = f"its {field_id}s answered 404 while the issue is there"
    return found
