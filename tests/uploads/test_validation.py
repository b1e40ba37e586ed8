"""sniff_image judges files by their bytes: accepted types, truncation, bombs, polyglots."""

import io

import pytest

from config.errors import PayloadTooLarge, UnsupportedMediaType
from uploads.validation import sniff_image

from .images import gif_bytes, jpeg_bytes, png_bomb, png_bytes, png_with_text, webp_bytes


@pytest.mark.parametrize(
    ("data", "content_type", "ext", "size"),
    [
        (jpeg_bytes(64, 48), "image/jpeg", "jpg", (64, 48)),
        # Smaller than the 1/8 decoding scale on a side (found by the API fuzzer).
        (jpeg_bytes(1, 1), "image/jpeg", "jpg", (1, 1)),
        (jpeg_bytes(7, 300), "image/jpeg", "jpg", (7, 300)),
        (png_bytes(32, 16), "image/png", "png", (32, 16)),
        (webp_bytes(40, 30), "image/webp", "webp", (40, 30)),
    ],
)
def test_accepted_images_are_identified(data, content_type, ext, size):
    fileobj = io.BytesIO(data)
    info = sniff_image(fileobj)
    assert (info.content_type, info.ext, (info.width, info.height)) == (content_type, ext, size)
    assert fileobj.tell() == 0


def test_allowed_types_come_from_the_setting(settings):
    settings.UPLOAD_ALLOWED_TYPES = ["image/png"]
    with pytest.raises(UnsupportedMediaType):
        sniff_image(io.BytesIO(jpeg_bytes()))
    settings.UPLOAD_ALLOWED_TYPES = ["image/gif"]
    assert sniff_image(io.BytesIO(gif_bytes())).content_type == "image/gif"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"just some text, named photo.png", id="text"),
        pytest.param(b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", id="svg"),
        pytest.param(gif_bytes(), id="gif-not-allowed"),
        pytest.param(jpeg_bytes(400, 300)[:-400], id="truncated-jpeg"),
        pytest.param(png_bytes(64, 64)[:-30], id="truncated-png"),
        pytest.param(jpeg_bytes() + b"<script>alert(1)</script>", id="jpeg-with-trailing-html"),
        pytest.param(png_bytes() + b"PK\x03\x04zipdata", id="png-with-trailing-zip"),
        pytest.param(png_with_text(b"<html><script>alert(1)</script>"), id="png-html-polyglot"),
    ],
)
def test_bad_files_are_unsupported(data):
    with pytest.raises(UnsupportedMediaType):
        sniff_image(io.BytesIO(data))


def test_decompression_bomb_is_refused_without_decoding(settings):
    bomb = png_bomb(20_000, 20_000)
    assert len(bomb) < 200_000  # 400 megapixels in a small file
    with pytest.raises(PayloadTooLarge) as caught:
        sniff_image(io.BytesIO(bomb))
    assert caught.value.details["max_pixels"] == settings.MAX_IMAGE_PIXELS


def test_pixel_cap_is_the_setting(settings):
    settings.MAX_IMAGE_PIXELS = 100
    with pytest.raises(PayloadTooLarge):
        sniff_image(io.BytesIO(png_bytes(11, 10)))
    assert sniff_image(io.BytesIO(png_bytes(10, 10))).width == 10
