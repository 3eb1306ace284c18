import numpy as np
import pytest

from sem_sionna.utils import map_batches


def test_map_batches_concatenates_in_order():
    x = np.arange(10.0)
    calls = []

    def fn(a):
        calls.append(len(a))
        return a * 2

    np.testing.assert_array_equal(map_batches(fn, x, batch_size=4), x * 2)
    assert calls == [4, 4, 2]


def test_map_batches_structures_and_errors():
    x, y = np.arange(5), np.arange(5) + 10
    out = map_batches(lambda a, b: {"s": a + b, "d": b - a}, x, y, batch_size=2)
    np.testing.assert_array_equal(out["s"], x + y)
    t = map_batches(lambda a: (a, -a), x, batch_size=3)
    np.testing.assert_array_equal(t[1], -x)
    with pytest.raises(ValueError, match="first dimension"):
        map_batches(lambda a, b: a, x, np.arange(4))
    with pytest.raises(ValueError, match="batch_size"):
        map_batches(lambda a: a, x, batch_size=0)
