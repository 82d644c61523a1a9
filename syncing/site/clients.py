"""Jira clients for an instance, built one way for every door, and what they discover of its site: the site
itself (flavour, clock, time zone), its projects, Data Center's Epic Link field and, for a full sync, its boards,
sprints, versions and components.

A client's flavour is set once, at construction: what a run already learnt of the site, else the instance's
setting (auto: the client asks serverInfo before its first request).
"""

import logging
from dataclasses import replace

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

from agile.services import boards_sync
from lib.columns import max_length
from projects.models import JiraInstance, Project, TokenWithheld
from syncing.engine.epic_link import epic_link_field_find
from syncing.jira.budget import budget_for
from syncing.jira.client import ConnectionSettings, JiraClient, RequestCounters, SiteInfo
from syncing.jira.errors import JiraAuthenticationError, JiraCancelledError, JiraError
from syncing.jira.stop import Stop
from syncing.site.project_catalogue import projects_catalogue_sync
from syncing.site.transaction_guard import outside_transaction

log = logging.getLogger(__name__)


def connection_settings(instance: JiraInstance, *, interactive: bool = False, flavour: str = "") -> ConnectionSettings:
    """How to reach the instance. interactive: for a person waiting (Test connection, Discover): short
    timeouts and no retries, so the answer, good or bad, comes within 10 seconds. flavour: the site's, when
    known ("": the instance's setting)."""
    try:
        token = instance.get_token()
    except TokenWithheld as exc:  # the URL moved since the token was entered: it goes nowhere
        raise JiraAuthenticationError(str(exc)) from None
    common = ConnectionSettings(
        name=instance.name,
        base_url=instance.base_url,
        auth_kind=instance.auth_kind,
        username=instance.username,
        token=token,
        flavour=flavour or instance.flavour,
        max_response_bytes=int(settings.JIRASYNC_MAX_RESPONSE_MB * 1024 * 1024),
    )
    if interactive:
        return replace(common, connect_timeout=4.0, read_timeout=8.0, total_timeout=9.0, max_retries=0, max_wait=0.0)
    return replace(
        common,
        backoff_base=settings.JIRASYNC_BACKOFF_BASE,
        max_retries=settings.JIRASYNC_MAX_RETRIES,
        total_timeout=settings.JIRASYNC_REQUEST_DEADLINE_SECONDS,
    )


def jira_client(connection: ConnectionSettings, **options) -> JiraClient:
    """A client that refuses to send a request inside a database transaction (see transaction_guard);
    options go to JiraClient (budget, counters, stop)."""
    return JiraClient(connection, before_request=outside_transaction, **options)


def client_for(
    instance: JiraInstance,
    counters: RequestCounters | None = None,
    *,
    interactive: bool = False,
    stop: Stop | None = None,
    flavour: str = "",
) -> JiraClient:
    """A client for the instance within its request budget (see connection_settings for interactive).

    stop: set it to end every request of the client within a second. flavour: the site's, as a run already
    learnt it (SiteInfo.flavour) or the instance last detected it: serverInfo is not asked again.
    """
    budget = budget_for(instance.slug, instance.request_budget, settings.REDIS_URL)
    connection = connection_settings(instance, interactive=interactive, flavour=flavour)
    return jira_client(connection, budget=budget, counters=counters, stop=stop)


def site_record(instance: JiraInstance, client: JiraClient) -> SiteInfo:
    """Ask the site what it is (flavour, clock, the account's time zone) and keep it on the instance."""
    site = client.site_info()
    JiraInstance.objects.filter(pk=instance.pk).update(detected_flavour=site.flavour, time_zone=site.time_zone)
    instance.detected_flavour, instance.time_zone = site.flavour, site.time_zone
    return site


_COLUMNS = (("id", "jira_id"), ("key", "key"), ("name", "name"))  # a listed project's parts and their columns


def instance_discover_projects(instance: JiraInstance, client: JiraClient) -> list[Project]:
    """Create or update a Project for every project the account sees; new ones enabled per the instance.

    The list is stored whole or not at all. A project Jira sends without a name is named by its key when new
    and keeps the name it had otherwise (the key and id are its identity; a missing label is no reason to stop
    every project's sync). Raises JiraResponseError when an id, key or name does not fit its column.
    """
    remotes = client.projects(longest={part: max_length(Project, column) for part, column in _COLUMNS})
    found = []
    with transaction.atomic():
        for remote in remotes:
            key, name = remote["key"], remote["name"]
            project, created = Project.objects.get_or_create(
                instance=instance,
                jira_id=remote["id"],
                defaults={"key": key, "name": name or key, "enabled": instance.enable_new_projects},
            )
            if name is None:
                log.warning(
                    "%s: project %s has no name in Jira's project list; shown as %r", instance, key, project.name
                )
            if not created and (project.key != key or (name is not None and project.name != name)):
                project.key, project.name = key, project.name if name is None else name
                Project.objects.filter(pk=project.pk).update(key=project.key, name=project.name)
            found.append(project)
    return found


def projects_to_sync(instance: JiraInstance, project_keys: tuple[str, ...] = ()) -> QuerySet[Project]:
    """The instance's enabled projects, by key; project_keys: only those named (sync_jira --project)."""
    projects = Project.objects.filter(instance=instance, enabled=True).order_by("key")
    return projects.filter(key__in=project_keys) if project_keys else projects


def instance_discover(
    instance: JiraInstance, client: JiraClient, *, extras: bool, project_keys: tuple[str, ...] = ()
) -> tuple[SiteInfo, list[str]]:
    """An instance run's discovery: the site learnt (site_record) and its projects discovered; Data Center's
    Epic Link field looked up when never looked up, and with extras (a full sync, once per instance run) its
    boards and sprints and the projects' versions and components read (project_keys: of those projects only).

    Returns the site and what could not be read, each saying why: the projects are synced all the same and the
    run ends partial. Raises what the client raises for the site and the project list (JiraError,
    JiraCancelledError; JiraResponseError when a project does not fit its columns).
    """
    site = site_record(instance, client)
    instance_discover_projects(instance, client)
    if extras or instance.epic_link_field is None:
        _epic_link_field_read(instance, client)
    return site, _full_sync_extras(instance, client, projects_to_sync(instance, project_keys)) if extras else []


def _epic_link_field_read(instance: JiraInstance, client: JiraClient) -> None:
    """Data Center's Epic Link field looked up (at a full sync, or the first): a list that cannot be read keeps
    what was found before, said in the run's log (the issues are synced all the same)."""
    try:
        found = epic_link_field_find(instance, client)
    except JiraCancelledError:
        raise
    except JiraError as exc:
        log.warning("the field list was not read (the Epic Link field is looked for in it): %s", exc)
        return
    if found:
        log.info("Epic Link field: %s", found)


def _full_sync_extras(instance: JiraInstance, client: JiraClient, projects: QuerySet[Project]) -> list[str]:
    """Boards and sprints, and the projects' versions and components, once per full instance run (an
    incremental run asks nothing more than its searches: sprints then follow the Sprint field of the issues
    synced). Returns what could not be read, each saying why: the projects are synced all the same (their
    issues do not depend on it) and the run ends partial, never succeeded; the next full sync reads it again."""
    problems = []
    for what, read in (
        ("boards and sprints", lambda: boards_sync(instance=instance, client=client)),
        (
            "versions and components",
            lambda: projects_catalogue_sync(instance=instance, client=client, projects=list(projects)),
        ),
    ):
        try:
            found = read()
        except JiraCancelledError:
            raise
        except JiraError as exc:
            log.warning("%s were not read: %s", what, exc)
            problems.append(f"{what} were not read: {exc}")
            continue
        for why in getattr(found, "skipped", ()):
            log.info("%s: %s", what, why)
        for why in getattr(found, "warnings", ()):
            log.warning("%s: %s", what, why)
        log.info(
            "%s read: %s",
            what,
            ", ".join(f"{count} {name}" for name, count in vars(found).items() if isinstance(count, int)),
        )
    return problems


def nothing_to_sync(instance: JiraInstance, project_keys: tuple[str, ...] = ()) -> str:
    """Why an instance run found no project to sync: nothing discovered, nothing enabled, or --project
    naming none of the enabled ones."""
    discovered = Project.objects.filter(instance=instance)
    if project_keys:
        return (
            f"nothing to sync: no enabled project is named {', '.join(project_keys)} "
            f"({discovered.filter(enabled=True).count()} enabled)"
        )
    if not discovered.exists():
        return "nothing to sync: the account sees no projects (permissions?)"
    count = discovered.count()
    return (
        f"nothing to sync: {count} project{'s' if count != 1 else ''} discovered, none enabled — "
        "enable them in admin (Projects), or set the instance's 'enable new projects'"
    )
