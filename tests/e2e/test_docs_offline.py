"""Swagger UI and Redoc render in a real browser from this server alone: every request the
page makes (scripts, styles, fonts, images, the schema) goes to the API's own host."""

import json
import time
from urllib.parse import urlsplit

import pytest

from tests.conftest import _missing
from tests.e2e.browser import CHROMEDRIVER, CHROMIUM, CHROMIUM_FLAGS, find_binary

RENDER_TIMEOUT_S = 30
POLL_S = 0.2
# What each page shows once it has rendered the schema (its title).
RENDERED = {
    "/api/docs/": "return document.querySelector('.swagger-ui .info .title')?.innerText || ''",
    "/api/redoc/": "return document.querySelector('#redoc-container h1')?.innerText || ''",
}


@pytest.fixture
def logging_browser(tmp_path):
    """Headless Chromium that logs every network request it makes (DevTools events)."""
    if find_binary(CHROMIUM) is None or find_binary(CHROMEDRIVER) is None:
        _missing("needs chromium and chromedriver: apt-get install chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = find_binary(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(
        options=options, service=Service(executable_path=find_binary(CHROMEDRIVER))
    )
    yield driver
    driver.quit()


def requested_urls(driver) -> list[str]:
    """URLs the page sent requests to; those its Content-Security-Policy blocked before
    they left the browser are not."""
    urls, blocked = {}, set()
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message["params"]
        if message["method"] == "Network.requestWillBeSent":
            urls[params["requestId"]] = params["request"]["url"]
        elif message["method"] == "Network.loadingFailed" and params.get("blockedReason"):
            blocked.add(params["requestId"])
    return [url for request_id, url in urls.items() if request_id not in blocked]


@pytest.mark.parametrize("page", sorted(RENDERED))
def test_docs_render_offline_from_this_server_alone(cluster, logging_browser, page):
    server = cluster.add_server()
    cluster.wait_ready()
    logging_browser.get(server.url + page)
    deadline = time.monotonic() + RENDER_TIMEOUT_S
    title = ""
    while time.monotonic() < deadline and "Atelier API" not in title:
        time.sleep(POLL_S)
        title = logging_browser.execute_script(RENDERED[page])
    assert "Atelier API" in title
    urls = requested_urls(logging_browser)
    assert any("/api/schema/" in url for url in urls), urls
    host = urlsplit(server.url).netloc
    elsewhere = [
        url
        for url in urls
        if urlsplit(url).scheme in {"http", "https", "ws", "wss"} and urlsplit(url).netloc != host
    ]
    assert elsewhere == []
