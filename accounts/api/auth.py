"""HTTP API of users and their bearer sessions: register, login/logout, me, password,
session list (API.md)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import (
    auth_session_list_for_user,
)
from accounts.services.auth import (
    auth_login,
    auth_session_create,
    auth_session_delete,
    auth_session_delete_all,
    auth_session_delete_for_user,
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


class UserRegisterApi(APIView):
    """POST /api/users/register: create an account."""

    error_codes: tuple[str, ...] = ("validation_error",)
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
    """POST /api/users/login: a bearer token for email and password."""

    error_codes: tuple[str, ...] = ("validation_error", "invalid_credentials")
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
    """POST /api/users/logout: end this token's session on every instance."""

    error_codes: tuple[str, ...] = ("invalid_token",)
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    @idempotent
    def post(self, request):
        auth_session_delete(session=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserLogoutAllApi(APIView):
    """POST /api/users/logout-all: end every session of the user."""

    error_codes: tuple[str, ...] = ("invalid_token",)
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    @idempotent
    def post(self, request):
        auth_session_delete_all(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserMeApi(APIView):
    """GET /api/users/me: the caller's account."""

    error_codes: tuple[str, ...] = ("invalid_token",)
    permission_classes = [IsAuthenticated]

    class OutputSerializer(UserSerializer):
        is_staff = serializers.BooleanField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request):
        return Response(self.OutputSerializer(request.user).data)


class UserPasswordChangeApi(APIView):
    """Every session of the user ends (this one too); the answer carries a fresh login."""

    error_codes: tuple[str, ...] = ("validation_error", "invalid_token", "invalid_credentials")
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
    """GET /api/users/sessions: the user's live sessions (tokens)."""

    error_codes: tuple[str, ...] = ("validation_error", "invalid_token")
    permission_classes = [IsAuthenticated]
    pagination_class = CursorPagination

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        token_prefix = serializers.CharField()
        created_at = serializers.DateTimeField()
        expires_at = serializers.DateTimeField()
        last_seen_at = serializers.DateTimeField()
        user_agent = serializers.CharField()
        ip_address = serializers.IPAddressField(allow_null=True)
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
    """DELETE /api/users/sessions/{id}: end one of the user's sessions."""

    error_codes: tuple[str, ...] = ("invalid_token", "not_found")
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={204: None})
    def delete(self, request, session_id):
        auth_session_delete_for_user(user=request.user, session_id=session_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
