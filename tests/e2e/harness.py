"""Real server and worker processes on loopback ports, started from the Procfile's lines,
sharing PostgreSQL and Redis."""

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
PROCFILE = REPO_ROOT / "Procfile"
START_TIMEOUT_S = 40
STOP_TIMEOUT_S = 10
LOG_TAIL_CHARS = 4000


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(db_settings: dict) -> str:
    """The URL of the (test) database this pytest process uses."""
    user = db_settings.get("USER") or "postgres"
    password = db_settings.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else f"{user}@"
    host = db_settings.get("HOST") or "127.0.0.1"
    port = db_settings.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{db_settings['NAME']}"


def procfile_commands(path: Path = PROCFILE) -> dict[str, str]:
    """The process types of a Procfile (`name: command` lines), as honcho and Heroku read
    it."""
    commands = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, command = line.partition(":")
        commands[name.strip()] = command.strip()
    return commands


@dataclass
class Process:
    """One managed child process: a server (`port` set) or a worker/beat."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    port: int | None = None
    popen: subprocess.Popen | None = None
    cwd: Path = REPO_ROOT

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-LOG_TAIL_CHARS:]
        except FileNotFoundError:
            return ""

    def kill9(self) -> None:
        """SIGKILL the whole process group: no shutdown hooks, like a crashed container."""
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=STOP_TIMEOUT_S)

    def stop(self) -> None:
        if not self.alive():
            return
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill9()

    def wait_ready(self, timeout_s: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited early:\n{self.log_tail()}")
            if self.port is None:
                if b"ready" in self.log_path.read_bytes() or b"beat: Starting" in (
                    self.log_path.read_bytes()
                ):
                    return
            else:
                try:
                    response = requests.get(f"{self.url}/api/ping", timeout=5)
                    if response.status_code in (200, 503):
                        return
                except requests.RequestException:
                    pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {timeout_s}s:\n{self.log_tail()}")


@dataclass
class Cluster:
    """N web instances plus optional Celery worker and beat, all from the same environment."""

    workdir: Path
    base_env: dict[str, str]
    servers: list[Process] = field(default_factory=list)
    workers: list[Process] = field(default_factory=list)

    def _env(self, **overrides: str) -> dict[str, str]:
        return {**self.base_env, **overrides}

    def _procfile_process(self, kind: str, name: str, **env: str) -> Process:
        """The Procfile's `kind` line exactly as written, through a shell like honcho and
        Heroku run it (`exec`, so the process is the server itself), with this Python's
        scripts first on PATH."""
        scripts = str(Path(sys.executable).parent)
        path = scripts + os.pathsep + env.get("PATH", self.base_env.get("PATH", ""))
        return Process(
            name=name,
            argv=["/bin/sh", "-c", "exec " + procfile_commands()[kind]],
            env=self._env(**{**env, "PATH": path}),
            log_path=self.workdir / f"{name}.log",
        )

    def add_procfile_server(self, kind: str, **env_overrides: str) -> Process:
        """Start the Procfile's `kind` server (web or stream) with $PORT set to a free
        loopback port (and HOST=127.0.0.1)."""
        port = free_port()
        process = self._procfile_process(
            kind,
            f"{kind}{len(self.servers)}",
            PORT=str(port),
            HOST="127.0.0.1",
            **env_overrides,
        )
        process.port = port
        self.servers.append(process)
        process.start()
        return process

    def add_server(self, **env_overrides: str) -> Process:
        """The Procfile's `stream` process (ASGI): it serves the whole API and the event
        streams. STREAM_CONCURRENCY sets its worker processes."""
        return self.add_procfile_server("stream", **env_overrides)

    def add_worker(self, *, concurrency: int = 2, **env_overrides: str) -> Process:
        """The Procfile's `worker` line; `concurrency` becomes WORKER_CONCURRENCY."""
        process = self._procfile_process(
            "worker",
            f"worker{len(self.workers)}",
            WORKER_CONCURRENCY=str(concurrency),
            **env_overrides,
        )
        self.workers.append(process)
        process.start()
        return process

    def add_beat(self, **env_overrides: str) -> Process:
        """The Procfile's `beat` line, checking its schedule every second."""
        env = {"BEAT_MAX_INTERVAL_S": "1", **env_overrides}
        process = self._procfile_process("beat", f"beat{len(self.workers)}", **env)
        self.workers.append(process)
        process.start()
        return process

    def restart(self, process: Process, *, kill: bool = True) -> None:
        """kill -9 (or stop) and start again on the same port, then wait until ready."""
        if kill:
            process.kill9()
        else:
            process.stop()
        process.start()
        process.wait_ready()

    def wait_ready(self) -> None:
        for process in self.servers + self.workers:
            process.wait_ready()

    def close(self) -> None:
        for process in self.servers + self.workers:
            process.stop()

    def logs(self) -> str:
        return "\n".join(
            f"----- {p.name} -----\n{p.log_tail()}" for p in self.servers + self.workers
        )
