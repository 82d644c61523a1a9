"""Jira Software's agile API (/rest/agile/1.0): boards, their sprints and issues, a sprint and its issues.

The site has one scrum board (id 7, over every project, located in the first) whose sprints fill the
Sprint field, and one kanban board per project (no sprints). A mixin of JiraSim.
"""

import threading
from typing import Any

from jirasim.errors import HttpError
from jirasim.render import CLOUD_ISSUE_HISTORIES
from jirasim.serving import Request
from jirasim.sprints import BOARD_ID

AGILE = "/rest/agile/1.0"
AGILE_PAGE = 50  # boards and sprints a page (the default and the most)
AGILE_ISSUES_MAX = 100  # issues a page at most
SPRINT_STATES = ("future", "active", "closed")


class AgileEndpoints:
    def register_agile_routes(self) -> None:
        self._sprint_members: tuple[int, dict[int, list[int]]] | None = None
        self._members_lock = threading.Lock()
        self._route("GET", f"{AGILE}/board", self.boards)
        self._route("GET", f"{AGILE}/board/{{boardId}}", self.board)
        self._route("GET", f"{AGILE}/board/{{boardId}}/sprint", self.board_sprints)
        self._route("GET", f"{AGILE}/board/{{boardId}}/issue", self.board_issues)
        self._route("GET", f"{AGILE}/sprint/{{sprintId}}", self.sprint)
        self._route("GET", f"{AGILE}/sprint/{{sprintId}}/issue", self.sprint_issues)

    # --- boards ----------------------------------------------------------------------------------
    def board_list(self) -> list[dict[str, Any]]:
        """(id, type, projects) of each board the account sees: the scrum board, then a kanban board per project."""
        projects = self.visible_projects()
        if not projects:
            return []
        boards = [{"id": BOARD_ID, "type": "scrum", "name": "Shoots board", "projects": projects}]
        boards += [
            {"id": BOARD_ID + 1 + p.index, "type": "kanban", "name": f"{p.key} kanban", "projects": [p]}
            for p in projects
        ]
        return boards

    def _board_bean(self, board: dict[str, Any]) -> dict[str, Any]:
        home = board["projects"][0]
        return {
            "id": board["id"],
            "self": f"{self.config.base_url}{AGILE}/board/{board['id']}",
            "name": board["name"],
            "type": board["type"],
            "location": {
                "projectId": int(home.id),
                "displayName": f"{home.name} ({home.key})",
                "projectName": home.name,
                "projectKey": home.key,
                "projectTypeKey": "software",
                "avatarURI": f"{self.config.base_url}/secure/projectavatar?size=small&pid={home.id}",
                "name": f"{home.name} ({home.key})",
            },
        }

    def _board_or_404(self, request: Request) -> dict[str, Any]:
        wanted = request.match.group("boardId")
        board = next((b for b in self.board_list() if str(b["id"]) == wanted), None)
        if board is None:
            raise HttpError(
                404,
                "The requested board cannot be viewed because it either does not exist or you do not have "
                "permission to view it.",
            )
        return board

    def boards(self, request: Request) -> tuple[int, Any]:
        boards = self.board_list()
        kind = request.param("type")
        if kind:
            boards = [b for b in boards if b["type"] in str(kind).split(",")]
        project = request.param("projectKeyOrId")
        if project:
            boards = [b for b in boards if any(str(project).upper() in (p.key, p.id) for p in b["projects"])]
        start, size = self._agile_window(request, AGILE_PAGE)
        page = boards[start : start + size]
        return 200, {
            "maxResults": size,
            "startAt": start,
            "total": len(boards),
            "isLast": start + size >= len(boards),
            "values": [self._board_bean(b) for b in page],
        }

    def board(self, request: Request) -> tuple[int, Any]:
        return 200, self._board_bean(self._board_or_404(request))

    def _agile_window(self, request: Request, most: int) -> tuple[int, int]:
        start = max(0, request.int_param("startAt", 0))
        size = request.int_param("maxResults", AGILE_PAGE)
        return start, min(max(size, 1), most)

    # --- sprints ---------------------------------------------------------------------------------
    def board_sprints(self, request: Request) -> tuple[int, Any]:
        board = self._board_or_404(request)
        if board["type"] != "scrum":
            raise HttpError(400, "The board does not support sprints")
        states = [s.strip().lower() for s in str(request.param("state", "") or "").split(",") if s.strip()]
        if any(state not in SPRINT_STATES for state in states):
            raise HttpError(400, f"The sprint state must be one of {', '.join(SPRINT_STATES)}.")
        with self.data.lock:
            sprints = [s for s in self.data.sprint_board if not states or s.state.lower() in states]
            start, size = self._agile_window(request, AGILE_PAGE)
            values = [self.r.sprint_bean(s) for s in sprints[start : start + size]]
        return 200, {"maxResults": size, "startAt": start, "isLast": start + size >= len(sprints), "values": values}

    def _sprint_or_404(self, request: Request):
        wanted = request.match.group("sprintId")
        sprint = next((s for s in self.data.sprint_board if str(s.id) == wanted), None)
        if sprint is None or not self.visible_projects():
            raise HttpError(404, f"Sprint with id {wanted} does not exist or you do not have permission to see it.")
        return sprint

    def sprint(self, request: Request) -> tuple[int, Any]:
        with self.data.lock:
            return 200, self.r.sprint_bean(self._sprint_or_404(request))

    def sprint_members(self) -> dict[int, list[int]]:
        """Sprint id -> ids of the live issues in it, in id order; built once per data version."""
        with self._members_lock:
            cached = self._sprint_members
            if cached is not None and cached[0] == self.data.version:
                return cached[1]
            members: dict[int, list[int]] = {}
            with self.data.lock:
                for record in sorted(self.data.live(), key=lambda r: r.id):
                    for sprint in self.data.sprints_of(record):
                        members.setdefault(sprint.id, []).append(record.id)
            self._sprint_members = (self.data.version, members)
            return members

    # --- issues ----------------------------------------------------------------------------------
    def board_issues(self, request: Request) -> tuple[int, Any]:
        board = self._board_or_404(request)
        keys = ", ".join(p.key for p in board["projects"])
        jql = str(request.param("jql", "") or "").strip()
        order = ""
        if "order by" in jql.lower():
            cut = jql.lower().index("order by")
            jql, order = jql[:cut].strip(), jql[cut:]
        query = f"project in ({keys})" + (f" AND ({jql})" if jql else "") + f" {order or 'ORDER BY created ASC'}"
        return self._agile_issue_page(request, self.matching_ids(query, bounded=False))

    def sprint_issues(self, request: Request) -> tuple[int, Any]:
        sprint = self._sprint_or_404(request)
        visible = {p.index for p in self.data.projects if not p.hidden and not p.issues_hidden}
        ids = [
            i
            for i in self.sprint_members().get(sprint.id, [])
            if i in self.data.by_id and self.data.by_id[i].project in visible
        ]
        return self._agile_issue_page(request, ids)

    def _agile_issue_page(self, request: Request, ids: list[int]) -> tuple[int, Any]:
        """Issues as the agile API pages them: the old search's envelope, v2 fields plus the agile ones."""
        start, size = self._agile_window(request, AGILE_ISSUES_MAX)
        wanted = self.wanted_fields(request.param("fields"), "*navigable")
        expand = self.expand(request)
        inline = CLOUD_ISSUE_HISTORIES if self.config.cloud else None
        issues = []
        with self.data.lock:
            for issue_id in ids[start : start + size]:
                record = self.data.by_id.get(issue_id)
                if record is None or record.deleted:
                    continue
                issue = self.r.issue(record, "2", wanted, expand, inline, agile=True)
                issue["self"] = f"{self.config.base_url}{AGILE}/issue/{record.id}"
                issues.append(issue)
        return 200, {
            "expand": "schema,names",
            "startAt": start,
            "maxResults": size,
            "total": len(ids),
            "issues": issues,
        }
