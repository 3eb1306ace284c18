"""Tests for sem_sionna.data.embedded."""
import numpy as np
import pytest

from sem_sionna.data import TEST_PHOTOS, TRAIN_PHOTOS, embedded_patches, embedded_photos


def test_patches_shape_dtype_and_range():
    x = embedded_patches(32, "train", n=64, seed=0)
    assert x.shape == (64, 32, 32, 3) and x.dtype == np.float32
    assert x.min() >= 0.0 and x.max() <= 1.0
    # Natural content, not flat crops: every patch varies.
    assert np.all(x.reshape(64, -1).std(axis=1) > 0.02)


@pytest.mark.parametrize("size,n", [(64, 8), (256, 2)])
def test_larger_sizes(size, n):
    x = embedded_patches(size, "test", n=n)
    assert x.shape == (n, size, size, 3)


def test_size_larger_than_photos_is_upsampled():
    x = embedded_patches(520, "test", n=1)
    assert x.shape == (1, 520, 520, 3) and x.std() > 0.02


def test_default_counts():
    assert embedded_patches(32, "train").shape[0] == 2048
    assert embedded_patches(32, "test").shape[0] == 256
    assert embedded_patches(64, "train").shape[0] == 512


def test_deterministic_by_seed_and_prefix_stable():
    a = embedded_patches(32, "train", n=16, seed=3)
    b = embedded_patches(32, "train", n=16, seed=3)
    c = embedded_patches(32, "train", n=16, seed=4)
    d = embedded_patches(32, "train", n=32, seed=3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(a, d[:16])


def test_returns_independent_copies():
    a = embedded_patches(32, "test", n=4)
    a[:] = 0.0
    assert embedded_patches(32, "test", n=4).max() > 0.0


def test_train_test_photos_disjoint():
    train, test = embedded_photos("train"), embedded_photos("test")
    assert set(train) <= set(TRAIN_PHOTOS) and set(test) <= set(TEST_PHOTOS)
    assert not set(train) & set(test)
    assert len(test) >= 2
    # No test photo duplicates a train photo's pixels.
    for t in test.values():
        for p in train.values():
            assert t.shape != p.shape or not np.array_equal(t, p)


def test_test_patches_come_from_test_photos():
    # Photo-disjoint splits: no test patch is (nearly) equal to a train patch.
    tr = embedded_patches(32, "train", n=256).reshape(256, -1)
    te = embedded_patches(32, "test", n=64).reshape(64, -1)
    dist = ((te[:, None, :] - tr[None, :, :]) ** 2).mean(-1)
    assert dist.min() > 1e-4


@pytest.mark.parametrize("kwargs,arg", [(dict(size=0), "size"), (dict(split="val"), "split"),
                                        (dict(n=0), "n"), (dict(seed=-1), "seed")])
def test_bad_arguments(kwargs, arg):
    with pytest.raises(ValueError, match=arg):
        embedded_patches(**kwargs)
