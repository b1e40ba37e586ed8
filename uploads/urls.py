"""URL routes of this app (mounted under /api/)."""

from django.urls import path

from uploads.api import FileDetailApi, SignedObjectView, UploadListOrCreateApi

app_name = "uploads"

urlpatterns = [
    path("uploads", UploadListOrCreateApi.as_view(), name="upload-create"),
    path("files/<uuid:file_id>", FileDetailApi.as_view(), name="file"),
    path("storage/<path:key>", SignedObjectView.as_view(), name="signed-object"),
]
