"""Graceful shutdown of the Procfile's processes: on SIGTERM the stream process ends its open
event streams at once and cleanly (the client resumes on another instance with
Last-Event-ID, missing nothing), finishes the requests in flight and exits within its
bound; the web process finishes the requests in flight; a worker finishes its task."""

import json
import os
import signal
import socket
import time

import requests

from quotes.runs.models import QuoteRun
from quotes.services import credit_schedule_ensure_default
from tests.e2e.harness import Process
from tests.e2e.test_quote_runs import FILES, SESSION, SseClient, start_run, status

# Slower providers than elsewhere: a run lasts ~6 s, so "the stream ended at once" and
# "the stream ended with its run" are seconds apart.
STEP_S = "0.5"
# How soon a draining stream must end, and a drained process exit (a functional bound,
# far below the run's remaining seconds and the server's 20 s graceful timeout).
STREAM_END_BOUND_S = 2.0
EXIT_BOUND_S = 8.0
# A worker finishes its run first: the run's ~6 s plus start-up slack.
WORKER_EXIT_BOUND_S = 20.0
# How long the in-flight request keeps its body unfinished after the SIGTERM.
IN_FLIGHT_HOLD_S = 1.0


def quote_body() -> bytes:
    job = {"session_id": SESSION, "files": FILES[:1], "ops": {"upscale": True}}
    return json.dumps(job).encode()


def start_unfinished_request(process: Process) -> tuple[socket.socket, bytes]:
    """POST /api/quotes with only half its body sent: a request in flight until the rest
    comes. Returns the socket and the bytes still to send."""
    body = quote_body()
    sock = socket.create_connection(("127.0.0.1", process.port), timeout=10)
    head = (
        f"POST /api/quotes HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    half = len(body) // 2
    sock.sendall(head + body[:half])
    return sock, body[half:]


def finish_request(sock: socket.socket, rest: bytes) -> tuple[int, dict]:
    sock.sendall(rest)
    raw = b""
    while chunk := sock.recv(65536):
        raw += chunk
    sock.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    status_code = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        size, _, rest_payload = payload.partition(b"\r\n")
        payload = rest_payload[: int(size, 16)]
    return status_code, json.loads(payload)


def wait_exit(process: Process, bound_s: float) -> float:
    started = time.monotonic()
    process.popen.wait(timeout=bound_s)
    return time.monotonic() - started


def test_sigterm_ends_streams_at_once_and_the_client_resumes_elsewhere(cluster):
    # given two stream processes from the Procfile, a run in progress streamed from A,
    # and an ordinary request in flight on A
    credit_schedule_ensure_default()
    a = cluster.add_procfile_server("stream")
    b = cluster.add_procfile_server("stream")
    cluster.add_worker(QUOTE_RUN_PROVIDER_STEP_S=STEP_S)
    cluster.wait_ready()
    run = start_run(a)
    on_a = SseClient(f"{a.url}{run['stream_url']}")
    head = [on_a.next_event() for _ in range(3)]
    sock, rest = start_unfinished_request(a)
    time.sleep(0.2)  # the request's head has reached the server

    # when A is told to stop
    os.kill(a.popen.pid, signal.SIGTERM)
    sigterm_at = time.monotonic()
    head += on_a.rest()  # ends cleanly: a ChunkedEncodingError here would fail the test
    stream_ended_after = time.monotonic() - sigterm_at
    still_processing = status(b, run)["status"] == "processing"
    # (checked here: past this point a stream that waited for its run would fail obscurely)
    assert stream_ended_after < STREAM_END_BOUND_S, stream_ended_after
    assert still_processing, "the run ended before the stream did: nothing was shown"
    time.sleep(IN_FLIGHT_HOLD_S)
    in_flight_status, quote = finish_request(sock, rest)
    exited_after = wait_exit(a, EXIT_BOUND_S) + IN_FLIGHT_HOLD_S
    on_b = SseClient(f"{b.url}{run['stream_url']}", last_event_id=head[-1]["id"])
    tail = on_b.rest()
    final = status(b, run)

    # then (besides A's stream ending at once, mid-run) the request in flight got its
    # answer; A exited in time; B gave every remaining event exactly once, in order
    assert in_flight_status == 201, quote
    assert quote["credits_total"] > 0
    assert exited_after < EXIT_BOUND_S + IN_FLIGHT_HOLD_S
    assert "draining: signal" in a.log_tail()
    ids = [event["id"] for event in head + tail]
    assert ids == list(range(1, len(ids) + 1))
    assert ids[-1] == final["last_event_id"]
    assert final["status"] == "completed"
    assert tail[-1]["event"] == "run.completed"
    # A refuses new connections once draining (a balancer then routes to B)
    try:
        refused = requests.get(f"{a.url}/api/ping", timeout=2).status_code
    except requests.ConnectionError:
        refused = None
    assert refused is None


def test_sigterm_on_web_finishes_the_request_in_flight(cluster):
    # given the Procfile's web process with a request in flight
    credit_schedule_ensure_default()
    web = cluster.add_procfile_server("web", WEB_CONCURRENCY="1")
    cluster.wait_ready()
    sock, rest = start_unfinished_request(web)
    time.sleep(0.2)

    # when it is told to stop while the request's body is still coming
    os.kill(web.popen.pid, signal.SIGTERM)
    time.sleep(IN_FLIGHT_HOLD_S)
    in_flight_status, quote = finish_request(sock, rest)
    exited_after = wait_exit(web, EXIT_BOUND_S)

    # then the request is answered in full and the process exits in time
    assert in_flight_status == 201, quote
    assert quote["credits_total"] > 0
    assert exited_after < EXIT_BOUND_S


def test_sigterm_on_a_worker_finishes_its_run_before_it_exits(cluster):
    # given a worker from the Procfile in the middle of a quote run
    server = cluster.add_server()
    worker = cluster.add_worker(QUOTE_RUN_PROVIDER_STEP_S=STEP_S)
    cluster.wait_ready()
    run = start_run(server)
    stream = SseClient(f"{server.url}{run['stream_url']}")
    head = [stream.next_event() for _ in range(3)]

    # when it is told to stop (Celery's warm shutdown)
    os.kill(worker.popen.pid, signal.SIGTERM)
    exited_after = wait_exit(worker, WORKER_EXIT_BOUND_S)
    final = status(server, run)
    tail = stream.rest()

    # then it finished the run, in one attempt, before exiting
    assert final["status"] == "completed"
    ids = [event["id"] for event in head + tail]
    assert ids == list(range(1, final["last_event_id"] + 1))
    assert QuoteRun.objects.get(pk=run["run_id"]).attempts == 1
    assert exited_after < WORKER_EXIT_BOUND_S
