"""Lossy WebP (VP8 intra) through Pillow (libwebp)."""
from __future__ import annotations

from ._pillow import PillowCodec

__all__ = ["WebPCodec"]


class WebPCodec(PillowCodec):
    """Lossy WebP with Pillow's encoder (libwebp, ``method=6``: slowest, smallest).

    ``quality`` is libwebp's quality factor 0..100.

    Transmitted payload: the whole WebP file in its simple lossy form, i.e. the
    12-byte RIFF/WEBP header, the 8-byte ``"VP8 "`` chunk header and the VP8 key
    frame (its 10-byte frame header included). Nothing is stripped.

    Example
    -------
    >>> codec = WebPCodec()
    >>> payload, quality = codec.encode_to_budget(image, max_bytes=200)
    """

    name = "webp"
    label = "WebP"
    qualities = tuple(range(0, 101))
    _pil_format = "WEBP"

    def _save_params(self, quality: int, shape: tuple[int, int]) -> dict:
        return {"quality": quality, "method": 6, "lossless": False}
