"""Pillow image work: decoding untrusted bytes, room normalization and product compositing."""

import io
import math
import warnings

from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

JPEG_QUALITY = 90
PNG_COMPRESS_LEVEL = 3  # a little larger than the default 6, several times faster to write
# Only the decoders uploads accept: fewer parsers exposed to untrusted bytes.
DECODABLE_FORMATS = ("JPEG", "PNG", "WEBP")


class ImageInputError(ValueError):
    """An input image is missing, corrupt or too large; the message is shown to the client."""


def image_decode(data: bytes, *, what: str) -> Image.Image:
    """Decode fully (so truncation shows up here, not later) with the pixel cap enforced."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=DECODABLE_FORMATS)
            width, height = image.size
            if width * height > settings.MAX_IMAGE_PIXELS:
                raise ImageInputError(
                    f"The {what} has {width}x{height} pixels, more than the "
                    f"{settings.MAX_IMAGE_PIXELS} allowed."
                )
            image.load()
    except ImageInputError:
        raise
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        SyntaxError,
        ValueError,
    ) as exc:
        raise ImageInputError(f"The {what} is not a readable image ({exc}).") from exc
    return image


def room_normalize(data: bytes) -> tuple[bytes, int, int]:
    """EXIF orientation applied, longest side capped at ROOM_IMAGE_MAX_SIDE, RGB JPEG.

    Returns (jpeg bytes, width, height).
    """
    image = image_decode(data, what="room image")
    image = ImageOps.exif_transpose(image)
    if image.mode != "RGB":
        # Transparent areas of a PNG room become white rather than black.
        if "A" in image.getbands() or image.mode == "P":
            image = image.convert("RGBA")
            background = Image.new("RGB", image.size, (255, 255, 255))
            background.paste(image, mask=image.getchannel("A"))
            image = background
        else:
            image = image.convert("RGB")
    max_side = settings.ROOM_IMAGE_MAX_SIDE
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue(), image.width, image.height


def composite(room: Image.Image, product: Image.Image, *, x: float, y: float, scale: float):
    """Paste `product` onto `room` centred at (x, y) (fractions of the room's width and
    height), `scale` times the room's width wide, aspect kept; its alpha is respected.

    Only the part of the product that lands inside the room is resampled, so a large scale
    costs no more than the room's own size.
    """
    base = room.convert("RGB")
    product = ImageOps.exif_transpose(product).convert("RGBA")
    room_w, room_h = base.size
    target_w = max(1, round(scale * room_w))
    target_h = max(1, round(target_w * product.height / product.width))
    left = x * room_w - target_w / 2
    top = y * room_h - target_h / 2

    # The visible window in room pixels, then the matching box in product pixels.
    vis_left, vis_top = max(0, math.floor(left)), max(0, math.floor(top))
    vis_right = min(room_w, math.ceil(left + target_w))
    vis_bottom = min(room_h, math.ceil(top + target_h))
    if vis_right <= vis_left or vis_bottom <= vis_top:
        return base
    sx, sy = product.width / target_w, product.height / target_h
    box = (
        max(0.0, (vis_left - left) * sx),
        max(0.0, (vis_top - top) * sy),
        min(float(product.width), (vis_right - left) * sx),
        min(float(product.height), (vis_bottom - top) * sy),
    )
    patch = product.resize(
        (vis_right - vis_left, vis_bottom - vis_top), Image.Resampling.LANCZOS, box=box
    )
    base.paste(patch, (vis_left, vis_top), mask=patch.getchannel("A"))
    return base


def png_encode(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return out.getvalue()
