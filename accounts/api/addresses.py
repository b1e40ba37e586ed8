"""HTTP API of a user's addresses (API.md)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.countries import COUNTRY_CODES
from accounts.selectors import (
    address_get_for_user,
    address_list_for_user,
)
from accounts.services.addresses import (
    address_create,
    address_delete,
    address_set_default,
    address_update,
)
from config.idempotency import idempotent
from config.pagination import CursorPagination, paginated_response
from config.serializers import StrictInputSerializer


class AddressOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    # A declared field (the metaclass takes it out of the class), not Field.label.
    label = serializers.CharField()  # type: ignore[assignment]
    line1 = serializers.CharField()
    line2 = serializers.CharField()
    city = serializers.CharField()
    postal_code = serializers.CharField()
    country = serializers.CharField()
    is_default = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class AddressInputSerializer(StrictInputSerializer):
    # A declared field (the metaclass takes it out of the class), not Field.label.
    label = serializers.CharField(max_length=60, required=False, allow_blank=True)  # type: ignore[assignment]
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100)
    postal_code = serializers.CharField(max_length=20)
    country = serializers.CharField(min_length=2, max_length=2)
    is_default = serializers.BooleanField(required=False)

    def validate_country(self, value: str) -> str:
        if value.upper() not in COUNTRY_CODES:
            raise serializers.ValidationError("Use an ISO 3166-1 alpha-2 code, e.g. FR.")
        return value.upper()


class AddressListCreateApi(APIView):
    """/api/addresses: the user's addresses (GET) and a new one (POST)."""

    error_codes: tuple[str, ...] = ("validation_error", "invalid_token")
    permission_classes = [IsAuthenticated]
    pagination_class = CursorPagination
    InputSerializer = AddressInputSerializer

    @extend_schema(responses=AddressOutputSerializer(many=True))
    def get(self, request):
        """The user's addresses."""
        addresses = address_list_for_user(user=request.user)
        return paginated_response(
            request=request, view=self, queryset=addresses, serializer_class=AddressOutputSerializer
        )

    @extend_schema(request=AddressInputSerializer, responses={201: AddressOutputSerializer})
    @idempotent
    def post(self, request):
        """Add an address."""
        serializer = AddressInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        address = address_create(user=request.user, **serializer.validated_data)
        return Response(AddressOutputSerializer(address).data, status=status.HTTP_201_CREATED)


class AddressDetailApi(APIView):
    """/api/addresses/{id}: read, change or delete one of the user's addresses."""

    error_codes: tuple[str, ...] = ("validation_error", "invalid_token", "not_found")
    permission_classes = [IsAuthenticated]
    InputSerializer = AddressInputSerializer

    @extend_schema(responses=AddressOutputSerializer)
    def get(self, request, address_id):
        """One of the user's addresses."""
        address = address_get_for_user(user=request.user, address_id=address_id)
        return Response(AddressOutputSerializer(address).data)

    @extend_schema(request=AddressInputSerializer, responses=AddressOutputSerializer)
    def patch(self, request, address_id):
        """Change some fields of an address."""
        serializer = AddressInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        address = address_update(
            user=request.user, address_id=address_id, **serializer.validated_data
        )
        return Response(AddressOutputSerializer(address).data)

    @extend_schema(responses={204: None})
    def delete(self, request, address_id):
        """Delete an address."""
        address_delete(user=request.user, address_id=address_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AddressSetDefaultApi(APIView):
    """POST /api/addresses/{id}/default: make it the default address."""

    error_codes: tuple[str, ...] = ("invalid_token", "not_found")
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=AddressOutputSerializer)
    @idempotent
    def post(self, request, address_id):
        address = address_set_default(user=request.user, address_id=address_id)
        return Response(AddressOutputSerializer(address).data)
