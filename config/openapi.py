"""OpenAPI generation: unique names for nested serializers, tags and summaries from the view,
the security schemes, the Idempotency-Key header of every @idempotent handler, and every
operation's error answers from its view's `error_codes` (config.errors.ERROR_CODES)."""

import re
from collections import defaultdict
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import force_instance, get_doc, is_serializer
from drf_spectacular.utils import OpenApiExample, OpenApiParameter
from rest_framework import serializers
from rest_framework.generics import GenericAPIView

from config.errors import ERROR_CODES
from config.openapi_examples import EXAMPLES

BODY_METHODS = {"POST", "PUT", "PATCH"}
# Set by config.idempotency.idempotent on a handler: whether its answers are stored.
IDEMPOTENT_HANDLER_ATTR = "idempotency_stores_answer"
# The class attribute of every APIView listing the ERROR_CODES it can answer itself.
ERROR_CODES_ATTR = "error_codes"
SESSION_ID_SCHEME = "sessionId"
BEARER_SCHEME = "bearerAuth"
# Codes no operation documents: a 405 answers a method no operation has. (A 500
# internal_error is a bug: documented nowhere, so a test that gets one fails.)
UNDOCUMENTED_CODES = frozenset({"method_not_allowed"})
# Tag of each view module (the app it belongs to); other modules are tagged by their app.
MODULE_TAGS = {
    "accounts.webhooks.api": "webhooks",
    "quotes.runs.api": "quote-runs",
    "config.health": "health",
}
IDEMPOTENCY_KEY_STORED = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description=(
        "1-255 printable ASCII characters, unique per intended operation. A retry with the "
        "same key and body replays the first answer (status and body, with "
        "`Idempotent-Replayed: true`) for IDEMPOTENCY_KEY_TTL_S (24 h); 409 "
        "`idempotency_key_in_use` while the first is still running; 422 "
        "`idempotency_key_reused` with another body. 5xx and 429 answers are not kept."
    ),
)
IDEMPOTENCY_KEY_NOT_STORED = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description=(
        "Accepted (1-255 printable ASCII characters) but never stored: this answer carries "
        "a secret token, so every call runs."
    ),
)
# "POST /api/quotes: " or "/api/orders: " before a view docstring's summary.
DOC_PATH_PREFIX = re.compile(r"^(?:(?:GET|POST|PUT|PATCH|DELETE)\b)?[^:]*?/api/[^:]*:\s*")
RETRY_AFTER_HEADER = {
    "Retry-After": {
        "schema": {"type": "integer", "minimum": 0},
        "description": "Seconds to wait before retrying (sent with the codes marked so).",
    }
}
# Example `details` of the codes whose answer carries them.
EXAMPLE_DETAILS: dict[str, Any] = {
    "validation_error": {"field": ["This field is required."]},
    "rate_limited": {"retry_after": 42},
    "quota_exceeded": {"remaining": 0, "resets_at": "2026-01-02T00:00:00+00:00"},
    "out_of_stock": {"skus": ["MUG-01"]},
    "file_too_large": {"max_bytes": 20971520},
    "request_too_large": {"max_bytes": 1048576},
}


class ErrorSerializer(serializers.Serializer):
    """Every error answer of the API (API.md): a code, a human message, maybe details."""

    error = serializers.CharField(help_text="Machine-readable code; see each response's list.")
    message = serializers.CharField(help_text="Human-readable explanation.")
    details = serializers.JSONField(
        required=False,
        help_text="What exactly failed: per-field messages for validation_error, limits, skus.",
    )


def handler_owner(view_class: type, method: str) -> type:
    """The class that defines the view's handler of `method` (a view may inherit its
    handlers from several others: orders.api.OrderListOrPlaceApi)."""
    handler = getattr(view_class, method.lower(), None)
    name = getattr(handler, "__qualname__", "").split(".")[0]
    return next((cls for cls in view_class.__mro__ if cls.__name__ == name), view_class)


def view_error_codes(view_class: type, method: str) -> set[str]:
    """Every code an operation can answer: the `error_codes` of the class defining its
    handler, plus those that come with what the view is (authenticated, throttled, takes a
    body, idempotent)."""
    owner = handler_owner(view_class, method)
    codes = set(getattr(owner, ERROR_CODES_ATTR, ()))
    # Any view reads the database (503) and negotiates its answer's type (406); any request
    # under /api/ with a NUL or a lone surrogate in a query or header is a 400
    # (config.middleware.RequestTextMiddleware).
    codes |= {"service_unavailable", "not_acceptable", "validation_error"}
    if getattr(view_class, "authentication_classes", ()):
        codes.add("invalid_token")
    if getattr(view_class, "throttle_classes", ()):
        codes.add("rate_limited")
    method = method.upper()
    if method in BODY_METHODS:
        parsers = getattr(view_class, "parser_classes", ()) or ()
        if all(parser.media_type == "application/json" for parser in parsers):
            codes.add("request_too_large")
        else:
            codes |= {"file_too_large", "unsupported_media_type"}
    handler = getattr(view_class, method.lower(), None)
    if getattr(handler, IDEMPOTENT_HANDLER_ATTR, None) is not None:
        codes |= {"idempotency_key_in_use", "idempotency_key_reused"}
    return codes


def error_responses(codes: set[str], error_ref: dict) -> dict[str, dict]:
    """One response per status, with the shared Error component, its codes listed in the
    description and one example each; Retry-After where one of its codes sends it."""
    by_status: dict[int, list[str]] = defaultdict(list)
    for code in sorted(codes):
        by_status[ERROR_CODES[code].status].append(code)
    responses = {}
    for status_code, status_codes in sorted(by_status.items()):
        lines = []
        for code in status_codes:
            spec = ERROR_CODES[code]
            mark = " (with Retry-After)" if spec.retry_after else ""
            lines.append(f"- `{code}`{mark}: {spec.description}")
        examples = {}
        for code in status_codes:
            value: dict[str, Any] = {"error": code, "message": ERROR_CODES[code].description}
            if code in EXAMPLE_DETAILS:
                value["details"] = EXAMPLE_DETAILS[code]
            examples[code] = {"summary": code, "value": value}
        response: dict[str, Any] = {
            "description": "Error codes:\n" + "\n".join(lines),
            "content": {"application/json": {"schema": error_ref, "examples": examples}},
        }
        if any(ERROR_CODES[code].retry_after for code in status_codes):
            response["headers"] = RETRY_AFTER_HEADER
        responses[str(status_code)] = response
    return responses


class AutoSchema(SpectacularAutoSchema):
    """Reads the STYLE.md view shape: an APIView with nested InputSerializer/OutputSerializer.

    Without an explicit @extend_schema, the request body is the view's InputSerializer
    (for POST/PUT/PATCH) and the response its OutputSerializer. Component names come from
    the qualified name (`OrderTrackingApi.OutputSerializer` is "OrderTrackingOutput"), since
    the bare nested names repeat across views. The tag is the view's app, the summary the
    first line of its docstring after "METHOD /path:", the errors those of
    `view_error_codes`.
    """

    def _nested(self, name: str):
        if isinstance(self.view, GenericAPIView):
            return None
        return getattr(self.view, name, None)

    def get_tags(self) -> list[str]:
        module = type(self.view).__module__
        if module in MODULE_TAGS:
            return [MODULE_TAGS[module]]
        return [module.split(".")[0]]

    def get_summary(self) -> str | None:
        """The first sentence of the handler's docstring, else of the class defining the
        handler, after its "METHOD /api/path:" prefix."""
        doc = self._handler_doc()
        paragraph = " ".join(doc.split("\n\n", 1)[0].split())
        sentence = DOC_PATH_PREFIX.sub("", paragraph).split(". ", 1)[0].rstrip(".")
        return sentence[:1].upper() + sentence[1:] or None

    def get_description(self) -> str:  # type: ignore[override]  # as drf-spectacular's
        return self._handler_doc()

    def _handler_doc(self) -> str:
        """The handler's docstring, else that of the class defining the handler: a view
        that joins two on one URL (orders.api.OrderListOrPlaceApi) documents each method by
        the view it comes from."""
        handler = getattr(self.view, self.method.lower(), None)
        return get_doc(handler) or get_doc(handler_owner(type(self.view), self.method))

    def get_auth(self):
        auth = list(super().get_auth())
        from quotes.identity import SESSION_ID_HEADER

        takes_session = any(
            isinstance(parameter, OpenApiParameter) and parameter.name == SESSION_ID_HEADER
            for parameter in self.get_override_parameters()
        )
        if takes_session:
            # Anonymous callers identify by X-Session-Id instead of a token.
            auth.insert(len([a for a in auth if a]), {SESSION_ID_SCHEME: []})
        return auth

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        handler = getattr(self.view, self.method.lower(), None)
        stores = getattr(handler, IDEMPOTENT_HANDLER_ATTR, None)
        if stores is not None:
            parameters.append(IDEMPOTENCY_KEY_STORED if stores else IDEMPOTENCY_KEY_NOT_STORED)
        return parameters

    def get_request_serializer(self):
        if self._nested("InputSerializer") is None and self._nested("OutputSerializer") is None:
            return super().get_request_serializer()
        return self._nested("InputSerializer") if self.method in BODY_METHODS else None

    def get_response_serializers(self):
        if self._nested("InputSerializer") is None and self._nested("OutputSerializer") is None:
            return super().get_response_serializers()
        return self._nested("OutputSerializer")

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        error_ref = self.resolve_serializer(ErrorSerializer, "response").ref
        codes = view_error_codes(type(self.view), self.method) - UNDOCUMENTED_CODES
        for status_code, response in error_responses(codes, error_ref).items():
            responses.setdefault(status_code, response)
        return responses

    def _get_examples(self, serializer, direction, media_type, status_code=None, extras=None):
        """The component's example from config.openapi_examples when none is declared."""
        examples = super()._get_examples(serializer, direction, media_type, status_code, extras)
        if examples or media_type != "application/json":
            return examples
        if direction == "response" and not str(status_code or "200").startswith("2"):
            return examples
        child = force_instance(getattr(serializer, "child", serializer))
        if not is_serializer(child):
            return examples
        name = self._get_serializer_name(child, direction).removesuffix("Request")
        if name not in EXAMPLES:
            return examples
        example = OpenApiExample(name, value=EXAMPLES[name])
        return super()._get_examples(serializer, direction, media_type, status_code, [example])

    def get_serializer_name(self, serializer, direction) -> str:
        qualname = type(serializer).__qualname__
        if "." not in qualname:
            return super().get_serializer_name(serializer, direction)
        parts = qualname.split(".")
        # The view, then every nested serializer but the generic InputSerializer /
        # OutputSerializer wrappers: `OrderPlaceApi.InputSerializer.LineSerializer` is
        # "OrderPlaceLine", `OrderTrackingApi.OutputSerializer` "OrderTrackingOutput".
        view = parts[0].removesuffix("Api")
        inner = [part.removesuffix("Serializer") for part in parts[1:]]
        if len(inner) > 1 and inner[0] in ("Input", "Output"):
            inner = inner[1:]
        return view + "".join(inner)


class BearerAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.BearerAuthentication"
    name = BEARER_SCHEME

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "Token from /api/users/login"}
