"""The Procfile's production topology: `web` (granian, WSGI) answers the API, `stream`
(uvicorn, ASGI) the event streams, each started from its Procfile line as written."""

import requests

from quotes.services import credit_schedule_ensure_default
from tests.e2e.harness import procfile_commands
from tests.e2e.test_quote_runs import FILES, SESSION, STEP_S, SseClient

TIMEOUT_S = 10


def test_procfile_names_the_production_processes():
    commands = procfile_commands()

    assert set(commands) == {"web", "stream", "worker", "beat"}
    assert "--interface wsgi" in commands["web"]
    assert "config.wsgi:application" in commands["web"]
    assert "config.asgi:application" in commands["stream"]
    for kind in ("web", "stream"):
        assert "$PORT" in commands[kind] or "${PORT" in commands[kind]
    assert "WEB_CONCURRENCY" in commands["web"]
    # Streams drain on SIGTERM only with the lifespan (config/shutdown.py), within a bound.
    assert "--lifespan on" in commands["stream"]
    assert "--timeout-graceful-shutdown" in commands["stream"]


def test_web_serves_the_api_and_stream_serves_event_streams(cluster):
    # given: the Procfile's web and stream processes, and a worker for the run
    credit_schedule_ensure_default()
    web = cluster.add_procfile_server("web", WEB_CONCURRENCY="1")
    stream = cluster.add_procfile_server("stream")
    cluster.add_worker(QUOTE_RUN_PROVIDER_STEP_S=STEP_S)
    cluster.wait_ready()

    # when: an account, a quote and a quote run go through web
    email, password = "topology@example.com", "a-long-enough-passw0rd"
    registered = requests.post(
        f"{web.url}/api/users/register",
        json={"email": email, "password": password},
        timeout=TIMEOUT_S,
    )
    login = requests.post(
        f"{web.url}/api/users/login",
        json={"email": email, "password": password},
        timeout=TIMEOUT_S,
    )
    auth = {"Authorization": f"Bearer {login.json()['token']}"}
    me = requests.get(f"{web.url}/api/users/me", headers=auth, timeout=TIMEOUT_S)
    job = {"files": FILES, "ops": {"upscale": True}}
    created = requests.post(f"{web.url}/api/quotes", json=job, headers=auth, timeout=TIMEOUT_S)
    read = requests.get(
        f"{web.url}/api/quotes/{created.json()['id']}", headers=auth, timeout=TIMEOUT_S
    )
    unknown = requests.get(f"{web.url}/api/no-such-endpoint", timeout=TIMEOUT_S)
    run = requests.post(
        f"{web.url}/api/quote-runs",
        json={"session_id": SESSION, **job},
        timeout=TIMEOUT_S,
    ).json()
    misrouted = requests.get(
        f"{web.url}{run['stream_url']}", headers={"X-Session-Id": SESSION}, timeout=TIMEOUT_S
    )
    events = SseClient(f"{stream.url}{run['stream_url']}").rest()
    on_stream = requests.get(
        f"{stream.url}/api/quotes/{created.json()['id']}", headers=auth, timeout=TIMEOUT_S
    )

    # then: web answers the API, the stream process the run's events to the end
    assert registered.status_code == 201, registered.text
    assert login.status_code == 200
    assert me.json()["email"] == email
    assert created.status_code == 201, created.text
    assert read.status_code == 200
    assert read.json() == created.json()
    assert read.headers["Content-Type"] == "application/json"
    assert "X-RateLimit-Remaining" in read.headers
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "not_found"
    assert misrouted.status_code == 503
    assert misrouted.json()["error"] == "service_unavailable"
    assert "Retry-After" in misrouted.headers
    assert [event["id"] for event in events] == list(range(1, len(events) + 1))
    assert events[-1]["event"] == "run.completed"
    assert on_stream.json() == created.json()  # the ASGI process serves the whole API too
