"""Shared plumbing of the Pillow-based codecs (JPEG, WebP, JPEG 2000)."""
from __future__ import annotations

import io
import struct
import warnings

import numpy as np
from PIL import Image

from .base import DecodeError, ImageCodec

__all__ = ["PillowCodec", "drop_marker_segments"]


def drop_marker_segments(data: bytes, drop: frozenset[int], stop: int) -> bytes:
    """Remove marker segments from a JPEG or JPEG 2000 main header.

    Both formats start with a 2-byte start marker (SOI ``FFD8`` / SOC ``FF4F``)
    followed by marker segments ``FFxx`` + 2-byte big-endian length (which counts
    itself) + body, until the first ``stop`` marker (SOS ``FFDA`` / SOT ``FF90``),
    after which nothing is touched.

    Parameters
    ----------
    data : bytes -- the file as written by the encoder.
    drop : frozenset of int -- marker codes (e.g. ``0xFFE0``) whose segments go.
    stop : int -- marker code that ends the main header.
    """
    out = [data[:2]]
    pos = 2
    while True:
        if pos + 4 > len(data):
            raise RuntimeError("unexpected end of the main header while removing markers")
        marker, length = struct.unpack(">HH", data[pos:pos + 4])
        if marker == stop:
            out.append(data[pos:])
            return b"".join(out)
        if marker >> 8 != 0xFF or length < 2:
            raise RuntimeError(f"unexpected marker 0x{marker:04X} in the main header")
        if marker not in drop:
            out.append(data[pos:pos + 2 + length])
        pos += 2 + length


class PillowCodec(ImageCodec):
    """An :class:`ImageCodec` whose encoder and decoder are a Pillow plugin.

    Subclasses set ``_pil_format`` (Pillow's format name) and implement
    ``_save_params`` (Pillow ``save`` keywords for a quality and an image
    shape); ``_strip`` may remove optional header parts the decoder does not
    need. Decoding only accepts ``_pil_format`` and always returns RGB.
    """

    _pil_format: str = ""

    def _save_params(self, quality: int, shape: tuple[int, int]) -> dict:
        raise NotImplementedError

    def _strip(self, data: bytes) -> bytes:
        return data

    def _encode(self, pixels: np.ndarray, quality: int) -> bytes:
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(
            buffer, format=self._pil_format, **self._save_params(quality, pixels.shape[:2]))
        return self._strip(buffer.getvalue())

    def _decode(self, data: bytes) -> np.ndarray:
        with warnings.catch_warnings():
            # A huge size in a corrupt header must fail, not just warn.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[self._pil_format]) as img:
                img.load()
                if img.mode != "RGB":
                    raise DecodeError(f"{self.name}: expected an RGB image, got mode {img.mode}")
                return np.array(img, dtype=np.uint8)
