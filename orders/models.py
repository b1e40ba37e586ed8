"""Products with exact stock, orders (copied line prices, history), delivery tracking."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class ProductQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class Product(models.Model):
    """Something for sale. `stock_quantity` only changes through guarded UPDATE statements
    (see orders.services), and the database refuses it going below zero."""

    sku = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    price_cents = models.BigIntegerField()
    stock_quantity = models.IntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(stock_quantity__gte=0), name="product_stock_gte_0"
            ),
            models.CheckConstraint(
                condition=models.Q(price_cents__gte=0), name="product_price_gte_0"
            ),
        ]

    def __str__(self):
        return f"{self.sku} — {self.name}"


class OrderStatus(models.TextChoices):
    PLACED = "placed", "Placed"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"


class Order(models.Model):
    """A customer's order: placed → shipped → delivered, or placed → cancelled.

    Status only moves through guarded UPDATEs (`WHERE status IN (...)`), so concurrent
    cancels, shipments and deliveries have exactly one winner per transition.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders"
    )
    status = models.CharField(
        max_length=20, choices=OrderStatus.choices, default=OrderStatus.PLACED
    )
    total_cents = models.BigIntegerField()
    # A copy of the address as it was when ordering: editing or deleting the address later
    # must not change where a placed order goes.
    shipping_address = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(total_cents__gte=0), name="order_total_gte_0"
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="order_user_created_idx"),
            models.Index(fields=["status", "-created_at"], name="order_status_created_idx"),
        ]

    def __str__(self):
        return f"Order {self.id} ({self.status})"


class OrderItem(models.Model):
    """One line of an order; sku, name and unit price are copied so later catalogue edits
    never change what the customer paid."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_items")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    unit_price_cents = models.BigIntegerField()
    quantity = models.IntegerField()

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1), name="orderitem_quantity_gte_1"
            ),
            models.CheckConstraint(
                condition=models.Q(unit_price_cents__gte=0), name="orderitem_price_gte_0"
            ),
            models.UniqueConstraint(
                fields=["order", "product"], name="orderitem_one_line_per_product"
            ),
        ]

    def __str__(self):
        return f"{self.quantity} x {self.sku}"

    @property
    def line_total_cents(self) -> int:
        return self.unit_price_cents * self.quantity


class TrackingStatus(models.TextChoices):
    LABEL_CREATED = "label_created", "Label created"
    IN_TRANSIT = "in_transit", "In transit"
    OUT_FOR_DELIVERY = "out_for_delivery", "Out for delivery"
    DELIVERED = "delivered", "Delivered"
    EXCEPTION = "exception", "Delivery problem"


class DeliveryTracking(models.Model):
    """The carrier shipment of an order (at most one); its status is that of the latest
    event by `occurred_at`."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="tracking")
    carrier = models.CharField(max_length=100)
    tracking_number = models.CharField(max_length=100)
    status = models.CharField(
        max_length=20, choices=TrackingStatus.choices, default=TrackingStatus.LABEL_CREATED
    )
    estimated_delivery = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "delivery tracking"
        verbose_name_plural = "delivery trackings"

    def __str__(self):
        return f"{self.carrier} {self.tracking_number}"


class TrackingEvent(models.Model):
    """One step of the delivery timeline, as reported by the carrier or staff."""

    tracking = models.ForeignKey(DeliveryTracking, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=20, choices=TrackingStatus.choices)
    location = models.CharField(max_length=200, blank=True)
    note = models.TextField(blank=True)
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [
            models.Index(fields=["tracking", "occurred_at"], name="trackingevent_timeline_idx"),
        ]

    def __str__(self):
        return f"{self.status} at {self.occurred_at:%Y-%m-%d %H:%M}"


class OrderEventType(models.TextChoices):
    PLACED = "placed", "Placed"
    CANCELLED = "cancelled", "Cancelled"
    STOCK_RETURNED = "stock_returned", "Stock returned"
    TRACKING_UPDATED = "tracking_updated", "Tracking updated"
    STATUS_CHANGED = "status_changed", "Status changed"
    NOTE_ADDED = "note_added", "Note added"


class OrderEvent(models.Model):
    """One entry of an order's history (after Saleor's OrderEvent), written by orders.services
    in the same transaction as the change it records: no entry for a rolled-back change,
    no change without its entry. `user` is who did it (customer or staff; None: the
    system); `data` holds the details of the type (amounts, skus, statuses, the note)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=32, choices=OrderEventType.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["order", "created_at"], name="order_event_timeline_idx"),
        ]

    def __str__(self):
        return f"{self.type} at {self.created_at:%Y-%m-%d %H:%M:%S}"
