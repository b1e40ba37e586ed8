"""A real HTTP receiver on 127.0.0.1 for webhook tests: answers by plan, records everything."""

import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook as Verifier

STALL_MAX_S = 120


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int | None = None  # None: stalled, never answered


@dataclass
class Receiver:
    """`plan` is what the receiver answers, request by request ("500", "stall",
    "redirect:<url>", "200"); after the plan runs out it answers `default`."""

    plan: list[str] = field(default_factory=list)
    default: str = "200"
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    release: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.server_address[1]

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def next_action(self) -> str:
        with self.lock:
            return self.plan.pop(0) if self.plan else self.default

    def record(self, item: Received) -> None:
        with self.lock:
            self.received.append(item)

    def succeeded(self) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.answered is not None and r.answered < 300]

    def success_counts(self) -> Counter:
        """webhook-id -> how many times it was answered with a 2xx."""
        return Counter(r.headers.get("webhook-id") for r in self.succeeded())

    def verified(self, secret: str) -> list:
        """The bodies of the 2xx deliveries, each verified with the standardwebhooks package."""
        return [Verifier(secret).verify(r.body, r.headers) for r in self.succeeded()]

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                item = Received(
                    path=self.path,
                    headers={key.lower(): value for key, value in self.headers.items()},
                    body=self.rfile.read(length),
                )
                action = receiver.next_action()
                receiver.record(item)
                if action == "stall":
                    receiver.release.wait(STALL_MAX_S)
                    return
                if action.startswith("redirect:"):
                    item.answered = 302
                    self.send_response(302)
                    self.send_header("Location", action.removeprefix("redirect:"))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                code = int(action)
                item.answered = code
                payload = b'{"ok": true}'
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
