"""HTTP endpoints of uploads: upload, read and delete by id, and the local signed-URL target."""

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.throttling import UploadThrottle
from config.errors import ValidationFailed, error_body
from config.filters import filter_parameters, query_filters
from config.idempotency import idempotent
from config.pagination import CursorPagination, paginated_response
from config.serializers import StrictInputSerializer
from uploads.filters import UploadFilter
from uploads.handlers import UploadMultiPartParser, content_length_too_large, too_large
from uploads.selectors import upload_get_for_user, upload_list_own
from uploads.services import (
    signed_object_put,
    upload_create,
    upload_create_anonymous,
    upload_delete,
)
from uploads.serving import signed_object_serve, upload_serve
from uploads.storage import signed_read_url, signed_token_check


class CanUpload(permissions.BasePermission):
    """Signed-in users, or anyone when ANONYMOUS_UPLOADS is on."""

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated) or settings.ANONYMOUS_UPLOADS


class UploadOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    filename = serializers.CharField()
    content_type = serializers.CharField()
    size_bytes = serializers.IntegerField()
    sha256 = serializers.CharField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    url = serializers.SerializerMethodField(help_text="Signed read URL, valid ≤ 1 h.")
    file_url = serializers.SerializerMethodField(help_text="GET/DELETE endpoint of the file.")
    created_at = serializers.DateTimeField()

    def get_url(self, upload) -> str:
        return signed_read_url(upload.key, request=self.context.get("request"))

    def get_file_url(self, upload) -> str:
        path = reverse("uploads:file", kwargs={"file_id": upload.id})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class UploadCreateApi(APIView):
    """POST /api/uploads: store a JPEG, PNG or WebP file (multipart field `file`)."""

    error_codes: tuple[str, ...] = (
        "validation_error",
        "invalid_token",
        "forbidden",
        "file_too_large",
        "unsupported_media_type",
        "rate_limited",
        "idempotency_key_in_use",
        "idempotency_key_reused",
    )

    permission_classes = [CanUpload]
    throttle_classes = [UploadThrottle]
    # Refuses an oversized body before parsing it, and cuts off one that lies about its size.
    parser_classes = [UploadMultiPartParser]

    class InputSerializer(StrictInputSerializer):
        file = serializers.FileField(allow_empty_file=True, use_url=False)

    OutputSerializer = UploadOutputSerializer

    @extend_schema(
        request={"multipart/form-data": InputSerializer}, responses={201: UploadOutputSerializer}
    )
    @idempotent
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        uploaded = serializer.validated_data["file"]
        try:
            if request.user.is_authenticated:
                upload = upload_create(owner=request.user, fileobj=uploaded, filename=uploaded.name)
            else:
                upload = upload_create_anonymous(fileobj=uploaded, filename=uploaded.name)
        finally:
            uploaded.close()
        return Response(
            self.OutputSerializer(upload, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class UploadListApi(APIView):
    """GET /api/uploads: the caller's own uploads, newest first, filtered by content_type.

    Signed-in callers only: anonymous uploads all belong to one system user, so nobody
    could be shown "their" anonymous uploads.
    """

    error_codes: tuple[str, ...] = ("validation_error", "invalid_token", "rate_limited")
    permission_classes = [IsAuthenticated]
    pagination_class = CursorPagination
    OutputSerializer = UploadOutputSerializer

    @extend_schema(
        responses=UploadOutputSerializer(many=True), parameters=filter_parameters(UploadFilter)
    )
    def get(self, request):
        return paginated_response(
            request=request,
            view=self,
            queryset=upload_list_own(user=request.user, filters=query_filters(request)),
            serializer_class=self.OutputSerializer,
            context={"request": request},
        )


class UploadListOrCreateApi(UploadListApi, UploadCreateApi):
    """/api/uploads: one URL, two views. The settings differ per method, so they are
    chosen per request: GET is UploadListApi's (signed in, the default throttles), POST
    UploadCreateApi's (CanUpload, UploadThrottle, the multipart parser)."""

    def _settings_of(self) -> type[APIView]:
        return UploadListApi if self.request.method in ("GET", "HEAD") else UploadCreateApi

    def get_permissions(self):
        return [permission() for permission in self._settings_of().permission_classes]

    def get_throttles(self):
        return [throttle() for throttle in self._settings_of().throttle_classes]

    def get_parsers(self):
        # Parsers are chosen before self.request exists (initialize_request).
        return [parser() for parser in UploadCreateApi.parser_classes]


class FileDetailApi(APIView):
    """GET /api/files/{id}: the bytes (local) or 302 to a signed URL (cloud); DELETE: owner."""

    error_codes: tuple[str, ...] = ("invalid_token", "not_found")

    @extend_schema(responses={(200, "image/*"): bytes, 302: None, 304: None})
    def get(self, request, file_id):
        """The bytes (local storage) or a 302 to a signed URL (cloud storage)."""
        upload = upload_get_for_user(user=request.user, upload_id=file_id)
        return upload_serve(upload=upload, request=request)

    @extend_schema(responses={204: None})
    def delete(self, request, file_id):
        """Delete a file (its owner only)."""
        upload_delete(user=request.user, upload_id=file_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


@method_decorator(csrf_exempt, name="dispatch")
class SignedObjectView(View):
    """The local-storage stand-in for cloud signed URLs: GET streams the object, PUT
    writes the body once. The signature in `token` is the only authorization."""

    http_method_names = ["get", "put", "head"]

    def http_method_not_allowed(self, request, *args, **kwargs):
        """A JSON 405 like every API endpoint (Django's own is an empty HTML page)."""
        return JsonResponse(
            error_body("method_not_allowed", f'Method "{request.method}" not allowed.'),
            status=status.HTTP_405_METHOD_NOT_ALLOWED,
            headers={"Allow": ", ".join(name.upper() for name in self.http_method_names)},
        )

    def get(self, request, key):
        signed_token_check(token=request.GET.get("token", ""), key=key, method="GET")
        return signed_object_serve(key=key)

    def head(self, request, key):
        return self.get(request, key)

    def put(self, request, key):
        payload = signed_token_check(token=request.GET.get("token", ""), key=key, method="PUT")
        signed_type = payload.get("ct")
        if signed_type and request.content_type != signed_type:
            raise ValidationFailed(
                "The Content-Type header must match the signed one.",
                details={"Content-Type": [f"Must be {signed_type}, the signed type."]},
            )
        if content_length_too_large(request.META):
            raise too_large()
        signed_object_put(
            key=key, body=request, content_type=signed_type or "application/octet-stream"
        )
        return HttpResponse(status=status.HTTP_200_OK)
