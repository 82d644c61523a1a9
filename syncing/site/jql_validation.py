"""An instance's JQL filter checked by Jira's own parser, where Jira has one (Cloud), before it is saved.

The local check (projects.jql_filter) always runs and is what keeps a filter inside its project; this
adds what only Jira knows: unknown fields, functions or values. Data Center has no parse endpoint,
and an unreachable Jira cannot say: both answer None ("not checked"), never a refusal.
"""

from dataclasses import replace

from projects.jql_filter import jql_filter_problems
from projects.models import JiraInstance
from syncing.jira.client import CLOUD, DATACENTER, ConnectionSettings
from syncing.jira.errors import JiraError
from syncing.site.clients import connection_settings, jira_client


def jql_filter_parse_problems(connection: ConnectionSettings, jql: str) -> list[str] | None:
    """Jira's errors for the filter (empty when it parses), or None when Jira cannot be asked.

    connection: interactive settings (an operator is waiting: one try, a short deadline)."""
    if not jql or connection.flavour == DATACENTER or not connection.token:
        return None
    client = jira_client(replace(connection, flavour=CLOUD))  # asked of Cloud's parser only: no serverInfo
    try:
        # https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-jql/#api-rest-api-3-jql-parse-post
        answer = client.request(
            "POST", "/rest/api/3/jql/parse", params={"validation": "strict"}, body={"queries": [jql]}
        )
    except JiraError:  # 404: Data Center (no v3) or an older site; anything else: Jira cannot say now
        return None
    finally:
        client.close()
    queries = (answer or {}).get("queries") or [{}]
    return [str(error) for error in queries[0].get("errors") or []]


def instance_jql_parse_problems(instance: JiraInstance, jql: str) -> list[str] | None:
    """Jira's parser's verdict on a filter, asked with the instance's (possibly unsaved) credentials."""
    if not jql or jql_filter_problems(jql):  # the local check's refusal is reported on its own
        return None
    try:
        connection = connection_settings(instance, interactive=True)
    except JiraError:  # the token may not go to this URL: Jira is not asked
        return None
    return jql_filter_parse_problems(connection, jql)
