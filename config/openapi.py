"""OpenAPI generation: unique names for nested serializers and the bearer security scheme."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework.generics import GenericAPIView

BODY_METHODS = {"POST", "PUT", "PATCH"}


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
