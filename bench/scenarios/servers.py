"""Which server runs the request/response API: the same app under each candidate, one at a
time, two worker processes each, measured with the headline requests (JSON 404 and a
bearer quote GET at 16 clients, its p50 at 1 client). The Procfile's `web` line is the
winner; this scenario is how it was chosen and how to re-check it.
"""

import sys
import time
from pathlib import Path

from bench.goals import NOT_FOUND, QUOTE_GET
from bench.scenarios.quotes import job

SECONDS = 6
WORKERS = "2"


def _candidates(venv_bin: Path) -> dict[str, list[str]]:
    def granian_wsgi(threads: str) -> list[str]:
        return [
            str(venv_bin / "granian"),
            "--interface",
            "wsgi",
            "--workers",
            WORKERS,
            "--blocking-threads",
            threads,
            "--no-ws",
            "--host",
            "127.0.0.1",
            "--port",
            "{port}",
            "config.wsgi:application",
        ]

    def gunicorn(*worker: str) -> list[str]:
        return [
            str(venv_bin / "gunicorn"),
            "--workers",
            WORKERS,
            *worker,
            "--bind",
            "127.0.0.1:{port}",
            "config.wsgi:application",
        ]

    return {
        "uvicorn, ASGI (Django's ASGI handler)": [
            sys.executable,
            "-m",
            "uvicorn",
            "config.asgi:application",
            "--workers",
            WORKERS,
            "--lifespan",
            "off",
            "--no-access-log",
            "--host",
            "127.0.0.1",
            "--port",
            "{port}",
        ],
        "granian, ASGI": [
            str(venv_bin / "granian"),
            "--interface",
            "asgi",
            "--workers",
            WORKERS,
            "--no-ws",
            "--host",
            "127.0.0.1",
            "--port",
            "{port}",
            "config.asgi:application",
        ],
        "granian, WSGI, 1 thread per worker": granian_wsgi("1"),
        "granian, WSGI, 2 threads per worker": granian_wsgi("2"),
        "granian, WSGI, 4 threads per worker": granian_wsgi("4"),
        "gunicorn sync (no keep-alive)": gunicorn("--worker-class", "sync"),
        "gunicorn gthread, 4 threads per worker": gunicorn(
            "--worker-class", "gthread", "--threads", "4"
        ),
    }


def run(bench) -> None:
    from quotes.identity import Caller
    from quotes.selectors import credit_schedule_active
    from quotes.serializers import JobInputSerializer
    from quotes.services import quote_create
    from tests.e2e.harness import Process, free_port

    owner = bench.make_user()
    token = bench.token_for(owner)
    schedule = credit_schedule_active()
    data = JobInputSerializer(data=job(None), context={"schedule": schedule})
    data.is_valid(raise_exception=True)
    quote = quote_create(
        caller=Caller(user=owner, session_id=None), schedule=schedule, **data.validated_data
    )
    venv_bin = Path(sys.executable).parent
    for label, template in _candidates(venv_bin).items():
        if not Path(template[0]).exists():
            bench.record(f"server {label}", skipped=f"{template[0]} not installed")
            continue
        port = free_port()
        process = Process(
            name=f"candidate-{port}",
            argv=[part.replace("{port}", str(port)) for part in template],
            env=bench.cluster._env(),
            log_path=bench.cluster.workdir / f"candidate-{port}.log",
            port=port,
        )
        process.start()
        try:
            process.wait_ready()
            time.sleep(1.5)  # every worker booted
            url = process.url
            bench.wrk(
                f"{label}: {NOT_FOUND}",
                "/api/no-such-endpoint",
                concurrency=16,
                expect_status=404,
                seconds=SECONDS,
                base_url=url,
            )
            for concurrency in (16, 1):
                bench.wrk(
                    f"{label}: {QUOTE_GET}",
                    f"/api/quotes/{quote.id}",
                    concurrency=concurrency,
                    token=token,
                    seconds=SECONDS,
                    base_url=url,
                )
        finally:
            process.stop()
