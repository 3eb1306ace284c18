"""encode_batch_to_budget / decode_batch."""
import numpy as np
import pytest

from sem_sionna import codecs


@pytest.fixture(scope="module")
def images(astronaut):
    return np.stack([astronaut[i * 40:i * 40 + 32, 150:182] for i in range(4)])


@pytest.mark.parametrize("name", ["hevc", "webp"])
def test_encode_batch_matches_single_image_search(images, name):
    codec = codecs.get(name)
    results = codecs.encode_batch_to_budget(name, images, 200, num_workers=2)
    assert len(results) == len(images)
    for image, (payload, quality) in zip(images, results):
        assert (payload, quality) == codec.encode_to_budget(image, 200)
        assert len(payload) <= 200


def test_encode_batch_per_image_budgets(images):
    budgets = [4, 60, 120, 400]
    results = codecs.encode_batch_to_budget("hevc", images, budgets)
    assert results[0] == (b"", None)
    for (payload, quality), budget in zip(results[1:], budgets[1:]):
        assert quality is not None and len(payload) <= budget


def test_encode_batch_validates(images):
    with pytest.raises(ValueError, match="images"):
        codecs.encode_batch_to_budget("jpeg", images[0], 500)
    with pytest.raises(ValueError, match="max_bytes"):
        codecs.encode_batch_to_budget("jpeg", images, [500, 500])
    with pytest.raises(ValueError, match="num_workers"):
        codecs.encode_batch_to_budget("jpeg", images, 500, num_workers=0)
    with pytest.raises(ValueError, match="name"):
        codecs.encode_batch_to_budget("png", images, 500)


def test_decode_batch_substitutes_fallback(images, astronaut):
    codec = codecs.get("hevc")
    good = codec.encode(images[0], 30)
    wrong_size = codec.encode(astronaut[:16, :16], 30)
    payloads = [good, b"", None, good[:-2], wrong_size, good]
    fallback = np.full((32, 32, 3), 0.5, np.float32)
    x_hat, ok = codecs.decode_batch(codec, payloads, (32, 32), fallback, num_workers=2)
    assert x_hat.shape == (6, 32, 32, 3) and x_hat.dtype == np.float32
    np.testing.assert_array_equal(ok, [True, False, False, False, False, True])
    np.testing.assert_array_equal(x_hat[0], codec.decode(good))
    np.testing.assert_array_equal(x_hat[5], x_hat[0])
    for i in (1, 2, 3, 4):
        np.testing.assert_array_equal(x_hat[i], fallback)


def test_decode_batch_validates(images):
    fallback = np.zeros((32, 32, 3), np.float32)
    with pytest.raises(ValueError, match="fallback"):
        codecs.decode_batch("jpeg", [b""], (32, 32), np.zeros((16, 16, 3), np.float32))
    with pytest.raises(ValueError, match="shape"):
        codecs.decode_batch("jpeg", [b""], (32,), fallback)
    x_hat, ok = codecs.decode_batch("jpeg", [], (32, 32, 3), fallback)
    assert x_hat.shape == (0, 32, 32, 3) and ok.shape == (0,)
