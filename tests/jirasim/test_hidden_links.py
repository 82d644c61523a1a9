"""Links to issues the account may not browse are left out of `issuelinks`, as Jira's LinkCollection leaves
them out (it keeps only linked issues the user has Browse permission for); the history keeps its Link items."""

import pytest
import requests

from jirasim.testing import TOKEN, USER, running_sim

AUTH = (USER, TOKEN)


def served_links(site, flavour: str) -> dict[str, list[str]]:
    """Every visible issue's linked keys, as search serves `issuelinks`."""
    links: dict[str, list[str]] = {}
    token, start = None, 0
    while True:
        params = {"jql": "id >= 10000 ORDER BY id", "fields": "issuelinks", "maxResults": 100}
        if flavour == "cloud":
            params |= {"nextPageToken": token} if token else {}
            body = requests.get(f"{site.url}/rest/api/3/search/jql", params=params, auth=AUTH, timeout=60).json()
        else:
            body = requests.get(
                f"{site.url}/rest/api/2/search", params={**params, "startAt": start}, auth=AUTH, timeout=60
            ).json()
        for issue in body["issues"]:
            ends = [link.get("outwardIssue") or link.get("inwardIssue") for link in issue["fields"]["issuelinks"]]
            assert all(end["fields"]["summary"] and end["fields"]["status"] for end in ends)
            links[issue["key"]] = sorted(end["key"] for end in ends)
        token, start = body.get("nextPageToken"), start + len(body["issues"])
        if (flavour == "cloud" and body["isLast"]) or (flavour != "cloud" and start >= body["total"]):
            return links


def truth(site) -> dict[str, dict]:
    return {row["key"]: row for row in requests.get(f"{site.url}/_sim/truth", timeout=60).json()["issues"]}


def set_access(site, **access) -> None:
    response = requests.post(f"{site.url}/_sim/access", json={"project": "SHOOT", **access}, timeout=30)
    assert response.status_code == 200


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_links_to_issues_of_a_hidden_project_or_hidden_issues_are_left_out(flavour):
    with running_sim(flavour=flavour, projects=2, issues=1100, seed=7) as site:  # ids 1,024 apart link
        everything = served_links(site, flavour)
        rows = truth(site)
        assert everything == {key: row["links"] for key, row in rows.items()}
        crossing = {
            key for key, linked in everything.items() if key.startswith("OPS-") and any("SHOOT-" in k for k in linked)
        }
        assert len(crossing) > 5  # the site links issues across projects
        for access in ({"visible": False}, {"visible": True, "issues_visible": False}):
            set_access(site, **access)
            seen = served_links(site, flavour)
            hidden_rows = truth(site)
            assert set(seen) == {key for key in everything if key.startswith("OPS-")}
            for key, linked in seen.items():
                assert linked == [k for k in everything[key] if not k.startswith("SHOOT-")], (access, key)
                assert linked == hidden_rows[key]["links"]
                assert hidden_rows[key]["changelog_total"] == rows[key]["changelog_total"]  # history unchanged
            for key in sorted(crossing)[:5]:  # one issue at a time, too
                fields = requests.get(
                    f"{site.url}/rest/api/{'3' if flavour == 'cloud' else '2'}/issue/{key}",
                    params={"fields": "issuelinks"},
                    auth=AUTH,
                    timeout=30,
                ).json()["fields"]
                ends = [link.get("outwardIssue") or link.get("inwardIssue") for link in fields["issuelinks"]]
                assert not [end for end in ends if end["key"].startswith("SHOOT-")]
        set_access(site, visible=True, issues_visible=True)
        assert served_links(site, flavour) == everything
