"""Fixtures of quote run tests: fast providers and a real local HTTP pricing provider."""

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

# How long the "slow" endpoint stalls: well past the timeouts the tests configure.
SLOW_ANSWER_S = 2.0


@pytest.fixture(autouse=True)
def _fast_providers(settings):
    settings.QUOTE_RUN_PROVIDER_STEP_S = 0
    settings.QUOTE_PROVIDERS = ["standard", "priority", "bulk", "http"]


@dataclass
class ProviderServer:
    """A real HTTP server; the path picks the behaviour, every request is recorded."""

    base_url: str = ""
    requests: list[tuple[str, dict]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, behaviour: str) -> str:
        return f"{self.base_url}/{behaviour}"

    def count(self, behaviour: str) -> int:
        with self.lock:
            return sum(1 for path, _ in self.requests if path == f"/{behaviour}")


@pytest.fixture
def provider_server():
    state = ProviderServer()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _send(self, status: int, body: bytes, content_type="application/json"):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            with state.lock:
                state.requests.append((self.path, body))
                attempts = sum(1 for path, _ in state.requests if path == self.path)
            files = len(body.get("files", []))
            answer = json.dumps({"credits_total": 7 * files, "eta_seconds": 42}).encode()
            if self.path == "/answer":
                self._send(200, answer)
            elif self.path == "/slow":
                time.sleep(SLOW_ANSWER_S)
                self._send(200, answer)
            elif self.path == "/garbage":
                self._send(200, b"<html>surprise</html>", "text/html")
            elif self.path == "/garbage-json":
                self._send(200, json.dumps({"credits_total": "lots", "eta": 1}).encode())
            elif self.path == "/flaky":
                # Two 503s, then an answer: within the default retry budget.
                self._send(503, b"{}") if attempts <= 2 else self._send(200, answer)
            else:
                self._send(400, b'{"error": "bad request"}')

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
