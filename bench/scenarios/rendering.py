"""Rendering: POST /api/renders acceptance at c=16 on one shop near its quota, and the
compositor's cost per megapixel."""

import io
import time

CONCURRENCY = 16
QUOTA = 100_000
HEADROOM = 300  # slots left when the load starts: all accepted, then all refused
REFUSED_REQUESTS = 300
ROOM_SIZE = (640, 480)
COMPOSITE_SIZES = [(1024, 1024), (2048, 2048), (4096, 3072)]
COMPOSITE_ROUNDS = 3
PRODUCT_SIZE = (800, 800)


def _image_bytes(size, color, *, fmt: str) -> bytes:
    from PIL import Image, ImageDraw

    mode = "RGBA" if fmt == "PNG" else "RGB"
    image = Image.new(mode, size, color)
    draw = ImageDraw.Draw(image)
    for x in range(0, size[0], 32):
        draw.line([(x, 0), (size[0] - x, size[1])], fill=(x % 255, 90, 200), width=5)
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def _fixtures(bench):
    from django.core.files.base import ContentFile

    from rendering.keys import room_upload_key
    from rendering.models import UsageDaily
    from rendering.quota import quota_day
    from rendering.services.room_sessions import room_session_confirm, room_session_create
    from rendering.services.shops import shop_create
    from uploads.services import upload_create
    from uploads.storage import storage_save

    user = bench.make_user()
    shop = shop_create(owner=user, name="bench shop")
    shop.daily_quota = QUOTA  # what staff would do in the admin
    shop.save(update_fields=["daily_quota"])
    session = room_session_create(shop=shop, created_by=user)
    storage_save(
        room_upload_key(shop_id=shop.pk, session_id=session.pk),
        ContentFile(_image_bytes(ROOM_SIZE, (40, 60, 200), fmt="JPEG")),
        content_type="image/jpeg",
    )
    session = room_session_confirm(session=session)
    product = upload_create(
        owner=user,
        fileobj=io.BytesIO(_image_bytes((200, 200), (220, 30, 30, 255), fmt="PNG")),
        filename="product.png",
    )
    # Near the quota: only HEADROOM slots left today.
    UsageDaily.objects.update_or_create(
        shop=shop, date=quota_day(shop=shop), defaults={"composite_renders": QUOTA - HEADROOM}
    )
    return user, shop, session, product


def _composite_per_megapixel(bench) -> None:
    from PIL import Image

    from rendering import compositor

    product = compositor.image_decode(
        _image_bytes(PRODUCT_SIZE, (220, 30, 30, 200), fmt="PNG"), what="product image"
    )
    for size in COMPOSITE_SIZES:
        room = Image.new("RGB", size, (40, 60, 200))
        megapixels = size[0] * size[1] / 1e6
        composite_s, encode_s = [], []
        for _ in range(COMPOSITE_ROUNDS):
            started = time.perf_counter()
            result = compositor.composite(room, product, x=0.5, y=0.5, scale=0.5)
            composited = time.perf_counter()
            compositor.png_encode(result)
            composite_s.append(composited - started)
            encode_s.append(time.perf_counter() - composited)
        bench.record(
            f"composite {size[0]}x{size[1]} ({megapixels:.1f} MP), product at half width",
            composite_ms=round(min(composite_s) * 1000, 1),
            composite_ms_per_mp=round(min(composite_s) * 1000 / megapixels, 1),
            png_encode_ms_per_mp=round(min(encode_s) * 1000 / megapixels, 1),
        )


def run(bench) -> None:
    from rendering.models import RenderJob, UsageDaily
    from rendering.quota import quota_day

    user, shop, session, product = _fixtures(bench)
    headers = {"Authorization": f"Bearer {bench.token_for(user)}"}
    body = {
        "shop_id": str(shop.pk),
        "room_session_id": str(session.pk),
        "product_image_id": str(product.pk),
        "placement": {"x": 0.5, "y": 0.6, "scale": 0.3},
    }

    accepted = bench.load(
        f"POST /api/renders, {HEADROOM} slots left (202) c={CONCURRENCY}",
        "POST",
        "/api/renders",
        concurrency=CONCURRENCY,
        requests=HEADROOM,
        headers=headers,
        json=body,
    )
    refused = bench.load(
        f"POST /api/renders, quota used up (429) c={CONCURRENCY}",
        "POST",
        "/api/renders",
        concurrency=CONCURRENCY,
        requests=REFUSED_REQUESTS,
        headers=headers,
        json=body,
    )
    usage = UsageDaily.objects.get(shop=shop, date=quota_day(shop=shop))
    bench.record(
        "quota exactness after the load",
        accepted_202=accepted.statuses.get(202, 0) + refused.statuses.get(202, 0),
        refused_429=accepted.statuses.get(429, 0) + refused.statuses.get(429, 0),
        jobs_created=RenderJob.objects.filter(shop=shop).count(),
        expected_accepted=HEADROOM,
        used_plus_reserved=usage.composite_renders + usage.reserved,
        daily_quota=QUOTA,
    )
    _composite_per_megapixel(bench)
