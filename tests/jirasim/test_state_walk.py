"""An issue's state (what its history decides) read without building the history, as links and parents read
it, against the state read from the history itself: the same for every issue, before and after changes."""

import pytest

from jirasim.dataset import Dataset, SimConfig


def states_agree(data: Dataset) -> int:
    """Compare both readings for every issue; return how many issues were compared."""
    compared = 0
    for record in data.by_id.values():
        assert data._state(record, None) == data._state(record, data.history(record)), data.key_of(record)
        compared += 1
    return compared


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_state_without_the_history_is_the_state_of_the_history(flavour: str) -> None:
    data = Dataset(SimConfig(flavour=flavour, projects=2, issues=250, seed=11, long_history_share=0.05, sprints=True))
    assert states_agree(data) == 500
    labels_changed = sum(1 for record in data.by_id.values() if isinstance(data._state(record, None)["labels"], list))
    assert labels_changed > 10  # histories that change labels are among them
    data.advance(minutes=30, update=0.3, create=5, delete=3, move=4, activity={"sprints": {"close": True, "move": 3}})
    data.advance(minutes=30, update=0.3, move=4)
    assert states_agree(data) == 505
