"""Staff views of products (stock), orders (items, tracking timeline) and shipments."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join

from config.errors import ApplicationError
from orders.models import DeliveryTracking, Order, OrderItem, Product, TrackingEvent
from orders.services import order_mark_shipped, product_stock_adjust


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
    list_display = ["sku", "name", "price_cents", "stock_quantity", "is_active", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["sku", "name"]
    ordering = ["sku"]

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
    fields = ("sku", "name", "unit_price_cents", "quantity")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


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
                (f"{e.occurred_at:%Y-%m-%d %H:%M}", e.get_status_display(), e.location, e.note)
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


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["id", "user_email", "status", "total_cents", "created_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["id", "user__email"]
    list_select_related = ["user"]
    readonly_fields = [
        "id",
        "user",
        "status",
        "total_cents",
        "shipping_address",
        "created_at",
        "updated_at",
    ]
    inlines = [OrderItemInline, DeliveryTrackingInline]
    actions = ["mark_shipped"]

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
