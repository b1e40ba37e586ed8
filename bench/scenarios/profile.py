"""Where a bearer quote GET spends its CPU: py-spy samples the `web` workers while wrk
drives GET /api/quotes/{id} at 16 clients.

Writes the collapsed stacks (the input of flamegraph.pl / speedscope) to
bench/results/profile-<time>.txt and records the top frames by self time (the function
that was on the CPU, its callers not counted) and the share of samples inside a few
layers (inclusive). Needs py-spy (a dev dependency) and ptrace rights (root, or
kernel.yama.ptrace_scope=0).
"""

import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from bench.goals import QUOTE_GET
from bench.measure import run_wrk
from bench.scenarios.quotes import job

SECONDS = 15
RATE_HZ = 200
TOP = 25
# Only samples of threads serving a request count (the pool's and the server's own idle
# threads are not always recognised as idle by py-spy).
REQUEST_MARKER = "django/core/handlers/wsgi.py"
WARMUP_S = 3
# Inclusive shares: a sample counts for a layer when any frame of its stack matches.
LAYERS = {
    "waiting for PostgreSQL (psycopg Connection.wait)": "Connection.wait (",
    "middleware chain (all)": "django/utils/deprecation.py",
    "DRF dispatch (APIView.dispatch)": "rest_framework/views.py",
    "authentication": "accounts/authentication.py",
    "throttling": "accounts/throttling.py",
    "database (psycopg execute)": "psycopg/cursor.py",
    "connection pool getconn/putconn": "psycopg_pool/pool.py",
    "serializer to_representation": "rest_framework/serializers.py",
    "rendering (JSON)": "rest_framework/renderers.py",
    "URL resolving": "django/urls/resolvers.py",
}


def _frame_name(frame: str) -> str:
    """'get (rest_framework/views.py:123)' -> 'get (rest_framework/views.py)'."""
    name, _, location = frame.partition(" (")
    path = location.rsplit(":", 1)[0]
    for marker in ("site-packages/", "/perf/", "/atelier/", "lib/python3."):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})"


def summarize(collapsed: str) -> dict:
    self_time: Counter[str] = Counter()
    layers: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        if REQUEST_MARKER not in stack:
            continue
        frames = [f for f in stack.split(";") if not f.startswith("process ")]
        total += count
        self_time[_frame_name(frames[-1])] += count
        for layer, marker in LAYERS.items():
            if marker in stack:
                layers[layer] += count
    return {
        "samples": total,
        "top_self": [
            {"frame": frame, "self_pct": round(100 * n / total, 1)}
            for frame, n in self_time.most_common(TOP)
        ],
        "layers_inclusive_pct": {
            layer: round(100 * layers[layer] / total, 1) for layer in LAYERS if total
        },
    }


def run(bench) -> None:
    from quotes.identity import Caller
    from quotes.selectors import credit_schedule_active
    from quotes.serializers import JobInputSerializer
    from quotes.services import quote_create

    py_spy = Path(sys.executable).parent / "py-spy"
    if not py_spy.exists():
        bench.record("profile", skipped="py-spy not installed (make install)")
        return
    owner = bench.make_user()
    token = bench.token_for(owner)
    schedule = credit_schedule_active()
    data = JobInputSerializer(data=job(None), context={"schedule": schedule})
    data.is_valid(raise_exception=True)
    quote = quote_create(
        caller=Caller(user=owner, session_id=None), schedule=schedule, **data.validated_data
    )
    web = next(p for p in bench.cluster.servers if p.name.startswith("web"))
    out = (
        Path(__file__).resolve().parents[1]
        / "results"
        / f"profile-{time.strftime('%Y%m%dT%H%M%S')}.txt"
    )
    out.parent.mkdir(exist_ok=True)
    url = f"{bench.base_url}/api/quotes/{quote.id}"
    run_wrk(url, concurrency=16, seconds=WARMUP_S, env={"BENCH_TOKEN": token})
    recorder = subprocess.Popen(
        [
            str(py_spy),
            "record",
            "--pid",
            str(web.popen.pid),
            "--subprocesses",
            "--rate",
            str(RATE_HZ),
            "--duration",
            str(SECONDS),
            "--nonblocking",
            "--format",
            "raw",
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(1)  # py-spy attached
    load = {}
    driver = threading.Thread(
        target=lambda: load.update(
            run_wrk(
                url,
                concurrency=16,
                seconds=SECONDS - 2,
                env={"BENCH_TOKEN": token},
            )
        )
    )
    driver.start()
    driver.join()
    _, stderr = recorder.communicate(timeout=60)
    if not out.exists():
        bench.record("profile", skipped=f"py-spy failed: {stderr.decode()[-300:]}")
        return
    summary = summarize(out.read_text())
    bench.record(
        f"profile of {QUOTE_GET} at c=16 under py-spy",
        rps_while_sampled=load.get("rps"),
        collapsed_stacks=str(out.relative_to(out.parents[2])),
        **summary,
    )
