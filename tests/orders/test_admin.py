"""Admin: products with stock, orders with items and timeline, the mark-shipped action."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from accounts.models import Notification
from orders.models import DeliveryTracking, OrderStatus, Product
from orders.services import OrderLine, order_cancel, order_place, tracking_event_add


@pytest.fixture
def admin_browser(client, make_user):
    client.force_login(make_user(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def order(user, address, product):
    return order_place(user=user, lines=[OrderLine(product.sku, 2)], address_id=address.id)


def test_order_change_page_shows_items_and_timeline(admin_browser, order):
    # given: an order with a tracking event
    tracking_event_add(
        order_id=order.id,
        status="in_transit",
        carrier="DHL",
        tracking_number="JD77",
        location="Lyon hub",
    )

    # when
    page = admin_browser.get(f"/admin/orders/order/{order.id}/change/")

    # then
    assert page.status_code == 200
    html = page.content.decode()
    assert "POSTER-A2" in html
    assert "JD77" in html
    assert "Lyon hub" in html


def test_order_changelist_filters_by_status_and_searches_id_and_email(admin_browser, user, order):
    by_email = admin_browser.get("/admin/orders/order/", {"q": user.email})
    by_id = admin_browser.get("/admin/orders/order/", {"q": str(order.id)[:8]})
    by_status = admin_browser.get("/admin/orders/order/", {"status__exact": "cancelled"})

    assert str(order.id) in by_email.content.decode()
    assert str(order.id) in by_id.content.decode()
    assert by_status.status_code == 200
    assert str(order.id) not in by_status.content.decode()


def test_product_changelist_shows_stock(admin_browser, product):
    page = admin_browser.get("/admin/orders/product/")

    assert page.status_code == 200
    assert "POSTER-A2" in page.content.decode()


def test_mark_shipped_asks_for_a_carrier_then_creates_tracking(
    admin_browser, user, address, product, order
):
    # given: a placed order and a cancelled one, both selected
    cancelled = order_place(user=user, lines=[OrderLine(product.sku, 1)], address_id=address.id)
    order_cancel(user=user, order_id=cancelled.id)
    selected = {"action": "mark_shipped", ACTION_CHECKBOX_NAME: [order.pk, cancelled.pk]}

    # when: the action runs without a carrier
    form = admin_browser.post("/admin/orders/order/", selected)
    # then: it asks for one and changes nothing
    assert form.status_code == 200
    assert "Mark shipped" in form.content.decode()
    assert not DeliveryTracking.objects.exists()

    # when: it is applied with a carrier
    done = admin_browser.post(
        "/admin/orders/order/", {**selected, "apply": "1", "carrier": "Colissimo"}, follow=True
    )

    # then: the placed order ships and its customer is told; the cancelled one is skipped
    assert done.status_code == 200
    tracking = DeliveryTracking.objects.get()
    assert tracking.order_id == order.id
    assert tracking.carrier == "Colissimo"
    assert tracking.tracking_number == order.id.hex[:12].upper()
    assert [e.status for e in tracking.events.all()] == ["in_transit"]
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    assert Notification.objects.filter(user=user).count() == 1
    assert "1 order(s) marked shipped." in done.content.decode()
    assert "not placed" in done.content.decode()


def test_saving_a_product_adjusts_stock_without_overwriting_units_sold_meanwhile(
    admin_browser, user, address, product
):
    # given: staff open the form at stock 10, then 3 units sell
    url = f"/admin/orders/product/{product.pk}/change/"
    assert admin_browser.get(url).status_code == 200  # staff opens the form: stock 10
    order_place(user=user, lines=[OrderLine(product.sku, 3)], address_id=address.id)

    # when: the form is saved with +5
    saved = admin_browser.post(
        url,
        {
            "sku": product.sku,
            "name": "Poster A2 (matte)",
            "price_cents": 2600,
            "stock_quantity": 10,  # a stale figure a crafted form might send: ignored
            "is_active": "on",
            "stock_adjustment": 5,
        },
    )

    # then: 10 - 3 + 5, not the stale 10 + 5
    assert saved.status_code == 302
    product.refresh_from_db()
    assert (product.name, product.price_cents, product.stock_quantity) == (
        "Poster A2 (matte)",
        2600,
        12,
    )


def test_a_stock_adjustment_below_zero_is_refused(admin_browser, product):
    url = f"/admin/orders/product/{product.pk}/change/"
    body = {"sku": product.sku, "name": product.name, "price_cents": 2500, "is_active": "on"}

    response = admin_browser.post(url, {**body, "stock_adjustment": -11}, follow=True)

    assert "Stock not changed" in response.content.decode()
    product.refresh_from_db()
    assert product.stock_quantity == 10


def test_staff_add_products_with_their_initial_stock(admin_browser, db):
    response = admin_browser.post(
        "/admin/orders/product/add/",
        {"sku": "NEW-1", "name": "New", "price_cents": 100, "stock_quantity": 7, "is_active": "on"},
    )

    assert response.status_code == 302
    assert Product.objects.get(sku="NEW-1").stock_quantity == 7
