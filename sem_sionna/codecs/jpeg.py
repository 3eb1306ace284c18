"""Baseline JPEG through Pillow (libjpeg)."""
from __future__ import annotations

from ._pillow import PillowCodec, drop_marker_segments

__all__ = ["JPEGCodec"]

_APP0 = 0xFFE0  # JFIF application segment
_SOS = 0xFFDA  # start of scan: end of the header part we touch


class JPEGCodec(PillowCodec):
    """Baseline JPEG (ITU-T T.81) with Pillow's encoder, 4:2:0 chroma.

    ``quality`` is libjpeg's quality factor 1..100 (scales the standard
    quantisation tables). Huffman tables are optimised per image
    (``optimize=True``), which makes the tables in the header smaller.

    Transmitted payload: the whole JPEG file (SOI, DQT, SOF0, DHT, SOS, entropy
    coded data, EOI) except the 18-byte JFIF APP0 segment, which only carries
    density and version fields; without it decoders (libjpeg, Pillow) still
    read three components as YCbCr. Every other header byte is counted.

    Example
    -------
    >>> codec = JPEGCodec()
    >>> payload = codec.encode(image, 75)  # image: [H, W, 3] float32 in [0, 1]
    >>> x_hat = codec.decode(payload)
    """

    name = "jpeg"
    label = "JPEG"
    qualities = tuple(range(1, 101))
    _pil_format = "JPEG"

    def _save_params(self, quality: int, shape: tuple[int, int]) -> dict:
        return {"quality": quality, "optimize": True, "subsampling": "4:2:0"}

    def _strip(self, data: bytes) -> bytes:
        return drop_marker_segments(data, frozenset({_APP0}), _SOS)
