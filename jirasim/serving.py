"""jirasim over HTTP(S): the request handler (auth, rate limit, transport faults, stats) and the server."""

import base64
import json
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from jirasim.errors import HttpError
from jirasim.faults import ECHO_CREDENTIALS, TRICKLE_SECONDS
from jirasim.malformed_adf import MALFORMED_ADF, notes_malformed
from jirasim.shared import dumps

if TYPE_CHECKING:
    from jirasim.server import JiraSim


class Request:
    def __init__(
        self, method: str, path: str, query: dict[str, list[str]], body: Any, match: re.Match, endpoint: str = ""
    ) -> None:
        self.method, self.path, self.query, self.body, self.match = method, path, query, body, match
        self.endpoint = endpoint  # "METHOD /path/template", as faults and stats name it

    def param(self, name: str, default: Any = None) -> Any:
        """A parameter from the query string (GET) or the JSON body (POST)."""
        if isinstance(self.body, dict) and name in self.body:
            return self.body[name]
        values = self.query.get(name)
        return values[-1] if values else default

    def int_param(self, name: str, default: int) -> int:
        value = self.param(name, default)
        try:
            return int(value)
        except (TypeError, ValueError):
            raise HttpError(400, f"The value '{value}' is not valid for the parameter '{name}'.") from None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle on, the body waits for the client's delayed ACK (~40 ms).
    disable_nagle_algorithm = True
    sim: "JiraSim"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.dispatch("GET")

    def do_POST(self) -> None:
        self.dispatch("POST")

    def do_PUT(self) -> None:
        self.dispatch("PUT")

    def do_DELETE(self) -> None:
        self.dispatch("DELETE")

    def dispatch(self, method: str) -> None:
        sim = self.sim
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        resolved = sim.resolve(method, parts.path)
        endpoint = f"{method} {_endpoint_name(resolved) if resolved else parts.path}"
        if resolved is None:
            return self.answer(endpoint, 404, {"errorMessages": ["null for uri: " + parts.path], "errors": {}})
        template, match, handler = resolved
        headers: dict[str, str] = {}
        if not template.startswith("/_sim"):
            authorization = self.headers.get("Authorization")
            if sim.captcha_required(authorization):
                return self.answer(
                    endpoint,
                    403,
                    {"errorMessages": ["CAPTCHA_CHALLENGE"], "errors": {}},
                    {
                        "X-Authentication-Denied-Reason": (
                            f"CAPTCHA_CHALLENGE; login-url={sim.config.base_url}/login.jsp"
                        ),
                        "X-Seraph-LoginReason": "AUTHENTICATION_DENIED",
                    },
                )
            credential = sim.authenticate(authorization)
            if credential is None:
                return self.unauthorized(endpoint)
            allowed, headers = sim.limiter.check(credential)
            if not allowed:
                return self.answer(endpoint, 429, {"errorMessages": ["Rate limit exceeded."], "errors": {}}, headers)
            delay = sim.faults.delay_seconds()
            if delay:
                time.sleep(delay)
            if endpoint in sim.overrides:  # an odd answer set by /_sim/override
                status, payload = sim.overrides[endpoint]
                return self.answer(endpoint, status, payload)
            fault = sim.faults.fault_for(endpoint)
            if fault in ("500", "502", "503", "504"):
                return self.answer(
                    endpoint,
                    int(fault),
                    {"errorMessages": ["Internal server error"], "errors": {}},
                    {"Retry-After": "1"} if fault == "503" else {},
                )
            if fault == "reset":
                sim.stats.count(endpoint, 0)
                self.close_connection = True
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                self.connection.close()
                return None
        else:
            fault = None
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return self.answer(
                endpoint, 400, {"errorMessages": ["Unexpected character in the request body."], "errors": {}}
            )
        request = Request(method, parts.path, parse_qs(parts.query), body, match, endpoint)
        try:
            status, payload = handler(request)
        except HttpError as exc:
            status, payload = exc.status, {"errorMessages": exc.messages, "errors": exc.errors}
        if fault == ECHO_CREDENTIALS:
            payload = credentials_echoed(payload, self.headers.get("Authorization", ""))
        elif fault in MALFORMED_ADF:
            payload = notes_malformed(payload, fault)
        return self.answer(endpoint, status, payload, headers, fault)

    def unauthorized(self, endpoint: str) -> None:
        if self.sim.config.cloud:
            body = b"Client must be authenticated to access this resource."
            self.sim.stats.count(endpoint, 401)
            self.send_response(401)
            self.send_header("Content-Type", "text/plain;charset=UTF-8")
            self.send_header("WWW-Authenticate", 'Basic realm="protected-area"')
            self.send_header("X-Seraph-LoginReason", "AUTHENTICATED_FAILED")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.answer(
            endpoint,
            401,
            {
                "errorMessages": ["You are not authenticated. Authentication required to perform this operation."],
                "errors": {},
            },
            {"WWW-Authenticate": 'OAuth realm="jira"', "X-Seraph-LoginReason": "AUTHENTICATED_FAILED"},
        )

    def answer(
        self, endpoint: str, status: int, payload: Any, headers: dict[str, str] | None = None, fault: str | None = None
    ) -> None:
        self.sim.stats.count(endpoint, status)
        body = b"" if status == 204 else dumps(payload)
        if fault == "malformed":
            body = body[: max(1, len(body) // 2)] + b"<html>"
        declared = len(body)
        if fault == "truncate":
            body = body[: len(body) // 2]
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(declared))
        self.send_header("X-AREQUESTID", f"{int(time.time() * 1000) % 100000}x1")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if fault == "truncate":
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if fault == "trickle":
            chunk = max(1, int(len(body) / TRICKLE_SECONDS))
            for offset in range(0, len(body), chunk):
                self.wfile.write(body[offset : offset + chunk])
                self.wfile.flush()
                time.sleep(1.0)
            return
        if fault == "slow":
            for offset in range(0, len(body), max(1, len(body) // 10)):
                self.wfile.write(body[offset : offset + max(1, len(body) // 10)])
                self.wfile.flush()
                time.sleep(0.05)
            return
        self.wfile.write(body)


def _endpoint_name(resolved: tuple[str, re.Match, Callable]) -> str:
    """The path template with the API version filled in: /rest/api/3/issue/{issueIdOrKey}."""
    template, match, _ = resolved
    return template.replace("{v}", match.groupdict().get("version") or "")


class SimServer:
    """jirasim served over HTTP(S) on a loopback port, in a background thread."""

    def __init__(
        self, sim: "JiraSim", host: str = "127.0.0.1", port: int = 0, tls: bool = False, cert_dir: str | None = None
    ) -> None:
        handler = type("Handler", (_Handler,), {"sim": sim})
        self.sim = sim
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.cert_file: str | None = None
        scheme = "http"
        if tls:
            from jirasim.tls import self_signed_certificate

            self.cert_file, key_file = self_signed_certificate(host, cert_dir)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.cert_file, key_file)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://{host}:{self.httpd.server_address[1]}"
        sim.bind(self.url)
        self.thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def start(self) -> "SimServer":
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="jirasim", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "SimServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# Where a Jira that repeats its caller's credentials puts them: texts a client stores and shows.
ECHOED_KEYS = frozenset({"name", "displayName", "summary", "description", "timeZone", "version", "value"})


def credentials_echoed(payload: Any, authorization: str) -> Any:
    """The answer with every text under ECHOED_KEYS followed by the Authorization header, the decoded
    `user:token` and the bare token (the `echo-credentials` fault: a proxy, plugin or custom field that
    repeats what it was sent)."""
    scheme, _, credential = authorization.partition(" ")
    try:
        decoded = base64.b64decode(credential).decode() if scheme.lower() == "basic" else credential
    except ValueError:
        decoded = credential
    echo = f" [{authorization}] [{decoded}] [{decoded.rpartition(':')[2]}]"

    def echoed(value: Any, key: str = "") -> Any:
        if isinstance(value, str):
            return value + echo if key in ECHOED_KEYS else value
        if isinstance(value, list):
            return [echoed(item, key) for item in value]
        if isinstance(value, dict):
            return {name: echoed(item, name) for name, item in value.items()}
        return value

    return echoed(payload)
