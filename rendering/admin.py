"""Admin: shops with today's usage bar, usage history, render jobs and room sessions."""

from datetime import timedelta

from django.contrib import admin
from django.db import models
from django.db.models import Prefetch
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from config.admin_display import missing, truncated
from rendering.models import RenderJob, RenderJobStatus, RoomSession, Shop, UsageDaily
from rendering.quota import quota_day
from uploads.storage import signed_read_url, storage_exists

THUMB_LIST_PX = 48
THUMB_DETAIL_PX = 240
USAGE_HISTORY_DAYS = 30
ERROR_LIST_CHARS = 48


def _thumbnail(key: str, *, label: str, height: int) -> str:
    """A freshly signed thumbnail of `key`, or the "missing" placeholder when there is no
    key or no object behind it (never an <img> the browser would show broken)."""
    if not key or not storage_exists(key):
        return missing(label, height=height)
    return mark_safe(  # noqa: S308 - the template autoescapes every value
        render_to_string(
            "admin/rendering/thumbnail.html",
            {"url": signed_read_url(key), "label": label, "height": height},
        )
    )


def usage_bar(shop: Shop, usage: UsageDaily | None) -> str:
    day = quota_day(shop=shop)
    used = usage.composite_renders if usage else 0
    reserved = usage.reserved if usage else 0
    quota = shop.daily_quota
    scale = 100 / quota if quota else 0
    context = {
        "date": day,
        "used": used,
        "reserved": reserved,
        "quota": quota,
        "remaining": max(0, quota - used - reserved),
        "used_pct": min(100, round(used * scale, 1)),
        "reserved_pct": min(100 - min(100, round(used * scale, 1)), round(reserved * scale, 1)),
    }
    return mark_safe(render_to_string("admin/rendering/usage_bar.html", context))  # noqa: S308


class UsageDailyInline(admin.TabularInline):
    model = UsageDaily
    extra = 0
    can_delete = False
    fields = ("date", "composite_renders", "reserved", "prep_renders", "cleanup_renders")
    readonly_fields = fields
    ordering = ["-date"]
    verbose_name_plural = f"usage history (last {USAGE_HISTORY_DAYS} days)"

    def get_queryset(self, request):
        since = timezone.now().date() - timedelta(days=USAGE_HISTORY_DAYS)
        return super().get_queryset(request).filter(date__gte=since)

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Shop)
class ShopAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "daily_quota", "usage_today", "timezone", "created_at"]
    list_editable = ["daily_quota"]
    search_fields = ["name", "owner__email", "id"]
    raw_id_fields = ["owner"]
    readonly_fields = ["id", "created_at", "usage_today"]
    fields = ["id", "name", "owner", "daily_quota", "timezone", "usage_today", "created_at"]
    inlines = [UsageDailyInline]

    def get_queryset(self, request):
        # A shop's local date is within a day of UTC's: prefetch those rows, no N+1.
        today = timezone.now().date()
        recent = UsageDaily.objects.filter(date__range=(today - timedelta(1), today + timedelta(1)))
        return (
            super()
            .get_queryset(request)
            .select_related("owner")
            .prefetch_related(Prefetch("usage_days", queryset=recent, to_attr="recent_usage"))
        )

    @admin.display(description="today's usage")
    def usage_today(self, shop: Shop) -> str:
        day = quota_day(shop=shop)
        rows = getattr(shop, "recent_usage", None)
        if rows is None:
            usage = UsageDaily.objects.filter(shop=shop, date=day).first()
        else:
            usage = next((row for row in rows if row.date == day), None)
        return usage_bar(shop, usage)


@admin.register(UsageDaily)
class UsageDailyAdmin(admin.ModelAdmin):
    list_display = [
        "shop",
        "date",
        "composite_renders",
        "reserved",
        "prep_renders",
        "cleanup_renders",
        "updated_at",
    ]
    list_filter = ["date"]
    date_hierarchy = "date"
    search_fields = ["shop__name", "shop__id"]
    list_select_related = ["shop"]
    # Counters change only through the quota services; editing them here would break the
    # reserved-slot bookkeeping of running jobs.
    readonly_fields = [f.name for f in UsageDaily._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(RenderJob)
class RenderJobAdmin(admin.ModelAdmin):
    # Room and product images are on the job's page: one storage lookup per row here.
    list_display = [
        "short_id",
        "shop",
        "status",
        "result_thumb",
        "short_error",
        "created_at",
        "finished_at",
    ]
    list_per_page = 50
    list_filter = ["status", "created_at"]
    search_fields = ["id", "shop__name", "room_session__id"]
    list_select_related = ["shop"]
    raw_id_fields = ["shop", "room_session", "requested_by"]
    readonly_fields = [f.name for f in RenderJob._meta.fields] + [
        "room_preview",
        "product_preview",
        "result_preview",
    ]

    def has_add_permission(self, request):
        return False

    @admin.display(description="job", ordering="id")
    def short_id(self, job):
        return format_html('<code title="{}">{}</code>', job.id, str(job.id)[:8])

    @admin.display(description="error")
    def short_error(self, job):
        return truncated(job.error, chars=ERROR_LIST_CHARS)

    @admin.display(description="result")
    def result_thumb(self, job):
        if job.status == RenderJobStatus.FAILED:
            return missing("result", height=THUMB_LIST_PX)
        return _thumbnail(job.result_image_key, label="result", height=THUMB_LIST_PX)

    @admin.display(description="room image")
    def room_preview(self, job):
        return _thumbnail(job.room_image_key, label="room", height=THUMB_DETAIL_PX)

    @admin.display(description="product image")
    def product_preview(self, job):
        return _thumbnail(job.product_image_key, label="product", height=THUMB_DETAIL_PX)

    @admin.display(description="result image")
    def result_preview(self, job):
        if job.status == RenderJobStatus.FAILED:
            return missing("result", height=THUMB_DETAIL_PX)
        return _thumbnail(job.result_image_key, label="result", height=THUMB_DETAIL_PX)


@admin.register(RoomSession)
class RoomSessionAdmin(admin.ModelAdmin):
    list_display = ["id", "shop", "original_thumb", "cleaned_thumb", "confirmed_at", "created_at"]
    list_filter = ["created_at"]
    search_fields = ["id", "shop__name"]
    list_select_related = ["shop"]
    raw_id_fields = ["shop", "created_by"]
    readonly_fields = ["id", "created_at", "original_preview", "cleaned_preview"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @admin.display(description="original")
    def original_thumb(self, session):
        return _thumbnail(session.original_room_image_key, label="original", height=THUMB_LIST_PX)

    @admin.display(description="cleaned")
    def cleaned_thumb(self, session):
        return _thumbnail(session.cleaned_room_image_key, label="cleaned", height=THUMB_LIST_PX)

    @admin.display(description="original image")
    def original_preview(self, session):
        return _thumbnail(session.original_room_image_key, label="original", height=THUMB_DETAIL_PX)

    @admin.display(description="cleaned image")
    def cleaned_preview(self, session):
        return _thumbnail(session.cleaned_room_image_key, label="cleaned", height=THUMB_DETAIL_PX)
