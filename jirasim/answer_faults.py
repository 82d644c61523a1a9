"""Faults done to the answers of Jira endpoints: paging that does not advance, less data than asked for,
and disturbances of a search's result after a page of it was served (see jirasim.faults for the rules)."""

from typing import Any

from jirasim.faults import BULKFETCH_OMIT, LESS_DATA, FaultRule, IssueRef
from jirasim.serving import Request

# Where each paging fault can be done: page tokens, startAt, pages that repeat or come back empty.
TOKEN_PAGING = frozenset({"repeat-token", "repeat-page", "empty-page"})
OFFSET_PAGING = frozenset({"ignore-start-at", "repeat-page", "empty-page"})


class AnswerFaults:
    """JiraSim's part that does the answer faults of its FaultPlan (self.faults) to what it serves."""

    def _paging_fault(
        self, request: Request, kinds: frozenset[str], *, resumed: bool, more: bool, listing: str | None = None
    ) -> str | None:
        """The paging fault (if any) to do to this page: repeats need a page before it, empty pages data."""
        if not self.faults.rules:
            return None
        eligible = {kind for kind in kinds if (more if kind == "empty-page" else resumed)}
        return self.faults.paging_fault(request.endpoint, eligible, listing)

    def _offset_page(
        self, request: Request, start: int, size: int, total: int, listing: str | None = None
    ) -> tuple[int, int, str | None]:
        """(where the page served starts, the startAt the answer says, the paging fault done)."""
        fault = self._paging_fault(request, OFFSET_PAGING, resumed=start > 0, more=start < total, listing=listing)
        if fault == "ignore-start-at":
            return 0, 0, fault
        if fault == "repeat-page":
            return max(0, start - size), start, fault
        return start, start, fault

    def _less_data(self, request: Request, issues: list[dict], expand: set[str], listing: str | None = None) -> None:
        """Issues answered with less than was asked: fields null or missing, no core fields, no changelog."""
        if not issues or not self.faults.has(LESS_DATA):
            return
        eligible = {"changelog-missing"} if "changelog" in expand else set()
        if "fields" in issues[0]:
            eligible |= LESS_DATA - {"changelog-missing"}
        refs = [self._issue_ref(issue) for issue in issues]
        for rule, chosen in self.faults.issue_faults(request.endpoint, eligible, refs, listing):
            ids = {str(ref.id) for ref in chosen}
            for issue in issues:
                if issue["id"] in ids:
                    take_away(rule, issue)
            self.faults.record(rule.kind, request.endpoint, [ref.key for ref in chosen])

    def _issue_ref(self, issue: dict) -> IssueRef:
        record = self.data.by_id.get(int(issue["id"]))
        key = str(issue.get("key") or (self.data.key_of(record) if record else issue["id"]))
        return IssueRef(int(issue["id"]), key, tuple(record.old_keys or ()) if record else ())

    def _omit_from_bulkfetch(self, request: Request, grouped: dict[int, list]) -> None:
        if not grouped or not self.faults.has({BULKFETCH_OMIT}):
            return
        refs = [self._issue_ref({"id": str(issue_id)}) for issue_id in grouped]
        for rule, chosen in self.faults.issue_faults(request.endpoint, {BULKFETCH_OMIT}, refs):
            for ref in chosen:
                grouped.pop(ref.id, None)
            self.faults.record(rule.kind, request.endpoint, [ref.key for ref in chosen])

    def _page_served(self, request: Request, read_id: str, next_offset: int, listing: str) -> None:
        """After a search page: the disturbances due now change the read's already served part."""
        read = self.search.page_served(read_id, next_offset)
        if read is None or not self.faults.rules:
            return
        for rule in self.faults.disturbances_due(request.endpoint, read.pages, listing):
            done = self.disturb(
                read,
                edit=rule.edit,
                delete=rule.delete,
                move=rule.move,
                create=rule.create,
                minutes=rule.minutes,
                named=rule.named,
            )
            self.faults.record_disturbance(request.endpoint, done)


def take_away(rule: FaultRule, issue: dict[str, Any]) -> None:
    """Make the issue hold less than was asked for, as rule.kind says."""
    if rule.kind == "fields-null":
        issue["fields"] = None
    elif rule.kind == "fields-missing":
        issue.pop("fields", None)
    elif rule.kind == "core-fields-missing" and isinstance(issue.get("fields"), dict):
        for name in rule.drop:
            issue["fields"].pop(name, None)
    elif rule.kind == "changelog-missing":
        issue.pop("changelog", None)
