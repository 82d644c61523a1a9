"""Faults done to the answers of Jira endpoints: paging that does not advance, less data than asked for,
and disturbances of a search's result after a page of it was served (see jirasim.faults for the rules)."""

from typing import Any

from jirasim.faults import BULKFETCH_OMIT, LESS_DATA, FaultRule, IssueRef
from jirasim.serving import Request

NO_FAULT: tuple[None, dict[str, Any]] = (None, {})

# Where each paging fault can be done: page tokens, startAt, pages that repeat or come back empty.
TOKEN_PAGING = frozenset({"repeat-token", "repeat-page", "empty-page"})
OFFSET_PAGING = frozenset({"ignore-start-at", "repeat-page", "empty-page"})
ACTIVITY_PAGING = frozenset({"shift-page"})


class AnswerFaults:
    """JiraSim's part that does the answer faults of its FaultPlan (self.faults) to what it serves."""

    def _paging_fault(
        self,
        request: Request,
        kinds: frozenset[str],
        *,
        resumed: bool,
        more: bool,
        repeatable: bool | None = None,
        listing: str | None = None,
    ) -> tuple[str | None, dict[str, Any]]:
        """The paging fault to do to this page (kind None: none) and its rule's memory.

        A repeated token can be answered to any request; an ignored startAt needs one past 0 (resumed);
        a repeated page needs a page before it (repeatable, by default: resumed); an empty page needs
        something to leave out (more).
        """
        if not self.faults.rules:
            return NO_FAULT
        can = {
            "repeat-token": True,
            "ignore-start-at": resumed,
            "repeat-page": resumed if repeatable is None else repeatable,
            "empty-page": more,
            "shift-page": resumed,
        }
        fired = self.faults.paging_fault(request.endpoint, {kind for kind in kinds if can[kind]}, listing)
        return fired or NO_FAULT

    def _offset_page(
        self, request: Request, start: int, size: int, total: int, listing: str | None = None
    ) -> tuple[int, int, str | None]:
        """(where the page served starts, the startAt the answer says, the paging fault done)."""
        fault, _ = self._paging_fault(request, OFFSET_PAGING, resumed=start > 0, more=start < total, listing=listing)
        if fault == "ignore-start-at":
            return 0, 0, fault
        if fault == "repeat-page":
            return max(0, start - size), start, fault
        return start, start, fault

    def _activity_page_start(self, request: Request, start: int, total: int) -> int:
        """Where a page of an issue's comments or worklogs starts: one item early under a shift-page fault (as
        when one before it was deleted between the pages), while its answer still says startAt `start`."""
        fault, _ = self._paging_fault(request, ACTIVITY_PAGING, resumed=0 < start < total, more=start < total)
        return start - 1 if fault == "shift-page" else start

    def _less_data(self, request: Request, issues: list[dict], expand: set[str], listing: str | None = None) -> None:
        """Issues answered with less than was asked: fields null or missing, core fields missing or hollow, no
        changelog or one without its total."""
        if not issues or not self.faults.has(LESS_DATA):
            return
        changelog_kinds = {"changelog-missing", "changelog-untotalled"}
        eligible = set(changelog_kinds) if "changelog" in expand else set()
        if "fields" in issues[0]:
            eligible |= LESS_DATA - changelog_kinds
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

    def _search_page(
        self,
        request: Request,
        kinds: frozenset[str],
        read_id: str,
        ids: list[int],
        offset: int,
        size: int,
        *,
        listing: str,
    ) -> tuple[list[int], str | None, dict[str, Any]]:
        """(the ids a search page serves, the paging fault done, its rule's memory).

        A repeated page is the page served before for the same query — by a client paging on with
        startAt or a token, or by one that seeks, each page a new JQL of the same query and cursor.
        """
        previous = self.search.previous_page(f"{request.endpoint} {listing}", read_id)
        kind, memory = self._paging_fault(
            request, kinds, resumed=offset > 0, more=offset < len(ids), repeatable=bool(previous), listing=listing
        )
        if kind == "repeat-token":
            return memory.setdefault("ids", ids[:size]), kind, memory
        if kind == "ignore-start-at":
            return ids[:size], kind, memory
        if kind == "repeat-page":
            return previous or [], kind, memory
        if kind == "empty-page":
            return [], kind, memory
        return ids[offset : offset + size], kind, memory

    def _page_served(
        self, request: Request, read_id: str, page: list[int], next_offset: int, *, more: bool, listing: str
    ) -> None:
        """After a search page: the disturbances due now change the read's already served part (while
        more pages follow: after the last one the read is over, and no client could see the change)."""
        read = self.search.page_served(read_id, f"{request.endpoint} {listing}", page, next_offset)
        if read is None or not more or not self.faults.rules:
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
    elif rule.kind == "core-fields-hollow" and isinstance(issue.get("fields"), dict):
        for name in rule.drop:
            if name in issue["fields"]:
                issue["fields"][name] = hollowed(issue["fields"][name], rule.hollow)
    elif rule.kind == "changelog-missing":
        issue.pop("changelog", None)
    elif rule.kind == "changelog-untotalled" and isinstance(issue.get("changelog"), dict):
        for name in ("total", "maxResults", "startAt"):
            issue["changelog"].pop(name, None)


def hollowed(value: Any, how: str) -> Any:
    """A core field's value with nothing readable left: "empty" keeps only an object's self link (no id,
    no name) and makes a string ""; "wrong-type" sends an object as its name and a string as a number."""
    if isinstance(value, dict):
        return {"self": value.get("self", "")} if how == "empty" else str(value.get("name") or value.get("key") or "")
    return "" if how == "empty" else 12345
