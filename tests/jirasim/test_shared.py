"""jirasim.shared: answers holding Shared pieces serialise to the bytes the plain dicts give, whatever else
they hold (other subclasses, text orjson refuses), and readers see the dicts."""

import copy
import json
import pickle
from collections import defaultdict

import orjson

from jirasim.shared import Shared, dumps, shared

USER = {"self": "https://jira.example/rest/api/2/user?username=ana", "name": "ana", "avatarUrls": {"48x48": "x"}}


def plain(value: object) -> bytes:
    return orjson.dumps(value)


def test_a_shared_piece_serialises_as_its_dict_wherever_it_is() -> None:
    user = shared(dict(USER))
    assert isinstance(user, Shared)
    assert user == USER and user["avatarUrls"]["48x48"] == "x"  # readers see the dict
    answer = {"issues": [{"fields": {"assignee": user, "reporter": user, "n": 1.5}}], "total": 1}
    expected = {"issues": [{"fields": {"assignee": USER, "reporter": USER, "n": 1.5}}], "total": 1}
    assert dumps(answer) == plain(expected)


def test_a_shared_piece_holding_shared_pieces() -> None:
    status = shared({"name": "Open", "statusCategory": {"key": "new"}})
    ref = shared({"id": "10001", "fields": {"status": status, "summary": "Ünïcode ✓"}})
    assert dumps([ref, status]) == plain(
        [{"id": "10001", "fields": {"status": dict(status), "summary": "Ünïcode ✓"}}, dict(status)]
    )


def test_other_subclasses_serialise_as_their_base_types() -> None:
    counts: defaultdict[str, int] = defaultdict(int, {"GET /rest/api/2/search": 3, "é": 1})
    answer = {"counts": counts, "user": shared(dict(USER))}
    assert dumps(answer) == plain({"counts": {"GET /rest/api/2/search": 3, "é": 1}, "user": USER})


def test_what_orjson_refuses_falls_back_to_the_standard_library_whole() -> None:
    lone = "broken \ud800 text"
    assert not isinstance(shared({"name": lone}), Shared)  # no fragment to make: left a plain dict
    answer = {"user": shared(dict(USER)), "comment": {"body": lone}}
    assert dumps(answer) == json.dumps({"user": USER, "comment": {"body": lone}}, separators=(",", ":")).encode()


def test_a_copy_of_a_shared_piece_is_a_plain_dict_that_serialises_its_changes() -> None:
    user = shared(dict(USER))
    changed = {**user, "displayName": "Ana [echoed]"}
    assert type(changed) is dict
    assert dumps({"user": changed}) == plain({"user": {**USER, "displayName": "Ana [echoed]"}})


def test_a_shared_piece_copies_deep_copies_and_pickles_as_the_plain_dict_it_holds():
    piece = shared({"name": "Done", "statusCategory": shared({"key": "done"}), "ids": [1, 2]})
    answer = {"fields": {"status": piece}}
    for made in (copy.copy(piece), copy.deepcopy(piece), pickle.loads(pickle.dumps(piece))):
        assert type(made) is dict and made == piece
    deep = copy.deepcopy(answer)
    assert type(deep["fields"]["status"]["statusCategory"]) is dict  # nested pieces too: a copy may be changed
    deep["fields"]["status"]["name"] = "Closed"
    assert piece["name"] == "Done" and dumps(deep) != dumps(answer)
    assert dumps(copy.deepcopy(answer)) == dumps(answer)
