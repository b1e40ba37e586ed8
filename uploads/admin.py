"""Admin for uploads: thumbnails through freshly signed URLs, never stored ones."""

from django.contrib import admin
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html

from config.admin_display import missing
from uploads.models import UploadedFile
from uploads.services import upload_purge
from uploads.storage import signed_read_url, storage_exists

THUMBNAIL_PX = 64
PREVIEW_PX = 480


def _image(upload: UploadedFile, size_px: int) -> str:
    if not upload.content_type.startswith("image/"):
        return "—"
    if not storage_exists(upload.key):
        # The row outlived its object (purged, or lost): a placeholder, not a broken image.
        return missing("upload", height=min(size_px, THUMBNAIL_PX))
    # Path-only on local storage: the admin page and the signed URL share an origin.
    url = signed_read_url(upload.key)
    return format_html(
        '<a href="{}" target="_blank" rel="noopener"><img src="{}" alt="" '
        'style="max-width:{}px;max-height:{}px;object-fit:contain"></a>',
        url,
        url,
        size_px,
        size_px,
    )


@admin.register(UploadedFile)
class UploadedFileAdmin(admin.ModelAdmin):
    list_display = [
        "thumbnail",
        "filename",
        "owner",
        "content_type",
        "size",
        "dimensions",
        "short_sha256",
        "created_at",
    ]
    list_filter = ["content_type", "created_at"]
    search_fields = ["id", "filename", "owner__email", "sha256", "key"]
    list_select_related = ["owner"]
    date_hierarchy = "created_at"
    readonly_fields = (
        "preview",
        "id",
        "owner",
        "key",
        "filename",
        "content_type",
        "size_bytes",
        "sha256",
        "width",
        "height",
        "created_at",
    )
    fields = readonly_fields

    def has_add_permission(self, request):
        # Files arrive through the API, which validates their bytes.
        return False

    @admin.display(description="")
    def thumbnail(self, upload):
        return _image(upload, THUMBNAIL_PX)

    @admin.display(description="Preview")
    def preview(self, upload):
        return _image(upload, PREVIEW_PX)

    @admin.display(description="Size", ordering="size_bytes")
    def size(self, upload):
        return filesizeformat(upload.size_bytes)

    @admin.display(description="Pixels")
    def dimensions(self, upload):
        return f"{upload.width} x {upload.height}" if upload.width else "—"

    @admin.display(description="SHA-256", ordering="sha256")
    def short_sha256(self, upload):
        return format_html('<code title="{}">{}…</code>', upload.sha256, upload.sha256[:12])

    def delete_model(self, request, obj):
        upload_purge(upload=obj)

    def delete_queryset(self, request, queryset):
        for upload in queryset:
            upload_purge(upload=upload)
