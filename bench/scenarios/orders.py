"""Orders: placement throughput on one hot, well-stocked sku; reading a tracking timeline."""

import uuid

CONCURRENCY = 16
DURATION_S = 8
WELL_STOCKED = 10_000_000
TIMELINE_EVENTS = 6


def run(bench) -> None:
    from accounts.services.addresses import address_create
    from orders.models import Product
    from orders.services import OrderLine, order_place, tracking_event_add

    customer = bench.make_user()
    token = bench.token_for(customer)
    headers = {"Authorization": f"Bearer {token}"}
    address = address_create(
        user=customer, line1="1 Bench Street", city="Lyon", postal_code="69001", country="FR"
    )
    sku = f"BENCH-{uuid.uuid4().hex[:10]}"
    Product.objects.create(
        sku=sku, name="Bench print", price_cents=1500, stock_quantity=WELL_STOCKED
    )
    body = {"address_id": str(address.id), "items": [{"sku": sku, "quantity": 1}]}

    # Every order takes the same product row: this measures the guarded UPDATE under
    # contention (each transaction holds that row's lock until it commits).
    placed = bench.load(
        f"POST /api/orders (one hot sku) c={CONCURRENCY}",
        "POST",
        "/api/orders",
        concurrency=CONCURRENCY,
        duration_s=DURATION_S,
        headers=headers,
        json=body,
    )
    taken = WELL_STOCKED - Product.objects.get(sku=sku).stock_quantity
    bench.record(
        "orders: stock taken equals orders placed",
        placed_201=placed.statuses.get(201, 0),
        stock_taken=taken,
        exact=taken == placed.statuses.get(201, 0),
    )

    order = order_place(
        user=customer, lines=[OrderLine(sku=sku, quantity=1)], address_id=address.id
    )
    for n, status in enumerate(["label_created"] + ["in_transit"] * (TIMELINE_EVENTS - 1)):
        tracking_event_add(
            order_id=order.id,
            status=status,
            location=f"Hub {n}",
            carrier="DHL",
            tracking_number=f"BENCH{n}",
        )
    bench.load(
        f"GET /api/orders/{{id}}/tracking ({TIMELINE_EVENTS} events) c={CONCURRENCY}",
        "GET",
        f"/api/orders/{order.id}/tracking",
        concurrency=CONCURRENCY,
        duration_s=DURATION_S,
        headers=headers,
    )
