"""Uploads: a small JPEG upload at concurrency 1 and 8, file download, and sniffing cost."""

import io
import time
import uuid

UPLOAD_REQUESTS_C1 = 100
UPLOAD_REQUESTS_C8 = 300
DOWNLOAD_DURATION_S = 5
DOWNLOAD_CONCURRENCY = 8
JPEG_SIZE = (640, 480)
SNIFF_SIZE = (4000, 3000)  # a 12-megapixel photo
SNIFF_ROUNDS = 3


def _jpeg(size: tuple[int, int]) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, (180, 120, 60))
    draw = ImageDraw.Draw(image)
    for x in range(0, size[0], 40):
        draw.line([(x, 0), (size[0] - x, size[1])], fill=(x % 255, 40, 200), width=3)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def _multipart(data: bytes, filename: str) -> tuple[bytes, str]:
    boundary = f"bench{uuid.uuid4().hex}"
    body = (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def run(bench) -> None:
    from uploads.validation import sniff_image

    user = bench.make_user()
    auth = {"Authorization": f"Bearer {bench.token_for(user)}"}
    data = _jpeg(JPEG_SIZE)
    body, content_type = _multipart(data, "bench.jpg")
    headers = {**auth, "Content-Type": content_type}
    label = f"{JPEG_SIZE[0]}x{JPEG_SIZE[1]} JPEG {len(data) // 1024} KiB"

    def post(_index: int) -> dict:
        return {"method": "POST", "path": "/api/uploads", "headers": headers, "body": body}

    for concurrency, count in ((1, UPLOAD_REQUESTS_C1), (8, UPLOAD_REQUESTS_C8)):
        bench.load(
            f"POST /api/uploads ({label}) c={concurrency}",
            concurrency=concurrency,
            requests=count,
            request_factory=post,
        )

    import requests

    created = requests.post(
        f"{bench.base_url}/api/uploads",
        files={"file": ("bench.jpg", data, "image/jpeg")},
        headers=auth,
        timeout=30,
    )
    created.raise_for_status()
    file_id = created.json()["id"]
    bench.load(
        f"GET /api/files/{{id}} ({label}) c={DOWNLOAD_CONCURRENCY}",
        "GET",
        f"/api/files/{file_id}",
        concurrency=DOWNLOAD_CONCURRENCY,
        duration_s=DOWNLOAD_DURATION_S,
        headers=auth,
    )

    photo = _jpeg(SNIFF_SIZE)
    began = time.perf_counter()
    for _ in range(SNIFF_ROUNDS):
        sniff_image(io.BytesIO(photo))
    per_photo_ms = (time.perf_counter() - began) * 1000 / SNIFF_ROUNDS
    megapixels = SNIFF_SIZE[0] * SNIFF_SIZE[1] / 1e6
    bench.record(
        "uploads: sniff_image (verify + 1/8-scale decode) of a 12 MP JPEG",
        bytes=len(photo),
        ms_per_photo=round(per_photo_ms, 1),
        ms_per_megapixel=round(per_photo_ms / megapixels, 2),
    )
