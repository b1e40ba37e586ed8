"""Admin: credit schedule versions (editing the active one publishes a new version), quotes
and their share links."""

import json
import uuid

from django.contrib import admin, messages
from django.db import models
from django.utils import timezone
from django.utils.html import format_html

from config.admin_display import fields_table, truncated
from quotes.models import CreditSchedule, Quote, QuoteShare, QuoteStatus
from quotes.services import credit_schedule_activate, credit_schedule_publish, quote_expire_many
from quotes.shares import quote_share_revoke_many

# Session ids run to 128 characters: the list shows this many (all of it on hover).
SESSION_LIST_CHARS = 24


def pretty_json(value) -> str:
    return format_html(
        '<pre style="white-space: pre-wrap; margin: 0">{}</pre>',
        json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False),
    )


@admin.register(CreditSchedule)
class CreditScheduleAdmin(admin.ModelAdmin):
    """Quotes keep a copy of their schedule, but a version is still history: saving the
    active version (or adding one) publishes a new active version instead of editing it."""

    list_display = [
        "version",
        "is_active",
        "op_names",
        "max_files",
        "quote_ttl_seconds",
        "max_quote_ttl_seconds",
        "created_at",
    ]
    list_filter = ["is_active"]
    ordering = ["-version"]
    fields = [
        "version",
        "is_active",
        "ops",
        "ops_pretty",
        "max_files",
        "quote_ttl_seconds",
        "max_quote_ttl_seconds",
        "created_at",
    ]
    actions = ["activate_version"]

    @admin.display(description="ops")
    def op_names(self, obj):
        return ", ".join(sorted(obj.ops or {}))

    @admin.display(description="ops (readable)")
    def ops_pretty(self, obj):
        return pretty_json(obj.ops) if obj and obj.pk else "-"

    def get_readonly_fields(self, request, obj=None):
        readonly = ["version", "is_active", "ops_pretty", "created_at"]
        if obj is not None and not obj.is_active:
            # An old version is history: activate it with the action, never rewrite it.
            readonly += ["ops", "max_files", "quote_ttl_seconds", "max_quote_ttl_seconds"]
        return readonly

    def get_changeform_initial_data(self, request):
        active = CreditSchedule.objects.filter(is_active=True).first()
        if active is None:
            return super().get_changeform_initial_data(request)
        return {
            "ops": active.ops,
            "max_files": active.max_files,
            "quote_ttl_seconds": active.quote_ttl_seconds,
            "max_quote_ttl_seconds": active.max_quote_ttl_seconds,
        }

    def save_model(self, request, obj, form, change):
        published = credit_schedule_publish(
            ops=form.cleaned_data["ops"],
            max_files=form.cleaned_data["max_files"],
            quote_ttl_seconds=form.cleaned_data["quote_ttl_seconds"],
            max_quote_ttl_seconds=form.cleaned_data["max_quote_ttl_seconds"],
        )
        # The admin redirects and reports using `obj`: point it at the new version.
        obj.pk, obj.version, obj.is_active = published.pk, published.version, True
        obj.created_at = published.created_at
        messages.info(request, f"Published credit schedule version {published.version}.")

    def has_delete_permission(self, request, obj=None):
        # The active version is what prices quotes right now; replace it, never delete it.
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or not obj.is_active)

    @admin.action(description="Make the selected version active")
    def activate_version(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version.", messages.ERROR)
            return
        schedule = credit_schedule_activate(schedule=queryset.get())
        self.message_user(request, f"Version {schedule.version} is now active.")


class ExpiredUncleanedFilter(admin.SimpleListFilter):
    title = "expired, not yet cleaned"
    parameter_name = "uncleaned"

    def lookups(self, request, model_admin):
        return [("yes", "Past expiry, still stored as active")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.expired_uncleaned()
        return queryset


@admin.register(Quote)
class QuoteAdmin(admin.ModelAdmin):
    list_display = [
        "short_id",
        "state",
        "credits_total",
        "session",
        "user",
        "created_at",
        "expires_at",
        "used_at",
    ]
    list_filter = ["status", ExpiredUncleanedFilter]
    search_fields = ["session_id", "user__email"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    actions = ["expire_selected"]
    fields = (
        "id",
        "state",
        "status",
        "session_id",
        "user",
        "credits_total",
        "created_at",
        "expires_at",
        "used_at",
        "files_pretty",
        "ops_pretty",
        "per_file_pretty",
        "per_file_credits_pretty",
        "schedule_pretty",
    )
    readonly_fields = fields

    @admin.display(description="quote", ordering="id")
    def short_id(self, obj):
        return format_html('<code title="{}">{}</code>', obj.id, str(obj.id)[:8])

    @admin.display(description="session", ordering="session_id")
    def session(self, obj):
        return truncated(obj.session_id, chars=SESSION_LIST_CHARS)

    @admin.display(description="state", ordering="status")
    def state(self, obj):
        """The effective status, which is what clients see before cleanup has run."""
        return obj.effective_status

    @admin.display(description="files")
    def files_pretty(self, obj):
        return pretty_json(obj.files)

    @admin.display(description="ops")
    def ops_pretty(self, obj):
        return fields_table(obj.ops)

    @admin.display(description="per file")
    def per_file_pretty(self, obj):
        return pretty_json(obj.per_file)

    @admin.display(description="per file credits")
    def per_file_credits_pretty(self, obj):
        return fields_table(obj.per_file_credits)

    @admin.display(description="schedule (copy it was priced with)")
    def schedule_pretty(self, obj):
        return pretty_json(obj.schedule)

    def get_search_results(self, request, queryset, search_term):
        """A full quote id matches that quote; other terms search session id and email."""
        try:
            quote_id = uuid.UUID(search_term.strip())
        except ValueError:
            return super().get_search_results(request, queryset, search_term)
        return queryset.filter(pk=quote_id), False

    def has_add_permission(self, request):
        return False

    @admin.action(description="Expire the selected quotes (active ones only)")
    def expire_selected(self, request, queryset):
        # One UPDATE, also for "select all N" across pages: the queryset is never listed.
        count = quote_expire_many(quotes=queryset)
        self.message_user(request, f"Expired {count} quote(s) at {timezone.now():%H:%M:%S} UTC.")


class ShareStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "Active (opens its quote)"), ("revoked", "Revoked")]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.active()
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(QuoteShare)
class QuoteShareAdmin(admin.ModelAdmin):
    """Share links: who can read which quote without logging in. Tokens are never shown
    (they are rebuilt from SECRET_KEY); revoking here kills a link on every instance."""

    list_display = ["id", "quote", "is_active", "created_at", "expires_at", "revoked_at"]
    list_filter = [ShareStateFilter]
    list_select_related = ["quote"]
    search_fields = ["quote__session_id", "quote__user__email"]
    ordering = ["-created_at"]
    fields = ("id", "quote", "created_at", "expires_at", "revoked_at")
    readonly_fields = fields
    actions = ["revoke_selected"]

    @admin.display(boolean=True, description="active")
    def is_active(self, obj):
        return obj.revoked_at is None and obj.quote.effective_status != QuoteStatus.EXPIRED

    def get_search_results(self, request, queryset, search_term):
        """A full quote id or share id matches it; other terms search session id and email."""
        try:
            wanted = uuid.UUID(search_term.strip())
        except ValueError:
            return super().get_search_results(request, queryset, search_term)
        return queryset.filter(models.Q(pk=wanted) | models.Q(quote_id=wanted)), False

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke the selected links", permissions=["change"])
    def revoke_selected(self, request, queryset):
        count = quote_share_revoke_many(shares=queryset)
        self.message_user(request, f"Revoked {count} share link(s).")
