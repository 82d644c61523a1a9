"""Each project's versions and components as Jira lists them, read on full syncs (issues name only those they use)."""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from issues.models import Component, Version
from jirafields.timestamps import parse_jira_date
from lib.bulk_sql import rows_upsert
from projects.models import JiraInstance, Project
from syncing.jira.client import JiraClient

VERSION_COLUMNS = [
    "instance_id",
    "jira_id",
    "project_id",
    "name",
    "description",
    "released",
    "archived",
    "release_date",
    "deleted_at",
    "synced_at",
]
COMPONENT_COLUMNS = ["instance_id", "jira_id", "project_id", "name", "description", "deleted_at", "synced_at"]


@dataclass
class CatalogueResult:
    versions: int = 0
    components: int = 0


def projects_catalogue_sync(*, instance: JiraInstance, client: JiraClient, projects: list[Project]) -> CatalogueResult:
    """Read the versions and components of these projects (two requests a project), then store them in one
    transaction: upserted by (instance, Jira id), and those of these projects no longer listed marked deleted
    (IssueVersion and IssueComponent rows keep naming them). Raises what the client raises; nothing is written
    then."""
    listed = [
        (project, client.project_versions(project.key), client.project_components(project.key)) for project in projects
    ]
    now = timezone.now()
    # By id, the last project listing one winning: ids are the instance's (one statement may not upsert a row twice).
    versions = list(
        {
            row[1]: row
            for project, found, _ in listed
            for row in (_version_row(instance, project, item, now) for item in found)
        }.values()
    )
    components = list(
        {
            row[1]: row
            for project, _, found in listed
            for row in (_component_row(instance, project, item, now) for item in found)
        }.values()
    )
    with transaction.atomic():
        for model, columns, rows in ((Version, VERSION_COLUMNS, versions), (Component, COMPONENT_COLUMNS, components)):
            if rows:
                rows_upsert(model, columns, rows, conflict=["instance_id", "jira_id"], update=columns[2:])
            model.objects.filter(project__in=projects, deleted_at__isnull=True).exclude(
                jira_id__in=[row[1] for row in rows]
            ).update(deleted_at=now)
    return CatalogueResult(len(versions), len(components))


def _text(value: object, limit: int | None = None) -> str:
    text = str(value or "").replace("\x00", "")
    return text[:limit] if limit else text


def _version_row(instance: JiraInstance, project: Project, item: dict, now: datetime) -> tuple:
    released = item.get("releaseDate")
    try:
        release_date = parse_jira_date(released) if isinstance(released, str) and released else None
    except ValueError:
        release_date = None  # descriptive: the version's id and name are what joins need
    return (
        instance.pk,
        int(item["id"]),
        project.pk,
        _text(item.get("name"), 255),
        _text(item.get("description")),
        item.get("released") is True,
        item.get("archived") is True,
        release_date,
        None,
        now,
    )


def _component_row(instance: JiraInstance, project: Project, item: dict, now: datetime) -> tuple:
    return (
        instance.pk,
        int(item["id"]),
        project.pk,
        _text(item.get("name"), 255),
        _text(item.get("description")),
        None,
        now,
    )
