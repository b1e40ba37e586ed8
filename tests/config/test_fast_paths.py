"""The shortcuts of hot paths answer exactly what DRF's general paths answer."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, renderers, serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from config.negotiation import FastContentNegotiation
from config.renderers import OrjsonRenderer
from config.serializers import FastOutputSerializer, _fields_of
from quotes.models import QuoteStatus
from quotes.serializers import QuoteOutputSerializer
from tests.quotes.factories import QuoteFactory


@pytest.mark.django_db
def test_quote_output_is_the_same_as_drfs_own_serialization(user):
    quotes = [
        QuoteFactory(),
        QuoteFactory(user=user, session_id=None),
        QuoteFactory(status=QuoteStatus.USED, used_at=timezone.now()),
        QuoteFactory(expired_ago=timedelta(seconds=5)),
    ]

    for quote in quotes:
        fast = QuoteOutputSerializer(quote).data
        drf = serializers.Serializer.to_representation(QuoteOutputSerializer(quote), quote)

        assert fast == drf
        assert list(fast) == list(drf)  # same key order in the JSON


def test_serializers_with_context_dependent_fields_use_drfs_path():
    class WithLink(FastOutputSerializer):
        id = serializers.IntegerField()
        link = serializers.SerializerMethodField()

        def get_link(self, obj):
            return f"/things/{obj['id']}"

    assert _fields_of(WithLink) is None
    assert WithLink({"id": 3}).data == {"id": 3, "link": "/things/3"}


@pytest.mark.parametrize(
    ("accept", "query"),
    [
        (None, ""),
        ("*/*", ""),
        ("application/json", ""),
        ("application/json; indent=4", ""),
        ("text/html, */*;q=0.8", ""),
        ("text/html", ""),
        ("application/xml", ""),
        ("*/*", "?format=json"),
        ("*/*", "?format=xml"),
    ],
)
def test_negotiation_picks_what_drf_picks(accept, query):
    headers = {"HTTP_ACCEPT": accept} if accept is not None else {}
    request = Request(APIRequestFactory().get(f"/api/x{query}", **headers))
    available = [renderers.JSONRenderer()]

    def outcome(negotiation):
        try:
            renderer, media_type = negotiation.select_renderer(request, available)
        except exceptions.NotAcceptable as exc:
            return ("406", str(exc.detail))
        except Http404 as exc:
            return ("404", str(exc))
        return (type(renderer), media_type)

    assert outcome(FastContentNegotiation()) == outcome(DefaultContentNegotiation())


RENDERED_VALUES = [
    {"a": 1, "b": [1, 2, 3], "c": {"d": None, "e": True, "f": "ünïcødé ✓"}},
    {"amount": Decimal("12.50"), "id": uuid.UUID(int=7), "when": "2026-11-29T22:00:00Z"},
    {"lazy": gettext_lazy("Not found."), "error": ErrorDetail("bad", code="invalid")},
    {"separators": "a\u2028b\u2029c", "float": 0.5, "big": 2**40},
    [1, "two", {"three": 3}],
]


@pytest.mark.parametrize("data", RENDERED_VALUES)
def test_orjson_renderer_writes_the_bytes_drfs_renderer_writes(data):
    assert OrjsonRenderer().render(data, "application/json") == renderers.JSONRenderer().render(
        data, "application/json"
    )


def test_orjson_renderer_hands_indent_and_huge_integers_to_drf():
    data = {"a": [1, 2], "huge": 2**70}

    assert OrjsonRenderer().render(data, "application/json") == renderers.JSONRenderer().render(
        data, "application/json"
    )
    indented = OrjsonRenderer().render({"a": 1}, "application/json; indent=2")
    assert indented == renderers.JSONRenderer().render({"a": 1}, "application/json; indent=2")
    assert b"\n" in indented
    assert OrjsonRenderer().render(None, "application/json") == b""
