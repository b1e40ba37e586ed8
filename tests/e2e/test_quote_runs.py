"""Quote runs across real instances: a stream resumes on another instance with no gap and no
duplicate (with Redis pub/sub and with it unreachable), and state survives kill -9 of the
instance streaming it and of the worker running it (or, out of attempts, the reaper on beat
fails the run)."""

import json
import socket
import time
from datetime import timedelta

import pytest
import requests
from django.db import connection
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from quotes.runs.models import QuoteRun, QuoteRunEvent
from tests.e2e.harness import free_port

SESSION = "e2e-quote-run-session-01"
HEADERS = {"X-Session-Id": SESSION}
# Per-file work of each built-in provider: a run of 4 files x 3 providers lasts ~3.6 s,
# long enough to drop a stream in the middle of it.
STEP_S = "0.3"
FILES = [
    {"id": f"f{i}", "name": f"p{i}.jpg", "size_bytes": 1000, "width": 2000, "height": 1500}
    for i in range(1, 5)
]
TIMEOUT_S = 30
# The broker hands an unacknowledged task out again after VISIBILITY_S; a dead attempt's
# claim lasts LEASE_S.
VISIBILITY_S = 4
LEASE_S = 3


class SseClient:
    """Reads SSE blocks from a live HTTP response, as they arrive."""

    def __init__(self, url: str, last_event_id: int | None = None):
        headers = dict(HEADERS)
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.response = requests.get(url, headers=headers, stream=True, timeout=(5, TIMEOUT_S))
        assert self.response.status_code == 200, self.response.text[:300]
        assert self.response.headers["Content-Type"].startswith("text/event-stream")
        self.chunks = self.response.iter_content(chunk_size=None)
        self.buffer = ""

    def next_event(self) -> dict | None:
        """The next event (comments skipped), or None when the server ended the stream."""
        while True:
            while "\n\n" in self.buffer:
                block, self.buffer = self.buffer.split("\n\n", 1)
                fields = dict(line.split(": ", 1) for line in block.split("\n") if line)
                if "id" in fields:
                    return {
                        "id": int(fields["id"]),
                        "event": fields["event"],
                        "data": json.loads(fields["data"]),
                    }
            chunk = next(self.chunks, None)
            if chunk is None:
                return None
            self.buffer += chunk.decode()

    def rest(self) -> list[dict]:
        events = []
        while (event := self.next_event()) is not None:
            events.append(event)
        return events

    def close(self) -> None:
        self.response.close()


def start_run(server) -> dict:
    response = requests.post(
        f"{server.url}/api/quote-runs",
        json={"session_id": SESSION, "files": FILES, "ops": {"upscale": True}},
        timeout=10,
    )
    assert response.status_code == 202, response.text
    return response.json()


def status(server, run: dict) -> dict:
    response = requests.get(f"{server.url}{run['status_url']}", headers=HEADERS, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def resume_on_another_instance(cluster, **env) -> tuple[list[dict], list[dict], dict]:
    first, second = cluster.add_server(**env), cluster.add_server(**env)
    cluster.add_worker(QUOTE_RUN_PROVIDER_STEP_S=STEP_S, **env)
    cluster.wait_ready()
    run = start_run(first)

    on_first = SseClient(f"{first.url}{run['stream_url']}")
    head = [on_first.next_event() for _ in range(3)]
    on_first.close()
    assert status(second, run)["status"] == "processing", "dropped after the run ended"
    on_second = SseClient(f"{second.url}{run['stream_url']}", last_event_id=head[-1]["id"])
    tail = on_second.rest()
    return head, tail, status(second, run)


def assert_exactly_once_in_order(head: list[dict], tail: list[dict], final: dict) -> None:
    ids = [event["id"] for event in head + tail]
    assert ids == list(range(1, len(ids) + 1))
    assert ids[-1] == final["last_event_id"]
    assert tail[-1]["event"] == "run.completed"
    assert tail[-1]["data"] == final["result"]
    assert final["status"] == "completed"
    offers = final["result"]["offers"]
    assert {offer["provider"] for offer in offers} == {"standard", "priority", "bulk"}
    assert [offer["credits_total"] for offer in offers] == sorted(
        offer["credits_total"] for offer in offers
    )


def test_stream_resumes_on_another_instance_with_pubsub(cluster):
    head, tail, final = resume_on_another_instance(cluster)

    assert_exactly_once_in_order(head, tail, final)
    progress = [event for event in head + tail if event["event"] == "provider.progress"]
    assert len(progress) == 3 * len(FILES)


def test_stream_resumes_on_another_instance_with_redis_pubsub_unreachable(cluster):
    # Pub/sub points at a port nothing listens on (the broker keeps the real Redis, so
    # the worker still gets the task): publishes fail, streams fall back to polling.
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"

    head, tail, final = resume_on_another_instance(cluster, QUOTE_RUN_PUBSUB_URL=dead_redis)

    assert_exactly_once_in_order(head, tail, final)
    servers_log = "".join(server.log_tail() for server in cluster.servers)
    assert "pub/sub unavailable, polling" in servers_log
    assert "wake-up publish failed" in cluster.workers[0].log_tail()


def test_run_survives_kill9_of_the_instance_streaming_it(cluster):
    first, second = cluster.add_server(), cluster.add_server()
    cluster.add_worker(QUOTE_RUN_PROVIDER_STEP_S=STEP_S)
    cluster.wait_ready()
    run = start_run(first)
    on_first = SseClient(f"{first.url}{run['stream_url']}")
    head = [on_first.next_event() for _ in range(2)]

    first.kill9()
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        on_first.rest()  # the connection died with the instance
    assert status(second, run)["status"] == "processing"
    first.start()
    first.wait_ready()

    deadline = time.monotonic() + TIMEOUT_S
    while status(first, run)["status"] == "processing":
        assert time.monotonic() < deadline, "the run never finished"
        time.sleep(0.2)
    on_restarted = SseClient(f"{first.url}{run['stream_url']}", last_event_id=head[-1]["id"])
    tail = on_restarted.rest()
    final_first, final_second = status(first, run), status(second, run)

    assert final_first == final_second
    assert_exactly_once_in_order(head, tail, final_first)


def test_run_survives_kill9_of_its_worker_mid_run(cluster):
    # given a run whose worker is killed in the middle of it, a stream following it
    env = {
        "QUOTE_RUN_PROVIDER_STEP_S": STEP_S,
        "CELERY_VISIBILITY_TIMEOUT_S": str(VISIBILITY_S),
        "JOB_LEASE_S": str(LEASE_S),
    }
    server = cluster.add_server(**env)
    worker = cluster.add_worker(**env)
    cluster.wait_ready()
    run = start_run(server)
    stream = SseClient(f"{server.url}{run['stream_url']}")
    head = [stream.next_event() for _ in range(4)]
    worker.kill9()
    assert status(server, run)["status"] == "processing", "the run ended before the kill"
    claimed_at = QuoteRun.objects.get(pk=run["run_id"]).claimed_until - timedelta(seconds=LEASE_S)

    # when another worker starts once the task is due for redelivery
    while time.time() < claimed_at.timestamp() + VISIBILITY_S + 1:
        time.sleep(0.1)
    cluster.add_worker(**env).wait_ready()

    # then it resumes the run: the stream gets every remaining event once, in order
    tail = stream.rest()
    final = status(server, run)
    assert_exactly_once_in_order(head, tail, final)
    assert QuoteRun.objects.get(pk=run["run_id"]).attempts == 2
    keys = list(QuoteRunEvent.objects.filter(run_id=run["run_id"]).values_list("key", flat=True))
    assert len(keys) == len(set(keys)) == final["last_event_id"]


def thread_count(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status_file:
        line = next(line for line in status_file if line.startswith("Threads:"))
    return int(line.split()[1])


def database_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


def test_idle_streams_hold_no_thread_and_no_database_connection(cluster):
    """More idle streams than the pool has connections, and the thread count stays flat."""
    server = cluster.add_server(DB_POOL_MAX="5")
    cluster.wait_ready()
    run = start_run(server)  # no worker: the run stays processing, its streams idle
    requests.get(f"{server.url}/api/ping", timeout=5)
    threads_before, connections_before = thread_count(server.popen.pid), database_connections()

    sockets = []
    for _ in range(60):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        sock.sendall(
            f"GET {run['stream_url']} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"X-Session-Id: {SESSION}\r\n\r\n".encode()
        )
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        sockets.append(sock)
    time.sleep(1)
    threads_idle, connections_idle = thread_count(server.popen.pid), database_connections()
    for sock in sockets:
        sock.close()

    assert threads_idle - threads_before <= 4, (threads_before, threads_idle)
    assert connections_idle - connections_before <= 2, (connections_before, connections_idle)
    assert requests.get(f"{server.url}/api/ping", timeout=5).status_code == 200


def test_a_run_whose_every_attempt_died_is_failed_by_the_reaper_on_beat(cluster):
    # given one attempt allowed, a short lease, and the worker killed mid-run
    env = {"QUOTE_RUN_PROVIDER_STEP_S": STEP_S, "QUOTE_RUN_MAX_ATTEMPTS": "1", "JOB_LEASE_S": "2"}
    server = cluster.add_server(**env)
    worker = cluster.add_worker(**env)
    cluster.wait_ready()
    run = start_run(server)
    stream = SseClient(f"{server.url}{run['stream_url']}")
    head = [stream.next_event() for _ in range(3)]
    worker.kill9()
    assert status(server, run)["status"] == "processing", "the run ended before the kill"

    # when beat runs the registered reaper every second (the broker's redelivery is 10
    # minutes away)
    every_second, _ = IntervalSchedule.objects.get_or_create(
        every=1, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.update_or_create(
        name="cleanup: stuck_quote_runs",
        defaults={
            "task": "config.cleanup",
            "interval": every_second,
            "kwargs": json.dumps({"name": "stuck_quote_runs"}),
            "enabled": True,
        },
    )
    for process in (cluster.add_worker(**env), cluster.add_beat(**env)):
        process.wait_ready()

    # then the run fails once its lease ended, and the stream ends with that event, in order
    tail = stream.rest()
    final = status(server, run)
    ids = [event["id"] for event in head + tail]
    assert ids == list(range(1, final["last_event_id"] + 1))
    assert tail[-1]["event"] == "run.failed"
    assert final["status"] == "failed"
    assert "interrupted 1 times" in final["error"]
    assert QuoteRun.objects.get(pk=run["run_id"]).attempts == 1
