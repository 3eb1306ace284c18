"""Bit reader/writer, Exp-Golomb and ue7 codes, NAL unit helpers."""
import numpy as np
import pytest

from sem_sionna.codecs.base import DecodeError
from sem_sionna.codecs.bitstream import (BitReader, BitWriter, add_emulation_prevention,
                                         nal_header, nal_unit_type,
                                         remove_emulation_prevention, ue7_decode, ue7_encode)

# H.265 Table 9-2 / 9-3: value -> code
UE_CODES = {0: "1", 1: "010", 2: "011", 3: "00100", 4: "00101", 7: "0001000", 8: "0001001"}
SE_CODES = {0: "1", 1: "010", -1: "011", 2: "00100", -2: "00101", 3: "00110", -3: "00111"}


def bits(writer):
    value = writer.getvalue()
    return "".join(f"{b:08b}" for b in value)[:writer.num_bits]


@pytest.mark.parametrize("value,code", UE_CODES.items())
def test_ue_known_codes(value, code):
    w = BitWriter()
    w.ue(value)
    assert bits(w) == code
    assert BitReader(w.getvalue()).ue() == value


@pytest.mark.parametrize("value,code", SE_CODES.items())
def test_se_known_codes(value, code):
    w = BitWriter()
    w.se(value)
    assert bits(w) == code
    assert BitReader(w.getvalue()).se() == value


def test_mixed_round_trip():
    rng = np.random.default_rng(0)
    items = []
    w = BitWriter()
    for _ in range(300):
        kind = rng.integers(3)
        if kind == 0:
            n = int(rng.integers(0, 33))
            v = int(rng.integers(0, 2**n)) if n else 0
            w.u(n, v)
        elif kind == 1:
            v = int(rng.integers(0, 2**20))
            w.ue(v)
        else:
            v = int(rng.integers(-2**15, 2**15))
            w.se(v)
        items.append((kind, v, n if kind == 0 else None))
    w.trailing_bits()
    r = BitReader(w.getvalue())
    for kind, v, n in items:
        assert (r.u(n) if kind == 0 else r.ue() if kind == 1 else r.se()) == v
    r.trailing_bits()
    assert r.bits_left == 0


def test_msb_first_and_alignment():
    w = BitWriter()
    w.u(3, 0b101)
    w.align_zero()
    w.u(8, 0xAB)
    assert w.getvalue() == bytes([0b10100000, 0xAB])
    r = BitReader(b"\xa0\xab")
    assert r.u(3) == 5
    r.align()
    assert r.byte_aligned() and r.u(8) == 0xAB


def test_read_past_end_is_decode_error():
    r = BitReader(b"\x01")
    r.u(7)
    with pytest.raises(DecodeError):
        r.u(2)
    with pytest.raises(DecodeError):
        BitReader(b"\x00\x00").ue()  # only zeros: the code never ends
    with pytest.raises(DecodeError):
        BitReader(b"\x00" * 8 + b"\xff").ue()  # longer than 32 bits


def test_writer_rejects_out_of_range():
    with pytest.raises(ValueError, match="value"):
        BitWriter().u(3, 8)
    with pytest.raises(ValueError, match="value"):
        BitWriter().ue(-1)


@pytest.mark.parametrize("value,code", [(0, b"\x00"), (127, b"\x7f"), (128, b"\x81\x00"),
                                        (300, b"\x82\x2c"), (2**32 - 1, b"\x8f\xff\xff\xff\x7f")])
def test_ue7(value, code):
    assert ue7_encode(value) == code
    assert ue7_decode(code + b"\x55", 0) == (value, len(code))


def test_ue7_errors():
    for bad in (b"", b"\x81", b"\x80\x01", b"\x81\x81\x81\x81\x81\x01", b"\x9f\xff\xff\xff\x7f"):
        with pytest.raises(DecodeError):
            ue7_decode(bad, 0)
    with pytest.raises(ValueError, match="value"):
        ue7_encode(2**32)


def test_emulation_prevention_round_trip():
    rbsp = bytes([0, 0, 0, 0, 0, 1, 0, 0, 2, 0, 0, 3, 0, 0, 4, 0, 0])
    payload = add_emulation_prevention(rbsp)
    assert payload == bytes([0, 0, 3, 0, 0, 3, 0, 1, 0, 0, 3, 2, 0, 0, 3, 3, 0, 0, 4, 0, 0, 3])
    assert b"\x00\x00\x01" not in payload and b"\x00\x00\x00" not in payload
    assert remove_emulation_prevention(payload) == rbsp
    rng = np.random.default_rng(1)
    for _ in range(50):
        data = bytes(rng.choice([0, 0, 0, 1, 2, 3, 255], size=40).astype(np.uint8))
        assert remove_emulation_prevention(add_emulation_prevention(data)) == data


def test_nal_header():
    assert nal_header(34) == b"\x44\x01"
    assert nal_header(19) == b"\x26\x01"
    assert nal_unit_type(b"\x40\x01") == 32
    with pytest.raises(ValueError, match="nal_unit_type"):
        nal_header(64)
