"""How staff pages show values: money from cents, JSON as fields, timestamps to the second,
and a placeholder where an image is absent."""

import datetime
import json
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

# Minor units per major unit of settings.CURRENCY (cents per euro).
MINOR_UNITS = 100
MISSING = "missing"


def money(cents: int | None) -> str:
    """ "108.80 EUR" from 10880; "-" for None."""
    if cents is None:
        return "-"
    amount = Decimal(cents) / MINOR_UNITS
    return f"{amount:,.2f} {settings.CURRENCY}"


def timestamp(value: datetime.datetime | None) -> str:
    """UTC to the second (and milliseconds when present): events of one minute stay apart."""
    if value is None:
        return "-"
    value = timezone.localtime(value, datetime.UTC)
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond // 1000:03d}"
    return f"{text} UTC"


def _scalar(value) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    if value is None or value == "":
        return "-"
    return str(value)


def fields_table(data: dict | None, *, labels: dict[str, str] | None = None) -> SafeString:
    """A JSON object as a two-column table, one row per key (in `labels` order first,
    labelled so; then the others, sorted); nested values as compact JSON."""
    if not data:
        return format_html('<span class="atelier-empty">{}</span>', "-")
    labels = labels or {}
    keys = [key for key in labels if key in data]
    keys += sorted(key for key in data if key not in labels)
    rows = format_html_join(
        "",
        '<tr><th scope="row">{}</th><td>{}</td></tr>',
        ((labels.get(key, key.replace("_", " ")), _scalar(data[key])) for key in keys),
    )
    return format_html('<table class="atelier-fields"><tbody>{}</tbody></table>', rows)


def missing(label: str, *, height: int) -> SafeString:
    """What stands where an image is absent or cannot be shown: a labelled box, never an
    <img> that the browser would draw as broken."""
    return format_html(
        '<span class="atelier-missing" title="{} image {}" style="display:inline-flex;'
        "align-items:center;justify-content:center;height:{}px;min-width:{}px;padding:0 4px;"
        'border:1px dashed #bbb;color:#888;font-size:11px;box-sizing:border-box">{}</span>',
        label,
        MISSING,
        height,
        height,
        MISSING,
    )


def truncated(text: str | None, *, chars: int) -> str:
    """At most `chars` characters of `text`, the whole of it on hover."""
    if not text:
        return "-"
    if len(text) <= chars:
        return text
    return format_html('<span title="{}">{}…</span>', text, text[: chars - 1])
