"""HTTP API of accounts: registration, bearer sessions, addresses, notifications (API.md)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.countries import COUNTRY_CODES
from accounts.selectors import (
    address_get_for_user,
    address_list_for_user,
    auth_session_list_for_user,
    notification_list_for_user,
)
from accounts.services import (
    address_create,
    address_delete,
    address_set_default,
    address_update,
    auth_login,
    auth_session_create,
    auth_session_delete,
    auth_session_delete_all,
    auth_session_delete_for_user,
    notification_mark_all_read,
    notification_mark_read,
    user_password_change,
    user_register,
)
from accounts.throttling import (
    LoginEmailThrottle,
    LoginIpThrottle,
    PasswordChangeIpThrottle,
    PasswordChangeThrottle,
    RegisterThrottle,
    client_ip,
)
from config.idempotency import idempotent
from config.pagination import CursorPagination, paginated_response
from config.serializers import StrictInputSerializer

PASSWORD_MAX_CHARS = 1024  # hashing a megabyte-long "password" is a denial of service
TRUE_VALUES = {"1", "true", "yes", "on"}


class UserSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    name = serializers.CharField()


def password_field(**kwargs) -> serializers.CharField:
    return serializers.CharField(max_length=PASSWORD_MAX_CHARS, trim_whitespace=False, **kwargs)


class LoginOutputSerializer(serializers.Serializer):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField()
    user = UserSerializer()


def login_response(session, token: str, status_code: int = status.HTTP_200_OK) -> Response:
    data = {"token": token, "expires_at": session.expires_at, "user": session.user}
    return Response(LoginOutputSerializer(data).data, status=status_code)


def request_user_agent(request) -> str:
    return request.META.get("HTTP_USER_AGENT", "")


# --- Users and sessions -------------------------------------------------------------------


class UserRegisterApi(APIView):
    authentication_classes = ()
    permission_classes = ()
    throttle_classes = [RegisterThrottle]

    class InputSerializer(StrictInputSerializer):
        email = serializers.EmailField(max_length=254)
        password = password_field()
        name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")

    class OutputSerializer(UserSerializer):
        pass

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    @idempotent
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_register(**serializer.validated_data)
        return Response(self.OutputSerializer(user).data, status=status.HTTP_201_CREATED)


class UserLoginApi(APIView):
    # A stale token in the header must not stand in the way of logging in again.
    authentication_classes = ()
    permission_classes = ()
    throttle_classes = [LoginIpThrottle, LoginEmailThrottle]

    class InputSerializer(StrictInputSerializer):
        email = serializers.EmailField(max_length=254)
        password = password_field()

    @extend_schema(request=InputSerializer, responses={200: LoginOutputSerializer})
    @idempotent(store=False)
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        session, token = auth_login(
            **serializer.validated_data,
            user_agent=request_user_agent(request),
            ip_address=client_ip(request),
        )
        return login_response(session, token)


class UserLogoutApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    @idempotent
    def post(self, request):
        auth_session_delete(session=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserLogoutAllApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    @idempotent
    def post(self, request):
        auth_session_delete_all(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserMeApi(APIView):
    permission_classes = [IsAuthenticated]

    class OutputSerializer(UserSerializer):
        is_staff = serializers.BooleanField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request):
        return Response(self.OutputSerializer(request.user).data)


class UserPasswordChangeApi(APIView):
    """Every session of the user ends (this one too); the answer carries a fresh login."""

    permission_classes = [IsAuthenticated]
    # Each call checks the current password: a guess, limited like a login.
    throttle_classes = [PasswordChangeIpThrottle, PasswordChangeThrottle]

    class InputSerializer(StrictInputSerializer):
        current_password = password_field()
        new_password = password_field()

    @extend_schema(request=InputSerializer, responses={200: LoginOutputSerializer})
    @idempotent(store=False)
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user_password_change(user=request.user, **serializer.validated_data)
        session, token = auth_session_create(
            user=request.user,
            user_agent=request_user_agent(request),
            ip_address=client_ip(request),
        )
        return login_response(session, token)


class AuthSessionListApi(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = CursorPagination

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        token_prefix = serializers.CharField()
        created_at = serializers.DateTimeField()
        expires_at = serializers.DateTimeField()
        last_seen_at = serializers.DateTimeField()
        user_agent = serializers.CharField()
        ip_address = serializers.IPAddressField()
        current = serializers.SerializerMethodField()

        def get_current(self, session) -> bool:
            return session.pk == self.context["current_session_id"]

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request):
        sessions = auth_session_list_for_user(user=request.user)
        context = {"current_session_id": request.auth.pk}
        return paginated_response(
            request=request,
            view=self,
            queryset=sessions,
            serializer_class=self.OutputSerializer,
            context=context,
        )


class AuthSessionDeleteApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={204: None})
    def delete(self, request, session_id):
        auth_session_delete_for_user(user=request.user, session_id=session_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Addresses ----------------------------------------------------------------------------


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
    permission_classes = [IsAuthenticated]
    pagination_class = CursorPagination

    @extend_schema(responses=AddressOutputSerializer(many=True))
    def get(self, request):
        addresses = address_list_for_user(user=request.user)
        return paginated_response(
            request=request, view=self, queryset=addresses, serializer_class=AddressOutputSerializer
        )

    @extend_schema(request=AddressInputSerializer, responses={201: AddressOutputSerializer})
    @idempotent
    def post(self, request):
        serializer = AddressInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        address = address_create(user=request.user, **serializer.validated_data)
        return Response(AddressOutputSerializer(address).data, status=status.HTTP_201_CREATED)


class AddressDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=AddressOutputSerializer)
    def get(self, request, address_id):
        address = address_get_for_user(user=request.user, address_id=address_id)
        return Response(AddressOutputSerializer(address).data)

    @extend_schema(request=AddressInputSerializer, responses=AddressOutputSerializer)
    def patch(self, request, address_id):
        serializer = AddressInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        address = address_update(
            user=request.user, address_id=address_id, **serializer.validated_data
        )
        return Response(AddressOutputSerializer(address).data)

    @extend_schema(responses={204: None})
    def delete(self, request, address_id):
        address_delete(user=request.user, address_id=address_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AddressSetDefaultApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=AddressOutputSerializer)
    @idempotent
    def post(self, request, address_id):
        address = address_set_default(user=request.user, address_id=address_id)
        return Response(AddressOutputSerializer(address).data)


# --- Notifications ------------------------------------------------------------------------


class NotificationOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    title = serializers.CharField()
    body = serializers.CharField()
    # A declared field (the metaclass takes it out of the class), not Serializer.data.
    data = serializers.JSONField()  # type: ignore[assignment]
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)


class NotificationListApi(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = CursorPagination

    @extend_schema(
        parameters=[OpenApiParameter("unread", bool, description="Only unread ones.")],
        responses=NotificationOutputSerializer(many=True),
    )
    def get(self, request):
        unread = request.query_params.get("unread", "").strip().lower() in TRUE_VALUES
        notifications = notification_list_for_user(user=request.user, unread=unread)
        return paginated_response(
            request=request,
            view=self,
            queryset=notifications,
            serializer_class=NotificationOutputSerializer,
        )


class NotificationReadApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=NotificationOutputSerializer)
    @idempotent
    def post(self, request, notification_id):
        notification = notification_mark_read(user=request.user, notification_id=notification_id)
        return Response(NotificationOutputSerializer(notification).data)


class NotificationReadAllApi(APIView):
    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        marked_read = serializers.IntegerField()

    @extend_schema(request=None, responses=OutputSerializer)
    @idempotent
    def post(self, request):
        marked = notification_mark_all_read(user=request.user)
        return Response(self.OutputSerializer({"marked_read": marked}).data)
