"""Staff dashboards and readable admin pages, in process: staff only, every figure shown is
the database's, timelines to the second, money and addresses formatted."""

import re

import pytest
from django.test import Client

from config.cleanup import cleanup_run
from config.models import CleanupRun, CleanupRunOutcome
from quotes.analytics import ALL_OPS, quote_conversion
from tests.config.staff_console import NOTE, TOTAL_TEXT, seed

pytestmark = pytest.mark.django_db

DASHBOARD_PATHS = [
    "/admin/dashboards/",
    "/admin/dashboards/conversion/",
    "/admin/dashboards/quota/",
    "/admin/dashboards/renders/",
    "/admin/dashboards/health/",
]


@pytest.fixture
def staff(make_user):
    return make_user(is_staff=True, is_superuser=True)


@pytest.fixture
def browser(staff):
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def console(staff, make_user):
    return seed(staff, make_user())


def figure(html: str, row_attr: str, name: str) -> str:
    """The text of the data-figure=`name` cell in the row carrying `row_attr`."""
    row = re.search(rf"<tr {row_attr}>(.*?)</tr>", html, re.S)
    assert row, row_attr
    cell = re.search(rf'data-figure="{name}"[^>]*>(.*?)</td>', row.group(1), re.S)
    assert cell, name
    return re.sub(r"<[^>]+>", "", cell.group(1)).strip()


def change_form_data(response) -> dict:
    """What a browser would post back from an admin change form: its inlines' management
    forms and current values."""
    data = {}
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
        for form in formset.forms:
            for name in form.fields:
                value = form[name].value()
                if value is not None:
                    data[form.add_prefix(name)] = value
    return data


def test_dashboards_are_staff_only(make_user):
    # given: a signed-in customer (not staff)
    client = Client()
    client.force_login(make_user())

    # then: every dashboard sends them to the admin login
    for path in DASHBOARD_PATHS:
        response = client.get(path)
        assert response.status_code == 302, path
        assert "/admin/login/" in response["Location"]


def test_admin_index_links_every_dashboard(browser):
    page = browser.get("/admin/").text

    for path in DASHBOARD_PATHS:
        assert f'href="{path}"' in page, path


def test_conversion_dashboard_shows_the_selectors_figures(browser, console):
    # when
    html = browser.get("/admin/dashboards/conversion/").text

    # then: the day's row equals the selector's and the known data (2 used of 4)
    [today] = [
        row
        for row in quote_conversion(since=console.today, until=console.today)
        if row.op == ALL_OPS
    ]
    row = f'data-day="{console.today:%Y-%m-%d}"'
    assert (today.created, today.used, today.expired) == (4, 2, 1)
    assert figure(html, row, "created") == "4"
    assert figure(html, row, "used") == "2"
    assert figure(html, row, "expired") == "1"
    assert figure(html, row, "rate") == "50 %"
    assert figure(html, row, "median") == "70.0 s"
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="atelier-chart"') == 2


def test_quota_and_render_dashboards(browser, console):
    quota = browser.get("/admin/dashboards/quota/").text
    renders = browser.get("/admin/dashboards/renders/").text

    row = f'data-shop="{console.shop.pk}" data-day="{console.today:%Y-%m-%d}"'
    assert figure(quota, row, "used") == "7"
    assert figure(quota, row, "reserved") == "2"
    assert figure(quota, row, "failed") == "1"
    day = f'data-day="{console.today:%Y-%m-%d}"'
    assert figure(renders, day, "finished") == "2"
    assert figure(renders, day, "failed") == "1"
    assert figure(renders, day, "rate") == "50 %"
    assert figure(renders, day, "p50") == "12.0 s"


def test_health_dashboard_shows_streams_and_cleanup_runs(browser, console):
    html = browser.get("/admin/dashboards/health/").text

    table = html.split('id="stream-health"')[1].split("</table>")[0]
    streams = dict(re.findall(r'data-figure="(\w+)"[^>]*>([^<]*)</td>', table))
    assert (streams["runs"], streams["completed"], streams["events"]) == ("1", "1", "3")
    run = CleanupRun.objects.get(name="quotes")
    row = 'data-cleanup="quotes"'
    assert figure(html, row, "runs") == "1"
    assert figure(html, row, "found") == str(run.found) == "1"
    assert figure(html, row, "cleaned") == str(run.cleaned) == "1"
    assert browser.get("/admin/dashboards/health/?cleanup=nope").status_code == 400
    runs = browser.get("/admin/config/cleanuprun/")
    assert runs.status_code == 200
    assert browser.get(f"/admin/config/cleanuprun/{run.pk}/change/").status_code == 200


def test_a_bad_window_is_a_400(browser):
    for days in ("0", "367", "x"):
        assert browser.get(f"/admin/dashboards/conversion/?days={days}").status_code == 400


def test_cleanup_runs_are_recorded_even_when_they_fail(settings):
    # given: a cleanup that raises
    settings.CLEANUPS = {"boom": ("tests.config.test_dashboards.failing_cleanup", 60)}
    settings.CLEANUP_BACKLOGS = {}

    # when
    with pytest.raises(RuntimeError):
        cleanup_run(name="boom")

    # then
    run = CleanupRun.objects.get(name="boom")
    assert run.outcome == CleanupRunOutcome.FAILED
    assert run.found is None
    assert "disk on fire" in run.error


def failing_cleanup():
    raise RuntimeError("disk on fire")


def test_order_page_has_money_address_timeline_and_notes(browser, console, staff):
    # when
    listing = browser.get("/admin/orders/order/").text
    page = browser.get(f"/admin/orders/order/{console.order.pk}/change/").text

    # then: money and address as fields, the history to the second
    assert TOTAL_TEXT in listing
    assert TOTAL_TEXT in page
    assert "Building B" in page
    assert "shipping_address" not in page
    events = list(console.order.events.order_by("created_at", "id"))
    assert [event.type for event in events] == [
        "placed",
        "tracking_updated",
        "status_changed",
        "note_added",
    ]
    for event in events:
        assert f"{event.created_at:%Y-%m-%d %H:%M:%S}" in page
    assert NOTE in page

    # when: staff add a note through the form
    url = f"/admin/orders/order/{console.order.pk}/change/"
    data = change_form_data(browser.get(url))
    response = browser.post(url, {**data, "add_note": "Refund approved."})

    # then
    assert response.status_code == 302
    note = console.order.events.order_by("-id").first()
    assert (note.type, note.user) == ("note_added", staff)
    assert note.data == {"message": "Refund approved."}


def test_quote_run_timeline_is_to_the_second(browser, console):
    page = browser.get(f"/admin/quote_runs/quoterun/{console.run.pk}/change/").text

    times = [f"{event.created_at:%H:%M:%S}" for event in console.run.events.all()]
    assert len(set(times)) == 3
    for text in times:
        assert text in page
    assert "a.m." not in page
    assert "p.m." not in page


def test_failed_render_shows_missing_not_a_broken_image(browser, console):
    listing = browser.get("/admin/rendering/renderjob/").text
    page = browser.get(f"/admin/rendering/renderjob/{console.failed_job.pk}/change/").text

    # the keys point at nothing in storage: placeholders, no <img> but the admin's icons
    images = re.findall(r'<img [^>]*src="([^"]+)"', listing + page)
    assert all(src.startswith("/static/") for src in images), images
    assert "atelier-missing" in listing
    assert page.count("atelier-missing") == 3
