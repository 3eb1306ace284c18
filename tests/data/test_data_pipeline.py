"""Tests for sem_sionna.data.pipeline."""
import numpy as np
import pytest

from sem_sionna.data import as_dataset, mean_image


def test_mean_image():
    x = np.stack([np.zeros((4, 4, 3)), np.ones((4, 4, 3))]).astype(np.float32)
    m = mean_image(x)
    assert m.shape == (4, 4, 3) and m.dtype == np.float32
    np.testing.assert_allclose(m, 0.5)
    with pytest.raises(ValueError, match="images"):
        mean_image(np.zeros((4, 4, 3)))


def test_batching_single_array():
    x = np.arange(10, dtype=np.float32).reshape(10, 1)
    batches = [b.numpy() for b in as_dataset(x, batch_size=4)]
    assert [b.shape[0] for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate(batches), x)
    batches = list(as_dataset(x, batch_size=4, drop_remainder=True))
    assert [b.shape[0] for b in batches] == [4, 4]


def test_tuples_shuffle_and_repeat():
    x = np.arange(8, dtype=np.float32)
    y = np.arange(8, dtype=np.int32) * 10
    ds = as_dataset(x, y, batch_size=8, shuffle=True, seed=1)
    (bx, by), = list(ds)
    np.testing.assert_array_equal(by.numpy(), bx.numpy().astype(np.int32) * 10)  # pairs kept
    assert sorted(bx.numpy().tolist()) == x.tolist()
    assert not np.array_equal(bx.numpy(), x)  # 1/8! chance of identity; fixed seed
    again = [b[0].numpy() for b in as_dataset(x, y, batch_size=8, shuffle=True, seed=1)]
    np.testing.assert_array_equal(again[0], bx.numpy())
    rep = as_dataset(x, batch_size=3, repeat=True).take(5)
    assert len(list(rep)) == 5


def test_bad_arguments():
    with pytest.raises(ValueError, match="batch_size"):
        as_dataset(np.zeros(4), batch_size=0)
    with pytest.raises(ValueError, match="first dimension"):
        as_dataset(np.zeros(4), np.zeros(5), batch_size=2)
    with pytest.raises(ValueError, match="at least one"):
        as_dataset(batch_size=2)
