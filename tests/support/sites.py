"""The simulated Jira sites of the tests: an instance registered on one, data added to it, requests it served."""

import copy
from collections.abc import Callable

import requests

from audit.services import COMMAND
from jirasim.testing import TOKEN, USER
from projects.models import JiraInstance
from syncing.instance_settings import instance_save


def register(server, slug: str, **fields) -> JiraInstance:
    """An instance pointed at a running simulator, with every discovered project enabled."""
    values = {
        "name": slug.replace("_", " ").title(),
        "slug": slug,
        "base_url": server.url,
        "auth_kind": "basic",
        "username": USER,
        "enable_new_projects": True,
        "request_budget": 1000,
        **fields,
    }
    instance = JiraInstance(**values)
    return instance_save(instance=instance, actor=COMMAND, token=TOKEN)


def busy(server, key: str, comments: int = 25, worklogs: int = 23) -> None:
    """Give an issue more comments and worklogs than a search sends inline (Cloud: 20 comments; 20 worklogs)."""
    data = server.sim.data
    with data.lock:
        record = data.by_key[key]
        at = data.now_ms - 3_600_000
        for n in range(comments):
            data.add_comment(record, n % 3, f"note {n}", at + n)
        for n in range(worklogs):
            data.add_worklog(record, n % 3, 900, at + n, f"work {n}")
        data.version += 1


def poisoned(sample: dict, number: int, change: Callable[[dict], object]) -> dict:
    """A copy of an issue's JSON with a fresh id and key (from `number`), its fields changed by `change`."""
    issue = copy.deepcopy(sample)
    issue["id"] = str(910_000 + number)
    issue["key"] = f"{sample['key'].rsplit('-', 1)[0]}-{9100 + number}"
    change(issue["fields"])
    return issue


def faults(server, *rules: dict) -> None:
    """Install these fault rules on the simulator (its POST /_sim/faults), replacing any it had."""
    answer = requests.post(f"{server.url}/_sim/faults", json={"rules": list(rules)}, timeout=30)
    assert answer.status_code == 200, answer.text


def jira_requests(server) -> int:
    """Every request jirasim answered on a Jira path (its own /_sim controls left out), whatever the status."""
    return sum(sum(codes.values()) for name, codes in server.sim.stats.snapshot().items() if " /rest/" in name)


def served(server, endpoint_end: str) -> int:
    """Requests jirasim answered on endpoints whose "METHOD /path" ends with `endpoint_end`, whatever the status."""
    return sum(
        sum(codes.values()) for name, codes in server.sim.stats.snapshot().items() if name.endswith(endpoint_end)
    )


def search_requests(server) -> int:
    """JQL searches jirasim answered, either flavour's endpoint."""
    counts = server.sim.stats.snapshot()
    searches = ("POST /rest/api/3/search/jql", "POST /rest/api/2/search")
    return sum(sum(codes.values()) for name, codes in counts.items() if name in searches)


def answer_overridden(server, endpoint: str, body, status: int = 200) -> None:
    """The simulator answers every request of `endpoint` ("METHOD /path") with this body (/_sim/override)."""
    answer = requests.post(
        f"{server.url}/_sim/override", json={"endpoint": endpoint, "status": status, "body": body}, timeout=30
    )
    assert answer.status_code == 200, answer.text
