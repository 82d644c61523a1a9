"""Comment bodies and worklog comments in malformed ADF (jirasim's adf-* faults): stored with every word a
careful reading recovers and as Jira sent them, and said in the run's log — never an empty text in silence."""

import logging
import re
from typing import Any

import pytest

from activity.models import Comment, Worklog
from jirafields.adf import adf_to_text, is_adf
from jirasim.faults import FaultPlan, FaultRule
from jirasim.malformed_adf import MALFORMED_ADF
from jirasim.testing import running_sim
from syncing.models import RunLogLine, SyncRun
from syncing.runs.runner import RunOptions, sync_instance
from tests.support.sites import busy, register

pytestmark = pytest.mark.django_db(transaction=True)
LAYOUT_KEPT = {"adf-content-not-list", "adf-text-not-string"}  # the kinds still named: read exactly as before
NOT_MALFORMED = {"adf-unknown-kind"}  # kinds this reader does not know: ADF grows them, their text is read, no warning
WARNED = re.compile(r"(comment|worklog) (\d+): its (?:body|comment) is malformed")


@pytest.mark.parametrize("kind", sorted(MALFORMED_ADF))
def test_a_malformed_body_is_stored_with_its_whole_text_and_as_sent_and_said_in_the_run_log(kind, reference_mappings):
    with running_sim(flavour="cloud", projects=1, issues=12, seed=31, faults=FaultPlan([FaultRule(kind)])) as server:
        busy(server, "OPS-4")  # more than the search sends inline: read from the issue's endpoints too
        instance = register(server, "instance_1")
        run = sync_instance(instance.pk, RunOptions(full=True))
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        data, renderer = server.sim.data, server.sim.r
        assert renderer is not None
        malformed: set[tuple[str, int]] = set()
        for noun, model, text, raw, render, live in (
            ("comment", Comment, "body", "body_raw", renderer.comment, "live_comments"),
            ("worklog", Worklog, "comment", "comment_raw", renderer.worklog, "live_worklogs"),
        ):
            stored = {row.jira_id: row for row in model.objects.filter(instance=instance)}
            for record in data.by_id.values():
                for note in getattr(data.activity(record), live)(data.now_ms):
                    sent = render(record.id, note, "3").get(
                        raw.removesuffix("_raw")
                    )  # well-formed, as before the fault
                    row = stored[note.id]
                    expected = adf_to_text(sent) if is_adf(sent) else sent or ""
                    if kind in LAYOUT_KEPT:
                        assert getattr(row, text) == expected, (kind, note.id)
                    else:  # what a kind means (a list's numbers, a date's timestamp) went with it; its text did not
                        assert _in_order(_texts(sent), getattr(row, text)), (kind, note.id, getattr(row, text))
                    if is_adf(sent) and adf_to_text(sent):
                        assert getattr(row, raw) != sent  # kept as Jira sent it: malformed
                        malformed.add((noun, note.id))
        assert len(malformed) > 40
        lines = RunLogLine.objects.filter(level=logging.WARNING, message__contains="is malformed (")
        warned = {(noun, int(note_id)) for noun, note_id in WARNED.findall("\n".join(line.message for line in lines))}
        if kind in NOT_MALFORMED:
            assert warned == set(), kind
            return
        assert warned == malformed, kind  # a worklog read twice (inline, then the feed) is said twice
        assert "stored the text read from it" in lines[0].message


def _texts(value: Any) -> list[str]:
    """Every text node's text in a well-formed document, in order."""
    if isinstance(value, list):
        return [text for item in value for text in _texts(item)]
    if not isinstance(value, dict):
        return []
    own = [value["text"]] if value.get("type") == "text" else []
    return own + _texts(value.get("content"))


def _in_order(texts: list[str], flattened: str) -> bool:
    """Each text is in flattened after the one before (whitespace aside: lines may break elsewhere)."""
    squeezed, at = "".join(flattened.split()), 0
    for text in texts:
        found = squeezed.find("".join(text.split()), at)
        if found < 0:
            return False
        at = found
    return True
