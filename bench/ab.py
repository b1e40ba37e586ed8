"""Before/after of one change: two git revisions served side by side, measured in turns.

    .venv/bin/python -m bench.ab BEFORE AFTER [--rounds 3] [--seconds 5] [--kind web]

Each revision is exported (git archive) to a temporary directory and started with its own
Procfile line `kind` (default `web`) from there (a revision without a Procfile: uvicorn
with 2 workers, as it was served then), both on the bench database; then the
headline requests (bench/scenarios/headline.py) run against one and the other in
alternation, `rounds` times, so a burst of noise from other work on the machine hits both
alike. Prints the median of each figure per revision. Migrations of AFTER are applied
first (both revisions must work on that schema).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

from bench.goals import NOT_FOUND, QUOTE_GET, QUOTE_POST
from bench.measure import process_group_cpu_s, run_wrk
from bench.run import REPO_ROOT, bench_env, ensure_database


def export(revision: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "archive", revision], cwd=REPO_ROOT, capture_output=True, check=True
    ).stdout
    target = into / revision.replace("/", "_")
    target.mkdir(parents=True)
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--kind", default="web")
    args = parser.parse_args(argv)

    database_url = os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/atelier_bench"
    )
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
    ensure_database(database_url)
    workdir = Path(tempfile.mkdtemp(prefix="atelier-ab-"))
    env = bench_env(database_url, redis_url, workdir)
    trees = {rev: export(rev, workdir) for rev in (args.before, args.after)}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=trees[args.after],
        env=env,
        check=True,
    )
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    sys.path.insert(0, str(REPO_ROOT))
    import django

    django.setup()
    from bench.harness import Bench
    from bench.scenarios.quotes import job
    from tests.e2e.harness import Process, free_port, procfile_commands

    fixtures = Bench("", "ab", lambda **_: "")
    owner = fixtures.make_user()
    token = fixtures.token_for(owner)
    from quotes.identity import Caller
    from quotes.selectors import credit_schedule_active
    from quotes.serializers import JobInputSerializer
    from quotes.services import quote_create

    schedule = credit_schedule_active()
    data = JobInputSerializer(data=job(None), context={"schedule": schedule})
    data.is_valid(raise_exception=True)
    quote = quote_create(
        caller=Caller(user=owner, session_id=None), schedule=schedule, **data.validated_data
    )
    body = workdir / "body.json"
    body.write_text(__import__("json").dumps(job(None)))

    servers = {}
    for rev, tree in trees.items():
        port = free_port()
        procfile = tree / "Procfile"
        # Revisions from before the Procfile served everything with uvicorn, 2 workers.
        command = (
            procfile_commands(procfile)[args.kind]
            if procfile.exists()
            else f"{sys.executable} -m uvicorn config.asgi:application --workers 2 "
            "--lifespan off --no-access-log --host 127.0.0.1 --port $PORT"
        )
        process = Process(
            name=f"{args.kind}-{rev}",
            argv=["/bin/sh", "-c", "exec " + command],
            env={**env, "PORT": str(port), "HOST": "127.0.0.1"},
            log_path=workdir / f"{rev.replace('/', '_')}.log",
            port=port,
            cwd=tree,
        )
        process.start()
        servers[rev] = process
    figures: dict[str, dict[str, list[float]]] = {rev: {} for rev in trees}
    try:
        for process in servers.values():
            process.wait_ready()
        time.sleep(2)
        measures = [
            (f"{QUOTE_GET} c=16 req/s", "rps", f"/api/quotes/{quote.id}", 16, "get.lua"),
            (f"{QUOTE_GET} c=1 p50 ms", "p50_ms", f"/api/quotes/{quote.id}", 1, "get.lua"),
            (f"{QUOTE_POST} c=16 req/s", "rps", "/api/quotes", 16, "post.lua"),
            (f"{NOT_FOUND} c=16 req/s", "rps", "/api/no-such-endpoint", 16, "get.lua"),
        ]
        for round_index in range(args.rounds):
            order = list(servers.items())
            if round_index % 2:
                order.reverse()
            for label, key, path, concurrency, script in measures:
                for rev, process in order:
                    cpu_before = process_group_cpu_s(process.popen.pid)
                    result = run_wrk(
                        process.url + path,
                        concurrency=concurrency,
                        seconds=args.seconds,
                        script=script,
                        env={"BENCH_TOKEN": token, "BENCH_BODY_FILE": str(body)},
                    )
                    cpu_s = process_group_cpu_s(process.popen.pid) - cpu_before
                    figures[rev].setdefault(label, []).append(result[key])
                    if key == "rps" and result["requests"]:
                        per_request = 1000 * cpu_s / result["requests"]
                        figures[rev].setdefault(
                            label.replace("req/s", "server CPU ms/request"), []
                        ).append(per_request)
            print(f"round {round_index + 1}/{args.rounds} done", flush=True)
    finally:
        for process in servers.values():
            process.stop()
    print(f"\nload average now: {os.getloadavg()}")
    print(f"\n| figure (median of {args.rounds}) | {args.before} | {args.after} | after/before |")
    print("| --- | ---: | ---: | ---: |")
    for label in figures[args.before]:
        a = statistics.median(figures[args.before][label])
        b = statistics.median(figures[args.after][label])
        print(f"| {label} | {a:.2f} | {b:.2f} | {b / a:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
