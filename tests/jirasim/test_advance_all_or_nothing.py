"""POST /_sim/advance is all or nothing: a body with any bad part is 400 and the site stays exactly as it
was (truth byte for byte, the clock, the random streams of later advances)."""

import json

import pytest
import requests

from jirasim.testing import running_sim

# Every part at work: a non-validating advance would change issues, the clock and activity before it
# reached the bad part, which each case below puts last.
VALID = {
    "minutes": 10,
    "update": 0.2,
    "create": 2,
    "delete": 1,
    "move": 1,
    "comments": {"add": 2, "edit": 1, "delete": 1},
    "worklogs": {"add": 2, "edit": 1, "delete": 1},
    "sprints": {"close": True, "move": 1},
}
NAN, INF = float("nan"), float("inf")
NOT_A_COUNT = [-1, 2.5, "2", None, True, [], {}, NAN, INF]
BAD_PARTS = {
    "minutes": [-1, -0.5, "5", None, True, [], NAN, INF, 10**12],
    "update": [-0.1, 1.5, "0.2", None, False, NAN, INF],
    "create": [*NOT_A_COUNT, 10**6],
    "delete": [*NOT_A_COUNT, 10**7],
    "move": [*NOT_A_COUNT, 10**7],
    "comments": [[], "add", 3, None, *({action: bad} for action in ("add", "edit", "delete") for bad in NOT_A_COUNT)],
    "worklogs": [[], "add", 3, None, *({action: bad} for action in ("add", "edit", "delete") for bad in NOT_A_COUNT)],
    "sprints": [
        [],
        "close",
        None,
        {"close": "yes"},
        {"close": 1},
        {"close": None},
        *({"move": b} for b in NOT_A_COUNT),
    ],
    "bogus": [1],
}
NESTED_UNKNOWN = [("comments", {"add": 1, "bogus": 1}), ("worklogs", {"remove": 1}), ("sprints", {"open": True})]


def post_advance(site, body) -> requests.Response:
    """The body as JSON, NaN and Infinity included (Python's json writes them; requests' json= refuses)."""
    data = json.dumps(body)
    return requests.post(
        f"{site.url}/_sim/advance", data=data, headers={"Content-Type": "application/json"}, timeout=60
    )


def invalid_bodies() -> list:
    bodies: list = [[], "advance", 5, [VALID]]
    for part, values in BAD_PARTS.items():
        for value in values:
            bodies.append({**{k: v for k, v in VALID.items() if k != part}, part: value})
    for part, value in NESTED_UNKNOWN:
        bodies.append({**{k: v for k, v in VALID.items() if k != part}, part: value})
    return bodies


def test_every_invalid_advance_is_400_and_changes_nothing():
    with (
        running_sim(flavour="cloud", projects=2, issues=80, seed=3, sprints=True) as site,
        running_sim(flavour="cloud", projects=2, issues=80, seed=3, sprints=True) as twin,
    ):
        before = requests.get(f"{site.url}/_sim/truth", timeout=60).content
        bodies = invalid_bodies()
        assert len(bodies) > 100
        for body in bodies:
            response = post_advance(site, body)
            assert response.status_code == 400, body
            assert response.json()["errorMessages"][0].startswith("bad advance request: ")
            assert requests.get(f"{site.url}/_sim/truth", timeout=60).content == before, body
        # Nothing moved on, not even the advances' random streams: the same valid advance does on this site
        # exactly what it does on a twin that never saw a bad body, and it does change the site.
        done, twin_done = post_advance(site, VALID), post_advance(twin, VALID)
        assert done.status_code == 200 and done.json() == twin_done.json()
        after = requests.get(f"{site.url}/_sim/truth", timeout=60).content
        assert after != before and after == requests.get(f"{twin.url}/_sim/truth", timeout=60).content


def test_the_problems_are_all_named():
    with running_sim(flavour="datacenter", projects=1, issues=20, seed=3) as site:
        body = {"minutes": -1, "update": 2, "comments": {"add": -1, "bogus": 1}, "extra": 1}
        message = post_advance(site, body).json()["errorMessages"][0]
        for named in ("minutes", "update", "comments.add", "'comments.bogus'", "'extra'"):
            assert named in message


@pytest.mark.parametrize(
    "arguments",
    [
        {"minutes": -1, "update": 0.5},
        {"update": 0.5, "create": 2, "activity": {"comments": {"add": 1, "delete": -1}}},
        {"update": 0.5, "activity": {"sprints": {"close": True, "move": 1.5}}},
        {"update": 0.5, "activity": {"worklogs": []}},
    ],
)
def test_the_python_advance_is_all_or_nothing_too(arguments):
    with running_sim(flavour="cloud", projects=2, issues=40, seed=9) as site:
        before = requests.get(f"{site.url}/_sim/truth", timeout=30).content
        with pytest.raises(ValueError):
            site.sim.data.advance(**arguments)
        assert requests.get(f"{site.url}/_sim/truth", timeout=30).content == before
