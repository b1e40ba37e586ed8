"""The compositor: placement, scale, transparency, clipping; room normalization."""

import io

import pytest
from PIL import Image

from rendering.compositor import ImageInputError, composite, image_decode, room_normalize
from tests.rendering.factories import image_bytes, product_png

BLUE = (0, 0, 255)
RED = (255, 0, 0)


def close(pixel, expected, tolerance=6):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=False))


def test_product_lands_centred_at_the_placement_with_the_requested_width():
    room = Image.new("RGB", (400, 200), BLUE)
    product = Image.open(io.BytesIO(product_png((50, 25), (*RED, 255))))

    result = composite(room, product, x=0.25, y=0.5, scale=0.25)  # 100x50 centred at (100, 100)

    assert result.size == (400, 200)
    assert close(result.getpixel((100, 100)), RED)
    assert close(result.getpixel((55, 80)), RED)
    assert close(result.getpixel((145, 120)), RED)
    assert close(result.getpixel((45, 100)), BLUE)
    assert close(result.getpixel((155, 100)), BLUE)
    assert close(result.getpixel((100, 70)), BLUE)
    assert close(result.getpixel((100, 130)), BLUE)
    assert close(result.getpixel((300, 100)), BLUE)


def test_transparent_pixels_of_the_product_leave_the_room_visible():
    room = Image.new("RGB", (200, 200), BLUE)
    product = Image.open(
        io.BytesIO(product_png((40, 40), (*RED, 255), transparent_right_half=True))
    )

    result = composite(room, product, x=0.5, y=0.5, scale=0.5)  # 100x100 at (50..150)

    assert close(result.getpixel((70, 100)), RED)
    assert close(result.getpixel((130, 100)), BLUE)


def test_product_over_the_edge_is_clipped_and_large_scales_stay_bounded():
    room = Image.new("RGB", (300, 100), BLUE)
    product = Image.open(io.BytesIO(product_png((10, 1000), (*RED, 255))))

    # 600 px wide and 60,000 px tall at full size: only the visible window is resampled.
    result = composite(room, product, x=0.0, y=1.0, scale=2.0)

    assert result.size == (300, 100)
    assert close(result.getpixel((0, 99)), RED)
    assert close(result.getpixel((299, 0)), RED)


def test_room_normalize_applies_exif_orientation_caps_size_and_writes_jpeg(settings):
    settings.ROOM_IMAGE_MAX_SIDE = 100
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: viewers rotate it 90° clockwise
    raw = image_bytes((400, 200), BLUE, exif=exif.tobytes())

    data, width, height = room_normalize(raw)

    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    assert (width, height) == image.size == (50, 100)
    assert image.getexif().get(0x0112) in (None, 1)


def test_png_room_with_transparency_becomes_rgb_jpeg():
    data, width, height = room_normalize(
        image_bytes((30, 20), (0, 0, 0, 0), mode="RGBA", fmt="PNG")
    )

    image = Image.open(io.BytesIO(data))
    assert (image.mode, image.format, width, height) == ("RGB", "JPEG", 30, 20)
    assert close(image.getpixel((5, 5)), (255, 255, 255))


@pytest.mark.parametrize(
    "data", [b"", b"not an image at all", image_bytes((50, 50), fmt="PNG")[:60]]
)
def test_unreadable_bytes_raise_a_readable_error(data):
    with pytest.raises(ImageInputError, match="room image is not a readable image"):
        image_decode(data, what="room image")


def test_images_over_the_pixel_cap_are_refused(settings):
    settings.MAX_IMAGE_PIXELS = 100
    with pytest.raises(ImageInputError, match="more than the 100 allowed"):
        image_decode(image_bytes((20, 20)), what="product image")
