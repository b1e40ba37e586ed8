"""Admin: quote runs with their status and offers, and the event timeline inline."""

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from config.admin_display import fields_table, timestamp, truncated
from quotes.runs.models import QuoteRun, QuoteRunEvent

# List columns are cut to this many characters (the whole text on hover) to fit 1280 px.
OWNER_CHARS = 32


class QuoteRunEventInline(admin.TabularInline):
    model = QuoteRunEvent
    fields = ("seq", "at", "type", "data_fields")
    readonly_fields = fields
    ordering = ("seq",)
    extra = 0
    can_delete = False
    show_change_link = False

    @admin.display(description="at (UTC)")
    def at(self, event: QuoteRunEvent) -> str:
        return format_html('<span class="event-at">{}</span>', timestamp(event.created_at))

    @admin.display(description="data")
    def data_fields(self, event: QuoteRunEvent) -> str:
        return fields_table(event.data)

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(QuoteRun)
class QuoteRunAdmin(admin.ModelAdmin):
    list_display = ("short_id", "status", "owner", "best_offer", "last_event_id", "created_at")
    list_filter = ("status", "created_at")
    search_fields = ("id", "session_id", "user__email")
    date_hierarchy = "created_at"
    list_select_related = ("user",)
    fields = (
        "id",
        "status",
        "user",
        "session_id",
        "providers_list",
        "offers_table",
        "error",
        "job_fields",
        "last_event_id",
        "attempts",
        "claimed_until",
        "created_at",
        "finished_at",
        "expires_at",
    )
    readonly_fields = fields
    inlines = [QuoteRunEventInline]

    @admin.display(description="run", ordering="id")
    def short_id(self, run: QuoteRun) -> str:
        return format_html('<code title="{}">{}</code>', run.id, str(run.id)[:8])

    @admin.display(description="owner")
    def owner(self, run: QuoteRun) -> str:
        if run.user is not None:
            return truncated(run.user.email, chars=OWNER_CHARS)
        return truncated(f"session {run.session_id}", chars=OWNER_CHARS)

    @admin.display(description="providers (in order)")
    def providers_list(self, run: QuoteRun) -> str:
        return ", ".join(run.providers or []) or "-"

    @admin.display(description="job")
    def job_fields(self, run: QuoteRun) -> str:
        return fields_table(run.job)

    @admin.display(description="best offer")
    def best_offer(self, run: QuoteRun) -> str:
        offers = run.offers
        if not offers:
            return "-"
        best = offers[0]
        return f"{best['provider']}: {best['credits_total']} credits, {best['eta_seconds']} s"

    @admin.display(description="offers (cheapest first)")
    def offers_table(self, run: QuoteRun) -> str:
        if not run.offers:
            return "-"
        return format_html_join(
            "",
            "<div>{}: {} credits, ETA {} s</div>",
            ((o["provider"], o["credits_total"], o["eta_seconds"]) for o in run.offers),
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
