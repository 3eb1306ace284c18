"""Bit-level reading and writing for codec headers: BPG and HEVC syntax elements.

Bits are MSB first within each byte (H.265 7.2, ``read_bits``). The descriptors
follow H.265 7.2 / 9.2 and the BPG specification:

=========  ==================================================================
``u(n)``   unsigned integer in ``n`` bits, MSB first
``ue(v)``  unsigned Exp-Golomb: ``k`` zeros, a one, then ``k`` bits; value
           ``2**k - 1 + suffix`` (H.265 9.2: 0 -> ``1``, 1 -> ``010``,
           2 -> ``011``, 3 -> ``00100``)
``se(v)``  signed Exp-Golomb: ``ue`` code ``k`` maps to ``(-1)**(k+1) *
           ceil(k / 2)`` (1 -> +1, 2 -> -1, 3 -> +2)
``ue7``    BPG's byte varint: 7 bits per byte, big endian, bit 7 set on all
           but the last byte (at most 5 bytes, 32 bits)
=========  ==================================================================

Reading past the end of the data, or an Exp-Golomb code longer than 32 bits,
raises :class:`~sem_sionna.codecs.base.DecodeError`; writing a value out of
range raises ``ValueError``.

HEVC NAL unit helpers (H.265 7.3.1): the 2-byte NAL unit header and the
emulation prevention bytes (``0x000003`` inserted before any byte <= 3 that
follows two zero bytes, so that a NAL unit payload never contains a start code).
"""
from __future__ import annotations

from .base import DecodeError

__all__ = ["BitReader", "BitWriter", "ue7_encode", "ue7_decode", "add_emulation_prevention",
           "remove_emulation_prevention", "nal_header", "nal_unit_type", "split_annexb"]

_MAX_EXP_GOLOMB_ZEROS = 31  # codes of at most 32-bit values (H.265 9.2: ue(v) <= 2**32 - 2)
_MAX_UE7_BYTES = 5


class BitReader:
    """MSB-first reader over ``data``; every read past the end is a ``DecodeError``.

    Parameters
    ----------
    data : bytes -- the bits to read.
    what : str, default "bitstream" -- named in error messages.
    """

    def __init__(self, data: bytes, what: str = "bitstream"):
        self.data = bytes(data)
        self.what = what
        self.pos = 0  # in bits

    @property
    def bits_left(self) -> int:
        return 8 * len(self.data) - self.pos

    def u(self, n: int) -> int:
        """``u(n)``: the next ``n`` bits as an unsigned integer (``n`` >= 0)."""
        if n < 0:
            raise ValueError(f"`n` must be >= 0, got {n!r}")
        if n > self.bits_left:
            raise DecodeError(f"{self.what}: ends after {self.pos} bits, {n} more needed")
        value = 0
        for _ in range(n):
            byte = self.data[self.pos >> 3]
            value = (value << 1) | ((byte >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return value

    def flag(self) -> bool:
        return bool(self.u(1))

    def ue(self) -> int:
        """``ue(v)``: unsigned Exp-Golomb."""
        zeros = 0
        while not self.u(1):
            zeros += 1
            if zeros > _MAX_EXP_GOLOMB_ZEROS:
                raise DecodeError(f"{self.what}: Exp-Golomb code longer than 32 bits")
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        """``se(v)``: signed Exp-Golomb."""
        code = self.ue()
        return (code + 1) // 2 if code & 1 else -(code // 2)

    def byte_aligned(self) -> bool:
        return self.pos % 8 == 0

    def align(self) -> None:
        """Skip to the next byte boundary."""
        self.pos = min(8 * len(self.data), (self.pos + 7) // 8 * 8)

    def trailing_bits(self) -> None:
        """``rbsp_trailing_bits``: a one, then zeros up to the byte boundary."""
        if self.u(1) != 1:
            raise DecodeError(f"{self.what}: missing rbsp_stop_one_bit")
        if not self.byte_aligned() and self.u(8 - self.pos % 8) != 0:
            raise DecodeError(f"{self.what}: non-zero alignment bits")


class BitWriter:
    """MSB-first writer; :meth:`getvalue` returns the bytes (last one zero padded)."""

    def __init__(self):
        self._bits: list[int] = []

    @property
    def num_bits(self) -> int:
        return len(self._bits)

    def u(self, n: int, value: int) -> None:
        """``u(n)``: ``value`` in ``n`` bits, ``0 <= value < 2**n``."""
        if n < 0 or not 0 <= value < (1 << n):
            raise ValueError(f"`value` {value!r} does not fit in {n} bits")
        self._bits.extend((value >> (n - 1 - i)) & 1 for i in range(n))

    def flag(self, value) -> None:
        self.u(1, int(bool(value)))

    def ue(self, value: int) -> None:
        """``ue(v)``: unsigned Exp-Golomb, ``0 <= value <= 2**32 - 2``."""
        if not 0 <= value <= (1 << 32) - 2:
            raise ValueError(f"`value` must be in [0, 2**32 - 2] for ue(v), got {value!r}")
        code = value + 1
        zeros = code.bit_length() - 1
        self.u(zeros, 0)
        self.u(zeros + 1, code)

    def se(self, value: int) -> None:
        """``se(v)``: signed Exp-Golomb."""
        self.ue(2 * value - 1 if value > 0 else -2 * value)

    def align_zero(self) -> None:
        """Zero bits up to the next byte boundary."""
        self._bits.extend([0] * (-len(self._bits) % 8))

    def trailing_bits(self) -> None:
        """``rbsp_trailing_bits``: a one, then zeros up to the byte boundary."""
        self.u(1, 1)
        self.align_zero()

    def getvalue(self) -> bytes:
        bits = self._bits + [0] * (-len(self._bits) % 8)
        return bytes(int("".join(map(str, bits[i:i + 8])), 2) for i in range(0, len(bits), 8))


# -- BPG ue7 ------------------------------------------------------------------------
def ue7_encode(value: int) -> bytes:
    """BPG ``ue7(32)``: ``value`` in [0, 2**32 - 1] -> 1 to 5 bytes."""
    if not 0 <= value < (1 << 32):
        raise ValueError(f"`value` must be in [0, 2**32 - 1] for ue7, got {value!r}")
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def ue7_decode(data: bytes, pos: int, what: str = "bpg") -> tuple[int, int]:
    """Read one ``ue7`` at byte ``pos``: ``(value, next_pos)``.

    A leading ``0x80`` byte (a non-canonical, longer-than-needed code), more than
    5 bytes, a value of 2**32 or more, or the end of ``data`` is a ``DecodeError``.
    """
    value = 0
    for count in range(_MAX_UE7_BYTES):
        if pos >= len(data):
            raise DecodeError(f"{what}: data ends inside a ue7 integer")
        byte = data[pos]
        pos += 1
        if count == 0 and byte == 0x80:
            raise DecodeError(f"{what}: non-canonical ue7 integer")
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            if value >= 1 << 32:
                raise DecodeError(f"{what}: ue7 integer exceeds 32 bits")
            return value, pos
    raise DecodeError(f"{what}: ue7 integer longer than {_MAX_UE7_BYTES} bytes")


# -- HEVC NAL units -----------------------------------------------------------------
def add_emulation_prevention(rbsp: bytes) -> bytes:
    """RBSP -> NAL unit payload: ``0x03`` after two zeros when the next byte is <= 3
    (H.265 7.4.2); a final zero byte is protected too (it would merge with a start code)."""
    out = bytearray()
    zeros = 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    if zeros >= 2:
        out.append(3)
    return bytes(out)


def remove_emulation_prevention(payload: bytes) -> bytes:
    """NAL unit payload -> RBSP: drop each ``0x03`` that follows two zero bytes."""
    out = bytearray()
    zeros = 0
    for byte in payload:
        if zeros >= 2 and byte == 3:
            zeros = 0
            continue
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def nal_header(nal_unit_type: int, layer_id: int = 0, temporal_id: int = 0) -> bytes:
    """2-byte HEVC NAL unit header (H.265 7.3.1.2): forbidden_zero_bit, type (6),
    nuh_layer_id (6), nuh_temporal_id_plus1 (3)."""
    if not 0 <= nal_unit_type < 64:
        raise ValueError(f"`nal_unit_type` must be in [0, 63], got {nal_unit_type!r}")
    if not 0 <= layer_id < 64 or not 0 <= temporal_id < 7:
        raise ValueError(f"invalid `layer_id`={layer_id!r} or `temporal_id`={temporal_id!r}")
    value = (nal_unit_type << 9) | (layer_id << 3) | (temporal_id + 1)
    return value.to_bytes(2, "big")


def nal_unit_type(nal: bytes) -> int:
    """``nal_unit_type`` of a NAL unit (its first 6 bits after the forbidden bit)."""
    return (nal[0] >> 1) & 0x3F


def split_annexb(stream: bytes) -> list[bytes]:
    """NAL units of an Annex-B byte stream (start codes and zero padding removed)."""
    starts = []
    pos = stream.find(b"\x00\x00\x01")
    while pos >= 0:
        starts.append(pos + 3)
        pos = stream.find(b"\x00\x00\x01", pos + 3)
    nals = []
    for i, start in enumerate(starts):
        end = starts[i + 1] - 3 if i + 1 < len(starts) else len(stream)
        # A NAL unit never ends in 0x00 (rbsp_stop_one_bit): zeros before the
        # next start code are leading_zero_8bits / trailing_zero_8bits.
        nals.append(stream[start:end].rstrip(b"\x00"))
    return nals
