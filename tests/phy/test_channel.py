"""AWGN and BSC: statistics, gradients, determinism, modes, save/load, validation."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from layer_checks import assert_modes_agree, roundtrip
from sem_sionna.phy import AWGN, BSC


def test_awgn_noise_variance_per_complex_sample():
    n = 200_000
    y = AWGN(seed=3)(tf.zeros([n], tf.complex64), 0.5)
    var = np.var(y.numpy())
    # var of an estimate of a chi-square variance: rel std sqrt(1/n)
    assert abs(var - 0.5) < 5 * 0.5 / np.sqrt(n)
    np.testing.assert_allclose(np.var(y.numpy().real), 0.25, rtol=5 * np.sqrt(2 / n))


def test_awgn_per_example_no_broadcasts():
    no = tf.constant([0.0, 1.0])
    y = AWGN(seed=1)(tf.zeros([2, 50_000], tf.complex64), no)
    assert np.all(y.numpy()[0] == 0)
    assert abs(np.var(y.numpy()[1]) - 1.0) < 0.05


def test_awgn_seeded_and_reproducible():
    x = tf.zeros([4, 8], tf.complex64)
    a, b = AWGN(seed=5)(x, 1.0), AWGN(seed=5)(x, 1.0)
    np.testing.assert_array_equal(a, b)
    keras.utils.set_random_seed(9)
    c = AWGN()(x, 1.0)
    keras.utils.set_random_seed(9)
    d = AWGN()(x, 1.0)
    np.testing.assert_array_equal(c, d)


def test_awgn_first_call_inside_functional_model_and_xla():
    inp = keras.Input((8,), dtype="complex64")
    model = keras.Model(inp, AWGN(seed=2)(inp, 0.1))
    out = tf.function(lambda x: model(x), jit_compile=True)(tf.ones([2, 8], tf.complex64))
    assert out.shape == (2, 8)


def test_awgn_gradient_wrt_input_is_the_identity_jacobian():
    # y = x + n: d/dx sum |y|^2 = 2 y (TensorFlow's complex gradient is conj(df/dz*) = 2y)
    x = tf.Variable(tf.complex(tf.range(4, dtype=tf.float32), -tf.ones([4])))
    awgn = AWGN(seed=1)
    with tf.GradientTape() as tape:
        y = awgn(x, 0.1)
        loss = tf.reduce_sum(tf.abs(y) ** 2)
    grad = tape.gradient(loss, x)
    np.testing.assert_allclose(grad.numpy(), 2 * y.numpy(), rtol=1e-5, atol=1e-6)


def test_awgn_save_load_identical(tmp_path):
    inp = keras.Input((16,), dtype="complex64")
    model = keras.Model(inp, AWGN(seed=11)(inp, 0.3))
    loaded = roundtrip(model, tmp_path)
    x = tf.ones([2, 16], tf.complex64)
    np.testing.assert_array_equal(model(x), loaded(x))


def test_awgn_rejects_bad_arguments():
    with pytest.raises(TypeError, match="`x`"):
        AWGN()(tf.zeros([4]), 0.1)
    for bad in (-1.0, float("nan")):
        with pytest.raises(ValueError, match="`no`"):
            AWGN()(tf.zeros([4], tf.complex64), bad)


@pytest.mark.parametrize("pb", [0.01, 0.2, 0.5])
def test_bsc_flip_rate(pb):
    n = 100_000
    bits = tf.cast(tf.random.uniform([n], 0, 2, tf.int32), tf.float32)
    out = BSC(seed=4)(bits, pb)
    rate = float(tf.reduce_mean(tf.abs(out - bits)))
    assert set(np.unique(out.numpy())) <= {0.0, 1.0}
    assert abs(rate - pb) < 5 * np.sqrt(pb * (1 - pb) / n)


def test_bsc_per_bit_probabilities_broadcast():
    pb = tf.constant([0.0, 1.0, 0.0, 1.0])
    out = BSC(seed=1)(tf.zeros([1000, 4]), pb)
    np.testing.assert_array_equal(out.numpy(), np.tile([0, 1, 0, 1], (1000, 1)))


def test_bsc_gradient_reaches_flip_probability():
    pb = tf.Variable(tf.fill([64], 0.1))
    with tf.GradientTape() as tape:
        errors = tf.reduce_sum(BSC(seed=2)(tf.zeros([256, 64]), pb))
    grad = tape.gradient(errors, pb).numpy()
    assert np.all(np.isfinite(grad)) and np.mean(grad) > 0  # more flips with larger pb


def test_bsc_modes_agree():
    bsc = BSC(seed=3)
    bits = tf.zeros([8, 32])
    # the output is random: compare the deterministic limits pb=0 and pb=1
    assert_modes_agree(lambda b: bsc(b, 0.0) + bsc(b, 1.0), bits)


def test_bsc_rejects_bad_arguments():
    with pytest.raises(ValueError, match="`pb`"):
        BSC()(tf.zeros([4]), 1.5)
    with pytest.raises(TypeError, match="`bits`"):
        BSC()(tf.zeros([4], tf.int32), 0.1)
    with pytest.raises(ValueError, match="temperature"):
        BSC(temperature=0.0)
