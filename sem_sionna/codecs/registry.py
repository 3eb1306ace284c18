"""Lookup of the image codecs by name."""
from __future__ import annotations

from typing import Any

from .base import ImageCodec
from .bpg import BPGCodec
from .hevc import HEVCCodec
from .jpeg import JPEGCodec
from .jpeg2000 import JPEG2000Codec
from .webp import WebPCodec

__all__ = ["NAMES", "get"]

_CODECS: dict[str, type[ImageCodec]] = {
    cls.name: cls for cls in (JPEGCodec, JPEG2000Codec, WebPCodec, BPGCodec, HEVCCodec)}

#: Valid ``name`` values of :func:`get`.
NAMES = tuple(_CODECS)


def get(name: str | ImageCodec, **kwargs: Any) -> ImageCodec:
    """Return a new codec by name.

    Parameters
    ----------
    name : str -- one of :data:`NAMES` (``"jpeg"``, ``"jpeg2000"``, ``"webp"``,
        ``"bpg"``, ``"hevc"``); an :class:`ImageCodec` instance is returned unchanged.
    **kwargs -- constructor arguments of that codec (e.g. ``chroma_format`` for
        ``"hevc"``). ``get(**codec.get_config())`` rebuilds ``codec``.

    Output
    ------
    codec : ImageCodec

    Raises
    ------
    ValueError -- unknown ``name``; the message lists the valid names.
    TypeError -- ``name`` is neither a string nor a codec, or ``kwargs`` are
        given with a codec instance.
    """
    if isinstance(name, ImageCodec):
        if kwargs:
            raise TypeError(f"`kwargs` cannot be applied to an existing codec, got {kwargs}")
        return name
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a codec name or an ImageCodec, got {name!r}")
    if name not in _CODECS:
        raise ValueError(f"`name` must be one of {NAMES}, got {name!r}")
    return _CODECS[name](**kwargs)
