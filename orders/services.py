"""Order use cases: place (all-or-nothing stock), cancel (stock back once), track deliveries."""

import datetime
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from accounts.models import Address, User
from accounts.selectors import address_get_for_user
from accounts.services.notifications import notification_create
from accounts.webhooks.services import webhook_event_emit
from config.errors import Conflict, NotFound, ValidationFailed
from orders.models import (
    DeliveryTracking,
    Order,
    OrderEvent,
    OrderEventType,
    OrderItem,
    OrderStatus,
    Product,
    TrackingEvent,
    TrackingStatus,
)

MAX_ORDER_LINES = 100
MAX_NOTE_CHARS = 2000
MAX_LINE_QUANTITY = 10_000
# Money is bigint cents: the largest amount the columns hold.
MAX_CENTS = 2**63 - 1
NOTIFICATION_KIND_TRACKING = "order.tracking"

# Tracking status → the order status it moves the order to. The order only ever moves
# forward (placed → shipped → delivered); statuses not listed leave it where it is.
ORDER_STATUS_FOR_TRACKING = {
    TrackingStatus.IN_TRANSIT: OrderStatus.SHIPPED,
    TrackingStatus.OUT_FOR_DELIVERY: OrderStatus.SHIPPED,
    TrackingStatus.DELIVERED: OrderStatus.DELIVERED,
}
# Which statuses an order may be in to move to the key status.
ORDER_STATUS_FROM = {
    OrderStatus.SHIPPED: [OrderStatus.PLACED],
    OrderStatus.DELIVERED: [OrderStatus.PLACED, OrderStatus.SHIPPED],
}


@dataclass(frozen=True)
class OrderLine:
    sku: str
    quantity: int


def _order_event(order: Order, type: str, *, user: User | None, **data: Any) -> OrderEvent:
    """Append to the order's history; callers are inside the transaction of the change."""
    return OrderEvent.objects.create(order=order, type=type, user=user, data=data)


def _address_snapshot(address: Address) -> dict:
    return {
        "id": str(address.id),
        "label": address.label,
        "line1": address.line1,
        "line2": address.line2,
        "city": address.city,
        "postal_code": address.postal_code,
        "country": address.country,
    }


def _check_lines(lines: list[OrderLine]) -> None:
    if not lines:
        raise ValidationFailed("An order needs at least one item.", details={"items": ["empty"]})
    if len(lines) > MAX_ORDER_LINES:
        raise ValidationFailed(f"At most {MAX_ORDER_LINES} lines per order.")
    bad = sorted({line.sku for line in lines if not 1 <= line.quantity <= MAX_LINE_QUANTITY})
    if bad:
        raise ValidationFailed(
            f"Quantities must be between 1 and {MAX_LINE_QUANTITY}.", details={"skus": bad}
        )
    counts = Counter(line.sku for line in lines)
    duplicates = sorted(sku for sku, count in counts.items() if count > 1)
    if duplicates:
        raise ValidationFailed(
            "Each sku may appear on one line only.", details={"duplicate_skus": duplicates}
        )


def _take_stock(product_id: int, quantity: int) -> bool:
    """One guarded statement: takes `quantity` only if that much is there. No read first, so
    concurrent orders can never both see the last unit."""
    taken = Product.objects.filter(
        pk=product_id, is_active=True, stock_quantity__gte=quantity
    ).update(stock_quantity=F("stock_quantity") - quantity, updated_at=timezone.now())
    return taken == 1


def _return_stock(product_id: int, quantity: int) -> None:
    Product.objects.filter(pk=product_id).update(
        stock_quantity=F("stock_quantity") + quantity, updated_at=timezone.now()
    )


def product_stock_adjust(*, product_id: int, delta: int) -> int:
    """Add `delta` (may be negative) to a product's stock in one guarded statement, so a
    staff restock never overwrites units sold meanwhile; returns the new stock. Going below
    zero → 409 `insufficient_stock`."""
    changed = Product.objects.filter(pk=product_id, stock_quantity__gte=-delta).update(
        stock_quantity=F("stock_quantity") + delta, updated_at=timezone.now()
    )
    if not changed:
        raise Conflict("Stock cannot go below zero.", code="insufficient_stock")
    return Product.objects.values_list("stock_quantity", flat=True).get(pk=product_id)


def _order_total_cents(lines: list[OrderLine], products: dict[str, Product]) -> int:
    """The order's total, refused (400) before anything is written when it, or a line's
    total, is more than the money columns hold."""
    line_totals = {line.sku: products[line.sku].price_cents * line.quantity for line in lines}
    total = sum(line_totals.values())
    if total > MAX_CENTS:
        too_big = sorted(sku for sku, cents in line_totals.items() if cents > MAX_CENTS)
        raise ValidationFailed(
            "The order total is too large.",
            details={"total_cents": [f"At most {MAX_CENTS}."], "skus": too_big},
        )
    return total


@transaction.atomic
def order_place(*, user: User, lines: list[OrderLine], address_id: uuid.UUID) -> Order:
    """Place an order, taking stock for every line or for none.

    Each line takes stock with a guarded UPDATE inside one transaction; lines go in sku
    order so two orders sharing products lock rows in the same order (no deadlock). If any
    line is short, every line is still tried (to report all short skus) and the whole
    transaction rolls back: 409 `out_of_stock` with `details.skus`. A total above MAX_CENTS
    is a 400 before anything is written.
    """
    _check_lines(lines)
    address = address_get_for_user(user=user, address_id=address_id)
    lines = sorted(lines, key=lambda line: line.sku)
    products = {p.sku: p for p in Product.objects.active().filter(sku__in=[x.sku for x in lines])}
    unknown = [line.sku for line in lines if line.sku not in products]
    if unknown:
        raise NotFound("Unknown products.", details={"skus": unknown})

    total_cents = _order_total_cents(lines, products)
    now = timezone.now()
    order = Order.objects.create(
        user=user,
        status=OrderStatus.PLACED,
        total_cents=total_cents,
        shipping_address=_address_snapshot(address),
        created_at=now,
        updated_at=now,
    )
    OrderItem.objects.bulk_create(
        [
            OrderItem(
                order=order,
                product=products[line.sku],
                sku=line.sku,
                name=products[line.sku].name,
                unit_price_cents=products[line.sku].price_cents,
                quantity=line.quantity,
            )
            for line in lines
        ]
    )
    # Stock is taken last: a product row stays locked from its UPDATE until COMMIT, so
    # doing the inserts first keeps that window short on a hot product.
    short = [line.sku for line in lines if not _take_stock(products[line.sku].pk, line.quantity)]
    if short:
        # Raising rolls back the order rows and the stock already taken for other lines.
        raise Conflict("Not enough stock.", code="out_of_stock", details={"skus": short})
    _order_event(
        order,
        OrderEventType.PLACED,
        user=user,
        total_cents=total_cents,
        lines=[{"sku": line.sku, "quantity": line.quantity} for line in lines],
    )
    _order_status_webhook(order, previous=None)
    return order


@transaction.atomic
def order_cancel(*, user: User, order_id: uuid.UUID) -> Order:
    """Cancel the caller's placed order and give its stock back.

    The guarded `placed → cancelled` UPDATE has exactly one winner among concurrent calls,
    and only the winner returns stock, in the same transaction: stock comes back once.
    Shipped, delivered or already cancelled → 409 `order_not_cancellable`.
    """
    won = Order.objects.filter(pk=order_id, user=user, status=OrderStatus.PLACED).update(
        status=OrderStatus.CANCELLED, updated_at=timezone.now()
    )
    order = Order.objects.filter(pk=order_id, user=user).prefetch_related("items").first()
    if order is None:
        raise NotFound("No such order.")
    if not won:
        raise Conflict(
            f"A {order.status} order cannot be cancelled.",
            code="order_not_cancellable",
            details={"status": order.status},
        )
    items = sorted(order.items.all(), key=lambda item: item.sku)
    for item in items:
        _return_stock(item.product_id, item.quantity)
    _order_event(order, OrderEventType.CANCELLED, user=user, previous_status=OrderStatus.PLACED)
    _order_event(
        order,
        OrderEventType.STOCK_RETURNED,
        user=user,
        lines=[{"sku": item.sku, "quantity": item.quantity} for item in items],
    )
    _order_status_webhook(order, previous=OrderStatus.PLACED)
    return order


def _order_status_webhook(order: Order, *, previous: str | None, tracking_status: str = "") -> None:
    """order.status_changed to the customer's webhooks, in the transaction that moved the
    order (under its row lock: events of one order are delivered in this order)."""
    webhook_event_emit(
        owner_id=order.user_id,
        event_type="order.status_changed",
        object_id=order.pk,
        data={
            "id": str(order.pk),
            "status": order.status,
            "previous_status": previous,
            "tracking_status": tracking_status or None,
        },
    )


def _notify_tracking(order: Order, event: TrackingEvent, tracking: DeliveryTracking) -> None:
    label = TrackingStatus(event.status).label
    where = f" ({event.location})" if event.location else ""
    notification_create(
        user=order.user,
        kind=NOTIFICATION_KIND_TRACKING,
        title=f"Order {str(order.id)[:8]}: {label}",
        body=f"{tracking.carrier} {tracking.tracking_number}: {label}{where}. {event.note}".strip(),
        data={
            "order_id": str(order.id),
            "tracking_status": event.status,
            "order_status": order.status,
        },
    )


@transaction.atomic
def tracking_event_add(
    *,
    order_id: uuid.UUID,
    status: str,
    location: str = "",
    note: str = "",
    occurred_at: datetime.datetime | None = None,
    carrier: str = "",
    tracking_number: str = "",
    estimated_delivery: datetime.date | None = None,
    by: User | None = None,
) -> TrackingEvent:
    """Append an event to an order's delivery timeline (staff), creating the tracking on the
    first event (then `carrier` and `tracking_number` are required).

    The order row is locked first, so an event and a cancel never both win: a cancelled
    order takes no events (409 `order_cancelled`). The tracking status becomes that of the
    latest event by `occurred_at`; the order moves forward per ORDER_STATUS_FOR_TRACKING;
    the customer is notified and the order's history (`by`: the staff user) written in the
    same transaction.
    """
    order = Order.objects.select_for_update().select_related("user").filter(pk=order_id).first()
    if order is None:
        raise NotFound("No such order.")
    if order.status == OrderStatus.CANCELLED:
        raise Conflict("A cancelled order cannot be tracked.", code="order_cancelled")
    now = timezone.now()
    occurred_at = occurred_at or now

    tracking = DeliveryTracking.objects.filter(order=order).first()
    if tracking is None:
        if not (carrier and tracking_number):
            raise ValidationFailed(
                "The first tracking event needs carrier and tracking_number.",
                details={"carrier": ["required"], "tracking_number": ["required"]},
            )
        tracking = DeliveryTracking.objects.create(
            order=order,
            carrier=carrier,
            tracking_number=tracking_number,
            status=status,
            estimated_delivery=estimated_delivery,
            created_at=now,
            updated_at=now,
        )
        latest = None
    else:
        latest = tracking.events.aggregate(latest=Max("occurred_at"))["latest"]
        tracking.carrier = carrier or tracking.carrier
        tracking.tracking_number = tracking_number or tracking.tracking_number
        if estimated_delivery is not None:
            tracking.estimated_delivery = estimated_delivery

    event = TrackingEvent.objects.create(
        tracking=tracking,
        status=status,
        location=location,
        note=note,
        occurred_at=occurred_at,
        created_at=now,
    )
    # A late-arriving older event joins the timeline but does not rewind the status.
    if latest is None or occurred_at >= latest:
        tracking.status = status
    tracking.updated_at = now
    tracking.save()
    _order_event(
        order,
        OrderEventType.TRACKING_UPDATED,
        user=by,
        status=status,
        location=location,
        note=note,
        occurred_at=occurred_at.isoformat(),
        carrier=tracking.carrier,
        tracking_number=tracking.tracking_number,
    )

    target = ORDER_STATUS_FOR_TRACKING.get(TrackingStatus(status))
    if target is not None:
        moved = Order.objects.filter(pk=order.pk, status__in=ORDER_STATUS_FROM[target]).update(
            status=target, updated_at=now
        )
        if moved:
            previous, order.status = order.status, target
            _order_event(
                order,
                OrderEventType.STATUS_CHANGED,
                user=by,
                previous_status=previous,
                status=target,
                tracking_status=status,
            )
            _order_status_webhook(order, previous=previous, tracking_status=status)

    _notify_tracking(order, event, tracking)
    return event


@transaction.atomic
def order_mark_shipped(
    *,
    order_id: uuid.UUID,
    carrier: str,
    tracking_number: str,
    note: str = "",
    by: User | None = None,
) -> TrackingEvent:
    """Staff shortcut (admin action): ship a placed order with an `in_transit` event,
    creating its tracking. Anything but a placed order → 409 `order_not_placed`."""
    order = Order.objects.select_for_update().filter(pk=order_id).first()
    if order is None:
        raise NotFound("No such order.")
    if order.status != OrderStatus.PLACED:
        raise Conflict(f"The order is {order.status}, not placed.", code="order_not_placed")
    return tracking_event_add(
        order_id=order_id,
        status=TrackingStatus.IN_TRANSIT,
        note=note,
        carrier=carrier,
        tracking_number=tracking_number,
        by=by,
    )


@transaction.atomic
def order_note_add(*, order_id: uuid.UUID, user: User, message: str) -> OrderEvent:
    """Staff note on an order's history (a `note_added` event); blank or longer than
    MAX_NOTE_CHARS → 400."""
    message = message.strip()
    if not message or len(message) > MAX_NOTE_CHARS:
        raise ValidationFailed(
            f"A note needs 1 to {MAX_NOTE_CHARS} characters.", details={"message": ["length"]}
        )
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        raise NotFound("No such order.")
    return _order_event(order, OrderEventType.NOTE_ADDED, user=user, message=message)
