"""HEVC intra framed like BPG: QP ladder, framing overhead, receiver-side parameter sets.

Measured here (libx265 via PyAV, preset medium, tune psnr, 4:4:4): the 32x32 crop
``astronaut[100:132, 180:212]`` at QP 45 is a 121-byte Annex-B stream (VPS 23 +
SPS 37 + PPS 6 bytes, start codes, 2-byte NAL header, 39-byte slice body) and a
41-byte framed payload (4 header bytes + slice body).
"""
import numpy as np
import pytest

from sem_sionna import codecs
from sem_sionna.codecs import hevc
from sem_sionna.codecs.base import to_uint8
from sem_sionna.codecs.bitstream import ue7_decode, ue7_encode

from codec_helpers import psnr

S3_QPS = (28, 31, 34, 37, 41)


def test_qualities_are_qps_from_worst_to_best():
    codec = codecs.get("hevc")
    assert codec.qualities == tuple(range(51, -1, -1))


def test_s3_qps_trade_size_for_psnr(face):
    codec = codecs.get("hevc")
    payloads = [codec.encode(face, qp) for qp in S3_QPS]
    quality = [psnr(face, codec.decode(p)) for p in payloads]
    assert np.all(np.diff(quality) < 0)
    assert np.all(np.diff([len(p) for p in payloads]) < 0)
    assert quality[0] > 33.0


def test_framed_payload_much_smaller_than_annexb_stream(crop32):
    codec = codecs.get("hevc")
    payload = codec.encode(crop32, 45)
    stream = hevc._x265_encode(hevc._rgb_to_frame(to_uint8(crop32), 3), 45, "medium")
    nals = hevc._split_annexb(stream)
    assert [hevc._nal_type(n) for n in nals][:3] == [32, 33, 34]
    slice_body = len(nals[-1]) - 2
    assert len(payload) == 4 + slice_body  # format, width, height, length bytes
    assert 30 <= len(payload) <= 50
    assert len(stream) - len(payload) >= 70
    assert psnr(crop32, codec.decode(payload)) > 24.0


def test_header_fields(face32):
    payload = codecs.get("hevc", chroma_format="420", preset="fast").encode(face32, 45)
    assert len(payload) < 4 + 128  # one-byte length field
    assert payload[0] == 0b1000_0000 | (1 << 4) | hevc.HEVC_PRESETS.index("fast")
    assert payload[1] == 32 and payload[2] == 32 and payload[3] == len(payload) - 4
    assert ue7_encode(300) == bytes([0x82, 0x2C])
    assert ue7_decode(bytes([0x82, 0x2C]), 0) == (300, 2)


def test_receiver_rebuilds_parameter_sets_from_the_header(face32):
    payload = codecs.get("hevc", chroma_format="420", preset="fast").encode(face32, 30)
    expected = codecs.get("hevc", chroma_format="420", preset="fast").decode(payload)
    hevc._parameter_sets.cache_clear()
    # A receiver with other settings decodes it: the header says 4:2:0 / fast.
    x_hat = codecs.get("hevc").decode(payload)
    np.testing.assert_array_equal(x_hat, expected)
    assert psnr(face32, x_hat) > 30.0


@pytest.mark.parametrize("chroma_format", ["444", "420"])
@pytest.mark.parametrize("shape", [(17, 33), (9, 16), (40, 24)])
def test_padding_and_crop(astronaut, chroma_format, shape):
    x = astronaut[50:50 + shape[0], 70:70 + shape[1]]
    payload = codecs.get("hevc", chroma_format=chroma_format).encode(x, 22)
    assert (payload[1], payload[2]) == (shape[1], shape[0])
    x_hat = codecs.get("hevc").decode(payload)
    assert x_hat.shape == x.shape and psnr(x, x_hat) > 33.0


def test_444_beats_420_at_high_rate(face):
    codec444, codec420 = codecs.get("hevc"), codecs.get("hevc", chroma_format="420")
    p444, _ = codec444.encode_to_budget(face, 6 * face.shape[0] * face.shape[1] // 8)
    p420, _ = codec420.encode_to_budget(face, len(p444))
    assert psnr(face, codec444.decode(p444)) > psnr(face, codec420.decode(p420))


def test_decode_detects_length_and_header_errors(face32):
    codec = codecs.get("hevc")
    payload = codec.encode(face32, 34)
    assert len(payload) > 4 + 128  # two-byte length field
    start = 5  # format, width, height, 2 length bytes
    assert ue7_decode(payload, 3) == (len(payload) - start, start)
    bad = {
        "appended byte": payload + b"\x00",
        "format marker": bytes([payload[0] & 0x3F]) + payload[1:],
        "chroma idc 0": bytes([payload[0] & 0xCF]) + payload[1:],
        "unknown preset": bytes([payload[0] | 0x0F]) + payload[1:],
        "zero width": payload[:1] + b"\x00" + payload[2:],
        "huge size": payload[:1] + ue7_encode(100000) + payload[2:],
        "truncated length": payload[:3] + payload[4:],
        "not a first slice": payload[:start] + bytes([payload[start] & 0x7F]) + payload[start + 1:],
    }
    for case, data in bad.items():
        with pytest.raises(codecs.DecodeError):
            codec.decode(data)
            pytest.fail(case)


@pytest.mark.parametrize("argument, value", [("chroma_format", "422"), ("preset", "placebo")])
def test_invalid_arguments(argument, value):
    with pytest.raises(ValueError, match=argument):
        codecs.get("hevc", **{argument: value})


def test_image_too_large():
    with pytest.raises(ValueError, match="image"):
        codecs.get("hevc").encode(np.zeros((4100, 16, 3), np.float32), 51)
