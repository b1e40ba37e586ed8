"""`make bench`: a production-like server, load from this separate process, pgbench -S as ceiling.

    .venv/bin/python -m bench.run [scenario ...]   # default: every bench/scenarios/*.py

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/atelier_bench,
created if missing), BENCH_REDIS_URL (default redis://127.0.0.1:6379/9).
"""

import importlib
import json
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "bench" / "results"
SERVER_WORKERS = 2
PGBENCH_SECONDS = 10
PGBENCH_CLIENTS = 16


def _database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def _psql_args(url: str) -> list[str]:
    parts = urlsplit(url)
    return [
        "-h",
        parts.hostname or "127.0.0.1",
        "-p",
        str(parts.port or 5432),
        "-U",
        parts.username or "postgres",
    ]


def ensure_database(url: str) -> None:
    name = _database_name(url)
    exists = subprocess.run(
        [
            "psql",
            *_psql_args(url),
            "-d",
            "postgres",
            "-tAc",
            f"SELECT 1 FROM pg_database WHERE datname = '{name}'",  # noqa: S608 - our own name
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if exists != "1":
        subprocess.run(["createdb", *_psql_args(url), name], check=True)


def pgbench_ceiling(url: str) -> dict:
    """Read-only pgbench on the same machine and run: what PostgreSQL alone can answer."""
    if shutil.which("pgbench") is None:
        return {"skipped": "pgbench not installed"}
    db = "atelier_pgbench"
    args = _psql_args(url)
    subprocess.run(["dropdb", "--if-exists", *args, db], check=True)
    subprocess.run(["createdb", *args, db], check=True)
    subprocess.run(["pgbench", *args, "-i", "-q", "-s", "1", db], check=True, capture_output=True)
    out = subprocess.run(
        [
            "pgbench",
            *args,
            "-S",
            "-n",
            "-c",
            str(PGBENCH_CLIENTS),
            "-j",
            "2",
            "-T",
            str(PGBENCH_SECONDS),
            db,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    subprocess.run(["dropdb", "--if-exists", *args, db], check=True)
    tps = re.search(r"tps = ([\d.]+)", out)
    latency = re.search(r"latency average = ([\d.]+) ms", out)
    return {
        "clients": PGBENCH_CLIENTS,
        "tps": float(tps.group(1)) if tps else None,
        "latency_avg_ms": float(latency.group(1)) if latency else None,
    }


def scenario_names(requested: list[str]) -> list[str]:
    import bench.scenarios

    available = sorted(m.name for m in pkgutil.iter_modules(bench.scenarios.__path__))
    unknown = set(requested) - set(available)
    if unknown:
        raise SystemExit(f"unknown scenario(s) {sorted(unknown)}; have {available}")
    # The foundation's ping runs first: it is the baseline every other figure compares to.
    ordered = sorted(requested or available, key=lambda name: (name != "foundation", name))
    return ordered


def main(argv: list[str]) -> int:
    database_url = os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/atelier_bench"
    )
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
    ensure_database(database_url)
    workdir = Path(tempfile.mkdtemp(prefix="atelier-bench-"))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))},
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "bench-secret-key-" + "b" * 40,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "MEDIA_ROOT": str(workdir / "media"),
        "STORAGE_BACKEND": "local",
        # Scenarios measure endpoints, not the limiter's refusals, unless they set their own.
        "RATE_USER": "1000000/min",
        "RATE_ANON": "1000000/min",
        "RATE_UPLOADS": "1000000/hour",
        "RATE_LOGIN_IP": "1000000/min",
        "RATE_LOGIN_EMAIL": "1000000/min",
        "RATE_REGISTER": "1000000/hour",
        "PYTHONUNBUFFERED": "1",
    }
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=REPO_ROOT,
        env=env,
        check=True,
    )

    sys.path.insert(0, str(REPO_ROOT))
    import django

    django.setup()
    from bench.harness import Bench
    from tests.e2e.harness import Cluster

    names = scenario_names(argv)
    cluster = Cluster(workdir=workdir, base_env=env)

    def start_server(**overrides: str) -> str:
        extra = cluster.add_server(uvicorn_args=("--workers", str(SERVER_WORKERS)), **overrides)
        extra.wait_ready()
        time.sleep(1)  # let the second uvicorn worker finish booting
        return extra.url

    server = cluster.add_server(uvicorn_args=("--workers", str(SERVER_WORKERS)))
    cluster.add_worker(concurrency=2)
    rows: list[dict] = []
    try:
        cluster.wait_ready()
        time.sleep(1)  # let the second uvicorn worker finish booting
        for name in names:
            print(f"== scenario {name}", flush=True)
            bench = Bench(server.url, name, start_server)
            module = importlib.import_module(f"bench.scenarios.{name}")
            module.run(bench)
            rows.extend(bench.results)
    finally:
        cluster.close()
    ceiling = pgbench_ceiling(database_url)
    print(json.dumps({"pgbench_select_only": ceiling}), flush=True)
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    out = RESULTS_DIR / f"bench-{stamp}.json"
    out.write_text(json.dumps({"results": rows, "pgbench": ceiling}, indent=2))
    print_table(rows, ceiling)
    print(f"\nraw results: {out.relative_to(REPO_ROOT)}")
    return 0


def print_table(rows: list[dict], ceiling: dict) -> None:
    print("\n| scenario | endpoint | conc | requests | req/s | p50 ms | p99 ms | non-2xx/errors |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for row in rows:
        if row.get("kind") != "http":
            continue
        bad = {k: v for k, v in row["statuses"].items() if not k.startswith("2")}
        print(
            f"| {row['scenario']} | {row['name']} | {row['concurrency']} | {row['requests']} "
            f"| {row['rps']} | {row['p50_ms']} | {row['p99_ms']} | "
            f"{bad or ''}{' errors=' + str(row['errors']) if row['errors'] else ''} |"
        )
    for row in rows:
        if row.get("kind") == "figures":
            figures = {k: v for k, v in row.items() if k not in {"scenario", "kind", "name"}}
            print(f"- {row['scenario']} / {row['name']}: {figures}")
    print(f"- pgbench -S (ceiling): {ceiling}")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
