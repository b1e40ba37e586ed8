"""The staff console in a real browser: headless Chromium signs in to the admin of a real
server process, opens every dashboard, the order history and a quote-run timeline, and
checks what it renders: the figures are the database's, every image loads (naturalWidth),
the console stays clean, list columns fit 1280 px. Screenshots are kept for a person to
look at: in $ADMIN_SCREENSHOT_DIR when set, else in the test's tmp folder (printed)."""

import os
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from config.admin_display import timestamp
from config.models import CleanupRun
from quotes.analytics import ALL_OPS, quote_conversion
from rendering.analytics import render_stats_by_day
from tests.config.staff_console import NOTE, TOTAL_TEXT, seed
from tests.conftest import TEST_PASSWORD, _missing
from tests.e2e.browser import CHROMEDRIVER, CHROMIUM, chromium_driver, find_binary
from tests.rendering.factories import image_bytes
from uploads.storage import storage_save

WINDOW_W, WINDOW_H = 1280, 900
# Screenshots are cut to this height (a long page is scrolled in the browser, not shot).
MAX_SHOT_H = 4000
NAVIGATION_TIMEOUT_S = 20
SCREENSHOT_DIR_ENV = "ADMIN_SCREENSHOT_DIR"
BROKEN_IMAGES_JS = """
return Array.from(document.images)
  .filter((img) => !img.complete || img.naturalWidth === 0)
  .map((img) => img.src);
"""
OVERFLOW_JS = """
const results = document.querySelector('#changelist .results');
return {
  page: document.documentElement.scrollWidth,
  results: results ? results.scrollWidth - results.clientWidth : 0,
};
"""


@pytest.fixture
def screenshot_dir(tmp_path) -> Path:
    folder = Path(os.environ.get(SCREENSHOT_DIR_ENV) or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"admin screenshots: {folder}")  # noqa: T201 - where a person finds them
    return folder


@pytest.fixture
def chromium(tmp_path):
    missing = [name for name in (CHROMIUM, CHROMEDRIVER) if find_binary(name) is None]
    if missing:
        _missing(f"needs {', '.join(missing)}: apt-get install chromium chromium-driver")
    driver = chromium_driver(tmp_path / "chromium-profile", console_log=True)
    driver.set_window_size(WINDOW_W, WINDOW_H)
    yield driver
    driver.quit()


class Visit:
    """Opens admin pages and checks each for broken images and console errors."""

    def __init__(self, driver, base_url: str, folder: Path):
        self.driver, self.base_url, self.folder = driver, base_url, folder

    def __call__(self, path: str, name: str):
        driver = self.driver
        driver.get(self.base_url + path)
        assert "/admin/login/" not in driver.current_url, driver.current_url
        assert driver.execute_script(BROKEN_IMAGES_JS) == [], (path, "broken images")
        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert errors == [], (path, errors)
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(WINDOW_W, min(max(height, WINDOW_H), MAX_SHOT_H))
        driver.save_screenshot(str(self.folder / f"{name}.png"))
        driver.set_window_size(WINDOW_W, WINDOW_H)
        return driver

    def cell(self, row_selector: str, figure: str) -> str:
        return self.driver.find_element(
            By.CSS_SELECTOR, f'{row_selector} [data-figure="{figure}"]'
        ).text.strip()

    def fits(self, path: str, name: str) -> None:
        """A change list whose columns fit the window: no horizontal scrolling."""
        self(path, name)
        overflow = self.driver.execute_script(OVERFLOW_JS)
        assert overflow["page"] <= WINDOW_W, (path, overflow)
        assert overflow["results"] <= 0, (path, overflow)


def submit(driver, button) -> None:
    """Click a form's submit button and wait until its answer replaced the page (the click
    returns before the browser has even sent the form)."""
    button.click()
    WebDriverWait(driver, NAVIGATION_TIMEOUT_S).until(expected_conditions.staleness_of(button))


def sign_in(driver, base_url: str, email: str) -> None:
    driver.get(f"{base_url}/admin/login/")
    driver.find_element(By.NAME, "username").send_keys(email)
    driver.find_element(By.NAME, "password").send_keys(TEST_PASSWORD)
    submit(driver, driver.find_element(By.CSS_SELECTOR, "input[type=submit]"))
    assert driver.find_element(By.ID, "staff-dashboards").is_displayed()


def test_staff_console_in_chromium(cluster, chromium, screenshot_dir, make_user):
    # given: known data, a real server process, a staff member signed in through the form
    staff = make_user(is_staff=True, is_superuser=True)
    console = seed(staff, make_user())
    storage_save(
        console.completed_job.result_image_key,
        ContentFile(image_bytes((320, 200), (30, 120, 60))),
        content_type="image/jpeg",
    )
    server = cluster.add_server()
    cluster.wait_ready()
    sign_in(chromium, server.url, staff.email)
    visit = Visit(chromium, server.url, screenshot_dir)
    today = f'[data-day="{console.today:%Y-%m-%d}"]'

    # when / then: the admin index links every dashboard
    index = visit("/admin/", "00-index")
    links = [
        a.get_attribute("href") for a in index.find_elements(By.CSS_SELECTOR, "#staff-dashboards a")
    ]
    for slug in ("conversion", "quota", "renders", "health"):
        assert f"{server.url}/admin/dashboards/{slug}/" in links

    # conversion: the page shows the selector's figures for the day (and the known ones)
    visit("/admin/dashboards/conversion/", "01-conversion")
    [day] = [
        row
        for row in quote_conversion(since=console.today, until=console.today)
        if row.op == ALL_OPS
    ]
    shown = [
        visit.cell(f"#conversion-per-day {today}", name) for name in ("created", "used", "expired")
    ]
    assert shown == [str(day.created), str(day.used), str(day.expired)] == ["4", "2", "1"]
    assert visit.cell(f"#conversion-per-day {today}", "median") == "70.0 s"
    assert len(chromium.find_elements(By.CSS_SELECTOR, "svg.atelier-chart")) == 2

    # quota: the shop's used / reserved / failed of the day
    visit("/admin/dashboards/quota/", "02-quota")
    shop_day = f'[data-shop="{console.shop.pk}"]{today}'
    chromium.find_element(By.CSS_SELECTOR, f"#shop-{console.shop.pk} summary").click()
    assert [visit.cell(shop_day, name) for name in ("used", "reserved", "failed")] == [
        "7",
        "2",
        "1",
    ]

    # renders: failure rate and latency as the selector computes them
    visit("/admin/dashboards/renders/", "03-renders")
    [renders] = render_stats_by_day(since=console.today, until=console.today)
    assert visit.cell(f"#renders-per-day {today}", "finished") == str(renders.finished) == "2"
    assert visit.cell(f"#renders-per-day {today}", "rate") == "50 %"

    # health: the recorded cleanup run, found vs cleaned
    visit("/admin/dashboards/health/", "04-health")
    run = CleanupRun.objects.get(name="quotes")
    row = '#cleanup-health [data-cleanup="quotes"]'
    assert visit.cell(row, "found") == str(run.found)
    assert visit.cell(row, "cleaned") == str(run.cleaned)
    assert visit.cell("#stream-health", "completed") == "1"

    # the order: money, the address as fields, the history to the second
    page = visit(f"/admin/orders/order/{console.order.pk}/change/", "05-order")
    assert TOTAL_TEXT in page.find_element(By.CSS_SELECTOR, ".field-total").text
    assert "Building B" in page.find_element(By.CSS_SELECTOR, ".field-address").text
    shown_times = [
        cell.text for cell in page.find_elements(By.CSS_SELECTOR, ".order-history .order-event-at")
    ]
    assert shown_times == [timestamp(event.created_at) for event in console.order.events.all()]
    assert NOTE in page.find_element(By.CSS_SELECTOR, ".order-history").text

    # staff add a note in the browser: it joins the timeline
    page.find_element(By.NAME, "add_note").send_keys("Checked by the e2e test.")
    submit(page, page.find_element(By.NAME, "_continue"))
    visit(f"/admin/orders/order/{console.order.pk}/change/", "06-order-note")
    last = console.order.events.order_by("-id").first()
    assert last.data == {"message": "Checked by the e2e test."}
    assert last.user == staff

    # the quote run: three events of one minute, three different seconds
    page = visit(f"/admin/quote_runs/quoterun/{console.run.pk}/change/", "07-quote-run")
    shown_times = [cell.text for cell in page.find_elements(By.CSS_SELECTOR, ".event-at")]
    assert shown_times == [timestamp(event.created_at) for event in console.run.events.all()]
    assert len(set(shown_times)) == 3

    # render jobs: the failed one says "missing", the completed one's image loads
    page = visit(f"/admin/rendering/renderjob/{console.failed_job.pk}/change/", "08-failed-render")
    assert len(page.find_elements(By.CSS_SELECTOR, ".atelier-missing")) == 3
    page = visit(f"/admin/rendering/renderjob/{console.completed_job.pk}/change/", "09-render")
    [result] = page.find_elements(By.CSS_SELECTOR, ".field-result_preview img")
    assert chromium.execute_script("return arguments[0].naturalWidth", result) == 320

    # list pages fit 1280 px
    visit.fits("/admin/rendering/renderjob/", "10-render-list")
    visit.fits("/admin/quotes/quote/", "11-quote-list")
    visit.fits("/admin/quote_runs/quoterun/", "12-quote-run-list")
    visit.fits("/admin/orders/order/", "13-order-list")
    visit.fits("/admin/config/cleanuprun/", "14-cleanup-run-list")
