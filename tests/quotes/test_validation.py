"""JobInputSerializer and caller identity: bad input is a 400 with details."""

import pytest
from rest_framework.test import APIRequestFactory

from config.errors import ValidationFailed
from quotes.identity import Caller, caller_identity
from quotes.models import CreditSchedule
from quotes.serializers import JobInputSerializer

SCHEDULE = CreditSchedule(
    version=1,
    is_active=True,
    ops={
        "upscale": {"base_credits": 1, "credits_per_megapixel": 1},
        "resize": {"base_credits": 0, "credits_per_megapixel": 1},
    },
    max_files=2,
    quote_ttl_seconds=60,
)


def a_file(file_id="f1", **overrides):
    return {"id": file_id, "name": "a.jpg", "size_bytes": 10, "width": 10, "height": 10} | overrides


def validate(data):
    serializer = JobInputSerializer(data=data, context={"schedule": SCHEDULE})
    return serializer.is_valid(), serializer.errors, getattr(serializer, "validated_data", None)


def test_valid_job_drops_false_ops():
    ok, errors, data = validate(
        {"files": [a_file()], "ops": {"upscale": {"factor": 2}, "resize": False}}
    )
    assert ok, errors
    assert data["ops"] == {"upscale": {"factor": 2}}
    assert data.get("session_id") is None


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"files": [a_file()], "ops": {"sharpen": True}}, "ops"),
        ({"files": [a_file()], "ops": {"upscale": 3}}, "ops"),
        ({"files": [a_file()], "ops": {"resize": False}}, "ops"),
        ({"files": [a_file()], "ops": {}}, "ops"),
        ({"files": [a_file("1"), a_file("2"), a_file("3")], "ops": {"upscale": True}}, "files"),
        ({"files": [a_file(size_bytes=0)], "ops": {"upscale": True}}, "files"),
        ({"files": [a_file(size_bytes=-5)], "ops": {"upscale": True}}, "files"),
        ({"files": [a_file(width=0)], "ops": {"upscale": True}}, "files"),
        ({"files": [a_file("x"), a_file("x")], "ops": {"upscale": True}}, "files"),
        ({"files": [], "ops": {"upscale": True}}, "files"),
        ({"files": "nope", "ops": {"upscale": True}}, "files"),
        ({"files": [a_file()], "ops": {"upscale": True}, "session_id": "short"}, "session_id"),
        (
            {"files": [a_file()], "ops": {"upscale": True}, "session_id": "x" * 15 + "!"},
            "session_id",
        ),
    ],
)
def test_invalid_jobs_name_the_field(data, field):
    ok, errors, _ = validate(data)
    assert not ok
    assert field in errors


def test_unknown_op_details_name_the_op():
    _, errors, _ = validate({"files": [a_file()], "ops": {"sharpen": True, "upscale": True}})
    assert "sharpen" in errors["ops"]
    assert "upscale" not in errors["ops"]


def _request(**headers):
    request = APIRequestFactory().get("/", **headers)
    request.user = None
    return request


def test_caller_identity_reads_a_valid_session_header():
    caller = caller_identity(_request(HTTP_X_SESSION_ID="sess_ABC-1234567890"))
    assert caller == Caller(user=None, session_id="sess_ABC-1234567890")


@pytest.mark.parametrize(
    "value", ["short", "x" * 129, "has space in it ok?", "ümlaut-ümlaut-ümlaut"]
)
def test_caller_identity_rejects_malformed_session_ids(value):
    with pytest.raises(ValidationFailed) as raised:
        caller_identity(_request(HTTP_X_SESSION_ID=value))
    assert "X-Session-Id" in raised.value.details
