"""What a file really is, judged from its bytes: type, dimensions, and refusal of bad images."""

import re
import warnings
from dataclasses import dataclass

from django.conf import settings
from PIL import Image, UnidentifiedImageError

from config.errors import PayloadTooLarge, UnsupportedMediaType

# Pillow format -> (content type, extension). The setting UPLOAD_ALLOWED_TYPES picks which
# of these are accepted.
FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
    "GIF": ("image/gif", "gif"),
    "BMP": ("image/bmp", "bmp"),
    "TIFF": ("image/tiff", "tiff"),
}

JPEG_END = b"\xff\xd9"
PNG_END = b"IEND\xaeB`\x82"
# Markup a browser or interpreter would act on; no real image carries these as text.
POLYGLOT_MARKERS = re.compile(
    rb"<\s*(?:script|html|body|iframe|svg|object|embed)\b|<\?php|<!doctype\s+html",
    re.IGNORECASE,
)
SCAN_CHUNK_BYTES = 1024 * 1024
SCAN_OVERLAP_BYTES = 32
# JPEGs are decoded at 1/8 scale: every byte is still read and checked, at a fraction of
# the memory.
JPEG_DRAFT_SCALE = 8


@dataclass(frozen=True)
class ImageInfo:
    content_type: str
    ext: str
    width: int
    height: int


def sniff_image(fileobj) -> ImageInfo:
    """Identify an image from its bytes and prove it decodes completely.

    Raises UnsupportedMediaType for anything that is not a whole image of an allowed
    type (empty, text, truncated, trailing or embedded markup), and PayloadTooLarge for
    images over MAX_IMAGE_PIXELS (decompression bombs). Leaves `fileobj` at offset 0.
    """
    fileobj.seek(0)
    if not fileobj.read(1):
        raise UnsupportedMediaType("The file is empty.", details={"reason": "empty"})
    try:
        info = _decode(fileobj)
        _refuse_polyglot(fileobj, info)
    finally:
        fileobj.seek(0)
    return info


def _decode(fileobj) -> ImageInfo:
    max_pixels = settings.MAX_IMAGE_PIXELS
    with warnings.catch_warnings():
        # Pillow only warns between its own cap and twice that; our cap is checked below.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            fileobj.seek(0)
            with Image.open(fileobj) as image:
                kind = FORMATS.get(image.format or "")
                if kind is None or kind[0] not in settings.UPLOAD_ALLOWED_TYPES:
                    raise _unsupported(f"Images of type {image.format} are not accepted.")
                width, height = image.size
                if width * height > max_pixels:
                    raise _too_many_pixels(width, height, max_pixels)
                image.verify()
            fileobj.seek(0)
            with Image.open(fileobj) as image:
                if image.format == "JPEG":
                    # At least 1 px: Pillow divides by the requested size (a 1x1 JPEG is valid).
                    draft_size = (
                        max(1, width // JPEG_DRAFT_SCALE),
                        max(1, height // JPEG_DRAFT_SCALE),
                    )
                    image.draft(image.mode, draft_size)
                image.load()
        except Image.DecompressionBombError as exc:
            raise PayloadTooLarge(
                "The image has too many pixels.", details={"max_pixels": max_pixels}
            ) from exc
        except UnidentifiedImageError as exc:
            raise _unsupported("The file is not an image of an accepted type.") from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            # Truncated or corrupt data: Pillow reports these as OSError/SyntaxError.
            raise _unsupported("The image is truncated or corrupt.", reason="corrupt") from exc
    content_type, ext = kind
    return ImageInfo(content_type=content_type, ext=ext, width=width, height=height)


def _refuse_polyglot(fileobj, info: ImageInfo) -> None:
    """Refuse bytes after the image's end marker and markup anywhere in the file: such a
    file is also something else (HTML, a script, an archive)."""
    fileobj.seek(0, 2)
    size = fileobj.tell()
    fileobj.seek(max(0, size - 16))
    tail = fileobj.read().rstrip(b"\x00")
    trailing = False
    if info.content_type == "image/jpeg":
        trailing = not tail.endswith(JPEG_END)
    elif info.content_type == "image/png":
        trailing = not tail.endswith(PNG_END)
    elif info.content_type == "image/webp":
        fileobj.seek(4)
        riff_size = int.from_bytes(fileobj.read(4), "little")
        trailing = riff_size + 8 != size
    if trailing:
        raise _unsupported("The file has data after the end of the image.", reason="polyglot")

    fileobj.seek(0)
    previous = b""
    while chunk := fileobj.read(SCAN_CHUNK_BYTES):
        if POLYGLOT_MARKERS.search(previous + chunk):
            raise _unsupported("The file embeds markup or code.", reason="polyglot")
        previous = chunk[-SCAN_OVERLAP_BYTES:]


def _unsupported(message: str, *, reason: str = "type") -> UnsupportedMediaType:
    return UnsupportedMediaType(
        message,
        details={"reason": reason, "allowed": list(settings.UPLOAD_ALLOWED_TYPES)},
    )


def _too_many_pixels(width: int, height: int, max_pixels: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        "The image has too many pixels.",
        details={"width": width, "height": height, "max_pixels": max_pixels},
    )
