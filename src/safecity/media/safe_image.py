"""Decoding untrusted images (uploads) with bounded memory.

A 154 KB PNG can declare 6300x6300 RGBA: decoding it takes 160 MB, and the copies a naive pipeline makes
(orientation, conversion, re-encoding) several times that; four at once took a server from 0.6 to 3.4 GB.
So, for every uploaded image:
1. only the header is read first (format, dimensions, mode): a format other than JPEG/PNG, an exotic mode
   (16-bit, float, CMYK PNG ...), more pixels than the route's cap, or data after the end of the image (a
   polyglot: an image that is also a ZIP, HTML or script) are refused before a single pixel is decoded;
2. JPEGs are decoded reduced (libjpeg's DCT scaling, `draft`) to at most `max_side` pixels on the longer
   side; PNGs, which cannot be decoded reduced, have a lower pixel cap (`max_full_decode_pixels`) and are
   shrunk right after decoding;
3. decodes run one at a time in one dedicated thread (`DECODER`): the peak is one image, and glibc reuses
   one arena instead of keeping a high-water mark per worker thread;
4. `client_slot(key)` lets each client (address or user) have one upload decoding at a time (429 otherwise).
"""

from __future__ import annotations

import contextlib
import io
import threading
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from PIL import Image, ImageOps, UnidentifiedImageError

FORMATS = frozenset({"JPEG", "PNG"})
# modes a photo comes in; everything else (I;16, I, F, CMYK PNGs ...) is refused from the header
MODES = frozenset({"1", "L", "LA", "P", "PA", "RGB", "RGBA", "CMYK", "YCbCr"})
CONTENT_TYPES = frozenset({"image/jpeg", "image/png", "image/jpg", "application/octet-stream", ""})
DECODER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="image-decode")
_PNG_END = b"IEND\xaeB`\x82"
T = TypeVar("T")


class ImageRejected(ValueError):
    """An upload refused before or while decoding; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ImageLimits:
    max_pixels: int  # width x height from the header, before decoding
    max_side: int = 4096  # the decoded image's longer side (JPEGs are decoded reduced to it)
    max_bytes: int = 10 * 1024 * 1024
    # formats decoded at full size (PNG: no reduced decoding) have this cap when it is lower
    max_full_decode_pixels: int = 16_000_000


def check_content_type(declared: str | None) -> None:
    """A file part must be declared as a JPEG or PNG (or untyped): anything else is 415."""
    kind = (declared or "").split(";", 1)[0].strip().lower()
    if kind not in CONTENT_TYPES:
        raise ImageRejected(415, f"photo must be image/jpeg or image/png, not {kind}")


def _check_trailer(data: bytes, kind: str) -> None:
    marker = _PNG_END if kind == "PNG" else b"\xff\xd9"
    end = data.rstrip(b"\x00\r\n ")  # some encoders pad; anything else after the end is another file
    if end.endswith(marker):
        return
    if marker in data:
        raise ImageRejected(422, f"data after the end of the {kind} (a polyglot file?)")
    raise ImageRejected(415, f"photo could not be decoded: the {kind} is truncated")


def probe(data: bytes, limits: ImageLimits) -> tuple[str, tuple[int, int], str]:
    """(format, size, mode) from the header only; refuses what `decode` must never try."""
    if not data:
        raise ImageRejected(422, "photo is empty")
    if len(data) > limits.max_bytes:
        raise ImageRejected(413, f"photo is larger than {limits.max_bytes} bytes")
    try:
        with Image.open(io.BytesIO(data)) as header:
            kind, size, mode = header.format or "", header.size, header.mode
    except UnidentifiedImageError as exc:
        raise ImageRejected(415, "photo must be a JPEG or PNG image (content not recognised)") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(413, "photo has too many pixels") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageRejected(415, f"photo header could not be read: {exc}") from exc
    if kind not in FORMATS:
        raise ImageRejected(415, f"photo must be a JPEG or PNG image, not {kind or 'unknown'}")
    cap = limits.max_pixels if kind == "JPEG" else min(limits.max_pixels, limits.max_full_decode_pixels)
    if size[0] * size[1] > cap:
        raise ImageRejected(413, f"photo has more than {cap} pixels ({size[0]}x{size[1]})")
    if mode not in MODES:
        raise ImageRejected(415, f"photo pixel format {mode} is not supported")
    _check_trailer(data, kind)
    return kind, size, mode


def _decode(data: bytes, limits: ImageLimits) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = Image.open(io.BytesIO(data))
        if image.format == "JPEG":
            image.draft("RGB", (limits.max_side, limits.max_side))  # decode at 1/2, 1/4 or 1/8 scale
        image.load()  # every (reduced) pixel: a truncated or corrupt file fails here
        if max(image.size) > limits.max_side:
            image.thumbnail((limits.max_side, limits.max_side))
        upright = ImageOps.exif_transpose(image)
        return upright if upright is not None else image


def decode_now(data: bytes, limits: ImageLimits) -> Image.Image:
    """The upload decoded (reduced to `limits.max_side`) in the calling thread; ImageRejected if not.
    Call it through `serialized` (as `decode` does) unless already in the decoder thread."""
    probe(data, limits)
    try:
        return _decode(data, limits)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(413, "photo has too many pixels") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageRejected(415, f"photo could not be decoded: {exc}") from exc


def serialized(fn: Callable[..., T], *args: Any) -> T:
    """Run `fn(*args)` in the one decoder thread (a caller's whole decode-and-convert step, so that only
    one full-size image exists at a time) and return its result. Never call it from that thread."""
    return DECODER.submit(fn, *args).result()


def decode(data: bytes, limits: ImageLimits) -> Image.Image:
    """`decode_now` in the decoder thread."""
    return serialized(decode_now, data, limits)


_busy: set[str] = set()
_busy_lock = threading.Lock()


@contextlib.contextmanager
def client_slot(key: str) -> Iterator[None]:
    """One upload being decoded per client at a time; a second concurrent one gets 429."""
    with _busy_lock:
        if key in _busy:
            raise ImageRejected(429, "one photo at a time per client: wait for the previous upload")
        _busy.add(key)
    try:
        yield
    finally:
        with _busy_lock:
            _busy.discard(key)
