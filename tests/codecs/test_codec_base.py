"""Behaviour every codec shares: round trip, size vs quality, rate control, errors."""
import numpy as np
import pytest

from sem_sionna import codecs

from codec_helpers import psnr

# (high quality, PSNR floor in dB at that quality on the 32x32 / 64x64 face)
HIGH_QUALITY = {"jpeg": (95, 33.0), "webp": (95, 33.0), "jpeg2000": (72, 45.0), "hevc": (10, 45.0),
                "bpg": (10, 38.0)}


@pytest.fixture(params=codecs.NAMES)
def codec(request):
    return codecs.get(request.param)


def test_round_trip_at_high_quality(codec, face):
    quality, floor = HIGH_QUALITY[codec.name]
    x_hat = codec.decode(codec.encode(face, quality))
    assert x_hat.shape == face.shape and x_hat.dtype == np.float32
    assert 0.0 <= x_hat.min() and x_hat.max() <= 1.0
    assert psnr(face, x_hat) > floor


def test_lower_quality_lower_fidelity(codec, face):
    lo, hi = codec.qualities[len(codec.qualities) // 4], codec.qualities[-1]
    assert psnr(face, codec.decode(codec.encode(face, lo))) < \
        psnr(face, codec.decode(codec.encode(face, hi))) - 3.0


@pytest.mark.parametrize("shape", [(17, 23), (5, 7), (1, 1)])
def test_odd_sizes_round_trip(codec, astronaut, shape):
    if codec.name == "bpg" and min(shape) < 16:
        pytest.skip("bpg needs sides >= 16 (libx265's minimum); tested in test_bpg.py")
    x = astronaut[200:200 + shape[0], 200:200 + shape[1]]
    x_hat = codec.decode(codec.encode(x, codec.qualities[-3]))
    assert x_hat.shape == x.shape
    assert psnr(x, x_hat) > 30.0


def test_size_grows_with_quality(codec, face):
    sizes = np.array([len(codec.encode(face, q)) for q in codec.qualities])
    # Broadly monotone: any dip (WebP has a few) is small against the range.
    assert np.all(np.diff(sizes) >= -0.02 * sizes[-1])
    # and strictly growing over the top quarter of the ladder. Not below: JPEG
    # 2000 is flat there on small images (no rate goes below the header-only
    # codestream). Not the very top: libx265 gives the same stream at QP 0..3.
    n = len(sizes)
    assert np.all(np.diff(sizes[3 * n // 4 - 1:-1:n // 16]) > 0)
    assert sizes[-1] > 3 * sizes[0]


@pytest.mark.parametrize("fraction", [0.15, 0.4, 0.7])
def test_encode_to_budget_picks_best_fitting_quality(codec, face, fraction):
    sizes = [len(codec.encode(face, q)) for q in (codec.qualities[0], codec.qualities[-1])]
    budget = int(sizes[0] + fraction * (sizes[1] - sizes[0]))
    payload, quality = codec.encode_to_budget(face, budget)
    assert 0 < len(payload) <= budget
    assert payload == codec.encode(face, quality)
    index = codec.qualities.index(quality)
    assert len(codec.encode(face, codec.qualities[index + 1])) > budget
    assert codec.decode(payload).shape == face.shape


def test_encode_to_budget_top_quality_when_everything_fits(codec, face32):
    payload, quality = codec.encode_to_budget(face32, 10**6)
    assert quality == codec.qualities[-1]
    assert payload == codec.encode(face32, quality)


def test_encode_to_budget_impossible_budget(codec, face32):
    assert codec.encode_to_budget(face32, 4) == (b"", None)


@pytest.mark.parametrize("max_bytes", [0, -10])
def test_encode_to_budget_rejects_non_positive_budget(codec, face32, max_bytes):
    with pytest.raises(ValueError, match="max_bytes"):
        codec.encode_to_budget(face32, max_bytes)


def test_encode_to_budget_rejects_fractional_budget(codec, face32):
    with pytest.raises(TypeError, match="max_bytes"):
        codec.encode_to_budget(face32, 100.5)


def test_decode_rejects_empty_truncated_and_junk(codec, face32):
    payload = codec.encode(face32, codec.qualities[len(codec.qualities) // 2])
    junk = np.random.default_rng(0).integers(0, 256, 64, dtype=np.uint8).tobytes()
    bads = (b"", payload[:-1], payload[:len(payload) // 2], payload[:3], junk)
    if codec.name == "bpg":  # no length field: CABAC truncations pass (see test_bpg.py)
        bads = (b"", payload[:3], payload[:20], junk)
    for bad in bads:
        with pytest.raises(codecs.DecodeError):
            codec.decode(bad)
    assert issubclass(codecs.DecodeError, ValueError)


def test_decode_rejects_non_bytes(codec):
    with pytest.raises(TypeError, match="data"):
        codec.decode("not bytes")


@pytest.mark.parametrize("bad, error", [
    (np.zeros((8, 8), np.float32), ValueError),          # rank 2
    (np.zeros((8, 8, 4), np.float32), ValueError),       # RGBA
    (np.zeros((2, 8, 8, 3), np.float32), ValueError),    # a batch
    (np.zeros((8, 8, 3), np.uint8), TypeError),          # not scaled to [0, 1]
    (np.full((8, 8, 3), 1.5, np.float32), ValueError),   # out of range
    (np.full((8, 8, 3), np.nan, np.float32), ValueError),
])
def test_encode_validates_image(codec, bad, error):
    with pytest.raises(error, match="image"):
        codec.encode(bad, codec.qualities[-1])
    with pytest.raises(error, match="image"):
        codec.encode_to_budget(bad, 1000)


def test_encode_rejects_invalid_quality(codec, face32):
    for quality in (max(codec.qualities) + 1, min(codec.qualities) - 1, 10.5, True, "high"):
        with pytest.raises(ValueError, match="quality"):
            codec.encode(face32, quality)


def test_encode_is_deterministic(codec, face32):
    quality = codec.qualities[len(codec.qualities) // 2]
    assert codec.encode(face32, quality) == codec.encode(face32, np.int64(quality))


class _SizeTable(codecs.ImageCodec):
    """Payload of quality ``q`` is ``sizes[q]`` bytes: any size curve for the search."""

    name = "table"

    def __init__(self, sizes):
        self.sizes = list(sizes)
        self.qualities = tuple(range(len(self.sizes)))
        self.calls = 0

    def _encode(self, pixels, quality):
        self.calls += 1
        return bytes([quality]) * self.sizes[quality]

    def _decode(self, data):
        return np.zeros((1, 1, 3), np.uint8)

    def get_config(self):
        # constructor arguments identify the codec (and its cached encodings)
        return {"name": self.name, "sizes": self.sizes}


def test_encode_to_budget_uses_neighbour_when_lowest_is_too_large():
    image = np.zeros((4, 4, 3), np.float32)
    codec = _SizeTable([50, 20, 30, 40, 60])
    assert codec.encode_to_budget(image, 25) == (bytes([1]) * 20, 1)
    assert codec.encode_to_budget(image, 19) == (b"", None)


def test_encode_to_budget_on_non_monotone_sizes():
    rng = np.random.default_rng(7)
    image = np.zeros((4, 4, 3), np.float32)
    for _ in range(200):
        sizes = np.cumsum(rng.integers(-3, 10, 40)) + 60  # mostly growing, with dips
        codec = _SizeTable(sizes)
        budget = int(rng.integers(40, sizes.max() + 10))
        payload, quality = codec.encode_to_budget(image, budget)
        if quality is None:
            assert payload == b"" and sizes[0] > budget and sizes[1] > budget
            continue
        assert len(payload) == sizes[quality] <= budget
        assert quality == len(sizes) - 1 or sizes[quality + 1] > budget
        assert codec.calls <= 10  # a search, not a scan of all 40 qualities


def test_repeated_encodings_come_from_the_cache():
    codec = _SizeTable([10, 20, 30, 40, 50])
    image = np.random.default_rng(5).random((4, 4, 3)).astype(np.float32)
    first = codec.encode_to_budget(image, 35)
    calls = codec.calls
    assert codec.encode_to_budget(image, 35) == first and codec.calls == calls
    codec.encode_to_budget(image, 45)  # a new budget reuses the qualities already tried
    assert codec.calls <= calls + 1
    other = _SizeTable([11, 21, 31, 41, 51])  # other constructor arguments: own entries
    assert len(other.encode(image, 2)) == 31
