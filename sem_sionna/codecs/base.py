"""Abstract image codec: input validation, uint8 conversion and rate control.

Every codec in :mod:`sem_sionna.codecs` maps one image to the exact byte string a
transmitter would send (headers included) and back. :class:`ImageCodec` holds what
they share: validation of images and arguments, conversion between the public
``float32`` in [0, 1] convention and 8-bit samples, wrapping of decoder failures
into :class:`DecodeError`, and :meth:`ImageCodec.encode_to_budget`, the search for
the best quality whose whole payload fits a byte budget.
"""
from __future__ import annotations

import abc
import hashlib
import threading
from collections import OrderedDict
import numbers
from typing import Any

import numpy as np

__all__ = ["DecodeError", "ImageCodec", "check_image", "to_uint8", "to_float"]

# Values this far outside [0, 1] are still accepted (and clipped): float32
# round-off of an image computed as e.g. ``1 - x`` or ``a * b``.
_RANGE_TOLERANCE = 1e-5


class DecodeError(ValueError):
    """The bytes given to ``decode`` are not a valid payload of this codec.

    Raised for empty, truncated or malformed payloads instead of returning a
    wrong-shaped image or letting a library-specific exception escape.
    """


def check_image(image: Any, name: str = "image") -> np.ndarray:
    """Validate one image and return it as a ``float32`` array ``[H, W, 3]``.

    Raises
    ------
    TypeError -- ``image`` is not a floating-point array.
    ValueError -- wrong rank or number of channels, an empty side, NaN, or values
        outside [0, 1] (beyond a round-off tolerance of 1e-5).
    """
    try:
        array = np.asarray(image)
    except Exception as err:  # e.g. a symbolic tensor
        raise TypeError(f"`{name}` must be an array of floats in [0, 1], got "
                        f"{type(image).__name__}") from err
    if not np.issubdtype(array.dtype, np.floating):
        raise TypeError(f"`{name}` must be floating point with values in [0, 1] "
                        f"(divide 8-bit images by 255), got dtype {array.dtype}")
    if array.ndim != 3 or array.shape[-1] != 3:
        raise ValueError(f"`{name}` must have shape [H, W, 3], got {array.shape}")
    if array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"`{name}` must have H >= 1 and W >= 1, got {array.shape}")
    array = array.astype(np.float32, copy=False)
    low, high = float(np.min(array)), float(np.max(array))
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError(f"`{name}` must be finite, got NaN or inf values")
    if low < -_RANGE_TOLERANCE or high > 1.0 + _RANGE_TOLERANCE:
        raise ValueError(f"`{name}` must have values in [0, 1], got range "
                         f"[{low:.6g}, {high:.6g}]")
    return array


def to_uint8(image: np.ndarray) -> np.ndarray:
    """``float`` image in [0, 1] -> ``uint8`` in {0, ..., 255}, rounded to nearest."""
    return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def to_float(pixels: np.ndarray) -> np.ndarray:
    """``uint8`` image -> ``float32`` in [0, 1]."""
    return pixels.astype(np.float32) / np.float32(255.0)


def _check_max_bytes(max_bytes: Any) -> int:
    if isinstance(max_bytes, (bool, np.bool_)) or not isinstance(max_bytes, numbers.Real):
        raise TypeError(f"`max_bytes` must be a positive integer, got {max_bytes!r}")
    if float(max_bytes) != int(max_bytes):
        raise TypeError(f"`max_bytes` must be a positive integer, got {max_bytes!r}")
    if int(max_bytes) <= 0:
        raise ValueError(f"`max_bytes` must be a positive integer, got {max_bytes!r}")
    return int(max_bytes)


class _EncodeCache:
    """Bounded LRU of encoded payloads, keyed by codec config, pixels and quality.

    Encoding is deterministic, and sweeps encode the same test images at the same
    qualities many times (one rate search per budget, per channel, per MCS); the
    cache makes those repeats free. At most ``max_bytes`` of payloads are kept.
    """

    def __init__(self, max_bytes: int = 64 * 2**20):
        self.max_bytes = max_bytes
        self._items: OrderedDict = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            payload = self._items.get(key)
            if payload is not None:
                self._items.move_to_end(key)
            return payload

    def put(self, key, payload: bytes) -> None:
        with self._lock:
            if key in self._items:
                return
            self._items[key] = payload
            self._size += len(payload)
            while self._size > self.max_bytes and self._items:
                _, old = self._items.popitem(last=False)
                self._size -= len(old)


_ENCODE_CACHE = _EncodeCache()


class ImageCodec(abc.ABC):
    """Base class of the image codecs: one image in, the transmitted bytes out.

    Subclasses set the class attributes below and implement ``_encode`` on
    ``uint8 [H, W, 3]`` samples and ``_decode`` back to them; validation, the
    float/uint8 conversion and rate control live here.

    Attributes
    ----------
    name : str -- registry name (``codecs.get(name)``).
    label : str -- human-readable name for plots and tables.
    qualities : tuple of int -- every valid ``quality``, ordered from the lowest
        to the highest fidelity (so normally from the smallest to the largest
        payload). Its meaning is codec specific (JPEG quality, HEVC QP, ...).

    Note
    ----
    A payload is everything a receiver needs besides the codec's name and
    constructor arguments: file or codestream headers are part of it and are
    counted in ``len(payload)``.
    """

    name: str = ""
    label: str = ""
    qualities: tuple[int, ...] = ()

    # -- subclass interface ------------------------------------------------------
    @abc.abstractmethod
    def _encode(self, pixels: np.ndarray, quality: int) -> bytes:
        """``uint8 [H, W, 3]`` and a valid quality -> payload bytes."""

    @abc.abstractmethod
    def _decode(self, data: bytes) -> np.ndarray:
        """Non-empty payload -> ``uint8 [H, W, 3]``; may raise anything on bad data."""

    def get_config(self) -> dict:
        """Constructor arguments plus ``name``: ``codecs.get(**cfg)`` rebuilds the codec."""
        return {"name": self.name}

    # -- public API --------------------------------------------------------------
    def encode(self, image: Any, quality: int) -> bytes:
        """Encode one image at one quality.

        Input
        -----
        image : [H, W, 3], float32 -- RGB in [0, 1].
        quality : int -- one of ``self.qualities``.

        Output
        ------
        payload : bytes -- everything that is transmitted, headers included.
        """
        pixels = to_uint8(check_image(image))
        return self._encode_cached(pixels, self._check_quality(quality))

    def decode(self, data: bytes | bytearray | memoryview) -> np.ndarray:
        """Decode one payload.

        Input
        -----
        data : bytes -- a payload produced by :meth:`encode`.

        Output
        ------
        image : [H, W, 3], float32 -- RGB in [0, 1].

        Raises
        ------
        DecodeError -- empty, truncated or malformed ``data``.
        TypeError -- ``data`` is not bytes-like.
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"`data` must be bytes, got {type(data).__name__}")
        data = bytes(data)
        if not data:
            raise DecodeError(f"{self.name}: cannot decode an empty payload")
        try:
            pixels = self._decode(data)
        except DecodeError:
            raise
        except Exception as err:  # any library error on malformed input
            raise DecodeError(f"{self.name}: cannot decode {len(data)} bytes "
                              f"({type(err).__name__}: {err})") from err
        if (not isinstance(pixels, np.ndarray) or pixels.dtype != np.uint8
                or pixels.ndim != 3 or pixels.shape[-1] != 3):
            raise DecodeError(f"{self.name}: decoder returned an unexpected image "
                              f"{getattr(pixels, 'shape', None)}")
        return to_float(pixels)

    def encode_to_budget(self, image: Any, max_bytes: int) -> tuple[bytes, int | None]:
        """Encode at the best quality whose whole payload fits ``max_bytes``.

        The payload size is assumed to grow with quality: a binary search over
        ``self.qualities`` finds the last fitting entry, then the search keeps
        stepping up while the next better quality still fits, so that where
        the size is not monotone the result never has a fitting better
        neighbour. If the lowest quality does not fit, its neighbour is tried
        too before giving up.

        Input
        -----
        image : [H, W, 3], float32 -- RGB in [0, 1].
        max_bytes : int -- byte budget, positive.

        Output
        ------
        (payload, quality) : (bytes, int) -- ``len(payload) <= max_bytes``; or
            ``(b"", None)`` when not even the lowest quality fits.
        """
        max_bytes = _check_max_bytes(max_bytes)
        pixels = to_uint8(check_image(image))
        qualities = self.qualities
        payloads: dict[int, bytes] = {}

        def fits(index: int) -> bool:
            if index not in payloads:
                payloads[index] = self._encode_cached(pixels, qualities[index])
            return len(payloads[index]) <= max_bytes

        best = None
        low, high = 0, len(qualities) - 1
        while low <= high:
            mid = (low + high) // 2
            if fits(mid):
                best, low = mid, mid + 1
            else:
                high = mid - 1
        if best is None:
            if len(qualities) > 1 and fits(1):
                best = 1
            else:
                return b"", None
        while best + 1 < len(qualities) and fits(best + 1):
            best += 1
        return payloads[best], qualities[best]

    # -- helpers -----------------------------------------------------------------
    def _encode_cached(self, pixels: np.ndarray, quality: int) -> bytes:
        """``_encode`` through a process-wide cache (see :class:`_EncodeCache`)."""
        key = (repr(sorted(self.get_config().items())), pixels.shape,
               hashlib.blake2b(pixels.tobytes(), digest_size=16).digest(), int(quality))
        payload = _ENCODE_CACHE.get(key)
        if payload is None:
            payload = self._encode(pixels, quality)
            _ENCODE_CACHE.put(key, payload)
        return payload

    def _check_quality(self, quality: Any) -> int:
        valid = (isinstance(quality, numbers.Real) and not isinstance(quality, (bool, np.bool_))
                 and float(quality).is_integer() and int(quality) in self.qualities)
        if not valid:
            raise ValueError(f"`quality` must be an integer in [{min(self.qualities)}, "
                             f"{max(self.qualities)}] for {self.name}, got {quality!r}")
        return int(quality)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"
