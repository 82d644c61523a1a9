"""The census: which issues Jira still has, by id; vanished ones soft-deleted (or followed when moved),
re-appearing ones restored. A census that would delete too much at once stops and reports instead,
since a lost permission looks exactly like a deletion."""

from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import SYNC, Change, audit_record_many
from issues.models import Issue
from projects.models import Project
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


def census_project(project: Project, client: JiraClient, *, run_id: int | None = None) -> CensusResult:
    """List the project's issue ids (the largest pages Jira allows) and reconcile the stored issues with them."""
    listed: dict[int, str] = {}
    # Ids only (plus `updated`, which Data Center's moving window needs): up to 5,000 a page on Cloud.
    for page in client.search_pages(
        f"project = {project.jira_id}", "updated ASC, key ASC", ["updated"], changelog=False, page_size=5000
    ):
        for issue in page:
            listed[int(issue["id"])] = issue["key"]
    instance = project.instance
    stored = dict(
        Issue.objects.filter(instance=instance, project=project, deleted_at__isnull=True).values_list("jira_id", "key")
    )
    result = CensusResult(listed=len(listed), stored=len(stored))
    vanished = sorted(set(stored) - set(listed))
    share = settings.JIRASYNC_CENSUS_MAX_DELETE_SHARE
    if vanished and len(vanished) > share * len(stored) and len(vanished) > settings.JIRASYNC_CENSUS_GUARD_MIN:
        raise CensusRefused(
            f"{project.key}: {len(vanished)} of {len(stored)} stored issues are gone from Jira's answer "
            f"(more than {share:.0%}); nothing was deleted. A lost permission looks like this: check the "
            "account's access, or raise JIRASYNC_CENSUS_MAX_DELETE_SHARE if the deletions are real."
        )
    changes: list[Change] = []
    now = timezone.now()
    with transaction.atomic():
        # Listed here but stored elsewhere or soft-deleted: moved in, or re-appeared.
        for issue in Issue.objects.filter(instance=instance, jira_id__in=set(listed) - set(stored)):
            key = listed[issue.jira_id]
            kind = "restore" if issue.deleted_at else "move"
            (result.restored if kind == "restore" else result.moved).append(key)
            changes.append(
                Change(
                    kind,
                    "issues.issue",
                    str(issue.pk),
                    key,
                    f"{issue.key} {'re-appeared' if kind == 'restore' else 'moved'} as {key} in {project.key}",
                    {"key": [issue.key, key]},
                    instance.slug,
                )
            )
            Issue.objects.filter(pk=issue.pk).update(project=project, key=key, deleted_at=None)
        for jira_id in vanished:
            # 404 means deleted *or* not visible; a 200 means the issue lives on, in another project.
            try:
                current = client.issue(str(jira_id), fields=["project"])
            except JiraNotFoundError:
                result.deleted.append(stored[jira_id])
                changes.append(
                    Change(
                        "soft_delete",
                        "issues.issue",
                        "",
                        stored[jira_id],
                        f"{stored[jira_id]} is gone from Jira (404): marked deleted",
                        {},
                        instance.slug,
                    )
                )
                Issue.objects.filter(instance=instance, jira_id=jira_id).update(deleted_at=now)
                continue
            target = _project_of(project, current)
            if target.pk != project.pk:
                result.moved.append(current["key"])
                changes.append(
                    Change(
                        "move",
                        "issues.issue",
                        "",
                        current["key"],
                        f"{stored[jira_id]} moved to {target.key} as {current['key']}",
                        {"key": [stored[jira_id], current["key"]]},
                        instance.slug,
                    )
                )
                Issue.objects.filter(instance=instance, jira_id=jira_id).update(project=target, key=current["key"])
        live = Issue.objects.filter(project=project, deleted_at__isnull=True).count()
        Project.objects.filter(pk=project.pk).update(last_census_at=now, census_count=len(listed), stored_count=live)
        audit_record_many(actor=SYNC, changes=changes, sync_run_id=run_id)
    return result


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
