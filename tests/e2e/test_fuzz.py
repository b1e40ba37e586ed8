"""Property-based fuzzing of every operation in /api/schema/ against a real server.

API.md promises that no input, however malformed, gives a 500, and that every error is
{"error": code, "message": ...}. Schemathesis generates valid and invalid requests from
the OpenAPI schema (drf-spectacular) and sends them to a real uvicorn instance on the test
PostgreSQL and Redis, once with a real bearer token and once anonymously. A run is
reproducible (fixed seed, derandomized, no deadline) and bounded (MAX_EXAMPLES per
operation, plus schemathesis' deterministic boundary cases). A failure names the operation
and a curl command that reproduces it; the server's log tail is printed below it.
"""

from dataclasses import dataclass

import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from accounts.services.auth import auth_session_create
from orders.services import OrderLine, order_place
from quotes.models import DEFAULT_SCHEDULE_OPS
from tests.accounts.factories import AddressFactory
from tests.hostile import api_error_problem, seed_real_ids
from tests.orders.factories import ProductFactory
from tests.quotes.factories import QuoteFactory
from tests.rendering.factories import product_upload

FUZZ_SEED = 20251125
MAX_EXAMPLES = 50
# How often a generated id, sku or credential is swapped for a real one, so that requests
# also get past the lookup (404) and exercise the code behind it.
REAL_VALUE_PROBABILITY = 0.5
UNLIMITED_RATE = "1000000/min"
RATE_SETTINGS = (
    "RATE_USER",
    "RATE_ANON",
    "RATE_LOGIN_IP",
    "RATE_LOGIN_EMAIL",
    "RATE_REGISTER",
    "RATE_UPLOADS",
)
FUZZ_SESSION_ID = "fuzz_session_0000000001"
FUZZ_PASSWORD = "fuzz-password-correct-horse-42"
# Operations that delete or expire what they are given get rows of their own: the other
# operations keep finding theirs whatever order the operations run in.
DESTRUCTIVE = {
    ("DELETE", "/api/addresses/{address_id}"): "address_id",
    ("DELETE", "/api/files/{file_id}"): "file_id",
    ("POST", "/api/quotes/{quote_id}/expire"): "quote_id",
    ("POST", "/api/orders/{order_id}/cancel"): "order_id",
}
JOB_PATHS = ("/api/quotes", "/api/quote-runs")
MULTIPART_PATHS = ("/api/uploads",)
JOB_FILE = {"id": "f1", "name": "photo.jpg", "size_bytes": 250_000, "width": 1200, "height": 800}


@dataclass
class FuzzData:
    """Real rows for generated values to hit: `ids` by parameter name; `doomed` are the
    rows the DESTRUCTIVE operations may destroy."""

    email: str
    token: str
    ids: dict[str, list[str]]
    doomed: dict[str, list[str]]
    skus: list[str]


@pytest.fixture
def fuzz_server(cluster):
    server = cluster.add_server(
        ANONYMOUS_UPLOADS="true", **dict.fromkeys(RATE_SETTINGS, UNLIMITED_RATE)
    )
    cluster.wait_ready()
    return server


@pytest.fixture
def fuzz_data(make_user) -> FuzzData:
    # Staff, so that staff-only operations (tracking events) get past their 403 too.
    user = make_user(password=FUZZ_PASSWORD, is_staff=True)
    _, token = auth_session_create(user=user)
    products = [ProductFactory(stock_quantity=1000) for _ in range(3)]
    ids = seed_real_ids(user, products=products, session_id=FUZZ_SESSION_ID)
    doomed = {
        "address_id": [AddressFactory(user=user).pk],
        "file_id": [product_upload(user).pk],
        "quote_id": [QuoteFactory(user=user, session_id=FUZZ_SESSION_ID).pk],
        "order_id": [
            order_place(
                user=user, lines=[OrderLine(products[0].sku, 1)], address_id=ids["address_id"][0]
            ).pk
        ],
    }
    return FuzzData(
        email=user.email,
        token=token,
        ids=ids,
        doomed={name: [str(pk) for pk in pks] for name, pks in doomed.items()},
        skus=[product.sku for product in products],
    )


def _binding(dictionary: str) -> dict:
    return {"dictionary": dictionary, "probability": REAL_VALUE_PROBABILITY}


def fuzz_config(data: FuzzData, *, token: str | None) -> schemathesis.Config:
    values = {
        **data.ids,
        **{f"doomed_{name}": pks for name, pks in data.doomed.items()},
        "sku": data.skus,
        "session_id": [FUZZ_SESSION_ID],
        "email": [data.email],
        "password": [FUZZ_PASSWORD],
        "country": ["FR", "DE", "US"],
    }
    parameters = {
        f"{location}.{name}": _binding(name) for name in data.ids for location in ("path", "body")
    }
    parameters.update(
        {
            "body.items[*].sku": _binding("sku"),
            "body.session_id": _binding("session_id"),
            "path.session_id": _binding("session_id"),
            # Always the real session: a malformed header is a 400 before the body is read
            # (tests/quotes cover that check), and the bodies are what is fuzzed here.
            "header.X-Session-Id": FUZZ_SESSION_ID,
            # Login and register; never `current_password`, which would end the session.
            "body.email": _binding("email"),
            "body.password": _binding("password"),
            "body.country": _binding("country"),
        }
    )
    operations = [
        {
            "include-name": f"{method} {path}",
            "parameters": {f"path.{name}": _binding(f"doomed_{name}")},
        }
        for (method, path), name in DESTRUCTIVE.items()
    ]
    settings: dict = {
        "seed": FUZZ_SEED,
        "suppress-health-check": ["all"],
        "dictionaries": {name: {"values": vals} for name, vals in values.items()},
        "parameters": parameters,
        "operations": operations,
        "generation": {
            "mode": "all",
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "database": "none",
        },
        "request-timeout": 30,
    }
    if token is not None:
        settings["auth"] = {"openapi": {"bearerAuth": {"bearer": token}}}
    return schemathesis.Config.from_dict(settings)


def repaired(path: str, body, skus: list[str]):
    """`body` made valid where the schema cannot say what is: job ops named by the active
    schedule and one file, order lines with real skus. Other fields (op params, extra keys,
    quantities) stay as generated. None when there is nothing to repair."""
    if not isinstance(body, dict):
        return None
    if path in JOB_PATHS:
        ops = body.get("ops")
        params = (
            [v for v in ops.values() if isinstance(v, bool | dict)] if isinstance(ops, dict) else []
        )
        fixed = {
            **body,
            "files": [JOB_FILE],
            "ops": dict(zip(sorted(DEFAULT_SCHEDULE_OPS), params or [True], strict=False)),
        }
        # Who is asking and which providers are checked before the job: fuzzed in the
        # original body only.
        fixed["session_id"] = FUZZ_SESSION_ID
        fixed.pop("providers", None)
        return fixed
    if path == "/api/orders":
        items = body.get("items") if isinstance(body.get("items"), list) else []
        lines = [item for item in items if isinstance(item, dict)] or [{"quantity": 1}]
        items = [{**line, "sku": sku} for line, sku in zip(lines, skus, strict=False)]
        return {**body, "items": items}
    return None


def _nested(depth: int):
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


# Hostile values a JSON client library can still write (no NaN, no 5000-digit integers,
# no nesting past Python's recursion limit: tests/config/test_hostile_input.py sends those).
HOSTILE_VALUES = st.one_of(
    st.sampled_from(["\ud800", "a\udfffb", "\x00", "nul\x00in", "x" * 5000]),
    st.sampled_from([2**63, -(2**63) - 1, 2**64, 10**30, 1e308, [], {}, None]),
    st.integers(min_value=40, max_value=200).map(_nested),
)


def hostile_variants(body):
    """`body` with one field, or an extra key, swapped for a hostile value."""
    if not isinstance(body, dict) or not body:
        return HOSTILE_VALUES
    return st.one_of(
        st.builds(lambda k, v: {**body, k: v}, st.sampled_from(sorted(body)), HOSTILE_VALUES),
        st.builds(lambda v: {**body, "unknown_\ud800": v}, HOSTILE_VALUES),
    )


def load_schema(server, config: schemathesis.Config, data: FuzzData):
    schema = schemathesis.openapi.from_url(f"{server.url}/api/schema/", config=config)

    @schema.hook
    def flatmap_body(context, body):
        """A third of the bodies are repaired (otherwise nearly every job or order stops at
        the same 400 and the code behind it is never reached), a third made hostile."""
        fixed = repaired(context.operation.path, body, data.skus)
        plain = st.just(body) if fixed is None else st.sampled_from([body, fixed])
        if context.operation.path in MULTIPART_PATHS:
            return plain
        return st.one_of(plain, hostile_variants(fixed if fixed is not None else body))

    return schema


@pytest.fixture
def authenticated_schema(fuzz_server, fuzz_data):
    return load_schema(fuzz_server, fuzz_config(fuzz_data, token=fuzz_data.token), fuzz_data)


@pytest.fixture
def anonymous_schema(fuzz_server, fuzz_data):
    return load_schema(fuzz_server, fuzz_config(fuzz_data, token=None), fuzz_data)


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request):
    """schemathesis' lazy loader reads and relabels `item._nodeid`, which pytest 9.2 no
    longer has (the id lives in `item.nodeid`); subtests carry the operation labels."""
    request.node._nodeid = request.node.nodeid


# Operations that end the fuzzer's own session are left out: every later request would
# only see 401.
authenticated = (
    schemathesis.pytest.from_fixture("authenticated_schema")
    .exclude(method="POST", path=["/api/users/logout", "/api/users/logout-all"])
    .exclude(method="DELETE", path="/api/users/sessions/{session_id}")
)
anonymous = schemathesis.pytest.from_fixture("anonymous_schema")


def error_is_api_error(ctx, response, case) -> None:
    """Every 4xx body is JSON {"error", "message"} with a code API.md lists for its status."""
    content_type = response.headers.get("content-type", [""])[0]
    problem = api_error_problem(response.status_code, content_type, response.content)
    if response.status_code < 500:
        assert problem is None, problem


def unavailable_says_when_to_retry(ctx, response, case) -> None:
    """Every 503 carries Retry-After."""
    if response.status_code == 503:
        assert response.headers.get("retry-after"), "503 without Retry-After"


CHECKS = [not_a_server_error, error_is_api_error, unavailable_says_when_to_retry]


@authenticated.parametrize()
def test_authenticated_requests_never_fail_with_a_server_error(case):
    case.call_and_validate(checks=CHECKS)


@anonymous.parametrize()
def test_anonymous_requests_never_fail_with_a_server_error(case):
    case.call_and_validate(checks=CHECKS)
