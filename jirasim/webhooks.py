"""jirasim's webhooks: registered receivers get Jira's payloads (Cloud or Data Center shape) when issues change.

Cloud deliveries carry `X-Atlassian-Webhook-Identifier` (one per delivery, kept across retries) and,
when the registration has a secret, `X-Hub-Signature: sha256=<HMAC-SHA256(secret, body)>`. Data
Center deliveries are unsigned (a receiver protects itself with a secret in the URL, which the
registration's URL carries). Payloads embed the v2 issue representation, as real webhooks do.
"""

import hashlib
import hmac
import json
import logging
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests

log = logging.getLogger(__name__)


@dataclass
class Registration:
    url: str
    secret: str = ""
    events: tuple[str, ...] = (
        "jira:issue_created",
        "jira:issue_updated",
        "jira:issue_deleted",
        "comment_created",
        "comment_updated",
        "comment_deleted",
        "worklog_created",
        "worklog_updated",
        "worklog_deleted",
    )


@dataclass
class Delivery:
    url: str
    event: str
    key: str
    identifier: str
    status: int | str = "pending"
    attempts: int = 0
    sent_at: float = 0.0
    seconds: float = 0.0


@dataclass
class WebhookSender:
    """Delivers in one background thread, in order, retrying a failed delivery a few times."""

    cloud: bool
    registrations: list[Registration] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    retries: int = 3

    def __post_init__(self) -> None:
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def register(self, registration: Registration) -> None:
        with self._lock:
            self.registrations.append(registration)

    def clear(self) -> None:
        with self._lock:
            self.registrations.clear()
            self.deliveries.clear()

    def send(self, event: str, key: str, payload: dict[str, Any]) -> None:
        with self._lock:
            targets = [r for r in self.registrations if event in r.events]
        for registration in targets:
            delivery = Delivery(registration.url, event, key, str(uuid.uuid4()))
            with self._lock:
                self.deliveries.append(delivery)
            self._queue.put((registration, delivery, payload))
        if targets and (self._thread is None or not self._thread.is_alive()):
            self._thread = threading.Thread(target=self._deliver_forever, name="jirasim-webhooks", daemon=True)
            self._thread.start()

    def wait_idle(self, timeout: float = 10) -> bool:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.02)
        return False

    def _deliver_forever(self) -> None:
        session = requests.Session()
        while True:
            registration, delivery, payload = self._queue.get()
            try:
                self._deliver(session, registration, delivery, payload)
            finally:
                self._queue.task_done()

    def _deliver(
        self, session: requests.Session, registration: Registration, delivery: Delivery, payload: dict
    ) -> None:
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "Atlassian Webhook HTTP Client"}
        if self.cloud:
            headers["X-Atlassian-Webhook-Identifier"] = delivery.identifier
            headers["X-Atlassian-Webhook-Flow"] = "Primary"
            if registration.secret:
                digest = hmac.new(registration.secret.encode(), body, hashlib.sha256).hexdigest()
                headers["X-Hub-Signature"] = f"sha256={digest}"
        delivery.sent_at = time.time()
        for attempt in range(1 + self.retries):
            delivery.attempts = attempt + 1
            if self.cloud:
                headers["X-Atlassian-Webhook-Retry"] = str(attempt)
            try:
                response = session.post(registration.url, data=body, headers=headers, timeout=10)
                delivery.status = response.status_code
                if response.status_code < 500:
                    break
            except requests.RequestException as exc:
                delivery.status = type(exc).__name__
            time.sleep(0.2 * (attempt + 1))
        delivery.seconds = time.time() - delivery.sent_at
