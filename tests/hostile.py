"""Hostile inputs for property-based tests, and the API.md error-shape check they assert.

Values are Python objects serialized by `to_json`, where `Raw` text goes in verbatim: that
is how a body gets what `json.dumps` cannot write (1e400, NaN, 5000-digit integers,
nesting deeper than Python's recursion limit).
"""

import json
import uuid
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import strategies as st
from rest_framework.views import APIView

from orders.services import OrderLine, order_place, tracking_event_add
from quotes.runs.services import quote_run_execute
from rendering.services.render_jobs import render_job_create
from tests.accounts.factories import AddressFactory, NotificationFactory
from tests.quote_runs.factories import QuoteRunFactory
from tests.quotes.factories import QuoteFactory
from tests.rendering.factories import ShopFactory, confirmed_session, product_upload

# API.md, "Conventions" and "Additions (second wave)": the codes each 4xx may carry.
# 409 is a family (quote_used, out_of_stock, image_missing, ...): any code.
API_ERROR_CODES: dict[int, set[str] | None] = {
    400: {"validation_error"},
    401: {"invalid_credentials", "invalid_token"},
    403: {"forbidden"},
    404: {"not_found"},
    405: {"method_not_allowed"},
    409: None,
    410: {"quote_expired"},
    413: {"file_too_large", "request_too_large"},
    415: {"unsupported_media_type"},
    422: {"idempotency_key_reused"},
    429: {"rate_limited", "quota_exceeded"},
}


def api_error_problem(status: int, content_type: str, content: bytes) -> str | None:
    """Why a response breaks API.md's error rules, or None when it keeps them: never a 5xx
    (a 503 only with Retry-After, checked by the callers that can see headers), every 4xx a
    JSON {"error", "message"} with a code listed for its status."""
    if status >= 500:
        return f"server error {status}: {content[:300]!r}"
    if status < 400:
        return None
    if not content_type.startswith("application/json"):
        return f"{status} with Content-Type {content_type!r}: {content[:200]!r}"
    body = json.loads(content)
    if not isinstance(body, dict) or not isinstance(body.get("message"), str):
        return f"{status} body is not an API error: {body!r}"
    if status not in API_ERROR_CODES:
        return f"{status} is no status of API.md: {body!r}"
    allowed = API_ERROR_CODES[status]
    code = body.get("error")
    if not isinstance(code, str) or not code or (allowed is not None and code not in allowed):
        return f"{status} with code {code!r}, expected one of {allowed}: {body!r}"
    return None


class Raw(str):
    """JSON text inserted as is."""


def to_json(value: Any) -> str:
    """JSON text of `value`; escapes everything non-ASCII, so lone surrogates and NUL go
    out as \\udXXX and \\u0000 escapes, as a hostile client would write them."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(to_json(item) for item in value) + "]"
    return json.dumps(value)


def _around(middle: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda a, m, b: a + m + b, st.text(max_size=4), middle, st.text(max_size=4))


surrogates = _around(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF))
nul_strings = _around(st.just("\x00"))
deep_nesting = st.integers(min_value=33, max_value=20_000).flatmap(
    lambda n: st.sampled_from(
        [Raw("[" * n + "]" * n), Raw('{"a":' * n + "1" + "}" * n), Raw("[" * n)]
    )
)
huge_ints = st.one_of(
    st.sampled_from([2**31, 2**53 + 1, 2**63 - 1, 2**63, -(2**63) - 1, 2**64]),
    st.integers(min_value=2**63),
    st.just(Raw("9" * 5000)),
)
odd_floats = st.sampled_from(
    [
        *[Raw(text) for text in ("1e400", "-1e400", "NaN", "Infinity", "-Infinity", "1e-400")],
        *[-0.0, 1e308, 5e-324, 0.5],
    ]
)
long_strings = st.sampled_from(["x" * 5_000, "é" * 50_000, "a" * 300_000])
odd_types = st.sampled_from([None, True, False, 0, -1, "", [], {}, [None], {"": None}, "null"])

# The families, by name: each test draws its hostile values from one of them.
FAMILIES: dict[str, st.SearchStrategy] = {
    "deep_nesting": deep_nesting,
    "surrogates": surrogates,
    "nul": nul_strings,
    "huge_ints": huge_ints,
    "odd_floats": odd_floats,
    "long_strings": long_strings,
    "odd_types": odd_types,
}
hostile_values = st.one_of(*FAMILIES.values())
hostile_keys = st.one_of(surrogates, nul_strings, st.just("unknown_field"), st.just(""))


def _schema(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _plausible(name: str, schema: dict, real: dict[str, list[str]]) -> st.SearchStrategy:
    """A value that passes the schema's type, real ids where the name says what they are."""
    if real.get(name):
        return st.sampled_from(real[name])
    kind = schema.get("type")
    if schema.get("enum"):
        return st.sampled_from([v for v in schema["enum"] if v is not None] or [None])
    if schema.get("format") == "uuid":
        return st.builds(lambda: str(uuid.uuid4()))
    if kind == "integer":
        return st.integers(min_value=1, max_value=100)
    if kind == "number":
        return st.floats(min_value=0.1, max_value=1.0)
    if kind == "boolean":
        return st.booleans()
    return st.sampled_from(["abc", "Europe/Paris", "FR", "user@example.com", "a" * 20])


def shaped(
    spec: dict, schema: dict, real: dict[str, list[str]], hostile: st.SearchStrategy, name: str = ""
) -> st.SearchStrategy:
    """Values shaped like `schema`, any part of which may be swapped for a `hostile` value
    or given a hostile extra key."""
    schema = _schema(spec, schema)
    kind = schema.get("type")
    if kind == "object" and schema.get("properties"):
        properties = {
            key: shaped(spec, sub, real, hostile, key) for key, sub in schema["properties"].items()
        }
        every_field = st.fixed_dictionaries(properties)
        some_fields = st.fixed_dictionaries({}, optional=properties)
        extra = st.one_of(
            st.dictionaries(hostile_keys, hostile, min_size=1, max_size=1), st.just({})
        )
        whole = st.builds(lambda b, e: {**b, **e}, st.one_of(every_field, some_fields), extra)
        return st.one_of(whole, hostile)
    if kind == "array" and "items" in schema:
        items = st.lists(shaped(spec, schema["items"], real, hostile, name), min_size=1, max_size=3)
        return st.one_of(items, hostile)
    # Hostile first: hypothesis tries the first branches first, and examples are few.
    return st.one_of(hostile, _plausible(name, schema, real))


def hostile_bodies(
    spec: dict, request_schema: dict | None, real: dict[str, list[str]], family: str
) -> st.SearchStrategy[bytes]:
    """Request body texts: schema-shaped with parts from the hostile `family`, or wholly
    hostile; now and then bytes that are no UTF-8 JSON at all."""
    hostile = FAMILIES[family]
    if request_schema is None:
        values = st.one_of(hostile, st.dictionaries(hostile_keys, hostile, max_size=2))
    else:
        values = shaped(spec, request_schema, real, hostile)
    raw_bytes = st.sampled_from([b"\xff\xfe{}", b'{"a": "\xed\xa0\x80"}', b"\xef\xbb\xbf{}", b"{"])
    return st.one_of(values.map(lambda v: to_json(v).encode()), raw_bytes)


def api_views(patterns=None, prefix=""):
    """(route, view class) of every DRF view in the URL configuration."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            yield from api_views(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            view = getattr(entry.callback, "cls", None)
            if view is not None and issubclass(view, APIView):
                yield prefix + str(entry.pattern), view


def seed_real_ids(user, *, products, session_id: str) -> dict[str, list[str]]:
    """One of everything for property tests to hit, so that generated requests also get past
    the lookups: rows of `user` (an address, a notification, an order of `products[0]`
    with a tracking event, a shop with a confirmed room session and a render, an upload),
    and a quote and a quote run of `user` and of `session_id` each. Ids as text, by the
    name of the path parameter that takes them."""
    address = AddressFactory(user=user, is_default=True)
    order = order_place(user=user, lines=[OrderLine(products[0].sku, 1)], address_id=address.pk)
    tracking_event_add(
        order_id=order.pk, status="label_created", carrier="UPS", tracking_number="1Z"
    )
    shop = ShopFactory(owner=user)
    room = confirmed_session(shop)
    image = product_upload(user)
    render = render_job_create(
        user=user, shop=shop, room_session=room, product_upload_id=image.pk, x=0.5, y=0.5, scale=1
    )
    ids = {
        "address_id": [address.pk],
        "notification_id": [NotificationFactory(user=user).pk],
        "order_id": [order.pk],
        "quote_id": [QuoteFactory(user=user).pk, QuoteFactory(session_id=session_id).pk],
        # Finished runs: a generated request to the stream of a processing run would hold
        # it open (keepalives) until the run ends, and nothing here ends it.
        "run_id": [
            quote_run_execute(run_id=QuoteRunFactory(user=user).pk).pk,
            quote_run_execute(run_id=QuoteRunFactory(session_id=session_id).pk).pk,
        ],
        "shop_id": [shop.pk],
        "room_session_id": [room.pk],
        "render_id": [render.pk],
        "file_id": [image.pk],
        "product_image_id": [image.pk],
        "upload_id": [image.pk],
    }
    return {name: [str(pk) for pk in pks] for name, pks in ids.items()}
