"""`make bench`: the Procfile's servers, load from separate processes, pgbench -S as ceiling.

    .venv/bin/python -m bench.run [scenario ...]   # default: every bench/scenarios/*.py

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/atelier_bench,
created if missing), BENCH_REDIS_URL (default redis://127.0.0.1:6379/9),
BENCH_WRK_SECONDS (10), BENCH_PGBENCH_SECONDS (10). Needs wrk and pgbench (installed with
apt-get when run as root, else it says which packages to install).
"""

import importlib
import json
import os
import pkgutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from bench.goals import evaluate_goals
from bench.measure import PgBench, ensure_tools, psql_args

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "bench" / "results"
# Worker processes of the Procfile's `web` (WEB_CONCURRENCY) and `stream` processes.
WEB_WORKERS = 2
STREAM_WORKERS = 1
# Run first (the headline figures, on the freshest database) and last (bulk data).
FIRST = ("headline", "foundation")
LAST = ("cleanup", "event_retention")


def _database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def ensure_database(url: str) -> None:
    name = _database_name(url)
    exists = subprocess.run(
        [
            "psql",
            *psql_args(url),
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
        subprocess.run(["createdb", *psql_args(url), name], check=True)


def scenario_names(requested: list[str]) -> list[str]:
    import bench.scenarios

    available = sorted(m.name for m in pkgutil.iter_modules(bench.scenarios.__path__))
    unknown = set(requested) - set(available)
    if unknown:
        raise SystemExit(f"unknown scenario(s) {sorted(unknown)}; have {available}")

    def position(name: str) -> tuple[int, int, str]:
        if name in FIRST:
            return (0, FIRST.index(name), name)
        if name in LAST:
            return (2, LAST.index(name), name)
        return (1, 0, name)

    return sorted(requested or available, key=position)


def bench_env(database_url: str, redis_url: str, workdir: Path) -> dict[str, str]:
    venv_bin = str(Path(sys.executable).parent)
    return {
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
        # The Procfile's commands (granian, uvicorn, celery) come from this virtualenv.
        "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),
    }


def main(argv: list[str]) -> int:
    ensure_tools()
    database_url = os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/atelier_bench"
    )
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
    ensure_database(database_url)
    workdir = Path(tempfile.mkdtemp(prefix="atelier-bench-"))
    env = bench_env(database_url, redis_url, workdir)
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
    pgbench = PgBench(database_url)

    def start_server(**overrides: str) -> str:
        extra = cluster.add_procfile_server(
            "web", **{"WEB_CONCURRENCY": str(WEB_WORKERS), **overrides}
        )
        extra.wait_ready()
        time.sleep(1)  # let the second worker finish booting
        return extra.url

    web = cluster.add_procfile_server("web", WEB_CONCURRENCY=str(WEB_WORKERS))
    stream = cluster.add_procfile_server("stream", STREAM_CONCURRENCY=str(STREAM_WORKERS))
    cluster.add_worker(concurrency=2)
    rows: list[dict] = []
    started = time.strftime("%Y-%m-%d %H:%M")
    try:
        cluster.wait_ready()
        time.sleep(1)  # let the second worker finish booting
        for name in names:
            print(f"== scenario {name}", flush=True)
            bench = Bench(
                web.url,
                name,
                start_server,
                stream_url=stream.url,
                pgbench=pgbench,
                cluster=cluster,
            )
            module = importlib.import_module(f"bench.scenarios.{name}")
            module.run(bench)
            rows.extend(bench.results)
    finally:
        cluster.close()
        pgbench.close()
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    out = RESULTS_DIR / f"bench-{stamp}.json"
    goals = evaluate_goals(rows)
    out.write_text(
        json.dumps(
            {
                "started": started,
                "cpus": os.cpu_count(),
                "results": rows,
                "pgbench": list(pgbench.results.values()),
                "goals": goals,
            },
            indent=2,
        )
    )
    print_table(rows, pgbench)
    print_goals(goals)
    print(f"\nraw results: {out.relative_to(REPO_ROOT)}")
    return 0


def _bad(row: dict) -> str:
    if row["kind"] == "wrk":
        notes = []
        if row["status_4xx_5xx"] and not row.get("expect_status", 200) >= 400:
            notes.append(f"{row['status_4xx_5xx']} answers >= 400")
        if row["socket_errors"]:
            notes.append(f"socket errors {row['socket_errors']}")
        return "; ".join(notes)
    bad = {k: v for k, v in row["statuses"].items() if not k.startswith("2")}
    return f"{bad or ''}{' errors=' + str(row['errors']) if row['errors'] else ''}"


def print_table(rows: list[dict], pgbench: PgBench) -> None:
    print(
        "\n| scenario | endpoint | conc | requests | req/s | share of pgbench -S | p50 ms | p99 ms "
        "| non-2xx/errors |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for row in rows:
        if row.get("kind") not in ("http", "wrk"):
            continue
        ratio = f"{row['ratio'] * 100:.2f} %" if row.get("ratio") is not None else ""
        print(
            f"| {row['scenario']} | {row['name']} | {row['concurrency']} | {row['requests']} "
            f"| {row['rps']} | {ratio} | {row['p50_ms']} | {row['p99_ms']} | {_bad(row)} |"
        )
    for row in rows:
        if row.get("kind") == "figures":
            figures = {k: v for k, v in row.items() if k not in {"scenario", "kind", "name"}}
            print(f"- {row['scenario']} / {row['name']}: {figures}")
    for result in pgbench.results.values():
        print(
            f"- pgbench -S -c {result['clients']}: {result['tps']} tps, "
            f"{result['latency_avg_ms']} ms average (load average {result['load_average']:.2f})"
        )


def print_goals(goals: list[dict]) -> None:
    print("\n| goal | measured | target | result |")
    print("| --- | ---: | ---: | --- |")
    for goal in goals:
        print(f"| {goal['label']} | {goal['measured']} | {goal['target']} | {goal['result']} |")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
