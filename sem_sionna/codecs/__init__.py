"""Real image codecs with byte-exact payloads and rate control.

``get(name)`` returns a codec (``"jpeg"``, ``"jpeg2000"``, ``"webp"``, ``"bpg"``: real
BPG files as libbpg's bpgenc writes them, ``"hevc"``: HEVC intra with a minimal framing,
an optimistic bound, not BPG) with ``encode(image, quality) -> bytes``,
``decode(data) -> image`` and ``encode_to_budget(image, max_bytes)``. Images are
``float32`` in [0, 1], ``[H, W, 3]``; payloads are exactly the bytes a
transmitter sends, headers included. ``encode_batch_to_budget`` and
``decode_batch`` run a batch over a thread pool.
"""
from .base import DecodeError, ImageCodec
from .bpg import BPGCodec
from .batch import decode_batch, encode_batch_to_budget
from .hevc import HEVC_PRESETS, HEVCCodec
from .jpeg import JPEGCodec
from .jpeg2000 import J2K_RATIOS, JPEG2000Codec
from .registry import NAMES, get
from .webp import WebPCodec

__all__ = [
    "NAMES",
    "get",
    "DecodeError",
    "ImageCodec",
    "JPEGCodec",
    "JPEG2000Codec",
    "J2K_RATIOS",
    "WebPCodec",
    "BPGCodec",
    "HEVCCodec",
    "HEVC_PRESETS",
    "encode_batch_to_budget",
    "decode_batch",
]
