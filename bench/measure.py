"""Throughput and latency with wrk; pgbench -S at the same concurrency as the ceiling.

wrk (C, event loop) drives HTTP load with a fraction of the CPU a Python client needs, so
on two cores shared with the server and PostgreSQL the figures measure the server. Every
wrk figure is also given as a ratio to `pgbench -S` (PostgreSQL answering a primary-key
SELECT, no application) at the same number of clients, measured in the same run: the
ratio stays comparable across machines and across noisy moments, the raw req/s does not.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

LUA_DIR = Path(__file__).resolve().parent / "lua"
WRK_SECONDS = int(os.environ.get("BENCH_WRK_SECONDS", "10"))
PGBENCH_SECONDS = int(os.environ.get("BENCH_PGBENCH_SECONDS", "10"))
PGBENCH_DATABASE = "atelier_pgbench"
# Debian packages of the command-line tools the bench drives.
TOOL_PACKAGES = {"wrk": "wrk", "pgbench": "postgresql-contrib", "psql": "postgresql-client"}


def ensure_tools() -> None:
    """wrk, pgbench and psql on PATH: installed with apt-get when running as root (the
    project machines), otherwise a clear message naming the packages."""
    missing = sorted({pkg for tool, pkg in TOOL_PACKAGES.items() if shutil.which(tool) is None})
    if not missing:
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"bench: installing {' '.join(missing)} with apt-get", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-q", *missing], check=True)
        return
    raise SystemExit(
        f"bench needs {', '.join(missing)}: run `sudo apt-get install {' '.join(missing)}`"
    )


def wrk_threads(concurrency: int) -> int:
    """One wrk thread per core at most (2 here), never more threads than connections."""
    return max(1, min(concurrency, os.cpu_count() or 1, 2))


def run_wrk(
    url: str,
    *,
    concurrency: int,
    seconds: int = WRK_SECONDS,
    script: str = "get.lua",
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One wrk run; returns requests, req/s, latency percentiles (ms) and error counts."""
    command = [
        "wrk",
        f"-t{wrk_threads(concurrency)}",
        f"-c{concurrency}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA_DIR / script),
        url,
    ]
    completed = subprocess.run(
        command,
        env={**os.environ, "BENCH_LUA_DIR": str(LUA_DIR), **(env or {})},
        capture_output=True,
        text=True,
        check=True,
    )
    line = next((row for row in completed.stdout.splitlines() if row.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{completed.stdout}\n{completed.stderr}")
    raw = json.loads(line.removeprefix("WRK_JSON "))
    seconds_run = raw["duration_us"] / 1e6
    errors = {
        kind: raw[f"errors_{kind}"]
        for kind in ("connect", "read", "write", "timeout")
        if raw[f"errors_{kind}"]
    }
    return {
        "concurrency": concurrency,
        "requests": raw["requests"],
        "seconds": round(seconds_run, 2),
        "rps": round(raw["requests"] / seconds_run, 1) if seconds_run else 0.0,
        "p50_ms": round(raw["p50_us"] / 1000, 3),
        "p90_ms": round(raw["p90_us"] / 1000, 3),
        "p99_ms": round(raw["p99_us"] / 1000, 3),
        "max_ms": round(raw["max_us"] / 1000, 3),
        # wrk counts answers with a status >= 400 here.
        "status_4xx_5xx": raw["errors_status"],
        "socket_errors": errors,
    }


def process_group_cpu_s(pgid: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of a process group:
    a server and its workers. Less sensitive to other load on the machine than req/s."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # After the command: state ppid pgrp session ... utime(12) stime(13)
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def psql_args(url: str) -> list[str]:
    """psql/pgbench connection options of a postgres:// URL."""
    parts = urlsplit(url)
    return [
        "-h",
        parts.hostname or "127.0.0.1",
        "-p",
        str(parts.port or 5432),
        "-U",
        parts.username or "postgres",
    ]


class PgBench:
    """`pgbench -S` (select-only, scale 1) on a scratch database of the bench's server."""

    def __init__(self, database_url: str):
        self.args = psql_args(database_url)
        self.prepared = False
        self.results: dict[int, dict[str, Any]] = {}

    def _prepare(self) -> None:
        subprocess.run(["dropdb", "--if-exists", *self.args, PGBENCH_DATABASE], check=True)
        subprocess.run(["createdb", *self.args, PGBENCH_DATABASE], check=True)
        subprocess.run(
            ["pgbench", *self.args, "-i", "-q", "-s", "1", PGBENCH_DATABASE],
            check=True,
            capture_output=True,
        )
        self.prepared = True

    def select_only(self, clients: int, *, seconds: int = PGBENCH_SECONDS) -> dict[str, Any]:
        """tps and average latency of `pgbench -S -c clients`; measured once per client
        count and run, at the first figure that needs it."""
        if clients in self.results:
            return self.results[clients]
        if not self.prepared:
            self._prepare()
        out = subprocess.run(
            [
                "pgbench",
                *self.args,
                "-S",
                "-n",
                "-c",
                str(clients),
                "-j",
                str(wrk_threads(clients)),
                "-T",
                str(seconds),
                PGBENCH_DATABASE,
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        tps = re.search(r"tps = ([\d.]+)", out)
        latency = re.search(r"latency average = ([\d.]+) ms", out)
        result = {
            "clients": clients,
            "tps": round(float(tps.group(1)), 1) if tps else None,
            "latency_avg_ms": float(latency.group(1)) if latency else None,
            "load_average": os.getloadavg()[0],
        }
        print(json.dumps({"pgbench_select_only": result}), flush=True)
        self.results[clients] = result
        return result

    def close(self) -> None:
        if self.prepared:
            subprocess.run(["dropdb", "--if-exists", *self.args, PGBENCH_DATABASE], check=False)


if __name__ == "__main__":  # a quick check by hand: python -m bench.measure URL [c]
    print(run_wrk(sys.argv[1], concurrency=int(sys.argv[2]) if len(sys.argv) > 2 else 16))
