"""Tests for sem_sionna.data.cifar (reads the Keras cache, never downloads)."""
import pickle

import numpy as np
import pytest

from sem_sionna.data import cifar10, load


def _write_batch(path, data, labels):
    with open(path, "wb") as fh:
        pickle.dump({b"data": data, b"labels": list(labels)}, fh)


def test_missing_cache_names_the_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    with pytest.raises(FileNotFoundError, match="cifar-10-batches-py"):
        cifar10("test")
    with pytest.raises(FileNotFoundError, match="cifar-10-batches-py"):
        load("cifar10", split="train")


def test_reads_batches_in_cifar_layout(tmp_path, monkeypatch, rng):
    folder = tmp_path / "datasets" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    img = rng.integers(0, 256, size=(4, 32, 32, 3), dtype=np.uint8)
    planar = img.transpose(0, 3, 1, 2).reshape(4, 3072)  # R plane, G plane, B plane
    _write_batch(folder / "test_batch", planar, [3, 1, 4, 1])
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    x, y = cifar10("test")
    assert x.shape == (4, 32, 32, 3) and x.dtype == np.float32 and y.dtype == np.int32
    np.testing.assert_allclose(x, img / 255.0, atol=1e-6)
    np.testing.assert_array_equal(y, [3, 1, 4, 1])
    x2, y2 = load("cifar10", split="test", n=2)
    np.testing.assert_array_equal(x2, x[:2])
    with pytest.raises(ValueError, match="size"):
        load("cifar10", split="test", size=64)


def test_corrupt_batch_names_the_file(tmp_path):
    (tmp_path / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="test_batch"):
        cifar10("test", path=tmp_path)


def test_bad_split():
    with pytest.raises(ValueError, match="split"):
        cifar10("valid")
