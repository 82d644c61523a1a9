"""GET issue/{id}/comment orders by `orderBy` (created, +created: oldest first; -created: newest first),
across pages, and refuses any other orderBy with 400, as Jira's OpenAPI description says."""

import pytest
import requests

from jirasim.testing import TOKEN, USER

AUTH = (USER, TOKEN)
API = {"cloud": "/rest/api/3", "datacenter": "/rest/api/2"}
BAD_ORDERS = ["bogus", "updated", "-updated", "id", "created,-created", "--created", "+-created", "created desc"]


def comment_ids(site, flavour: str, key: str, order: str | None, page: int = 2) -> list[str]:
    """Every comment id of the issue, `page` at a time."""
    ids: list[str] = []
    while True:
        params = {"startAt": len(ids), "maxResults": page}
        if order is not None:
            params["orderBy"] = order
        response = requests.get(f"{site.url}{API[flavour]}/issue/{key}/comment", params=params, auth=AUTH, timeout=30)
        assert response.status_code == 200, response.text
        body = response.json()
        ids += [comment["id"] for comment in body["comments"]]
        if len(ids) >= body["total"] or not body["comments"]:
            return ids


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_every_issue_s_comments_come_in_the_order_asked_for(flavour, cloud_sim, dc_sim):
    site = cloud_sim if flavour == "cloud" else dc_sim
    rows = requests.get(f"{site.url}/_sim/truth", timeout=60).json()["issues"]
    busy = [row for row in rows if len(row["comments"]) > 1]
    assert len(busy) > 20
    for row in busy:
        oldest_first = row["comments"]
        for order in (None, "created", "+created"):
            assert comment_ids(site, flavour, row["key"], order) == oldest_first, (row["key"], order)
        assert comment_ids(site, flavour, row["key"], "-created") == oldest_first[::-1], row["key"]


@pytest.mark.parametrize("order", BAD_ORDERS)
@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_any_other_order_by_is_400(flavour, order, cloud_sim, dc_sim):
    site = cloud_sim if flavour == "cloud" else dc_sim
    for key in ("OPS-1", "SHOOT-7"):
        response = requests.get(
            f"{site.url}{API[flavour]}/issue/{key}/comment", params={"orderBy": order}, auth=AUTH, timeout=30
        )
        assert response.status_code == 400 and "orderBy" in response.json()["errorMessages"][0]
