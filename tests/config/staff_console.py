"""Known data for the staff console tests (dashboards, order and quote-run timelines), shared
by the in-process tests and the browser e2e test."""

import datetime
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from accounts.models import User
from config.cleanup import cleanup_run
from orders.models import Order
from orders.services import OrderLine, order_note_add, order_place, tracking_event_add
from quotes.models import QuoteStatus
from quotes.runs.models import QuoteRun, QuoteRunEvent, QuoteRunStatus
from rendering.models import RenderJob, RenderJobStatus, Shop, UsageDaily
from tests.accounts.factories import AddressFactory
from tests.orders.factories import ProductFactory
from tests.quotes.factories import QuoteFactory
from tests.rendering.factories import RoomSessionFactory, ShopFactory

# 2 prints at 54.40 EUR: the order total is 10880 cents, shown "108.80 EUR".
PRICE_CENTS = 5440
QUANTITY = 2
TOTAL_TEXT = "108.80 EUR"
NOTE = "Customer asked to leave it with the neighbour."


@dataclass
class StaffConsole:
    today: datetime.date
    order: Order
    run: QuoteRun
    shop: Shop
    failed_job: RenderJob
    completed_job: RenderJob


def _render_job(shop, session, *, status, created_at, seconds, result_key=""):
    return RenderJob.objects.create(
        shop=shop,
        room_session=session,
        product_upload_id=uuid.uuid4(),
        product_image_key=f"uploads/missing/{uuid.uuid4().hex}.png",
        room_image_key=f"rooms/missing/{uuid.uuid4().hex}.jpg",
        placement_x=0.5,
        placement_y=0.5,
        placement_scale=1.0,
        status=status,
        usage_date=created_at.date(),
        result_image_key=result_key,
        error="compositor: the room image is gone" if status == RenderJobStatus.FAILED else "",
        created_at=created_at,
        started_at=created_at,
        finished_at=created_at + timedelta(seconds=seconds),
    )


def seed(staff: User, customer: User) -> StaffConsole:
    now = timezone.now()
    morning = now - timedelta(minutes=20)
    today = morning.astimezone(datetime.UTC).date()  # the day the figures below land on

    # Quotes created today: 2 used (40 s and 100 s after), 1 expired, 1 open.
    for used_after_s in (40, 100):
        QuoteFactory(
            created_at=morning,
            expires_at=morning + timedelta(minutes=15),
            status=QuoteStatus.USED,
            used_at=morning + timedelta(seconds=used_after_s),
        )
    QuoteFactory(created_at=morning, expires_at=morning + timedelta(minutes=15), status="expired")
    QuoteFactory(created_at=morning, expires_at=now + timedelta(hours=1))
    # And one left stale (active past expiry) from yesterday, for the cleanup to find.
    QuoteFactory(expired_ago=timedelta(days=1))
    cleanup_run(name="quotes")

    # A shop with today's usage, a completed and a failed render.
    shop = ShopFactory(name="Console Shop", daily_quota=50, owner=customer)
    UsageDaily.objects.create(shop=shop, date=today, composite_renders=7, reserved=2)
    session = RoomSessionFactory(shop=shop)
    completed = _render_job(
        shop,
        session,
        status=RenderJobStatus.COMPLETED,
        created_at=morning,
        seconds=12,
        result_key=f"renders/missing/{uuid.uuid4().hex}.jpg",
    )
    failed = _render_job(
        shop, session, status=RenderJobStatus.FAILED, created_at=morning, seconds=3
    )

    # An order with a history: placed, shipped (tracking + status), a staff note.
    address = AddressFactory(user=customer, is_default=True, line2="Building B")
    product = ProductFactory(price_cents=PRICE_CENTS, stock_quantity=5)
    order = order_place(
        user=customer, lines=[OrderLine(sku=product.sku, quantity=QUANTITY)], address_id=address.pk
    )
    tracking_event_add(
        order_id=order.pk,
        status="in_transit",
        carrier="DHL",
        tracking_number="JD0001",
        location="Lyon hub",
        by=staff,
    )
    order_note_add(order_id=order.pk, user=staff, message=NOTE)

    # A finished quote run whose events all fall within one minute.
    started = now.replace(second=5, microsecond=0) - timedelta(minutes=1)
    run = QuoteRun.objects.create(
        session_id="console-session-0001",
        status=QuoteRunStatus.COMPLETED,
        job={"files": [], "ops": {"upscale": True}},
        providers=["standard"],
        result={"offers": [{"provider": "standard", "credits_total": 12, "eta_seconds": 30}]},
        last_event_id=3,
        created_at=started,
        finished_at=started + timedelta(seconds=41),
        expires_at=now + timedelta(hours=2),
    )
    for seq, (type_, offset_s) in enumerate(
        [("run.started", 0), ("provider.quote", 17), ("run.completed", 41)], start=1
    ):
        QuoteRunEvent.objects.create(
            run=run,
            seq=seq,
            type=type_,
            key=f"step-{seq}",
            data={"provider": "standard", "credits_total": 12} if seq == 2 else {},
            created_at=started + timedelta(seconds=offset_s),
            run_created_at=run.created_at,
        )
    return StaffConsole(
        today=today,
        order=order,
        run=run,
        shop=shop,
        failed_job=failed,
        completed_job=completed,
    )
