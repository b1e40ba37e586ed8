"""OpenAPI generation: unique names for nested serializers, the bearer security scheme and
the Idempotency-Key header of every @idempotent handler."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework.generics import GenericAPIView

BODY_METHODS = {"POST", "PUT", "PATCH"}
# Set by config.idempotency.idempotent on a handler: whether its answers are stored.
IDEMPOTENT_HANDLER_ATTR = "idempotency_stores_answer"
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


class AutoSchema(SpectacularAutoSchema):
    """Reads the STYLE.md view shape: an APIView with nested InputSerializer/OutputSerializer.

    Without an explicit @extend_schema, the request body is the view's InputSerializer
    (for POST/PUT/PATCH) and the response its OutputSerializer. Component names come from
    the qualified name (`OrderTrackingApi.OutputSerializer` is "OrderTrackingOutput"), since
    the bare nested names repeat across views.
    """

    def _nested(self, name: str):
        if isinstance(self.view, GenericAPIView):
            return None
        return getattr(self.view, name, None)

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

    def get_serializer_name(self, serializer, direction) -> str:
        qualname = type(serializer).__qualname__
        if "." not in qualname:
            return super().get_serializer_name(serializer, direction)
        outer, _, inner = qualname.rpartition(".")
        outer = outer.split(".")[-1].removesuffix("Api")
        return outer + inner


class BearerAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.BearerAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "Token from /api/users/login"}
