"""A real browser on another origin: headless Chromium posts a quote run through a real nginx
in front of two instances (CORS), follows it with a plain EventSource on stream_url (the
capability token, no headers), survives kill -9 of the instance streaming it by resuming on
the other one with Last-Event-ID, sees every event exactly once, and is ended by the 204."""

import json
import time

import pytest
import requests

from quotes.runs.models import QuoteRun, QuoteRunEventType
from tests.conftest import _missing
from tests.e2e.browser import (
    Nginx,
    PageServer,
    chromium_driver,
    established_connections,
    missing_tools,
)

SESSION = "browser-e2e-session-0001"
# 6 files x 3 providers at 0.4 s per file: a run lasts ~7 s, so the kill lands mid-stream.
STEP_S = "0.4"
FILES = [
    {"id": f"f{i}", "name": f"p{i}.jpg", "size_bytes": 1000, "width": 2000, "height": 1500}
    for i in range(1, 7)
]
EVENTS_BEFORE_KILL = 3
WAIT_S = 60
POLL_S = 0.1
EVENTSOURCE_CONNECTING, EVENTSOURCE_CLOSED = 0, 2  # EventSource.readyState

# The page a storefront would serve: fetch POST with X-Session-Id, then a plain EventSource
# on stream_url, recording everything it sees in window.record. It deliberately does not
# close the EventSource on the terminal event: the server's 204 must end it.
PAGE = """<!doctype html>
<meta charset="utf-8">
<title>Atelier browser e2e</title>
<script>
const API = {api};
const SESSION = {session};
const JOB = {job};
const EVENT_TYPES = {event_types};
window.record = {{ids: [], types: [], opens: 0, errors: [], failure: null}};
(async () => {{
  try {{
    const response = await fetch(API + "/api/quote-runs", {{
      method: "POST",
      headers: {{"Content-Type": "application/json", "X-Session-Id": SESSION}},
      body: JSON.stringify(JOB),
    }});
    record.post = response.status;
    record.exposedRateLimit = response.headers.get("X-RateLimit-Limit");
    const run = await response.json();
    record.run = run;
    const source = new EventSource(new URL(run.stream_url, API));
    window.source = source;
    source.onopen = () => {{ record.opens += 1; }};
    source.onerror = () => {{ record.errors.push(source.readyState); }};
    for (const type of EVENT_TYPES) {{
      source.addEventListener(type, (event) => {{
        record.ids.push(Number(event.lastEventId));
        record.types.push(event.type);
      }});
    }}
  }} catch (error) {{
    record.failure = String(error);
  }}
}})();
</script>
"""


# A page on an origin the API does not list: both calls must fail in the browser.
UNLISTED_PAGE = """<!doctype html>
<meta charset="utf-8">
<title>Atelier browser e2e, unlisted origin</title>
<script>
const API = {api};
window.record = {{post: null, postFailure: null, opens: 0, failure: null}};
fetch(API + "/api/quote-runs", {{
  method: "POST",
  headers: {{"Content-Type": "application/json", "X-Session-Id": {session}}},
  body: "{{}}",
}}).then(
  (response) => {{ record.post = response.status; }},
  (error) => {{ record.postFailure = String(error); }},
);
window.source = new EventSource({stream_url});
source.onopen = () => {{ record.opens += 1; }};
</script>
"""


def page_html(api_url: str) -> str:
    return PAGE.format(
        api=json.dumps(api_url),
        session=json.dumps(SESSION),
        job=json.dumps({"files": FILES, "ops": {"upscale": True}}),
        event_types=json.dumps(list(QuoteRunEventType.values)),
    )


@pytest.fixture
def browser_tools():
    missing = missing_tools()
    if missing:
        _missing(f"needs {', '.join(missing)}: apt-get install chromium chromium-driver nginx")


@pytest.fixture
def page(browser_tools):
    server = PageServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def browser(browser_tools, tmp_path):
    driver = chromium_driver(tmp_path / "chromium-profile")
    yield driver
    driver.quit()


@pytest.fixture
def load_balancer(request, tmp_path):
    """`start(ports)` puts a real nginx in front of those instances; logs shown on failure."""
    started: list[Nginx] = []

    def start(ports: list[int]) -> Nginx:
        nginx = Nginx(prefix=tmp_path / "nginx", upstream_ports=ports)
        started.append(nginx)
        nginx.start()
        return nginx

    yield start
    for nginx in started:
        nginx.stop()
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            print(nginx.logs())  # noqa: T201 - shown by pytest on failure


def record(driver) -> dict:
    return driver.execute_script(
        "return Object.assign({}, window.record,"
        " {state: window.source ? window.source.readyState : null});"
    )


def wait_for(driver, condition, what: str) -> dict:
    deadline = time.monotonic() + WAIT_S
    while True:
        seen = record(driver)
        assert seen["failure"] is None, seen["failure"]
        if condition(seen):
            return seen
        assert time.monotonic() < deadline, f"{what} never happened: {seen}"
        time.sleep(POLL_S)


def streaming_instance(servers):
    """The one instance holding an open connection: nginx keeps no idle upstream
    connections, so only the stream's stays established."""
    deadline = time.monotonic() + WAIT_S
    while True:
        holding = [server for server in servers if established_connections(server.port)]
        if len(holding) == 1:
            return holding[0]
        assert time.monotonic() < deadline, f"no single streaming instance: {holding}"
        time.sleep(POLL_S)


def stream_requests(nginx: Nginx, *, count: int) -> list[dict[str, str]]:
    """The stream requests nginx logged, once `count` are there (it logs each one as it
    finishes, a moment after the browser may have seen the answer)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        streams = [entry for entry in nginx.access_log() if entry["path"].endswith("/stream")]
        if len(streams) >= count or time.monotonic() > deadline:
            return streams
        time.sleep(POLL_S)


def test_browser_follows_a_run_across_kill9_of_the_streaming_instance(
    cluster, page, browser, load_balancer
):
    # given: two instances and a worker behind nginx, a page on an allowed other origin
    servers = [cluster.add_server(CORS_ALLOWED_ORIGINS=page.origin) for _ in range(2)]
    cluster.add_worker(QUOTE_RUN_PROVIDER_STEP_S=STEP_S)
    cluster.wait_ready()
    nginx = load_balancer([server.port for server in servers])
    page.html = page_html(nginx.url)

    # when: the page starts a run and streams it; the instance streaming it is killed
    browser.get(f"{page.origin}/")
    head = wait_for(browser, lambda r: len(r["ids"]) >= EVENTS_BEFORE_KILL, "first events")
    doomed = streaming_instance(servers)
    survivor = next(server for server in servers if server is not doomed)
    doomed.kill9()
    run_id = head["run"]["run_id"]
    mid_run = requests.get(
        f"{nginx.url}/api/quote-runs/{run_id}", headers={"X-Session-Id": SESSION}, timeout=10
    ).json()
    seen = wait_for(browser, lambda r: r["state"] == EVENTSOURCE_CLOSED, "the end of the stream")

    # then: every event exactly once, in order, up to the terminal one, then the 204
    assert mid_run["status"] == "processing", "the kill came after the run had ended"
    final = requests.get(
        f"{survivor.url}/api/quote-runs/{run_id}", timeout=10, headers={"X-Session-Id": SESSION}
    ).json()
    assert final["status"] == "completed"
    assert head["post"] == 202
    assert head["exposedRateLimit"] is not None  # an exposed header is readable cross-origin
    assert seen["ids"] == list(range(1, final["last_event_id"] + 1))
    assert seen["types"][0] == "run.started"
    assert seen["types"][-1] == "run.completed"
    assert seen["opens"] == 2  # the first instance, then the survivor
    # Reconnecting after the kill, reconnecting after the stream ended, closed by the 204.
    assert seen["errors"] == [EVENTSOURCE_CONNECTING, EVENTSOURCE_CONNECTING, EVENTSOURCE_CLOSED]
    streams = stream_requests(nginx, count=3)
    assert [entry["status"] for entry in streams] == ["200", "200", "204"]
    assert [entry["upstream"] for entry in streams] == [
        f"127.0.0.1:{doomed.port}",
        f"127.0.0.1:{survivor.port}",
        f"127.0.0.1:{survivor.port}",
    ]


def test_a_page_on_an_origin_not_listed_can_neither_post_nor_stream(cluster, page, browser):
    # given: an instance that allows only another origin, and a run streamable by its URL
    server = cluster.add_server(CORS_ALLOWED_ORIGINS="http://127.0.0.1:9")
    cluster.wait_ready()
    run = requests.post(
        f"{server.url}/api/quote-runs",
        json={"files": FILES[:1], "ops": {"upscale": True}},
        headers={"X-Session-Id": SESSION},
        timeout=10,
    ).json()
    page.html = UNLISTED_PAGE.format(
        api=json.dumps(server.url),
        session=json.dumps(SESSION),
        stream_url=json.dumps(server.url + run["stream_url"]),
    )

    # when: the page on the unlisted origin tries the same
    browser.get(f"{page.origin}/")
    seen = wait_for(
        browser,
        lambda r: r["postFailure"] is not None and r["state"] == EVENTSOURCE_CLOSED,
        "both refusals",
    )

    # then: the preflight was refused, so the POST never ran; the stream never opened
    assert seen["postFailure"].startswith("TypeError"), seen
    assert seen["post"] is None
    assert seen["opens"] == 0
    assert QuoteRun.objects.count() == 1  # the run created above, no other
