"""Property: no hostile input to any operation of the OpenAPI schema gives a 5xx, and every
4xx is an API.md error ({error, message} with a code listed for its status).

Every operation of /api/schema/ is driven through the whole Django stack with bodies,
query parameters and path parameters drawn from the hostile families of tests/hostile.py:
nesting 20,000 deep, lone surrogates, NUL, integers of 2**63 and 5000 digits, 1e400 and
NaN, long strings, odd types, unknown keys, bytes that are not UTF-8, odd content types.
Real ids are mixed in so that requests get past the lookups. Bounded and reproducible:
MAX_EXAMPLES per operation, derandomized, no example database.
"""

import base64
import string
import uuid
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from accounts.services.auth import auth_session_create
from tests.hostile import (
    FAMILIES,
    api_error_problem,
    hostile_bodies,
    huge_ints,
    long_strings,
    nul_strings,
    seed_real_ids,
)
from tests.orders.factories import ProductFactory

# Per operation and family: 26 operations x 7 families x 8 bodies, ~1 minute.
MAX_EXAMPLES = 8
SESSION_ID = "hostile_session_000000001"
UNLIMITED = "1000000/min"
BODY_METHODS = {"post", "put", "patch"}
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=utf-16",
    "application/json; charset=no-such-charset",
    "text/plain",
    "application/x-www-form-urlencoded",
]

SPEC = SchemaGenerator().get_schema(request=None, public=True)
OPERATIONS = [
    (method, path, operation)
    for path, operations in SPEC["paths"].items()
    for method, operation in operations.items()
]
# The multipart upload has its own corpus of hostile files (tests/uploads).
BODY_OPERATIONS = [
    (method, path)
    for method, path, operation in OPERATIONS
    if method in BODY_METHODS
    and "multipart/form-data" not in operation.get("requestBody", {}).get("content", {})
]
PARAMETER_OPERATIONS = [
    (method, path)
    for method, path, operation in OPERATIONS
    if any(p["in"] in {"query", "path"} for p in operation.get("parameters", []))
]
OPERATION = {(method, path): operation for method, path, operation in OPERATIONS}

SETTINGS = hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@dataclass
class World:
    """A staff user with one of everything, so that real ids reach the code behind lookups."""

    user: object
    real: dict[str, list[str]]

    def client(self) -> APIClient:
        # A token per request: logout and password changes end the previous ones.
        _, token = auth_session_create(user=self.user)
        client = APIClient(HTTP_X_SESSION_ID=SESSION_ID)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client


@pytest.fixture
def world(make_user, settings) -> World:
    # Hundreds of logins and password checks: Argon2 would be most of the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": dict.fromkeys(
            settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], UNLIMITED
        ),
    }
    user = make_user(is_staff=True)
    products = [ProductFactory(stock_quantity=10**6, price_cents=2**40) for _ in range(2)]
    real = seed_real_ids(user, products=products, session_id=SESSION_ID)
    real |= {
        "sku": [p.sku for p in products],
        "session_id": [SESSION_ID],
        "email": [user.email],
    }
    return World(user=user, real=real)


def assert_api_answer(response) -> None:
    if response.status_code < 400:
        return  # a file download has no `content` to look at
    problem = api_error_problem(
        response.status_code, response.get("Content-Type", ""), response.content
    )
    assert problem is None, problem
    if response.status_code == 503:
        assert response.has_header("Retry-After")


def fill_path(path: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    return path


def path_names(method: str, path: str) -> list[str]:
    return [p["name"] for p in OPERATION[(method, path)].get("parameters", []) if p["in"] == "path"]


def _request_schema(method: str, path: str) -> dict | None:
    content = OPERATION[(method, path)].get("requestBody", {}).get("content", {})
    return content.get("application/json", {}).get("schema")


@pytest.mark.django_db
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize(("method", "path"), BODY_OPERATIONS, ids=lambda v: v)
def test_hostile_bodies_never_give_a_server_error(method, path, family, world):
    url = fill_path(
        path,
        {name: world.real.get(name, [str(uuid.uuid4())])[0] for name in path_names(method, path)},
    )

    @SETTINGS
    @given(
        body=hostile_bodies(SPEC, _request_schema(method, path), world.real, family),
        content_type=st.sampled_from(CONTENT_TYPES),
    )
    def check(body, content_type):
        response = world.client().generic(method.upper(), url, body, content_type=content_type)
        assert_api_answer(response)

    check()


def _forged_cursor(text: str) -> str:
    return base64.b64encode(text.encode("utf-8", "surrogatepass")).decode()


# Query values a client can put in a URL (a lone surrogate cannot be percent-encoded).
query_values = st.one_of(
    nul_strings.filter(lambda s: s.encode("utf-8", "ignore").decode() == s),
    huge_ints.map(str),
    long_strings.map(lambda s: s[:3000]),
    st.text(string.printable, max_size=30),
    st.sampled_from(["-1", "0", "1e400", "NaN", "true", "[]", "%", "2026-13-45"]),
    st.sampled_from(
        ["p=2026", "p=\x00", "o=-1", "o=99999999999999999999", "r=x", "p=9999-12-31"]
    ).map(_forged_cursor),
)


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), PARAMETER_OPERATIONS, ids=lambda v: v)
def test_hostile_query_and_path_parameters_never_give_a_server_error(method, path, world):
    parameters = OPERATION[(method, path)].get("parameters", [])
    query_names = [p["name"] for p in parameters if p["in"] == "query"]

    @SETTINGS
    @given(
        query=st.fixed_dictionaries({}, optional=dict.fromkeys(query_names, query_values)),
        path_values=st.fixed_dictionaries(
            {
                name: st.one_of(
                    st.sampled_from(world.real.get(name) or [str(uuid.uuid4())]),
                    query_values.map(lambda v: quote(v, safe="")),
                )
                for name in path_names(method, path)
            }
        ),
    )
    def check(query, path_values):
        query_string = "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in query.items())
        url = fill_path(path, path_values) + (f"?{query_string}" if query_string else "")
        response = world.client().generic(method.upper(), url)
        assert_api_answer(response)

    check()
