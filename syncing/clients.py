"""Jira clients for an instance, built one way for every door, and what a client learns of a site.

The flavour is set once, at construction (from what the instance last learnt, or asked of serverInfo).
"""

import logging
from dataclasses import replace

from django.conf import settings
from django.db import transaction

from lib.columns import max_length
from projects.models import JiraInstance, Project, TokenWithheld
from syncing.jira.budget import budget_for
from syncing.jira.client import ConnectionSettings, JiraClient, RequestCounters, SiteInfo
from syncing.jira.errors import JiraAuthenticationError
from syncing.jira.stop import Stop
from syncing.transaction_guard import outside_transaction

log = logging.getLogger(__name__)


def connection_settings(instance: JiraInstance, *, interactive: bool = False) -> ConnectionSettings:
    """How to reach the instance. interactive: for a person waiting (Test connection, Discover): short
    timeouts and no retries, so the answer, good or bad, comes within 10 seconds."""
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
        flavour=instance.flavour,
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
    site: SiteInfo | None = None,
) -> JiraClient:
    """A client for the instance within its request budget (see connection_settings for interactive).

    stop: set it to end every request of the client within a second. site: what a run already learnt of
    the site; its flavour is used instead of asking serverInfo again.
    """
    budget = budget_for(instance.slug, instance.request_budget, settings.REDIS_URL)
    client = jira_client(
        connection_settings(instance, interactive=interactive), budget=budget, counters=counters, stop=stop
    )
    if site is not None:
        client.flavour = site.flavour
    return client


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
