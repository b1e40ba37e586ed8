"""Operating real processes: probes against a refusing database, metrics summed over the
worker processes of one server, request ids from a request into the task it enqueued."""

import json
import time

import requests
from prometheus_client.parser import text_string_to_metric_families

from config.celery import app as celery_app
from tests.e2e.harness import Process, free_port

# A functional bound, not a benchmark: far below the 30 s pool timeout configured below,
# so a 503 inside it can only come from the refusal path.
CLIENT_TIMEOUT_S = 5
POOL_TIMEOUT_S = "30"
METRICS_TOKEN = "e2e-metrics-token"
BATCH = 20
MAX_BATCHES = 50
WAIT_S = 60


def json_lines(process: Process) -> list[dict]:
    lines = []
    for line in process.log_path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue  # a line another process cut through
    return lines


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def wait_for(predicate, *, what: str, timeout_s: float = WAIT_S):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_refusing_database_is_a_503_at_once_while_live_stays_200(cluster):
    # given a server whose database port refuses connections, with a 30 s pool timeout
    server = cluster.add_server(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/atelier",
        DB_POOL_TIMEOUT_S=POOL_TIMEOUT_S,
    )
    cluster.wait_ready()

    # when the probes and an endpoint that needs the database are called
    ready = requests.get(f"{server.url}/api/health/ready", timeout=CLIENT_TIMEOUT_S)
    again = requests.get(f"{server.url}/api/health/ready", timeout=CLIENT_TIMEOUT_S)
    live = requests.get(f"{server.url}/api/health/live", timeout=CLIENT_TIMEOUT_S)
    api = requests.get(
        f"{server.url}/api/quotes/session/e2e-session-refused-db",
        headers={"X-Session-Id": "e2e-session-refused-db"},
        timeout=CLIENT_TIMEOUT_S,
    )

    # then the database's refusal answers 503 with Retry-After well inside the pool
    # timeout, and liveness does not depend on it
    for response in (ready, again, api):
        assert response.status_code == 503, response.text
        assert response.json()["error"] == "service_unavailable"
        assert int(response.headers["Retry-After"]) > 0
    assert live.status_code == 200
    assert live.json() == {"status": "ok"}
    assert server.alive()


def test_metrics_add_up_over_the_worker_processes_of_one_server(cluster, tmp_path):
    # given one server with two worker processes sharing a metrics directory
    server = cluster.add_server(
        STREAM_CONCURRENCY="2",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
        METRICS_TOKEN=METRICS_TOKEN,
        LOG_FORMAT="json",
    )
    cluster.wait_ready()

    # when requests are sent on fresh connections until both workers have answered some
    sent = 0
    pids: set[int] = set()
    for _ in range(MAX_BATCHES):
        for _ in range(BATCH):
            response = requests.get(
                f"{server.url}/api/health/live", headers={"Connection": "close"}, timeout=10
            )
            assert response.status_code == 200
            sent += 1
        pids = {
            line["process"]
            for line in json_lines(server)
            if line.get("logger") == "atelier.access" and line.get("route") == "/api/health/live"
        }
        if len(pids) == 2:
            break
    assert len(pids) == 2, "one worker answered everything"

    # then a scrape of either worker counts every request exactly once
    auth = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    scraped = requests.get(f"{server.url}/metrics", headers=auth, timeout=10)
    assert scraped.status_code == 200
    figures = samples(scraped.text)
    labels = (("method", "GET"), ("route", "/api/health/live"), ("status", "200"))
    assert figures[("atelier_http_requests_total", labels)] == sent
    assert figures[("atelier_http_request_duration_seconds_count", labels)] == sent
    refused = requests.get(f"{server.url}/metrics", timeout=10)
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_token"


def test_open_streams_are_counted_while_open(cluster, tmp_path):
    # given a run nobody works on (no worker), so its streams stay open and idle
    server = cluster.add_server(PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))
    cluster.wait_ready()
    session = {"X-Session-Id": "e2e-open-streams-session"}
    run = requests.post(
        f"{server.url}/api/quote-runs",
        json={
            "session_id": session["X-Session-Id"],
            "files": [{"id": "f1", "name": "a.jpg", "size_bytes": 10, "width": 10, "height": 10}],
            "ops": {"resize": True},
        },
        timeout=10,
    ).json()

    def open_streams() -> float:
        text = requests.get(f"{server.url}/metrics", timeout=10).text
        return samples(text).get(("atelier_open_streams", ()), -1)

    # when two streams are opened, then closed
    streams = [
        requests.get(
            f"{server.url}{run['stream_url']}", headers=session, stream=True, timeout=(5, 30)
        )
        for _ in range(2)
    ]
    assert [stream.status_code for stream in streams] == [200, 200]
    wait_for(lambda: open_streams() == 2, what="the open streams to count")
    for stream in streams:
        stream.close()

    # then they stop counting once the server notices the disconnects
    wait_for(lambda: open_streams() == 0, what="the closed streams to stop counting")


def test_a_request_id_follows_the_request_into_its_task(cluster, tmp_path):
    # given a server and a worker logging JSON, the worker serving its own metrics, and
    # no task left in the broker by earlier tests
    celery_app.control.purge()
    request_id = "abc-e2e-trace.0001"
    worker_metrics_port = free_port()
    server = cluster.add_server(LOG_FORMAT="json")
    worker = cluster.add_worker(
        LOG_FORMAT="json",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "worker-metrics"),
        WORKER_METRICS_PORT=str(worker_metrics_port),
        METRICS_TOKEN=METRICS_TOKEN,
    )
    cluster.wait_ready()

    # when a request that enqueues a task carries an id
    response = requests.post(
        f"{server.url}/api/quote-runs",
        json={
            "session_id": "e2e-request-id-session",
            "files": [{"id": "f1", "name": "a.jpg", "size_bytes": 10, "width": 10, "height": 10}],
            "ops": {"resize": True},
        },
        headers={"X-Request-ID": request_id},
        timeout=10,
    )
    assert response.status_code == 202, response.text
    assert response.headers["X-Request-ID"] == request_id
    status_url = f"{server.url}{response.json()['status_url']}"
    wait_for(
        lambda: (
            requests.get(
                status_url, headers={"X-Session-Id": "e2e-request-id-session"}, timeout=10
            ).json()["status"]
            == "completed"
        ),
        what="the run to complete",
    )

    # then the server's and the worker's lines for it carry the id
    server_lines = [line for line in json_lines(server) if line.get("request_id") == request_id]
    assert any(line["logger"] == "atelier.access" for line in server_lines), server_lines
    worker_lines = wait_for(
        lambda: [
            line
            for line in json_lines(worker)
            if line.get("request_id") == request_id and "succeeded" in line.get("message", "")
        ],
        what="the worker's task log line",
    )
    assert worker_lines[0]["logger"].startswith("celery")
    assert {"time", "level", "logger", "message", "process"} <= set(worker_lines[0])
    # ... and the worker's own endpoint counts the task
    scraped = requests.get(
        f"http://127.0.0.1:{worker_metrics_port}/metrics",
        headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
        timeout=10,
    )
    task = (("outcome", "success"), ("task", "quote_runs.execute"))
    assert samples(scraped.text)[("atelier_tasks_total", task)] == 1
