"""A stalling Jira for tests: a loopback proxy in front of jirasim that answers one endpoint badly.

"drip": the status line and headers, then one byte every 40 s. "silent": not a byte, ever. Every other
request is passed to the simulator as it is.
"""

import contextlib
import http.server
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field

import requests

DRIP_SECONDS = 40.0


@dataclass
class Stall:
    url: str
    hit: threading.Event = field(default_factory=threading.Event)  # the stalled request is being answered


@contextmanager
def stalling_jira(sim_url: str, endpoint: str, mode: str):
    """Yield a Stall whose url stands for the simulator at sim_url; endpoint is "METHOD /path"."""
    closing = threading.Event()
    stall = Stall("")

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if f"{self.command} {self.path.split('?')[0]}" == endpoint:
                with contextlib.suppress(OSError):  # the client hung up: what a stopped sync does
                    self._stall()
                self.close_connection = True
                return
            names = ("Authorization", "Content-Type", "Accept")
            passed = {name: self.headers[name] for name in names if name in self.headers}
            answer = requests.request(self.command, f"{sim_url}{self.path}", headers=passed, data=body, timeout=60)
            self.send_response(answer.status_code)
            self.send_header("Content-Type", answer.headers.get("Content-Type", "application/json"))
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        def _stall(self) -> None:
            if mode == "silent":
                stall.hit.set()
                closing.wait()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"{")
            self.wfile.flush()
            stall.hit.set()
            while not closing.wait(DRIP_SECONDS):
                self.wfile.write(b" ")
                self.wfile.flush()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    stall.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stall
    finally:
        closing.set()
        server.shutdown()
        server.server_close()
