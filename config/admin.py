"""Admin of the project's own tables: Idempotency-Key records and cleanup runs (read-only)."""

import json

from django.contrib import admin
from django.utils.html import format_html

from config.admin_display import fields_table, truncated
from config.models import CleanupRun, IdempotencyKey

ERROR_LIST_CHARS = 60


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    """Read-only: records are written by config.idempotency only. Deleting one frees its key
    (the client's next retry runs as a new request)."""

    list_display = ("key", "method", "path", "scope", "state", "response_status", "created_at")
    list_filter = ("state", "method", "response_status", "created_at")
    search_fields = ("=key", "scope", "path")
    date_hierarchy = "created_at"
    fields = (
        "scope",
        "method",
        "path",
        "key",
        "state",
        "response_status",
        "pretty_body",
        "fingerprint",
        "lease",
        "locked_until",
        "created_at",
    )
    readonly_fields = fields
    show_full_result_count = False

    @admin.display(description="stored answer body")
    def pretty_body(self, record: IdempotencyKey) -> str:
        if not record.response_body:
            return "-"
        try:
            text = json.dumps(json.loads(record.response_body), indent=2, ensure_ascii=False)
        except ValueError:
            text = record.response_body
        return format_html("<pre>{}</pre>", text)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CleanupRun)
class CleanupRunAdmin(admin.ModelAdmin):
    """Read-only: written by config.cleanup for every run of a registered cleanup."""

    list_display = ("name", "outcome", "found", "cleaned", "took", "started_at", "short_error")
    list_filter = ("outcome", "name", "started_at")
    date_hierarchy = "started_at"
    fields = (
        "name",
        "outcome",
        "found",
        "cleaned",
        "counts_fields",
        "error",
        "started_at",
        "finished_at",
        "took",
    )
    readonly_fields = fields
    show_full_result_count = False

    @admin.display(description="took")
    def took(self, run: CleanupRun) -> str:
        return f"{run.duration_ms} ms"

    @admin.display(description="counts")
    def counts_fields(self, run: CleanupRun) -> str:
        return fields_table(run.counts)

    @admin.display(description="error")
    def short_error(self, run: CleanupRun) -> str:
        return truncated(run.error, chars=ERROR_LIST_CHARS)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
