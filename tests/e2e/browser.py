"""A real browser and a real load balancer for e2e tests: headless Chromium driven through
chromedriver (selenium), nginx in front of the cluster's instances, and a page server on
an origin of its own."""

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.e2e.harness import STOP_TIMEOUT_S, free_port

# Debian's packages: apt-get install chromium chromium-driver nginx.
CHROMIUM = "chromium"
CHROMEDRIVER = "chromedriver"
NGINX = "nginx"
SYSTEM_BINS = ("/usr/sbin", "/sbin")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
NGINX_START_TIMEOUT_S = 10
TCP_ESTABLISHED = "01"
LOOPBACK_HEX = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it


def find_binary(name: str) -> str | None:
    path = os.pathsep.join([os.environ.get("PATH", ""), *SYSTEM_BINS])
    return shutil.which(name, path=path)


def missing_tools() -> list[str]:
    return [name for name in (CHROMIUM, CHROMEDRIVER, NGINX) if find_binary(name) is None]


def chromium_driver(user_data_dir: Path, *, console_log: bool = False):
    """A fresh headless Chromium (its own profile) under Debian's chromedriver; with
    `console_log`, the page's console and network errors are kept for
    `driver.get_log("browser")`."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = find_binary(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={user_data_dir}")
    if console_log:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(
        options=options, service=Service(executable_path=find_binary(CHROMEDRIVER))
    )


def established_connections(port: int) -> int:
    """Open TCP connections accepted on 127.0.0.1:port (the server's side of each)."""
    count = 0
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            address, state = fields[1], fields[3]
            if state == TCP_ESTABLISHED and address == f"{LOOPBACK_HEX}:{port:04X}":
                count += 1
    return count


NGINX_CONF = """\
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
{user}
events {{ worker_connections 256; }}

http {{
    log_format balanced '$status $request_method $uri upstream=$upstream_addr';
    access_log {prefix}/access.log balanced;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;

    upstream atelier {{
{servers}
    }}

    server {{
        listen 127.0.0.1:{port};

        location / {{
            proxy_pass http://atelier;
            # Streams: HTTP/1.1 to the instances, no buffering, no gzip, and a read
            # timeout far above SSE_KEEPALIVE_S.
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header Last-Event-ID $http_last_event_id;
            proxy_buffering off;
            proxy_cache off;
            proxy_read_timeout 1h;
            gzip off;
        }}
    }}
}}
"""


@dataclass
class Nginx:
    """nginx as a foreground child, load-balancing over `upstream_ports` (round robin)."""

    prefix: Path
    upstream_ports: list[int]
    port: int = 0
    popen: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.prefix.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        servers = "\n".join(
            f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=60s;"
            for port in self.upstream_ports
        )
        # As root nginx would switch its worker to "nobody", which cannot write here.
        user = "user root;" if os.geteuid() == 0 else ""
        conf = self.prefix / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(prefix=self.prefix, port=self.port, servers=servers, user=user)
        )
        log = (self.prefix / "stderr.log").open("ab")
        self.popen = subprocess.Popen(
            [
                find_binary(NGINX) or NGINX,
                "-p",
                str(self.prefix),
                "-c",
                str(conf),
                "-e",
                str(self.prefix / "error.log"),
                "-g",
                "daemon off;",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + NGINX_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"nginx exited early:\n{self.logs()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx not listening after {NGINX_START_TIMEOUT_S}s:\n{self.logs()}")

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGQUIT)  # graceful: workers finish, logs flushed
        try:
            self.popen.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=STOP_TIMEOUT_S)

    def access_log(self) -> list[dict[str, str]]:
        """One dict per request: status, method, path, upstream (the last address tried)."""
        path = self.prefix / "access.log"
        entries = []
        for line in path.read_text().splitlines() if path.exists() else []:
            status, method, uri, upstream = line.split(" ", 3)
            entries.append(
                {
                    "status": status,
                    "method": method,
                    "path": uri,
                    "upstream": upstream.removeprefix("upstream=").split(", ")[-1],
                }
            )
        return entries

    def logs(self) -> str:
        parts = []
        for name in ("stderr.log", "error.log", "access.log"):
            path = self.prefix / name
            if path.exists():
                parts.append(f"----- nginx {name} -----\n{path.read_text()[-4000:]}")
        return "\n".join(parts)


@dataclass
class PageServer:
    """Serves one HTML page at / from its own origin, http://127.0.0.1:<port>."""

    html: str = ""
    port: int = 0
    server: ThreadingHTTPServer | None = None
    requests: list[str] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        page = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                page.requests.append(self.path)
                body = page.html.encode() if self.path == "/" else b"not found"
                self.send_response(200 if self.path == "/" else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
