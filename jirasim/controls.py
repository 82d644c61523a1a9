"""The /_sim controls: change the site, see its truth and counters, set faults, disturbances and paging."""

import random
from typing import Any

from jirasim import catalog
from jirasim.advance_request import advance_arguments
from jirasim.disturb import disturb_read
from jirasim.errors import HttpError
from jirasim.faults import FaultRule
from jirasim.search import Read
from jirasim.serving import Request
from jirasim.webhooks import Registration

OFFERABLE = ("comment", "worklog")  # what /_sim/offered can take away
# The issue's fields a comment event carries.
COMMENT_EVENT_FIELDS = ("summary", "issuetype", "project", "assignee", "priority", "status")


class SimControls:
    """JiraSim's /_sim endpoints (no auth, off the Jira paths)."""

    def disturb(self, read: Read, **changes: Any) -> dict[str, Any]:
        """Change issues in the read's served part (see disturb_read); webhooks go out as for an advance."""
        rng = random.Random(self.faults.seed * 104_729 + next(self.disturbance_numbers))
        done = disturb_read(self.search, read, read.served, rng=rng, **changes)
        self._send_webhooks(done)
        done["now"] = self.r.timestamp(done["now"])
        return done

    def sim_advance(self, request: Request) -> tuple[int, Any]:
        """Move the clock on and change the site (see advance_request for the body). All or nothing: a body
        with any bad part is 400 naming every problem, and nothing changes."""
        try:
            arguments = advance_arguments({} if request.body is None else request.body)
        except ValueError as exc:
            raise HttpError(400, f"bad advance request: {exc}") from None
        done = self.data.advance(**arguments)
        self._send_webhooks(done)
        done["now"] = self.r.timestamp(done["now"])
        return 200, done

    def _send_webhooks(self, done: dict[str, Any]) -> None:
        """What Jira would send for the changes of an advance: created, updated (moves too), deleted."""
        if not self.webhooks.registrations:
            return
        changes = [("jira:issue_created", key) for key in done["created"]]
        changes += [("jira:issue_updated", key) for key in done["updated"]]
        changes += [("jira:issue_updated", move["to"]) for move in done["moved"]]
        changes += [("jira:issue_deleted", key) for key in done["deleted"]]
        for event, key in changes:
            record = self.data.find(key) if event != "jira:issue_deleted" else self.data.by_key.get(key)
            if record is None:
                continue
            with self.data.lock:
                issue = self.r.issue(record, "2", self.wanted_fields(None, "*all"), set(), None)
                events = self.data.history(record)
                payload: dict[str, Any] = {
                    "timestamp": self.data.now_ms,
                    "webhookEvent": event,
                    "user": self.r.user(0, "2"),
                    "issue": issue,
                }
                if event != "jira:issue_deleted":
                    payload["issue_event_type_name"] = "issue_created" if event.endswith("created") else "issue_updated"
                if event == "jira:issue_updated" and events:
                    last = self.r.history(events[-1], "2")
                    payload["changelog"] = {"id": last["id"], "items": last["items"]}
                if self.config.cloud and event != "jira:issue_deleted":
                    issue["fields"]["statusCategory"] = issue["fields"]["status"]["statusCategory"]
                if self.config.cloud and event == "jira:issue_created":
                    payload["changelog"] = self._creation_changelog(record, issue["fields"])
            self.webhooks.send(event, key, payload)
        self._send_activity_webhooks(done)

    def _send_activity_webhooks(self, done: dict[str, Any]) -> None:
        """comment_created|updated|deleted and worklog_created|updated|deleted for what an advance did to
        comments and worklogs. A comment event carries the comment and the issue (id, key, a few fields); a
        worklog event the worklog alone, whose issueId names the issue. Payloads in the v2 representation,
        as Jira's webhooks send them."""
        verbs = {"added": "created", "edited": "updated", "deleted": "deleted"}
        for kind, noun in (("comments", "comment"), ("worklogs", "worklog")):
            for action, changed in (done.get(kind) or {}).items():
                for change in changed:
                    record = self.data.by_key.get(change["issue"])
                    if record is None:
                        continue
                    with self.data.lock:
                        payload = self._activity_payload(record, noun, int(change["id"]))
                    if payload is not None:
                        event = f"{noun}_{verbs[action]}"
                        payload = {"timestamp": self.data.now_ms, "webhookEvent": event, **payload}
                        self.webhooks.send(event, change["issue"], payload)

    def _activity_payload(self, record, noun: str, note_id: int) -> dict[str, Any] | None:
        activity = self.data.activity(record)
        notes = activity.comments if noun == "comment" else activity.worklogs
        note = next((n for n in notes if n.id == note_id), None)
        if note is None:
            return None
        if noun == "worklog":
            return {"worklog": self.r.worklog(record.id, note, "2")}
        issue = self.r.issue(record, "2", set(COMMENT_EVENT_FIELDS), set(), None)
        return {
            "comment": self.r.comment(record.id, note, "2"),
            "issue": {key: issue[key] for key in ("id", "self", "key", "fields")},
        }

    def _creation_changelog(self, record, fields: dict[str, Any]) -> dict[str, Any]:
        """What Cloud's issue_created webhook lists as set: summary, Status, priority, reporter, fix versions."""
        status, priority = fields["status"], fields["priority"]
        reporter_index = record.seed % len(catalog.USERS)
        reporter = self.r.user_ref(reporter_index)
        items = [
            ("summary", "summary", None, fields["summary"]),
            ("Status", "status", status["id"], status["name"]),
            ("priority", "priority", priority["id"], priority["name"]),
            *(("Fix Version", "fixVersions", v["id"], v["name"]) for v in fields.get("fixVersions") or []),
        ]
        rendered = [
            {
                "field": name,
                "fieldtype": "jira",
                "fieldId": field_id,
                "from": None,
                "fromString": None,
                "to": to,
                "toString": text,
            }
            for name, field_id, to, text in items
        ]
        rendered.append(
            {
                "field": "reporter",
                "fieldtype": "jira",
                "fieldId": "reporter",
                "from": None,
                "fromString": None,
                "to": reporter,
                "toString": catalog.USERS[reporter_index][0],
                "tmpFromAccountId": None,
                "tmpToAccountId": reporter,
            }
        )
        return {"id": str(record.id * 1000 + 999), "items": rendered}

    def sim_webhooks(self, request: Request) -> tuple[int, Any]:
        """POST {url, secret?, events?} registers a receiver; DELETE removes all; GET lists deliveries."""
        if request.method == "POST":
            body = request.body if isinstance(request.body, dict) else {}
            if not body.get("url"):
                raise HttpError(400, "a webhook needs a url")
            events = tuple(body.get("events") or Registration.events)
            self.webhooks.register(Registration(str(body["url"]), str(body.get("secret") or ""), events))
        elif request.method == "DELETE":
            self.webhooks.clear()
        elif request.param("wait"):
            self.webhooks.wait_idle(float(request.param("wait")))
        return 200, {
            "registrations": [r.url for r in self.webhooks.registrations],
            "deliveries": [vars(d) for d in self.webhooks.deliveries],
        }

    def sim_truth(self, request: Request) -> tuple[int, Any]:
        """{"issues": [row…], "now", "worklog_changes": {"updated"|"deleted": [{"id", "issue", "at"}]}}: every
        issue the account sees, and every change to their worklogs (epoch ms, oldest first) — what
        /worklog/updated and /worklog/deleted list once a change is a minute old. With ?changelog=1 each issue
        row also has its whole changelog as Jira renders it."""
        rows = self.data.truth()
        version = "3" if self.data.config.cloud else "2"
        for row in rows:
            row["updated"] = self.r.timestamp(row["updated"])
            if request.param("changelog"):
                events = self.data.history(self.data.by_id[int(row["id"])])
                row["changelog"] = [self.r.history(event, version) for event in events]
        key = self.data.key_of
        changes = {
            kind: [{"id": str(n), "issue": key(self.data.by_id[issue]), "at": at} for at, n, issue in listed]
            for kind, listed in zip(("updated", "deleted"), self.worklog_changes(), strict=True)
        }
        return 200, {"issues": rows, "now": self.r.timestamp(self.data.now_ms), "worklog_changes": changes}

    def sim_stats(self, request: Request) -> tuple[int, Any]:
        return 200, {
            "requests": self.stats.snapshot(),
            "busiest_second": self.stats.busiest_second(),
            "busiest_ten_seconds": self.stats.busiest_window(10),
            "faults": self.faults.report()["inflicted"],
            "search_scans": self.search.scans,
        }

    def sim_reset_stats(self, request: Request) -> tuple[int, Any]:
        self.stats.reset()
        self.faults.reset_counts()
        return 200, {"requests": {}}

    def sim_history(self, request: Request) -> tuple[int, Any]:
        body = request.body if isinstance(request.body, dict) else {}
        try:
            record = self.data.set_history_length(str(body["issue"]), int(body["entries"]))
        except (KeyError, TypeError, ValueError):
            raise HttpError(400, 'expected {"issue": KEY or ID, "entries": N} naming a live issue') from None
        return 200, {"id": str(record.id), "key": self.data.key_of(record), "entries": int(body["entries"])}

    def sim_access(self, request: Request) -> tuple[int, Any]:
        body = request.body if isinstance(request.body, dict) else {}
        project = next((p for p in self.data.projects if p.key == str(body.get("project", "")).upper()), None)
        if project is None:
            raise HttpError(400, 'expected {"project": KEY, "visible": true|false, "issues_visible": true|false}')
        project.hidden = not bool(body.get("visible", True))
        project.issues_hidden = not bool(body.get("issues_visible", True))
        self.data.version += 1
        return 200, {"project": project.key, "visible": not project.hidden, "issues_visible": not project.issues_hidden}

    def sim_status(self, request: Request) -> tuple[int, Any]:
        """{"issue": KEY, "status": NAME, "record": false}: the issue moves to that status now, without a
        history entry unless record is true."""
        body = request.body if isinstance(request.body, dict) else {}
        try:
            record = self.data.set_status(
                str(body["issue"]), str(body["status"]), record=bool(body.get("record", True))
            )
        except KeyError:
            raise HttpError(400, 'expected {"issue": KEY or ID of a live issue, "status": a status name}') from None
        key = self.data.key_of(record)
        self._send_webhooks({"updated": [key], "created": [], "deleted": [], "moved": []})
        return 200, {
            "id": str(record.id),
            "key": key,
            "status": self.data.status_name(record),
            "updated": self.r.timestamp(record.updated_ms),
            "recorded": bool(body.get("record", True)),
        }

    def sim_faults(self, request: Request) -> tuple[int, Any]:
        """POST replaces the rules; GET says what they are and what was inflicted so far."""
        if request.method == "GET":
            return 200, self.faults.report()
        body = request.body if isinstance(request.body, dict) else {}
        rules = [_fault_rule(rule) for rule in body.get("rules", [])]
        self.faults.replace(rules, body.get("latency_ms"), body.get("jitter_ms"))
        return 200, {"rules": len(rules)}

    def sim_disturb(self, request: Request) -> tuple[int, Any]:
        """Change issues in the served part of the latest read now (answer: what changed), or, given
        after_page, add a disturb rule that does so after that page of every search."""
        body = request.body if isinstance(request.body, dict) else {}
        rule = _fault_rule({"kind": "disturb", **{k: v for k, v in body.items() if k != "jql"}})
        if "after_page" in body:
            self.faults.add(rule)
            return 200, {"armed": rule.as_dict()}
        read = self.search.latest_read(body.get("jql"))
        if read is None and not rule.named:
            raise HttpError(400, "no search has been paged yet: name the issues (keys/ids) or arm after_page")
        changes = {name: getattr(rule, name) for name in ("edit", "delete", "move", "create", "minutes")}
        done = self.disturb(read or Read("", False, ""), named=rule.named, **changes)
        self.faults.record_disturbance("POST /_sim/disturb", done)
        return 200, done

    def sim_paging(self, request: Request) -> tuple[int, Any]:
        """{"cloud_tokens": "snapshot" | "live"}: Cloud page tokens freeze the result, or are offsets into it."""
        body = request.body if isinstance(request.body, dict) else {}
        if request.method == "POST" and "cloud_tokens" in body:
            try:
                self.search.cloud_tokens = str(body["cloud_tokens"])
            except ValueError as exc:
                raise HttpError(400, str(exc)) from None
        return 200, {"cloud_tokens": self.search.cloud_tokens}

    def sim_offered(self, request: Request) -> tuple[int, Any]:
        """A site without comments or worklogs (as some Data Center sites are, with those features removed):
        POST {"comment": false, "worklog": true}: a kind turned off is left out of every issue's fields, and its
        per-issue endpoints (issue/{id}/comment[/{id}], issue/{id}/worklog[/{id}]) answer 404; GET says which."""
        body = request.body if isinstance(request.body, dict) else {}
        if request.method == "POST":
            unknown = set(body) - set(OFFERABLE)
            if unknown or not all(isinstance(on, bool) for on in body.values()):
                raise HttpError(400, f'expected {{"comment": true|false, "worklog": true|false}}, not {body}')
            for kind, on in body.items():
                (self.withheld.discard if on else self.withheld.add)(kind)
        return 200, {kind: kind not in self.withheld for kind in OFFERABLE}

    def sim_override(self, request: Request) -> tuple[int, Any]:
        """A Jira that answers oddly: POST {"endpoint": "GET /rest/api/2/serverInfo", "status": 200, "body": …}
        answers that endpoint (a route template, version filled in) with exactly that from now on; DELETE
        removes every override; GET lists them."""
        if request.method == "POST":
            body = request.body if isinstance(request.body, dict) else {}
            endpoint, status = body.get("endpoint"), body.get("status", 200)
            if not isinstance(endpoint, str) or " " not in endpoint or not isinstance(status, int):
                raise HttpError(400, 'expected {"endpoint": "METHOD /path/template", "status": 200, "body": …}')
            self.overrides[endpoint] = (status, body.get("body"))
        elif request.method == "DELETE":
            self.overrides.clear()
        return 200, {"overrides": {endpoint: status for endpoint, (status, _) in self.overrides.items()}}


def _fault_rule(spec: Any) -> FaultRule:
    try:
        return FaultRule(**spec)
    except (TypeError, ValueError) as exc:
        raise HttpError(400, f"bad fault rule: {exc}") from None
