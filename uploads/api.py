"""HTTP endpoints of uploads: upload, read and delete by id, and the local signed-URL target."""

import mimetypes
import tempfile

from django.conf import settings
from django.core.files.uploadhandler import MemoryFileUploadHandler, TemporaryFileUploadHandler
from django.http import FileResponse, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import content_disposition_header, parse_etags
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.throttling import UploadThrottle
from config.errors import NotFound, ValidationFailed, error_body
from config.idempotency import idempotent
from config.serializers import StrictInputSerializer
from uploads.handlers import SizeLimitUploadHandler, content_length_too_large, too_large
from uploads.selectors import upload_get_for_user
from uploads.services import upload_create, upload_create_anonymous, upload_delete
from uploads.storage import (
    is_cloud_storage,
    signed_read_url,
    signed_token_check,
    storage_open,
    storage_save,
)

STREAM_CHUNK_BYTES = 64 * 1024
# The bytes served from this API are user content: never let a browser run them.
USER_CONTENT_CSP = "default-src 'none'; sandbox"


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
    """POST /api/uploads (multipart `file`)."""

    permission_classes = [CanUpload]
    throttle_classes = [UploadThrottle]
    parser_classes = [MultiPartParser]

    class InputSerializer(StrictInputSerializer):
        file = serializers.FileField(allow_empty_file=True, use_url=False)

    OutputSerializer = UploadOutputSerializer

    @extend_schema(
        request={"multipart/form-data": InputSerializer}, responses={201: UploadOutputSerializer}
    )
    def initial(self, request, *args, **kwargs):
        """After authentication, permission and rate checks, and before anything parses the
        body (the Idempotency-Key fingerprint does, ahead of the handler)."""
        super().initial(request, *args, **kwargs)
        # Refuse on the declared length before a byte of the body is parsed; the handler
        # below cuts off bodies that lie or don't declare one.
        if content_length_too_large(request.META):
            raise too_large()
        django_request = request._request
        django_request.upload_handlers = [
            SizeLimitUploadHandler(django_request),
            MemoryFileUploadHandler(django_request),
            TemporaryFileUploadHandler(django_request),
        ]

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


class FileDetailApi(APIView):
    """GET /api/files/{id}: the bytes (local) or 302 to a signed URL (cloud); DELETE: owner."""

    @extend_schema(responses={(200, "application/octet-stream"): bytes, 302: None})
    def get(self, request, file_id):
        upload = upload_get_for_user(user=request.user, upload_id=file_id)
        if is_cloud_storage():
            redirect = HttpResponseRedirect(signed_read_url(upload.key, request=request))
            redirect["Cache-Control"] = "private, no-store"
            return redirect
        etag = f'"{upload.sha256}"'
        if_none_match = request.headers.get("If-None-Match")
        response: HttpResponse | FileResponse
        if if_none_match and (etag in parse_etags(if_none_match) or if_none_match.strip() == "*"):
            response = HttpResponse(status=status.HTTP_304_NOT_MODIFIED)
        else:
            try:
                fileobj = storage_open(upload.key)
            except FileNotFoundError:
                raise NotFound("The file's bytes are gone.") from None
            response = FileResponse(fileobj, content_type=upload.content_type)
            response["Content-Length"] = str(upload.size_bytes)
            # None only for an empty filename, which sanitize_filename never stores.
            disposition = content_disposition_header(as_attachment=False, filename=upload.filename)
            if disposition:
                response["Content-Disposition"] = disposition
            response["Content-Security-Policy"] = USER_CONTENT_CSP
        response["ETag"] = etag
        response["Cache-Control"] = "private, max-age=0, must-revalidate"
        return response

    @extend_schema(responses={204: None})
    def delete(self, request, file_id):
        if not request.user.is_authenticated:
            # Anonymous callers own nothing; a system-user file is still not theirs.
            upload_get_for_user(user=request.user, upload_id=file_id)
            raise NotFound("No such file.")
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
        try:
            fileobj = storage_open(key)
        except FileNotFoundError:
            raise NotFound("No such object.") from None
        content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
        response = FileResponse(fileobj, content_type=content_type)
        response["Content-Security-Policy"] = USER_CONTENT_CSP
        response["Cache-Control"] = "private, max-age=0"
        return response

    def head(self, request, key):
        return self.get(request, key)

    def put(self, request, key):
        payload = signed_token_check(token=request.GET.get("token", ""), key=key, method="PUT")
        signed_type = payload.get("ct")
        if signed_type and request.content_type != signed_type:
            raise ValidationFailed(
                "The Content-Type header must match the signed one.",
                code="content_type_mismatch",
                details={"expected": signed_type},
            )
        if content_length_too_large(request.META):
            raise too_large()
        with tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE) as body:
            received = 0
            while chunk := request.read(STREAM_CHUNK_BYTES):
                received += len(chunk)
                if received > settings.MAX_UPLOAD_BYTES:
                    raise too_large()
                body.write(chunk)
            if received == 0:
                raise ValidationFailed("The body is empty.", code="empty_body")
            storage_save(key, body, content_type=signed_type or "application/octet-stream")
        return HttpResponse(status=status.HTTP_200_OK)
