"""The Procfile's processes behind PgBouncer in transaction-pooling mode (DATABASE_POOLER=
pgbouncer): the whole flow works, and what must happen exactly once still does when
concurrent requests from several processes share a few server connections: the render
quota, the stock, an Idempotency-Key's single flight."""

import subprocess
import sys

import psycopg
import pytest
import requests
from django.db import connection

from accounts.services.auth import auth_session_create
from orders.models import Order, Product
from quotes.services import credit_schedule_ensure_default
from rendering.models import RenderJob, RenderJobStatus
from tests.accounts.factories import AddressFactory
from tests.concurrency import fire_concurrently
from tests.conftest import _missing
from tests.e2e.harness import free_port
from tests.e2e.pgbouncer import POOL_SIZE, PgBouncer, find_pgbouncer
from tests.e2e.test_quote_runs import FILES, SESSION, SseClient
from tests.e2e.test_rendering import render_body, usage, wait_for
from tests.orders.factories import ProductFactory
from tests.rendering.factories import ShopFactory, confirmed_session, product_png, product_upload

TIMEOUT_S = 30
# QuerySet.iterator() fetches through a cursor: a server-side one would outlive its
# transaction, which a transaction pooler does not allow.
ITERATE_EVENTS = (
    "import django; django.setup(); from quotes.runs.models import QuoteRunEvent; "
    "print(sum(1 for _ in QuoteRunEvent.objects.order_by('seq').iterator(chunk_size=2)))"
)
RENDERS = 24
QUOTA = 4
ORDERS = 16
STOCK = 5
RETRIES = 12
KEY = "pooled-retry-storm"


@pytest.fixture
def pgbouncer():
    if find_pgbouncer() is None:
        _missing("needs pgbouncer: apt-get install pgbouncer")
    db = connection.settings_dict
    bouncer = PgBouncer(
        pg_host=db["HOST"] or "127.0.0.1",
        pg_port=int(db["PORT"] or 5432),
        user=db["USER"] or "postgres",
        port=free_port(),
    )
    bouncer.start()
    yield bouncer
    bouncer.stop()


def post(url: str, body: dict, headers: dict) -> tuple[int, dict, str | None]:
    """(status, body, Idempotent-Replayed): picklable, for fire_concurrently."""
    response = requests.post(url, json=body, headers=headers, timeout=60)
    return response.status_code, response.json(), response.headers.get("Idempotent-Replayed")


def server_connections(bouncer: PgBouncer) -> int:
    """Connections PgBouncer holds to PostgreSQL, from its admin console."""
    with psycopg.connect(
        bouncer.url("pgbouncer"), autocommit=True, prepare_threshold=None
    ) as admin:
        pools = admin.execute("SHOW POOLS").fetchall()
        names = [column.name for column in admin.execute("SHOW POOLS").description or ()]
    rows = [dict(zip(names, row, strict=True)) for row in pools]
    return sum(
        row["sv_active"] + row["sv_idle"] + row["sv_used"] + row["sv_tested"] + row["sv_login"]
        for row in rows
        if row["database"] != "pgbouncer"
    )


def test_the_cluster_works_and_single_flights_through_pgbouncer(
    cluster, pgbouncer, make_user, django_user_model
):
    # given web (two processes of two workers), stream and a worker, all through PgBouncer
    credit_schedule_ensure_default()
    env = {
        "DATABASE_URL": pgbouncer.url(connection.settings_dict["NAME"]),
        "DATABASE_POOLER": "pgbouncer",
    }
    webs = [cluster.add_procfile_server("web", WEB_CONCURRENCY="2", **env) for _ in range(2)]
    stream = cluster.add_procfile_server("stream", **env)
    cluster.add_worker(QUOTE_RUN_PROVIDER_STEP_S="0.05", **env)
    cluster.wait_ready()

    # when an account, a quote and a quote run go through web, the run's events through
    # stream
    email, password = "pooled@example.com", "a-long-enough-passw0rd"
    registered = requests.post(
        f"{webs[0].url}/api/users/register",
        json={"email": email, "password": password},
        timeout=TIMEOUT_S,
    )
    login = requests.post(
        f"{webs[1].url}/api/users/login",
        json={"email": email, "password": password},
        timeout=TIMEOUT_S,
    )
    auth = {"Authorization": f"Bearer {login.json()['token']}"}
    job = {"files": FILES, "ops": {"upscale": True}}
    quote = requests.post(f"{webs[0].url}/api/quotes", json=job, headers=auth, timeout=TIMEOUT_S)
    read = requests.get(
        f"{webs[1].url}/api/quotes/{quote.json()['id']}", headers=auth, timeout=TIMEOUT_S
    )
    run = requests.post(
        f"{webs[1].url}/api/quote-runs", json={"session_id": SESSION, **job}, timeout=TIMEOUT_S
    ).json()
    events = SseClient(f"{stream.url}{run['stream_url']}").rest()

    # then they work as they do without the pooler
    assert registered.status_code == 201, registered.text
    assert login.status_code == 200, login.text
    assert quote.status_code == 201, quote.text
    assert read.json() == quote.json()
    assert [event["id"] for event in events] == list(range(1, len(events) + 1))
    assert events[-1]["event"] == "run.completed"

    # when renders and orders are requested at once from both web processes
    user = make_user()
    shop = ShopFactory(owner=user, daily_quota=QUOTA)
    session = confirmed_session(shop, size=(200, 100), color=(0, 0, 255))
    product = product_upload(user, product_png((40, 40), (255, 0, 0, 255)))
    _, token = auth_session_create(user=user)
    as_user = {"Authorization": f"Bearer {token}"}
    body = render_body(shop, session, product)
    renders = fire_concurrently(
        lambda i: post(f"{webs[i % 2].url}/api/renders", body, as_user), RENDERS
    )
    customer = django_user_model.objects.create_user(email="buyer@example.com", password=password)
    address = AddressFactory(user=customer, is_default=True)
    ProductFactory(sku="POOLED-PRINT", name="Print", price_cents=900, stock_quantity=STOCK)
    ProductFactory(sku="POOLED-ONCE", name="Poster", price_cents=500, stock_quantity=50)
    _, customer_token = auth_session_create(user=customer)
    as_customer = {"Authorization": f"Bearer {customer_token}"}
    order = {"address_id": str(address.id), "items": [{"sku": "POOLED-PRINT", "quantity": 1}]}
    orders = fire_concurrently(
        lambda i: post(f"{webs[i % 2].url}/api/orders", order, as_customer), ORDERS
    )
    retried = {"address_id": str(address.id), "items": [{"sku": "POOLED-ONCE", "quantity": 2}]}
    retries = fire_concurrently(
        lambda i: post(
            f"{webs[i % 2].url}/api/orders", retried, {**as_customer, "Idempotency-Key": KEY}
        ),
        RETRIES,
    )
    during = server_connections(pgbouncer)
    iterated = subprocess.run(
        [sys.executable, "-c", ITERATE_EVENTS],
        env={**cluster.base_env, **env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    # then exactly the quota of renders and the stock of orders went through, and the
    # renders complete on the worker
    render_codes = sorted(code for code, _, _ in renders)
    assert render_codes == [202] * QUOTA + [429] * (RENDERS - QUOTA), render_codes
    accepted = [payload["id"] for code, payload, _ in renders if code == 202]
    wait_for(
        lambda: (
            RenderJob.objects.filter(pk__in=accepted, status=RenderJobStatus.COMPLETED).count()
            == QUOTA
        ),
        what="the worker to finish the accepted renders",
    )
    row = usage(shop)
    assert (row.composite_renders, row.reserved) == (QUOTA, 0)
    order_codes = sorted(code for code, _, _ in orders)
    assert order_codes == [201] * STOCK + [409] * (ORDERS - STOCK), order_codes
    assert {payload["error"] for code, payload, _ in orders if code == 409} == {"out_of_stock"}
    assert Product.objects.get(sku="POOLED-PRINT").stock_quantity == 0
    # ... and of the identical retries one placed its order, the others replayed it or
    # were told it is in flight
    assert Product.objects.get(sku="POOLED-ONCE").stock_quantity == 48
    assert Order.objects.filter(user=customer).count() == STOCK + 1
    placed = [o for o in retries if o[0] == 201]
    assert [replayed for _, _, replayed in placed].count(None) == 1, retries
    assert len({payload["id"] for _, payload, _ in placed}) == 1, retries
    assert all(
        payload["error"] == "idempotency_key_in_use" for code, payload, _ in retries if code != 201
    ), retries
    # ... over no more server connections than PgBouncer's pool
    assert 0 < during <= POOL_SIZE, during
    assert iterated.returncode == 0, iterated.stderr[-2000:]
    assert int(iterated.stdout) == len(events)
