"""Every answer of a real server matches its schema: status codes the operation documents,
their content types, headers and bodies (schemathesis' conformance checks).

Uses test_fuzz's server and rows, with fewer examples per operation (CONFORMANCE_EXAMPLES)
so the whole run stays near a minute; test_fuzz sends the hostile inputs.
"""

import pytest
import schemathesis
from schemathesis.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e import test_fuzz
from tests.e2e.test_fuzz import FuzzData, fuzz_config, load_schema

# test_fuzz's fixtures, found by pytest under these names.
fuzz_server = test_fuzz.fuzz_server
fuzz_data = test_fuzz.fuzz_data

CONFORMANCE_EXAMPLES = 8
CHECKS = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def conformance_config(data: FuzzData, token: str | None) -> schemathesis.Config:
    config = fuzz_config(data, token=token)
    config.projects.default.generation.update(max_examples=CONFORMANCE_EXAMPLES)
    return config


@pytest.fixture
def conformance_schema(fuzz_server, fuzz_data):
    return load_schema(fuzz_server, conformance_config(fuzz_data, fuzz_data.token), fuzz_data)


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request):
    """As in test_fuzz: schemathesis reads `item._nodeid`, which pytest 9.2 no longer has."""
    request.node._nodeid = request.node.nodeid


conformance = (
    schemathesis.pytest.from_fixture("conformance_schema")
    .exclude(method="POST", path=["/api/users/logout", "/api/users/logout-all"])
    .exclude(method="DELETE", path="/api/users/sessions/{session_id}")
)


@conformance.parametrize()
def test_every_answer_matches_the_schema(case):
    case.call_and_validate(checks=CHECKS)
