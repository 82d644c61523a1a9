"""Time in status for hand-built histories, against sums worked out by hand."""

from datetime import UTC, datetime, timedelta

import pytest

from issues.models import StatusChange
from syncing.engine.history import Transition, status_history, time_in_status

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def move(history_id: int, hours: float, source: tuple[str, str], target: tuple[str, str]) -> Transition:
    return Transition(history_id, at(hours), source[0], source[1], target[0], target[1], "Ada", "ada")


OPEN, SCHEDULED, EDIT, REVIEW, ESCALATED, CLOSED = (
    ("1", "Open"),
    ("2", "Scheduled"),
    ("6", "Edit Start"),
    ("7", "Final Review"),
    ("8", "Escalated Editing"),
    ("9", "Closed"),
)


def by_status(items) -> dict[str, tuple[float, int, datetime, datetime, bool]]:
    return {i.status: (i.seconds / 3600, i.visits, i.first_entered, i.last_entered, i.current) for i in items}


def test_loops_and_revisits_add_up_and_the_current_visit_counts_to_the_sync():
    history = status_history(
        at(0),
        CLOSED[0],
        CLOSED[1],
        [
            move(1, 2, OPEN, SCHEDULED),  # Open 0→2
            move(2, 5, SCHEDULED, EDIT),  # Scheduled 2→5
            move(3, 9, EDIT, REVIEW),  # Edit 5→9
            move(4, 10, REVIEW, EDIT),  # Review 9→10, back to rework
            move(5, 13.5, EDIT, REVIEW),  # Edit 10→13.5
            move(6, 14, REVIEW, ESCALATED),  # Review 13.5→14
            move(7, 20, ESCALATED, REVIEW),  # Escalated 14→20
            move(8, 21, REVIEW, CLOSED),  # Review 20→21; Closed since 21
        ],
    )
    result = by_status(time_in_status(history, as_of=at(30)))
    assert result == {
        "Open": (2.0, 1, at(0), at(0), False),
        "Scheduled": (3.0, 1, at(2), at(2), False),
        "Edit Start": (4.0 + 3.5, 2, at(5), at(10), False),
        "Final Review": (1.0 + 0.5 + 1.0, 3, at(9), at(20), False),
        "Escalated Editing": (6.0, 1, at(14), at(14), False),
        "Closed": (9.0, 1, at(21), at(21), True),
    }


def test_an_issue_never_moved_has_spent_all_its_life_in_its_first_status():
    history = status_history(at(0), SCHEDULED[0], SCHEDULED[1], [])
    assert by_status(time_in_status(history, as_of=at(48))) == {"Scheduled": (48.0, 1, at(0), at(0), True)}


def test_the_created_status_counts_from_creation_and_a_renamed_status_is_one_status():
    history = status_history(
        at(0),
        REVIEW[0],
        REVIEW[1],
        [
            move(1, 1, OPEN, REVIEW),
            move(2, 3, ("7", "Final Review"), ("1", "New")),  # Open was renamed "New" meanwhile: same id
            move(3, 4, ("1", "New"), ("7", "Final Review")),
        ],
    )
    result = by_status(time_in_status(history, as_of=at(10)))
    assert result["New"] == (1.0 + 1.0, 2, at(0), at(3), False)
    assert result["Final Review"] == (2.0 + 6.0, 2, at(1), at(4), True)
    assert "Open" not in result


def test_a_sync_earlier_than_the_last_change_never_gives_negative_time():
    history = status_history(at(0), EDIT[0], EDIT[1], [move(1, 5, OPEN, EDIT)])
    result = by_status(time_in_status(history, as_of=at(4)))
    assert result["Edit Start"][0] == 0.0 and result["Open"][0] == 5.0


@pytest.mark.django_db(transaction=True)
def test_a_page_whose_histories_all_changed_replaces_thousands_of_stale_rows(reference_mappings, settings):
    """A re-generated site (bin/demo run again) changes every history: one page then has thousands of stale
    status rows to delete, more than SQLite takes in one expression (depth 1,000)."""
    from jirasim.testing import running_sim
    from syncing.runs.runner import RunOptions, sync_instance
    from tests.support.sites import register
    from tests.support.truth import assert_database_equals_truth

    settings.JIRASYNC_PAGE_SIZE = 400  # one page holds every issue
    with running_sim(flavour="datacenter", projects=1, issues=400, seed=61) as first:
        instance = register(first, "instance_2")
        assert sync_instance(instance.pk, RunOptions(full=True)).status == "succeeded"
    assert StatusChange.objects.count() > 1000
    with running_sim(flavour="datacenter", projects=1, issues=400, seed=62) as second:
        instance.base_url = second.url
        from audit.services import COMMAND
        from jirasim.testing import TOKEN
        from syncing.instance_settings import instance_save

        instance_save(instance=instance, actor=COMMAND, token=TOKEN)
        run = sync_instance(instance.pk, RunOptions(full=True))
        assert run.status == "succeeded", run.error
        assert_database_equals_truth(second, instance)
