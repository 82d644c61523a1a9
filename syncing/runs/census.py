"""The census: which issues Jira has, by id, reconciled with what is stored, in both directions.

Stored but no longer listed: soft-deleted when Jira answers 404, followed when it moved to another project.
Listed but not stored here: stored elsewhere or soft-deleted → moved in or restored; never stored at all →
fetched whole (fields and history) and stored, so the stored count agrees with Jira's after every census.
A census that would delete too much at once stops and reports instead, since a lost permission looks
exactly like a deletion. Every question to Jira is asked before the one transaction that writes. An issue
moved or restored is flagged to be read again whole by the next run (`changelog_complete = false`): its stored
row and history predate the move, and its updated time may lie behind the watermark of the project it is in.
"""

from array import array
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import SOFT_DELETE, SYNC, Change, audit_record_many
from issues.models import Issue
from projects.models import Project
from syncing.engine.pipeline import PageResult, issues_refetch
from syncing.engine.plan import ProjectSyncPlan
from syncing.jira.client import JiraClient
from syncing.jira.errors import JiraNotFoundError


class CensusRefused(Exception):
    """The census would delete more than the configured share of a project; nothing was changed."""


@dataclass
class CensusResult:
    listed: int = 0
    stored: int = 0
    deleted: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)  # listed, never stored: fetched and stored now
    unrecovered: list[tuple[str, str]] = field(default_factory=list)  # (key, why) of those that could not be
    stored_pages: PageResult = field(default_factory=PageResult)  # what storing the recovered did


def listed_issue_ids(
    client: JiraClient, project: Project, jql_filter: str = "", *, stored: "array[int]"
) -> tuple["array[int]", dict[int, str]]:
    """Every issue id Jira lists in the project (and the instance's JQL filter, when given), sorted, and the
    keys of those not among `stored` (sorted ids); ids only, the largest pages Jira allows.

    Ids are kept 8 bytes each and keys only where the census needs them (an issue to move in or fetch): a
    census's memory is a few bytes per issue of the project, not a dictionary entry of two objects.
    """
    listed = array("q")
    keys: dict[int, str] = {}
    jql = f"project = {project.jira_id}" + (f" AND ({jql_filter})" if jql_filter else "")
    for page in client.search_pages(jql, ["updated"], changelog=False, page_size=5000):
        for issue in page:
            jira_id = int(issue["id"])
            listed.append(jira_id)
            if not _holds(stored, jira_id):
                keys[jira_id] = str(issue.get("key") or "")
    return _sorted(listed), keys


def census_project(
    project: Project, client: JiraClient, plan: ProjectSyncPlan, *, run_id: int | None = None
) -> CensusResult:
    """List the project's issue ids and reconcile the stored issues with them, both ways.

    plan: how issues of this project are synced (fields, mapping, milestones), for the ones fetched here.
    Raises CensusRefused (nothing changed) when too many stored issues are gone; JiraError when Jira fails.
    """
    instance = project.instance
    live = Issue.objects.filter(instance=instance, project=project, deleted_at__isnull=True)
    stored = array("q", live.order_by("jira_id").values_list("jira_id", flat=True).iterator(chunk_size=5000))
    # Deletions and moves are judged on the whole project; what is missing, on what the sync reads: with
    # the instance's JQL filter, an issue outside it is not the sync's to store (one stored while it was
    # inside stays, as it was last read).
    whole, unlisted = listed_issue_ids(client, project, stored=stored)
    listed = whole
    if plan.jql_filter:
        listed, unlisted = listed_issue_ids(client, project, plan.jql_filter, stored=stored)
    result = CensusResult(listed=len(listed), stored=len(stored))
    vanished = [jira_id for jira_id in stored if not _holds(whole, jira_id)]
    share = settings.JIRASYNC_CENSUS_MAX_DELETE_SHARE
    if vanished and len(vanished) > share * len(stored) and len(vanished) > settings.JIRASYNC_CENSUS_GUARD_MIN:
        raise CensusRefused(
            f"{project.key}: {len(vanished)} of {len(stored)} stored issues are gone from Jira's answer "
            f"(more than {share:.0%}); nothing was deleted. A lost permission looks like this: check the "
            "account's access, or raise JIRASYNC_CENSUS_MAX_DELETE_SHARE if the deletions are real."
        )
    vanished_keys = _keys(live, vanished)
    elsewhere = list(
        Issue.objects.filter(instance=instance, jira_id__in=list(unlisted)).only("pk", "jira_id", "key", "deleted_at")
    )
    missing = sorted(set(unlisted) - {issue.jira_id for issue in elsewhere})
    # Jira first, outside any transaction: where did the vanished issues go, and the missing ones, whole.
    now_in = {jira_id: _current(client, jira_id) for jira_id in vanished}
    fetched = issues_refetch(client, plan, {jira_id: unlisted[jira_id] for jira_id in missing}, run_id=run_id)
    result.recovered, result.stored_pages = fetched.stored, fetched.pages
    result.unrecovered = fetched.failed + [
        (key, "listed by the census, then gone from Jira (404)") for key in fetched.gone
    ]
    changes: list[Change] = [
        Change(
            "census_recover",
            "issues.issue",
            "",
            key,
            f"{key} is in Jira but was not stored: fetched and stored by the census",
            {},
            instance.slug,
        )
        for key in result.recovered
    ]
    now = timezone.now()
    with transaction.atomic():
        for issue in elsewhere:
            key = unlisted[issue.jira_id]
            restored = issue.deleted_at is not None
            (result.restored if restored else result.moved).append(key)
            changes.append(
                Change(
                    "restore" if restored else "move",
                    "issues.issue",
                    str(issue.pk),
                    key,
                    f"{issue.key} {'re-appeared' if restored else 'moved'} as {key} in {project.key}",
                    {"key": [issue.key, key]},
                    instance.slug,
                )
            )
            # Its stored row and history predate the move (the move's own history included): read it again.
            Issue.objects.filter(pk=issue.pk).update(
                project=project, key=key, deleted_at=None, changelog_complete=False
            )
        for jira_id in vanished:
            _follow(project, jira_id, vanished_keys[jira_id], now_in[jira_id], result, changes, now)
        live_now = Issue.objects.filter(project=project, deleted_at__isnull=True)
        if plan.jql_filter:
            ids = live_now.values_list("jira_id", flat=True).iterator(chunk_size=5000)
            counted = sum(1 for jira_id in ids if _holds(listed, jira_id))
        else:
            counted = live_now.count()
        Project.objects.filter(pk=project.pk).update(last_census_at=now, census_count=len(listed), stored_count=counted)
        audit_record_many(actor=SYNC, changes=changes, sync_run_id=run_id)
    return result


def _sorted(ids: Iterable[int]) -> "array[int]":
    """Issue ids, sorted, each once (a listing meets an issue edited meanwhile twice), 8 bytes each."""
    ordered = sorted(ids)
    return array("q", (jira_id for n, jira_id in enumerate(ordered) if n == 0 or ordered[n - 1] != jira_id))


def _holds(ids: "array[int]", jira_id: int) -> bool:
    """Whether the sorted ids hold jira_id."""
    at = bisect_left(ids, jira_id)
    return at < len(ids) and ids[at] == jira_id


def _keys(issues, jira_ids: list[int]) -> dict[int, str]:
    """The stored keys of these issues, asked for a few hundred at a time."""
    keys: dict[int, str] = {}
    for start in range(0, len(jira_ids), 500):
        keys.update(issues.filter(jira_id__in=jira_ids[start : start + 500]).values_list("jira_id", "key"))
    return keys


def _current(client: JiraClient, jira_id: int) -> dict | None:
    """The issue's project and key now (404 means deleted *or* not visible: None)."""
    try:
        return client.issue(str(jira_id), fields=["project"])
    except JiraNotFoundError:
        return None


def _follow(
    project: Project,
    jira_id: int,
    key: str,
    current: dict | None,
    result: CensusResult,
    changes: list[Change],
    now,
) -> None:
    """Record what became of a stored issue the listing no longer holds: deleted, or moved elsewhere."""
    instance = project.instance
    if current is None:
        result.deleted.append(key)
        changes.append(
            Change(
                SOFT_DELETE,
                "issues.issue",
                "",
                key,
                f"{key} is gone from Jira (404): marked deleted",
                {},
                instance.slug,
            )
        )
        Issue.objects.filter(instance=instance, jira_id=jira_id).update(deleted_at=now)
        return
    target = _project_of(project, current)
    if target.pk != project.pk:
        result.moved.append(current["key"])
        changes.append(
            Change(
                "move",
                "issues.issue",
                "",
                current["key"],
                f"{key} moved to {target.key} as {current['key']}",
                {"key": [key, current["key"]]},
                instance.slug,
            )
        )
        # Read again by the target project's next run: its updated time may be behind that project's watermark,
        # and the history holding the move would never be stored.
        Issue.objects.filter(instance=instance, jira_id=jira_id).update(
            project=target, key=current["key"], changelog_complete=False
        )


def _project_of(current_project: Project, issue: dict) -> Project:
    """The Project row of the project an issue is in now (created, disabled, when it is new to us)."""
    remote = (issue.get("fields") or {}).get("project") or {}
    if not remote or str(remote.get("id")) == current_project.jira_id:
        return current_project
    project, _ = Project.objects.get_or_create(
        instance=current_project.instance,
        jira_id=str(remote["id"]),
        defaults={"key": remote.get("key", ""), "name": remote.get("name", ""), "enabled": False},
    )
    return project
