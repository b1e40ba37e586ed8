"""Staff views of products (stock), orders (items, history, tracking timeline) and shipments."""

import datetime

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join

from config.admin_display import fields_table, money, timestamp
from config.errors import ApplicationError
from orders.models import (
    DeliveryTracking,
    Order,
    OrderEvent,
    OrderEventType,
    OrderItem,
    Product,
    TrackingEvent,
)
from orders.services import (
    MAX_NOTE_CHARS,
    order_mark_shipped,
    order_note_add,
    product_stock_adjust,
)

ADDRESS_LABELS = {
    "label": "Label",
    "line1": "Line 1",
    "line2": "Line 2",
    "postal_code": "Postal code",
    "city": "City",
    "country": "Country",
    "id": "Address id",
}


class ProductForm(forms.ModelForm):
    stock_adjustment = forms.IntegerField(
        initial=0,
        required=False,
        help_text="Units to add (negative to remove), applied atomically to the current stock.",
    )

    class Meta:
        model = Product
        fields = ["sku", "name", "price_cents", "stock_quantity", "is_active"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    """Stock of an existing product changes only by an adjustment applied in SQL: saving the
    form never writes back a stock figure read minutes ago over units sold since."""

    form = ProductForm
    list_display = ["sku", "name", "price", "stock_quantity", "is_active", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["sku", "name"]
    ordering = ["sku"]

    @admin.display(description="price", ordering="price_cents")
    def price(self, product):
        return money(product.price_cents)

    def get_fields(self, request, obj=None):
        fields = ["sku", "name", "price_cents", "stock_quantity", "is_active"]
        if obj is not None:
            fields += ["stock_adjustment", "created_at", "updated_at"]
        return fields

    def get_readonly_fields(self, request, obj=None):
        return ["stock_quantity", "created_at", "updated_at"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        if not change:
            obj.save()
            return
        obj.save(update_fields=["sku", "name", "price_cents", "is_active", "updated_at"])
        delta = form.cleaned_data.get("stock_adjustment") or 0
        if delta:
            try:
                obj.stock_quantity = product_stock_adjust(product_id=obj.pk, delta=delta)
            except ApplicationError as exc:
                self.message_user(request, f"Stock not changed: {exc.message}", messages.ERROR)


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    can_delete = False
    fields = ("sku", "name", "unit_price", "quantity", "line_total")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="unit price")
    def unit_price(self, item):
        return money(item.unit_price_cents)

    @admin.display(description="line total")
    def line_total(self, item):
        return money(item.line_total_cents)


class DeliveryTrackingInline(admin.StackedInline):
    """The shipment and its timeline; events are appended through the API or the action."""

    model = DeliveryTracking
    extra = 0
    can_delete = False
    fields = ("carrier", "tracking_number", "status", "estimated_delivery", "timeline")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="Timeline")
    def timeline(self, tracking):
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (timestamp(e.occurred_at), e.get_status_display(), e.location, e.note)
                for e in tracking.events.all()
            ),
        )
        return format_html(
            "<table><thead><tr><th>When</th><th>Status</th><th>Where</th><th>Note</th></tr>"
            "</thead><tbody>{}</tbody></table>",
            rows,
        )


class MarkShippedForm(forms.Form):
    carrier = forms.CharField(max_length=100)
    tracking_number = forms.CharField(
        max_length=100,
        required=False,
        help_text="Blank: numbered from each order id. With several orders: a prefix to that.",
    )
    note = forms.CharField(max_length=2000, required=False)


class OrderNoteForm(forms.ModelForm):
    """The order's own fields are read-only here; the one input is a note for its history."""

    add_note = forms.CharField(
        label="Add a note",
        required=False,
        max_length=MAX_NOTE_CHARS,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text="Saved to the order's history with your name and the time.",
    )

    class Meta:
        model = Order
        fields: list[str] = []


def _event_details(event: OrderEvent) -> dict:
    """An event's data as staff read it: money formatted, lines as "2 x SKU"."""
    data = dict(event.data)
    if "total_cents" in data:
        data["total"] = money(data.pop("total_cents"))
    if data.get("occurred_at"):
        data["occurred_at"] = timestamp(datetime.datetime.fromisoformat(data["occurred_at"]))
    if "lines" in data:
        data["lines"] = ", ".join(f"{line['quantity']} x {line['sku']}" for line in data["lines"])
    if event.type == OrderEventType.NOTE_ADDED:
        return {"note": data.pop("message", ""), **data}
    return data


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    form = OrderNoteForm
    list_display = ["short_id", "user_email", "status", "total", "created_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["id", "user__email"]
    list_select_related = ["user"]
    readonly_fields = [
        "id",
        "user",
        "status",
        "total",
        "address",
        "created_at",
        "updated_at",
        "history",
    ]
    fieldsets = [
        (None, {"fields": ["id", "user", "status", "total", "created_at", "updated_at"]}),
        ("Shipping address (as ordered)", {"fields": ["address"]}),
        ("History", {"fields": ["history", "add_note"]}),
    ]
    inlines = [OrderItemInline, DeliveryTrackingInline]
    actions = ["mark_shipped"]

    @admin.display(description="order", ordering="id")
    def short_id(self, order):
        return format_html('<code title="{}">{}</code>', order.id, str(order.id)[:8])

    @admin.display(description="total", ordering="total_cents")
    def total(self, order):
        return money(order.total_cents)

    @admin.display(description="address")
    def address(self, order):
        return fields_table(order.shipping_address, labels=ADDRESS_LABELS)

    @admin.display(description="timeline")
    def history(self, order):
        events = order.events.select_related("user").order_by("created_at", "id")
        rows = format_html_join(
            "",
            '<tr class="order-event order-event-{}"><td class="order-event-at">{}</td>'
            "<td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    event.type,
                    timestamp(event.created_at),
                    event.get_type_display(),
                    event.user.email if event.user else "system",
                    fields_table(_event_details(event)),
                )
                for event in events
            ),
        )
        return format_html(
            '<table class="order-history"><thead><tr><th>When (UTC)</th><th>Event</th>'
            "<th>By</th><th>Details</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    def save_model(self, request, obj, form, change):
        # Orders change only through orders.services; the form's one input is the note.
        note = form.cleaned_data.get("add_note", "").strip()
        if note:
            order_note_add(order_id=obj.pk, user=request.user, message=note)
            self.message_user(request, "Note added to the order's history.", messages.SUCCESS)

    def has_add_permission(self, request):
        # Orders are placed through the API so stock is taken atomically.
        return False

    @admin.display(description="Customer", ordering="user__email")
    def user_email(self, order):
        return order.user.email

    @admin.action(description="Mark shipped (creates tracking)")
    def mark_shipped(self, request, queryset):
        form = MarkShippedForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return TemplateResponse(
                request,
                "admin/orders/order/mark_shipped.html",
                {
                    **self.admin_site.each_context(request),
                    "title": "Mark orders shipped",
                    "opts": self.model._meta,
                    "form": form,
                    "orders": queryset,
                    "action_checkbox_name": ACTION_CHECKBOX_NAME,
                },
            )
        shipped, refused = 0, []
        orders = list(queryset)
        for order in orders:
            number = form.cleaned_data["tracking_number"]
            if not number or len(orders) > 1:
                number = f"{number}{order.id.hex[:12].upper()}"
            try:
                order_mark_shipped(
                    order_id=order.id,
                    carrier=form.cleaned_data["carrier"],
                    tracking_number=number,
                    note=form.cleaned_data["note"],
                    by=request.user,
                )
                shipped += 1
            except ApplicationError as exc:
                refused.append(f"{order.id}: {exc.message}")
        if shipped:
            self.message_user(request, f"{shipped} order(s) marked shipped.", messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.WARNING)
        return None


class TrackingEventInline(admin.TabularInline):
    model = TrackingEvent
    extra = 0
    fields = ("occurred_at", "status", "location", "note", "created_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(DeliveryTracking)
class DeliveryTrackingAdmin(admin.ModelAdmin):
    list_display = ["order", "carrier", "tracking_number", "status", "updated_at"]
    list_filter = ["status", "carrier"]
    search_fields = ["tracking_number", "order__id", "order__user__email"]
    readonly_fields = ["order", "status", "created_at", "updated_at"]
    inlines = [TrackingEventInline]
