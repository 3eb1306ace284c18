"""The "bpg" codec: bpgenc's file layout and header fields, interop with libbpg, robustness."""
import numpy as np
import pytest

from sem_sionna import codecs
from sem_sionna.codecs.base import DecodeError, to_uint8
from sem_sionna.codecs.libbpg import bpgdec, bpgenc, find_libbpg
from sem_sionna.data.embedded import embedded_patches

from codec_helpers import psnr

needs_libbpg = pytest.mark.skipif(find_libbpg() is None, reason=(
    "libbpg's bpgenc/bpgdec not found (set SEM_SIONNA_LIBBPG to their folder, put them on "
    "PATH, or install them in ../shared/tools/libbpg/)"))


@pytest.fixture(scope="module")
def patches():
    return {size: embedded_patches(size, "test", n=4) for size in (32, 64)}


@pytest.fixture(scope="module")
def sample(patches):
    codec = codecs.get("bpg")
    return codec, codec.encode(patches[32][0], 40)


def test_file_layout(sample):
    codec, data = sample
    assert data[:4] == b"BPG\xfb"
    assert data[4] == 1 << 5 and data[5] == 0          # 4:2:0, 8 bit; YCbCr BT.601 full range
    assert data[6:9] == bytes([32, 32, 0])             # width, height, picture_data_length = 0
    header_length = data[9]
    pps_start = 10 + header_length
    assert data[pps_start:pps_start + 2] == b"\x44\x01"  # PPS NAL unit header
    slice_start = data.index(b"\x00\x00\x01", pps_start) + 3
    assert data[slice_start:slice_start + 2] == b"\x26\x01"  # IDR_W_RADL
    assert slice_start == 22  # 9 + 4 + 9 bytes before the slice, as bpgenc
    assert codec.decode(data).shape == (32, 32, 3)


def test_444_and_defaults(patches):
    assert codecs.get("bpg").chroma_format == "420"
    data = codecs.get("bpg", chroma_format="444").encode(patches[32][0], 40)
    assert data[4] == 3 << 5
    image = codecs.get("bpg").decode(data)  # the file, not the codec, says 4:4:4
    assert psnr(patches[32][0], image) > 24


def test_quality_order_and_budget(patches):
    codec = codecs.get("bpg")
    assert codec.qualities[0] == 51 and codec.qualities[-1] == 0
    sizes = [len(codec.encode(patches[32][0], qp)) for qp in (51, 40, 30)]
    assert sizes == sorted(sizes)
    payload, qp = codec.encode_to_budget(patches[32][0], 120)
    assert len(payload) <= 120 and qp is not None
    assert len(codec.encode(patches[32][0], qp - 1)) > 120 or qp == 0
    assert codec.encode_to_budget(patches[32][0], 20) == (b"", None)


def test_bad_arguments(patches):
    with pytest.raises(ValueError, match="chroma_format"):
        codecs.get("bpg", chroma_format="422")
    with pytest.raises(ValueError, match="quality"):
        codecs.get("bpg").encode(patches[32][0], 52)
    with pytest.raises(ValueError, match="image"):
        codecs.get("bpg").encode(np.zeros((8, 8, 3), np.float32), 30)
    with pytest.raises(TypeError, match="data"):
        codecs.get("bpg").decode("BPG")


def test_every_truncation(sample):
    """Truncations up to the first CABAC bytes are DecodeErrors; later ones (the file has
    no length field: bpgenc writes picture_data_length = 0) decode or fail, never crash."""
    codec, data = sample
    for length in range(len(data)):
        if length < 22 + 4:  # container, hevc_header, PPS, slice NAL header + slice header
            with pytest.raises(DecodeError):
                codec.decode(data[:length])
        else:
            try:
                assert codec.decode(data[:length]).shape == (32, 32, 3)
            except DecodeError:
                pass


def test_corruptions(sample):
    codec, data = sample
    # magic, format, flags, hevc_header_length, PPS and slice NAL headers: always detected
    for pos in (0, 1, 2, 3, 4, 5, 9, 13, 14, 22, 23):
        for value in (0x00, 0xFF, data[pos] ^ 0x10):
            if value == data[pos]:
                continue
            bad = bytearray(data)
            bad[pos] = value
            with pytest.raises(DecodeError):
                codec.decode(bytes(bad))
    rng = np.random.default_rng(0)
    errors = 0
    for _ in range(200):  # anywhere: DecodeError or a picture, never another exception
        bad = bytearray(data)
        pos = int(rng.integers(len(bad)))
        bad[pos] ^= int(rng.integers(1, 256))
        try:
            assert codec.decode(bytes(bad)).shape == (32, 32, 3)
        except DecodeError:
            errors += 1
    assert errors > 0


# -- parity with libbpg 0.9.8 ---------------------------------------------------------
def _bpgenc(tmp_path, image, qp, chroma_format):
    from PIL import Image
    png = tmp_path / "in.png"
    Image.fromarray(to_uint8(image)).save(png)
    return bpgenc(png, tmp_path / "ref.bpg", qp, chroma_format)


@needs_libbpg
@pytest.mark.parametrize("chroma_format", ["420", "444"])
@pytest.mark.parametrize("size", [32, 64])
def test_headers_equal_bpgenc(tmp_path, patches, size, chroma_format):
    codec = codecs.get("bpg", chroma_format=chroma_format)
    for qp in (20, 51):
        ours = codec.encode(patches[size][0], qp)
        ref = _bpgenc(tmp_path, patches[size][0], qp, chroma_format)
        # everything before the slice NAL unit: container, hevc_header, PPS
        start = 10 + ours[9]
        start = ours.index(b"\x00\x00\x01", start) + 5
        assert ours[:start] == ref[:start]


@needs_libbpg
@pytest.mark.parametrize("chroma_format", ["420", "444"])
def test_interop_and_parity(tmp_path, patches, chroma_format):
    codec = codecs.get("bpg", chroma_format=chroma_format)
    ours_bytes = ref_bytes = ours_psnr = ref_psnr = 0.0
    count = 0
    for size in (32, 64):
        for image in patches[size][:2]:
            for qp in (20, 35, 45, 51):
                ours = codec.encode(image, qp)
                ref = _bpgenc(tmp_path, image, qp, chroma_format)
                (tmp_path / "ours.bpg").write_bytes(ours)
                # bpgdec reads our files to our decoder's pixels, and vice versa
                np.testing.assert_array_equal(bpgdec(tmp_path / "ours.bpg", tmp_path / "o.png"),
                                              to_uint8(codec.decode(ours)))
                np.testing.assert_array_equal(bpgdec(tmp_path / "ref.bpg", tmp_path / "r.png"),
                                              to_uint8(codec.decode(ref)))
                ours_bytes += len(ours)
                ref_bytes += len(ref)
                ours_psnr += psnr(image, codec.decode(ours))
                ref_psnr += psnr(image, codec.decode(ref))
                count += 1
    assert abs(ours_bytes / ref_bytes - 1) < 0.08
    assert abs(ours_psnr - ref_psnr) / count < 0.5
