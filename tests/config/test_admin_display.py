"""Staff-page formatting: money from cents, timestamps to the second, JSON as fields, charts."""

import datetime

from config.admin_display import fields_table, missing, money, timestamp, truncated
from config.svg_charts import Series, bar_chart, line_chart


def test_money_is_major_units_with_the_currency(settings):
    settings.CURRENCY = "EUR"

    assert money(10880) == "108.80 EUR"
    assert money(5) == "0.05 EUR"
    assert money(123456789) == "1,234,567.89 EUR"
    assert money(None) == "-"


def test_timestamps_keep_seconds_and_milliseconds_in_utc():
    paris = datetime.timezone(datetime.timedelta(hours=1))
    value = datetime.datetime(2026, 11, 30, 8, 59, 7, 250_000, tzinfo=paris)

    assert timestamp(value) == "2026-11-30 07:59:07.250 UTC"
    assert timestamp(value.replace(microsecond=0)) == "2026-11-30 07:59:07 UTC"


def test_fields_table_escapes_and_orders_labelled_keys_first():
    html = fields_table(
        {"zip": "<b>69001</b>", "line1": "1 Rue", "extra": {"a": 1}}, labels={"line1": "Line 1"}
    )

    assert html.index("Line 1") < html.index("extra") < html.index("zip")
    assert "&lt;b&gt;69001&lt;/b&gt;" in html
    assert "{&quot;a&quot;: 1}" in html


def test_placeholders_and_truncation_are_not_images():
    assert "<img" not in missing("result", height=48)
    assert "missing" in missing("result", height=48)
    assert truncated("abcdef", chars=4) == '<span title="abcdef">abc…</span>'
    assert truncated("abc", chars=4) == "abc"


def test_bar_chart_draws_one_titled_bar_per_value_and_escapes_names():
    svg = bar_chart(
        ["11-29", "11-30"],
        [Series("used <x>", [3, 4]), Series("expired", [1, None])],
        title="Quotes & more",
    )

    assert svg.count("<rect x=") == 4 + 2  # bars + legend swatches
    assert "11-30 · used &lt;x&gt;: 4</title>" in svg
    assert "Quotes &amp; more" in svg
    assert "<script" not in svg


def test_line_chart_breaks_at_missing_values():
    svg = line_chart(["a", "b", "c", "d"], [Series("rate", [10, None, 20, 30])], title="t")

    assert svg.count("<circle") == 3
    assert svg.count("<polyline") == 1  # "a" alone draws no line; "c"-"d" does
