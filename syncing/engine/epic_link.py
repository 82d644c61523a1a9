"""Data Center's epic of an issue: the Epic Link custom field (schema custom
`com.pyxis.greenhopper.jira:gh-epic-link`), whose value is the epic's key — where Cloud names the epic in
`parent`. Read into the same parent row (IssueLink kind `parent`) the Cloud path fills.

The field's id differs per site, so it is found by its schema type in the site's field list (at a full sync,
or the first sync of an instance) and kept on the instance. A row names the other issue by its Jira id, which
the Epic Link does not say: a key is resolved from the page itself, then the stored issues, then (sync only,
before the page's transaction) by asking Jira for the issue. A key Jira does not show (a deleted or hidden
epic) or a value that is no key is said in the run's log and gives no row; a key Jira could not be asked about
(an outage, a refusal) fails the rows of the issues naming it, as an unreadable comment list does — never a parent
row silently dropped for the run.
"""

import logging
from collections.abc import Iterable
from typing import Any

from issues.models import Issue, IssueLink
from projects.models import JiraInstance
from syncing.engine.relations import IssueRelations
from syncing.jira.client import DATACENTER, JiraClient
from syncing.jira.errors import JiraCancelledError, JiraError

EPIC_LINK_TYPE = "com.pyxis.greenhopper.jira:gh-epic-link"
log = logging.getLogger(__name__)


def epic_link_field_of(fields: Iterable[dict[str, Any]]) -> str:
    """The id of the first field of a site's field list (GET /field) whose schema is the Epic Link; "" none."""
    for item in fields:
        schema = item.get("schema")
        if isinstance(schema, dict) and schema.get("custom") == EPIC_LINK_TYPE and item.get("id"):
            return str(item["id"])[:64]
    return ""


def epic_link_field_find(instance: JiraInstance, client: JiraClient) -> str:
    """Look the Epic Link field up in the site's field list and keep it on the instance (Data Center only:
    Cloud names the epic in parent). Raises JiraError when the list cannot be read."""
    if client.flavour != DATACENTER:
        return ""
    found = epic_link_field_of(client.fields())
    JiraInstance.objects.filter(pk=instance.pk).update(epic_link_field=found)
    instance.epic_link_field = found
    return found


def epic_links_add(
    instance: JiraInstance,
    issues: list[tuple[int, str, Any, IssueRelations]],
    field_id: str,
    client: JiraClient | None = None,
) -> dict[int, str]:
    """Add to each issue's relations ([(Jira id, key, its `fields`, relations)]) the parent row of the epic its
    Epic Link names; client None: no Jira request (a re-map), keys resolved from the page and what is stored.
    Returns the issues whose epic Jira could not be asked about (any JiraError but 404), by Jira id: why, for
    the caller to fail their rows. Raises JiraCancelledError. Call outside a transaction when a client is given."""
    wanted = {
        jira_id: (key, relations)
        for jira_id, owner, fields, relations in issues
        if (key := _epic_key(fields, field_id, owner))
    }
    if not wanted:
        return {}
    ids = {key: jira_id for jira_id, key, _, _ in issues}
    unknown = {key for key, _ in wanted.values()} - ids.keys()
    if unknown:
        ids.update(Issue.objects.filter(instance=instance, key__in=unknown).values_list("key", "jira_id"))
    unasked: dict[str, str] = {}  # epic key: why Jira could not be asked about it
    for key in sorted(unknown - ids.keys()):
        if client is None:
            break
        try:
            shown = client.issue_shown(key)
        except JiraCancelledError:
            raise
        except JiraError as exc:
            unasked[key] = f"its epic {key} (Epic Link) could not be looked up: {exc}"
            continue
        if shown is None:
            log.warning("Epic Link %s names no issue Jira shows: no epic row", key)
        else:
            ids[key] = shown
    for key, relations in wanted.values():
        if key in ids:
            row = (IssueLink.Kind.PARENT.value, 0, ids[key], "", "", "", key[:64])
            if row not in relations.links:
                relations.links.append(row)
    return {jira_id: unasked[key] for jira_id, (key, _) in wanted.items() if key in unasked}


def _epic_key(fields: Any, field_id: str, owner: str) -> str:
    value = fields.get(field_id) if isinstance(fields, dict) else None
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or "-" not in value:
        log.warning("%s: Epic Link %r is no issue key: no epic row", owner, str(value)[:60])
        return ""
    return value.strip()
