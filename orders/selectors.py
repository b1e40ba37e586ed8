"""Reads of orders: someone else's order never leaves these functions."""

import uuid
from collections.abc import Mapping

from django.db.models import QuerySet

from accounts.models import User
from config.errors import NotFound
from config.filters import filterset_apply
from orders.filters import OrderFilter
from orders.models import DeliveryTracking, Order, Product


def product_list_public() -> QuerySet[Product]:
    return Product.objects.active().order_by("sku")


def order_list_for_user(*, user: User, filters: Mapping[str, str] | None = None) -> QuerySet[Order]:
    """The user's orders with their items, narrowed by OrderFilter when `filters` are given
    (a bad one is ValidationFailed)."""
    orders = Order.objects.filter(user=user).prefetch_related("items")
    if filters is None:
        return orders
    return filterset_apply(OrderFilter, filters=filters, queryset=orders)


def order_get_for_user(*, user: User, order_id: uuid.UUID) -> Order:
    """The caller's order with its items; unknown or someone else's → NotFound."""
    order = order_list_for_user(user=user).filter(pk=order_id).first()
    if order is None:
        raise NotFound("No such order.")
    return order


def tracking_get_for_user(*, user: User, order_id: uuid.UUID) -> DeliveryTracking:
    """The tracking of the caller's order with its timeline; NotFound when the order is not
    theirs or has no tracking yet."""
    tracking = (
        DeliveryTracking.objects.filter(order_id=order_id, order__user=user)
        .prefetch_related("events")
        .first()
    )
    if tracking is None:
        raise NotFound("This order has no tracking yet.")
    return tracking
