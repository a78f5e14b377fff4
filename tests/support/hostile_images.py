"""Hostile image files for the upload tests: decompression bombs, polyglots, wrong types (made here)."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def png(size: tuple[int, int], mode: str = "RGBA") -> bytes:
    """A real PNG; a large one of zeros compresses to almost nothing (6300x6300 RGBA: about 154 KB)."""
    out = io.BytesIO()
    Image.new(mode, size).save(out, "PNG", compress_level=9)
    return out.getvalue()


def jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (120, 30, 200)).save(out, "JPEG")
    return out.getvalue()


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small JPEG whose frame header (SOF0) claims `width` x `height`."""
    data = bytearray(jpeg())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose IHDR claims `width` x `height` (CRC fixed, pixels missing)."""
    data = bytearray(png((8, 8)))
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(data[ihdr : ihdr + 17])))
    return bytes(data)


def polyglot_zip() -> bytes:
    """A valid JPEG with a ZIP archive after its end (a 'GIFAR'-style polyglot)."""
    out = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(out, "w") as z:
        z.writestr("evil.html", "<script>alert(1)</script>")
    return jpeg() + out.getvalue()


def polyglot_html() -> bytes:
    return png((16, 16)) + b"<html><script>alert(document.cookie)</script></html>"


GIF_JS = b"GIF89a/*\x01\x00\x01\x00\x00\x00\x00*/=alert(1);//" + b"\x00" * 32
HTML = b"<!doctype html><script>alert(1)</script>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'


def hostile() -> list[tuple[str, bytes, str, int]]:
    """(name, bytes, declared content type, expected status) for every upload route."""
    return [
        ("png-bomb-6300x6300-rgba", png((6300, 6300)), "image/png", 413),
        ("png-header-100000x100000", png_claiming(100_000, 100_000), "image/png", 413),
        ("jpeg-header-65000x65000", jpeg_claiming(65_000, 65_000), "image/jpeg", 413),
        ("png-16-bit", png((32, 32), "I;16"), "image/png", 415),
        ("jpeg+zip-polyglot", polyglot_zip(), "image/jpeg", 422),
        ("png+html-polyglot", polyglot_html(), "image/png", 422),
        ("gif-javascript-polyglot", GIF_JS, "image/png", 415),
        ("html-as-png", HTML, "image/png", 415),
        ("svg", SVG, "image/svg+xml", 415),
        ("png-declared-as-html", png((16, 16)), "text/html", 415),
        ("truncated-jpeg", jpeg((256, 256))[:-200], "image/jpeg", 415),
    ]
