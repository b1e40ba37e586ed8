"""Renders: accepted within the quota, composited for real, settled exactly once."""

import datetime as dt
import io
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image

from config.cleanup import cleanup_run
from config.job_lease import LeaseHeld
from rendering.models import RenderJob, RenderJobStatus, RoomSession, UsageDaily
from rendering.quota import quota_day, quota_reserve
from rendering.services.render_jobs import (
    render_job_claim,
    render_job_complete,
    render_job_reap_stuck,
    render_job_run,
)
from rendering.services.room_sessions import room_session_set_cleaned
from rendering.tasks import render_job_task
from tests.rendering.factories import (
    RoomSessionFactory,
    ShopFactory,
    confirmed_session,
    image_bytes,
    post_render,
    product_png,
    product_upload,
    put_room_photo,
)
from uploads.storage import SIGNING_SALT, storage_delete, storage_exists, storage_save

pytestmark = pytest.mark.django_db

BLUE, RED, GREEN = (0, 0, 255), (255, 0, 0), (0, 255, 0)
PLACEMENT = {"x": 0.25, "y": 0.5, "scale": 0.2}


def close(pixel, expected, tolerance=8):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=False))


@pytest.fixture
def shop(user):
    return ShopFactory(owner=user, daily_quota=3)


@pytest.fixture
def session(shop):
    return confirmed_session(shop, size=(200, 100), color=BLUE)


@pytest.fixture
def product(user):
    return product_upload(user, product_png((40, 40), (*RED, 255)))


def render_body(shop, session, product, **placement):
    return {
        "shop_id": str(shop.pk),
        "room_session_id": str(session.pk),
        "product_image_id": str(product.pk),
        "placement": {**PLACEMENT, **placement},
    }


def usage(shop) -> UsageDaily:
    return UsageDaily.objects.get(shop=shop, date=quota_day(shop=shop))


def fetch_image(client, url: str) -> Image.Image:
    response = client.get(url)
    assert response.status_code == 200
    return Image.open(io.BytesIO(b"".join(response.streaming_content)))


def test_render_is_accepted_composited_and_counted_once(
    auth_client, api_client, shop, session, product
):
    # when
    response = post_render(auth_client, render_body(shop, session, product))

    # then: accepted, completed (eager here), behind a signed URL of at most an hour
    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "queued"
    job_id = response.json()["id"]
    detail = auth_client.get(f"/api/renders/{job_id}").json()
    assert detail["status"] == "completed", detail
    assert detail["error"] is None
    job = RenderJob.objects.get(pk=job_id)
    assert job.result_image_key == f"renders/{shop.pk}/{job_id}.png"
    token = parse_qs(urlsplit(detail["result_image_url"]).query)["token"][0]
    expires_in = signing.loads(token, salt=SIGNING_SALT)["e"] - timezone.now().timestamp()
    assert 0 < expires_in <= 3600

    # The product (40x40 at 20% of 200 px) sits centred at (50, 50); the room elsewhere.
    result = fetch_image(api_client, detail["result_image_url"]).convert("RGB")
    assert result.size == (200, 100)
    assert close(result.getpixel((50, 50)), RED)
    assert close(result.getpixel((32, 32)), RED)
    assert close(result.getpixel((67, 67)), RED)
    assert close(result.getpixel((26, 50)), BLUE)
    assert close(result.getpixel((50, 74)), BLUE)
    assert close(result.getpixel((150, 50)), BLUE)

    # then: counted once
    row = usage(shop)
    assert (row.composite_renders, row.reserved) == (1, 0)
    used = auth_client.get(f"/api/shops/{shop.pk}/usage").json()
    assert used["used"] == {"render": 1, "prep": 1, "cleanup": 0}
    assert (used["reserved"], used["remaining"], used["daily_quota"]) == (0, 2, 3)

    # A second delivery of the same task finds the job done and counts nothing.
    assert render_job_task.apply(args=[job_id]).get() == "skipped"
    assert render_job_run(job_id=job_id) == "skipped"
    assert (usage(shop).composite_renders, usage(shop).reserved) == (1, 0)


def test_fresh_signed_url_on_each_read_and_only_the_key_is_stored(
    auth_client, shop, session, product
):
    job_id = post_render(auth_client, render_body(shop, session, product)).json()["id"]

    first = auth_client.get(f"/api/renders/{job_id}").json()["result_image_url"]
    signing_time = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("time.time", lambda: signing_time.timestamp())
        second = auth_client.get(f"/api/renders/{job_id}").json()["result_image_url"]

    assert first != second
    job = RenderJob.objects.get(pk=job_id)
    for field in RenderJob._meta.concrete_fields:
        assert "token=" not in str(getattr(job, field.attname))


def test_cleaned_room_image_is_used_when_the_session_has_one(
    auth_client, api_client, user, shop, session, product
):
    cleaned = product_upload(user, image_bytes((200, 100), GREEN, fmt="PNG"), "clean.png")
    room_session_set_cleaned(session=session, user=user, upload_id=cleaned.pk)

    job_id = post_render(auth_client, render_body(shop, session, product)).json()["id"]

    detail = auth_client.get(f"/api/renders/{job_id}").json()
    result = fetch_image(api_client, detail["result_image_url"]).convert("RGB")
    assert close(result.getpixel((150, 50)), GREEN)
    assert close(result.getpixel((50, 50)), RED)


def test_legacy_session_is_backfilled_when_first_rendered(auth_client, shop, product):
    session = RoomSessionFactory(shop=shop)
    key = put_room_photo(session, image_bytes((100, 100), BLUE))
    RoomSession.objects.filter(pk=session.pk).update(
        legacy_original_image_url=f"http://testserver/media/{key}"
    )

    response = post_render(auth_client, render_body(shop, session, product))

    assert response.status_code == 202
    assert RoomSession.objects.get(pk=session.pk).original_room_image_key == key
    assert auth_client.get(f"/api/renders/{response.json()['id']}").json()["status"] == "completed"


def test_missing_product_object_fails_readably_and_gives_the_slot_back(
    auth_client, shop, session, product
):
    storage_delete(product.key)

    job_id = post_render(auth_client, render_body(shop, session, product)).json()["id"]

    detail = auth_client.get(f"/api/renders/{job_id}").json()
    assert detail["status"] == "failed"
    assert detail["error"] == "The product image is missing from storage."
    assert detail["result_image_url"] is None
    row = usage(shop)
    assert (row.composite_renders, row.reserved) == (0, 0)
    assert auth_client.get(f"/api/shops/{shop.pk}/usage").json()["remaining"] == 3


def test_corrupt_room_image_fails_readably_and_costs_nothing(auth_client, shop, session, product):
    # given: a room image that is not a readable JPEG
    storage_delete(session.original_room_image_key)
    storage_save(
        session.original_room_image_key, ContentFile(b"\xff\xd8garbage"), content_type="image/jpeg"
    )

    # when
    job_id = post_render(auth_client, render_body(shop, session, product)).json()["id"]

    # then: the render fails readably and costs nothing
    job = RenderJob.objects.get(pk=job_id)
    assert job.status == RenderJobStatus.FAILED
    assert job.error.startswith("The room image is not a readable image")
    assert (usage(shop).composite_renders, usage(shop).reserved) == (0, 0)
    # Failed renders cost nothing: the whole quota is still there.
    for _ in range(3):
        storage_delete(session.original_room_image_key)
        put = image_bytes((200, 100), BLUE)
        storage_save(session.original_room_image_key, ContentFile(put), content_type="image/jpeg")
        assert post_render(auth_client, render_body(shop, session, product)).status_code == 202
    assert usage(shop).composite_renders == 3


def test_quota_exceeded_is_429_with_remaining_and_reset_time(auth_client, shop, session, product):
    # given: the whole quota of 3 used
    for _ in range(3):
        assert post_render(auth_client, render_body(shop, session, product)).status_code == 202

    # when
    response = post_render(auth_client, render_body(shop, session, product))

    # then
    assert response.status_code == 429
    body = response.json()
    assert body["error"] == "quota_exceeded"
    assert body["details"]["remaining"] == 0
    resets_at = dt.datetime.fromisoformat(body["details"]["resets_at"])
    assert resets_at > timezone.now()
    assert resets_at.astimezone(dt.UTC).time() == dt.time(0, 0)  # UTC shop: next midnight
    assert 0 < int(response["Retry-After"]) <= 86400
    assert RenderJob.objects.count() == 3
    assert (usage(shop).composite_renders, usage(shop).reserved) == (3, 0)


def test_quota_429_carries_the_quotas_own_rate_headers(
    auth_client, shop, session, product, settings
):
    # given: the quota of 3 used; the caller's own request limit is far from reached
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "user": "100/min",
        },
    }
    for _ in range(3):
        assert post_render(auth_client, render_body(shop, session, product)).status_code == 202

    # when
    refused = post_render(auth_client, render_body(shop, session, product))

    # then: the quota's limit, 0 left, reset at the quota day's end (= Retry-After) ...
    assert refused.status_code == 429
    retry_after = int(refused["Retry-After"])
    assert (refused["X-RateLimit-Limit"], refused["X-RateLimit-Remaining"]) == ("3", "0")
    assert refused["X-RateLimit-Reset"] == str(retry_after)
    policies = refused["RateLimit-Policy"].split(", ")
    states = refused["RateLimit"].split(", ")
    assert policies[0] == '"shop_render_quota";q=3;w=86400'
    assert states[0] == f'"shop_render_quota";r=0;t={retry_after}'
    # ... and the per-user limiter's figures only as their own, later, named policy
    assert policies[1:] == ['"user";q=100;w=60']
    assert states[1].startswith('"user";r=96;t=')  # 4 requests


def _stuck_job(shop, session, product, *, status, age, attempts=None, lease_ended=None):
    """A job created `age` ago; a running one was claimed then, its lease ending
    `lease_ended` ago (default: still live)."""
    day = quota_day(shop=shop)
    assert quota_reserve(shop_id=shop.pk, day=day)
    now = timezone.now()
    then = now - age
    running = status == RenderJobStatus.RUNNING
    return RenderJob.objects.create(
        shop=shop,
        room_session=session,
        product_upload_id=product.pk,
        product_image_key=product.key,
        room_image_key=session.original_room_image_key,
        placement_x=0.5,
        placement_y=0.5,
        placement_scale=0.5,
        usage_date=day,
        status=status,
        created_at=then,
        started_at=then if running else None,
        attempts=(1 if running else 0) if attempts is None else attempts,
        claimed_until=(
            None
            if not running
            else now - lease_ended
            if lease_ended is not None
            else now + dt.timedelta(minutes=5)
        ),
    )


def _expire_lease(job) -> None:
    """What time does to a dead worker's claim."""
    RenderJob.objects.filter(pk=job.pk).update(
        claimed_until=timezone.now() - dt.timedelta(seconds=1)
    )


def test_reaper_fails_only_jobs_whose_attempts_all_died(shop, session, product, settings):
    settings.RENDER_STUCK_AFTER = dt.timedelta(minutes=10)
    settings.RENDER_MAX_ATTEMPTS = 3
    minutes = dt.timedelta(minutes=1)
    exhausted = _stuck_job(
        shop, session, product, status="running", age=60 * minutes, attempts=3, lease_ended=minutes
    )
    recently_dead = _stuck_job(
        shop, session, product, status="running", age=20 * minutes, lease_ended=minutes
    )
    live = _stuck_job(shop, session, product, status="running", age=60 * minutes)
    assert usage(shop).reserved == 3

    assert cleanup_run(name="stuck_renders") == {
        "stuck_renders_failed": 1,
        "stuck_renders_requeued": 0,
    }

    exhausted.refresh_from_db()
    assert exhausted.status == RenderJobStatus.FAILED
    assert "interrupted 3 times" in exhausted.error
    # A dead worker's job with attempts left waits for the broker's redelivery; a live
    # attempt is left alone, however old the job.
    for job in (recently_dead, live):
        job.refresh_from_db()
        assert job.status == RenderJobStatus.RUNNING
    assert (usage(shop).reserved, usage(shop).composite_renders) == (2, 0)
    assert render_job_reap_stuck() == {"stuck_renders_failed": 0, "stuck_renders_requeued": 0}


def test_reaper_publishes_again_jobs_no_attempt_ran_for_long(shop, session, product, settings):
    """A lost message (queued for long, or a dead worker's job never redelivered): the
    reaper publishes the task again and the job completes (tasks run eagerly here)."""
    settings.RENDER_STUCK_AFTER = dt.timedelta(minutes=10)
    minutes = dt.timedelta(minutes=1)
    never_run = _stuck_job(shop, session, product, status="queued", age=30 * minutes)
    abandoned = _stuck_job(
        shop, session, product, status="running", age=30 * minutes, lease_ended=11 * minutes
    )

    assert render_job_reap_stuck() == {"stuck_renders_failed": 0, "stuck_renders_requeued": 2}

    never_run.refresh_from_db()
    abandoned.refresh_from_db()
    assert (never_run.status, never_run.attempts) == (RenderJobStatus.COMPLETED, 1)
    assert (abandoned.status, abandoned.attempts) == (RenderJobStatus.COMPLETED, 2)
    assert (usage(shop).composite_renders, usage(shop).reserved) == (2, 0)


def test_a_redelivery_takes_over_once_the_dead_workers_lease_ends(shop, session, product, settings):
    job = _stuck_job(shop, session, product, status="queued", age=dt.timedelta(0))
    first = render_job_claim(job_id=job.pk)
    assert first.attempts == 1
    leftover = f"renders/{shop.pk}/{job.pk}.png"  # saved by attempt 1 before it died
    storage_save(leftover, ContentFile(b"half-finished"), content_type="image/png")

    # While the first attempt's lease runs, a redelivery is told to come back later.
    with pytest.raises(LeaseHeld) as held:
        render_job_run(job_id=job.pk)
    assert 0 < held.value.retry_in_s <= settings.JOB_LEASE_S
    _expire_lease(job)

    assert render_job_run(job_id=job.pk) == "completed"

    job.refresh_from_db()
    assert (job.status, job.attempts) == (RenderJobStatus.COMPLETED, 2)
    assert job.result_image_key == f"renders/{shop.pk}/{job.pk}-2.png"
    assert storage_exists(job.result_image_key)
    assert not storage_exists(leftover)
    assert (usage(shop).composite_renders, usage(shop).reserved) == (1, 0)
    # The first attempt, still alive after all, finds itself superseded.
    assert render_job_complete(job_id=job.pk, result_key=leftover, attempt=1) is False
    assert (usage(shop).composite_renders, usage(shop).reserved) == (1, 0)


def test_the_last_attempts_death_fails_the_job_at_its_next_delivery(
    shop, session, product, settings
):
    settings.RENDER_MAX_ATTEMPTS = 2
    job = _stuck_job(shop, session, product, status="queued", age=dt.timedelta(0))
    for _ in range(2):
        assert render_job_claim(job_id=job.pk) is not None
        _expire_lease(job)

    assert render_job_run(job_id=job.pk) == "skipped"

    job.refresh_from_db()
    assert (job.status, job.attempts) == (RenderJobStatus.FAILED, 2)
    assert "interrupted 2 times" in job.error
    assert (usage(shop).composite_renders, usage(shop).reserved) == (0, 0)


def test_a_job_run_twice_is_claimed_and_counted_once(shop, session, product):
    job = _stuck_job(shop, session, product, status="queued", age=dt.timedelta(0))

    outcomes = [render_job_run(job_id=job.pk), render_job_run(job_id=job.pk)]

    assert outcomes == ["completed", "skipped"]
    assert (usage(shop).composite_renders, usage(shop).reserved) == (1, 0)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lease_expired", [False, True], ids=["queued", "worker-died"])
def test_eight_concurrent_deliveries_of_one_job_render_and_count_it_once(make_user, lease_expired):
    from django.db import connections

    from tests.concurrency import fire_concurrently

    owner = make_user()
    shop = ShopFactory(owner=owner, daily_quota=3)
    session = confirmed_session(shop)
    product = product_upload(owner, product_png())
    if lease_expired:  # its first worker died
        job = _stuck_job(
            shop,
            session,
            product,
            status="running",
            age=dt.timedelta(minutes=5),
            lease_ended=dt.timedelta(seconds=1),
        )
    else:
        job = _stuck_job(shop, session, product, status="queued", age=dt.timedelta(0))

    def deliver(_index):
        try:
            return render_job_run(job_id=job.pk)
        except LeaseHeld:
            return "leased"
        finally:
            connections.close_all()

    outcomes = fire_concurrently(deliver, 8, processes=4)

    # One attempt ran; the others found it finished or still leased (and would retry).
    assert outcomes.count("completed") == 1, outcomes
    assert set(outcomes) <= {"completed", "skipped", "leased"}, outcomes
    job.refresh_from_db()
    assert job.attempts == (2 if lease_expired else 1)
    assert (usage(shop).composite_renders, usage(shop).reserved) == (1, 0)
