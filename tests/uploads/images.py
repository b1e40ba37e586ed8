"""Image bytes for tests, made with Pillow."""

import io
import struct
import zlib

from PIL import Image


def jpeg_bytes(width: int = 64, height: int = 48, color=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def png_bytes(width: int = 32, height: int = 32, color=(10, 200, 10, 255)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()


def webp_bytes(width: int = 40, height: int = 30) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (0, 0, 255)).save(buffer, "WEBP")
    return buffer.getvalue()


def gif_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("P", (8, 8)).save(buffer, "GIF")
    return buffer.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png_bomb(width: int = 20_000, height: int = 20_000) -> bytes:
    """A tiny PNG declaring width x height 1-bit pixels: zeros compress ~1000:1."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", data)
        + _png_chunk(b"IEND", b"")
    )


def png_with_text(text: bytes) -> bytes:
    """A valid PNG carrying `text` in a tEXt chunk (a PNG/HTML polyglot when it is markup)."""
    original = png_bytes()
    iend = original.rindex(b"IEND") - 4
    return original[:iend] + _png_chunk(b"tEXt", b"Comment\x00" + text) + original[iend:]
