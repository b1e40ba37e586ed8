"""Renders across real instances and real workers: the quota never overshoots, a job whose
worker is killed is completed by the redelivered task (or, out of attempts, failed by the
reaper on beat with its slot back), a dead broker is a clean 503."""

import io
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from PIL import Image

from accounts.services.auth import auth_session_create
from rendering.models import RenderJob, RenderJobStatus, UsageDaily
from rendering.quota import quota_day
from rendering.services.room_sessions import room_session_confirm
from tests.e2e.harness import free_port
from tests.rendering.factories import (
    RoomSessionFactory,
    ShopFactory,
    confirmed_session,
    product_png,
    product_upload,
    put_room_photo,
)

REQUESTS = 40
QUOTA = 5
WAIT_S = 90
VISIBILITY_S = 4
LEASE_S = 3


def wait_for(predicate, *, timeout_s: float = WAIT_S, interval_s: float = 0.1, what: str = ""):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"timed out waiting for {what}")


def render_body(shop, session, product, scale=0.2):
    return {
        "shop_id": str(shop.pk),
        "room_session_id": str(session.pk),
        "product_image_id": str(product.pk),
        "placement": {"x": 0.25, "y": 0.5, "scale": scale},
    }


def auth_headers(user) -> dict[str, str]:
    _, token = auth_session_create(user=user)
    return {"Authorization": f"Bearer {token}"}


def usage(shop) -> UsageDaily:
    return UsageDaily.objects.get(shop=shop, date=quota_day(shop=shop))


def test_forty_renders_at_once_across_two_instances_accept_exactly_the_quota(cluster, make_user):
    user = make_user()
    shop = ShopFactory(owner=user, daily_quota=QUOTA)
    session = confirmed_session(shop, size=(200, 100), color=(0, 0, 255))
    product = product_upload(user, product_png((40, 40), (255, 0, 0, 255)))
    headers = auth_headers(user)
    servers = [cluster.add_server(), cluster.add_server()]
    cluster.add_worker()
    cluster.wait_ready()

    body = render_body(shop, session, product)
    barrier = threading.Barrier(REQUESTS)

    def fire(index: int) -> tuple[int, dict]:
        server = servers[index % 2]
        barrier.wait(timeout=30)
        response = requests.post(
            f"{server.url}/api/renders", json=body, headers=headers, timeout=60
        )
        return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
        outcomes = list(pool.map(fire, range(REQUESTS)))

    statuses = [code for code, _ in outcomes]
    assert statuses.count(202) == QUOTA, statuses
    assert statuses.count(429) == REQUESTS - QUOTA, statuses
    refused = [payload for code, payload in outcomes if code == 429]
    assert all(p["error"] == "quota_exceeded" for p in refused)
    assert all(p["details"]["remaining"] == 0 and p["details"]["resets_at"] for p in refused)

    accepted = [payload["id"] for code, payload in outcomes if code == 202]
    wait_for(
        lambda: (
            RenderJob.objects.filter(pk__in=accepted, status=RenderJobStatus.COMPLETED).count()
            == QUOTA
        ),
        what="the worker to finish the accepted renders",
    )
    row = usage(shop)
    assert (row.composite_renders, row.reserved) == (QUOTA, 0)
    assert RenderJob.objects.filter(shop=shop).count() == QUOTA

    # Any instance reports the result with a freshly signed URL that serves the PNG.
    detail = requests.get(
        f"{servers[1].url}/api/renders/{accepted[0]}", headers=headers, timeout=10
    )
    assert detail.json()["status"] == "completed"
    image = requests.get(detail.json()["result_image_url"], timeout=10)
    assert image.status_code == 200
    result = Image.open(io.BytesIO(image.content)).convert("RGB")
    red, _, blue = result.getpixel((50, 50))
    assert red > 240
    assert blue < 15
    used = requests.get(f"{servers[0].url}/api/shops/{shop.pk}/usage", headers=headers, timeout=10)
    assert used.json()["used"]["render"] == QUOTA
    assert used.json()["remaining"] == 0


def slow_inputs(user, shop):
    """A 4096 px noisy room and a large noisy product: seconds of decoding, compositing and
    PNG encoding, a window wide enough to kill the worker mid-render."""
    side = 4096
    room = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    raw = io.BytesIO()
    room.save(raw, format="JPEG", quality=95)
    session = RoomSessionFactory(shop=shop)
    put_room_photo(session, raw.getvalue())
    session = room_session_confirm(session=session)
    product_side = 1500
    product = Image.frombytes(
        "RGBA", (product_side, product_side), os.urandom(product_side * product_side * 4)
    )
    data = io.BytesIO()
    product.save(data, format="PNG")
    return session, product_upload(user, data.getvalue(), "noise.png")


def start_slow_render(cluster, user, shop, **env):
    """A server and a worker, then a slow render: returns (server, worker, job_id, headers)
    once the worker has claimed the job."""
    session, product = slow_inputs(user, shop)
    headers = auth_headers(user)
    server = cluster.add_server(**env)
    worker = cluster.add_worker(**env)
    cluster.wait_ready()
    response = requests.post(
        f"{server.url}/api/renders",
        json=render_body(shop, session, product, scale=0.9),
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    wait_for(
        lambda: RenderJob.objects.filter(pk=job_id, status=RenderJobStatus.RUNNING).exists(),
        interval_s=0.02,
        what="the worker to claim the job",
    )
    return server, worker, job_id, headers, render_body(shop, session, product)


def test_worker_killed_mid_render_the_redelivered_task_completes_it(cluster, make_user):
    # given a render whose worker is killed mid-render
    user = make_user()
    shop = ShopFactory(owner=user, daily_quota=1)
    # The broker hands an unacknowledged task out again after VISIBILITY_S; the dead
    # attempt's claim lasts LEASE_S.
    env = {"CELERY_VISIBILITY_TIMEOUT_S": str(VISIBILITY_S), "JOB_LEASE_S": str(LEASE_S)}
    server, worker, job_id, headers, body = start_slow_render(cluster, user, shop, **env)
    worker.kill9()
    job = RenderJob.objects.get(pk=job_id)
    assert job.status == RenderJobStatus.RUNNING, "the render finished before the kill"
    assert job.attempts == 1
    assert usage(shop).reserved == 1
    # The quota is held by the job: nothing else gets in.
    again = requests.post(f"{server.url}/api/renders", json=body, headers=headers, timeout=30)
    assert again.status_code == 429

    # when another worker starts once the message is due for redelivery
    wait_for(
        lambda: time.time() > job.started_at.timestamp() + VISIBILITY_S + 1,
        what="the visibility timeout",
    )
    cluster.add_worker(**env).wait_ready()

    # then it takes the job over and the user gets the render, counted once
    wait_for(
        lambda: RenderJob.objects.filter(pk=job_id, status=RenderJobStatus.COMPLETED).exists(),
        what="the second worker to complete the job",
    )
    job.refresh_from_db()
    assert job.attempts == 2
    assert job.result_image_key == f"renders/{shop.pk}/{job_id}-2.png"
    row = usage(shop)
    assert (row.reserved, row.composite_renders) == (0, 1)
    detail = requests.get(f"{server.url}/api/renders/{job_id}", headers=headers, timeout=10).json()
    assert detail["status"] == "completed"
    assert detail["error"] is None
    image = requests.get(detail["result_image_url"], timeout=30)
    assert image.status_code == 200
    assert image.content.startswith(b"\x89PNG")


def test_a_render_whose_every_attempt_died_is_failed_by_the_reaper_on_beat(cluster, make_user):
    # given one attempt allowed, a short lease, and the worker killed mid-render
    user = make_user()
    shop = ShopFactory(owner=user, daily_quota=1)
    env = {"RENDER_MAX_ATTEMPTS": "1", "JOB_LEASE_S": "2"}
    server, worker, job_id, headers, _body = start_slow_render(cluster, user, shop, **env)
    worker.kill9()
    assert RenderJob.objects.get(pk=job_id).status == RenderJobStatus.RUNNING

    # when beat runs the registered reaper every second (the broker's redelivery is 10
    # minutes away)
    every_second, _ = IntervalSchedule.objects.get_or_create(
        every=1, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.update_or_create(
        name="cleanup: stuck_renders",
        defaults={
            "task": "config.cleanup",
            "interval": every_second,
            "kwargs": json.dumps({"name": "stuck_renders"}),
            "enabled": True,
        },
    )
    for process in (cluster.add_worker(**env), cluster.add_beat(**env)):
        process.wait_ready()

    # then the job fails once its lease ended, and its slot is back
    wait_for(
        lambda: RenderJob.objects.filter(pk=job_id, status=RenderJobStatus.FAILED).exists(),
        what="the reaper to fail the dead job",
    )
    row = usage(shop)
    assert (row.reserved, row.composite_renders) == (0, 0)
    detail = requests.get(f"{server.url}/api/renders/{job_id}", headers=headers, timeout=10).json()
    assert detail["status"] == "failed"
    assert "interrupted 1 times" in detail["error"]
    assert (
        requests.get(f"{server.url}/api/shops/{shop.pk}/usage", headers=headers, timeout=10).json()[
            "remaining"
        ]
        == 1
    )


def test_broker_down_answers_503_and_releases_the_reservation(cluster, make_user):
    user = make_user()
    shop = ShopFactory(owner=user, daily_quota=1)
    session = confirmed_session(shop)
    product = product_upload(user, product_png())
    server = cluster.add_server(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    cluster.wait_ready()

    response = requests.post(
        f"{server.url}/api/renders",
        json=render_body(shop, session, product),
        headers=auth_headers(user),
        timeout=60,
    )

    assert response.status_code == 503, response.text
    assert response.json()["error"] == "service_unavailable"
    row = usage(shop)
    assert (row.reserved, row.composite_renders) == (0, 0)
    job = RenderJob.objects.get(shop=shop)
    assert job.status == RenderJobStatus.FAILED
    assert "could not be queued" in job.error
