"""StrictInputSerializer: a request field nobody declared is a 400, at any depth."""

import pytest
from rest_framework import serializers

from config.serializers import StrictInputSerializer, unknown_field_errors
from tests.hostile import api_views
from tests.orders.factories import ProductFactory

JOB = {
    "files": [{"id": "f1", "name": "a.jpg", "size_bytes": 100, "width": 10, "height": 10}],
    "ops": {"upscale": True},
}


class Point(serializers.Serializer):
    x = serializers.IntegerField()


class Shape(StrictInputSerializer):
    name = serializers.CharField()
    center = Point()
    corners = Point(many=True)
    labels = serializers.DictField(child=Point())
    tags = serializers.ListField(child=serializers.CharField())
    created = serializers.DateTimeField(read_only=True)


def test_unknown_keys_are_named_at_every_depth_of_plain_nested_serializers():
    data = {
        "name": "s",
        "colour": "red",
        "created": "2026-01-01T00:00:00Z",
        "center": {"x": 1, "z": 2},
        "corners": [{"x": 1}, {"x": 2, "w": 3}],
        "labels": {"a": {"x": 1, "q": 0}},
        "tags": ["free", "text"],
    }

    assert unknown_field_errors(Shape(), data) == {
        "colour": ["Unknown field."],
        "created": ["Unknown field."],
        "center": {"z": ["Unknown field."]},
        "corners": {1: {"w": ["Unknown field."]}},
        "labels": {"a": {"q": ["Unknown field."]}},
    }


def test_known_keys_pass_and_validation_goes_on_as_usual():
    serializer = Shape(
        data={"name": "s", "center": {"x": 1}, "corners": [], "labels": {}, "tags": []}
    )

    assert serializer.is_valid(), serializer.errors


@pytest.mark.django_db
def test_an_unknown_field_on_a_quote_is_not_silently_dropped(auth_client):

    response = auth_client.post("/api/quotes", {**JOB, "ttl_minutes": 2}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "error": "validation_error",
        "message": "The request is invalid.",
        "details": {"ttl_minutes": ["Unknown field."]},
    }


@pytest.mark.django_db
def test_unknown_keys_inside_job_files_and_order_lines_are_named(auth_client, user):
    job = {**JOB, "files": [{**JOB["files"][0], "exif": {}}]}
    product = ProductFactory()

    quote = auth_client.post("/api/quotes", job, format="json")
    order = auth_client.post(
        "/api/orders",
        {"items": [{"sku": product.sku, "quantity": 1, "discount": 100}], "address_id": "x"},
        format="json",
    )

    assert quote.status_code == 400
    assert quote.json()["details"] == {"files": {"0": {"exif": ["Unknown field."]}}}
    assert order.status_code == 400
    assert order.json()["details"] == {"items": {"0": {"discount": ["Unknown field."]}}}


def _input_serializers(view):
    for name in ("InputSerializer",):
        serializer = getattr(view, name, None)
        if serializer is not None:
            yield serializer
    module = __import__(view.__module__, fromlist=["*"])
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and issubclass(value, serializers.Serializer)
            and value.__name__.endswith("InputSerializer")
        ):
            yield value


def _nested_plain_serializers(serializer_class):
    """Serializer classes nested anywhere in `serializer_class` that are not strict."""
    for field in serializer_class().fields.values():
        child = getattr(field, "child", field)
        if isinstance(child, serializers.Serializer):
            if not isinstance(child, StrictInputSerializer):
                yield type(child).__qualname__
            yield from _nested_plain_serializers(type(child))


def test_every_input_serializer_of_every_view_is_strict_all_the_way_down():
    found = {s for _, view in api_views() for s in _input_serializers(view)}
    loose = sorted(s.__qualname__ for s in found if not issubclass(s, StrictInputSerializer))
    loose_nested = sorted({n for s in found for n in _nested_plain_serializers(s)})

    assert len(found) >= 10
    assert loose == []
    assert loose_nested == []
