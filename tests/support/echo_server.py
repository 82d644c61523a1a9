"""A tiny HTTP server that records what it was sent and answers with an error page echoing the
Authorization header in one of the encodings proxies and Jira error pages have been seen to use: the
header itself, URL-encoded, the decoded `user:token`, the token alone, base64 or in a query string."""

import base64
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

ECHOES = ("header", "url-encoded header", "user:token", "token", "base64 token", "query string")


class EchoServer:
    def __init__(self, status: int = 401, echo: str = "header") -> None:
        assert echo in ECHOES
        self.status, self.echo = status, echo
        self.received: list[dict[str, str]] = []
        handler = type("Handler", (_EchoHandler,), {"server_state": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def authorizations(self) -> list[str]:
        return [headers["Authorization"] for headers in self.received if "Authorization" in headers]


class _EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_state: EchoServer

    def log_message(self, format: str, *args) -> None:
        pass

    def do_GET(self) -> None:
        self.answer()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.answer()

    def answer(self) -> None:
        self.server_state.received.append(dict(self.headers.items()))
        header = self.headers.get("Authorization", "")
        scheme, _, credential = header.partition(" ")
        try:
            decoded = base64.b64decode(credential).decode() if scheme.lower() == "basic" else credential
        except ValueError:
            decoded = credential
        token = decoded.rpartition(":")[2]
        echoed = {
            "header": f"Authorization: {header}",
            "url-encoded header": quote(header, safe=""),
            "user:token": decoded,
            "token": token,
            "base64 token": base64.b64encode(token.encode()).decode(),
            "query string": f"/login?os_password={quote(token, safe='')}&x=1",
        }[self.server_state.echo]
        body = f"Proxy refused the request; it carried {echoed}".encode()
        self.send_response(self.server_state.status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def echo_server(status: int = 401, echo: str = "header") -> Iterator[EchoServer]:
    server = EchoServer(status, echo)
    thread = threading.Thread(target=server.httpd.serve_forever, name="echo", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
