"""QAMMapper / QAMDemapper: closed-form BER over AWGN, modes, save/load, validation."""
import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy.special import erfc

from layer_checks import assert_modes_agree, roundtrip
from sem_sionna.phy import AWGN, QAMDemapper, QAMMapper, snrdb2no


def qfunc(x):
    return 0.5 * erfc(x / np.sqrt(2.0))


def ber_qam_awgn(num_bits_per_symbol, no):
    """Exact Gray-coded bit error rate of unit-energy 4- and 16-QAM over complex AWGN."""
    sigma = np.sqrt(no / 2.0)
    if num_bits_per_symbol == 2:
        return qfunc((1 / np.sqrt(2)) / sigma)
    a = (1 / np.sqrt(10)) / sigma  # half the minimum distance over the per-dimension std
    return 0.25 * (3 * qfunc(a) + 2 * qfunc(3 * a) - qfunc(5 * a))


def simulate_ber(num_bits_per_symbol, no, num_bits=400_000):
    mapper, demapper = QAMMapper(num_bits_per_symbol), QAMDemapper(num_bits_per_symbol,
                                                                   hard_out=True)
    awgn = AWGN(seed=7)
    bits = tf.cast(tf.random.stateless_uniform([num_bits], [1, 2], 0, 2, tf.int32), tf.float32)
    bits_hat = demapper(awgn(mapper(bits), no), no)
    return float(tf.reduce_mean(tf.abs(bits - bits_hat))), num_bits


@pytest.mark.parametrize("num_bits_per_symbol", [2, 4])
@pytest.mark.parametrize("snr_db", [0.0, 4.0, 8.0])
def test_uncoded_ber_matches_closed_form(num_bits_per_symbol, snr_db):
    no = snrdb2no(snr_db)
    ber, n = simulate_ber(num_bits_per_symbol, no)
    ref = ber_qam_awgn(num_bits_per_symbol, no)
    # bits within a symbol are correlated: allow 5 binomial std at the symbol count
    tol = 5 * np.sqrt(ref * (1 - ref) / (n / num_bits_per_symbol))
    assert abs(ber - ref) < tol, (ber, ref, tol)


def test_mapper_unit_energy_and_shape():
    bits = tf.cast(tf.random.uniform([8, 3, 400], 0, 2, tf.int32), tf.float32)
    x = QAMMapper(4)(bits)
    assert x.shape == (8, 3, 100) and x.dtype == tf.complex64
    points = QAMMapper(4).points
    np.testing.assert_allclose(np.mean(np.abs(points.numpy()) ** 2), 1.0, rtol=1e-5)


def test_llr_sign_follows_sionna_convention():
    """A noiseless 1-bit must get a positive LLR (logit of P(b=1))."""
    bits = tf.constant([[0.0, 1.0, 1.0, 0.0]])
    llr = QAMDemapper(2)(QAMMapper(2)(bits), 0.01)
    assert np.all((llr.numpy() > 0) == (bits.numpy() > 0.5))


def test_modes_agree():
    mapper, demapper = QAMMapper(4), QAMDemapper(4)
    bits = tf.cast(tf.random.uniform([4, 64], 0, 2, tf.int32), tf.float32)
    assert_modes_agree(lambda b, no: demapper(mapper(b), no), bits, tf.constant(0.1))


def test_gradients_flow_through_mapper_and_demapper():
    mapper, demapper = QAMMapper(4), QAMDemapper(4)
    soft_bits = tf.Variable(tf.random.uniform([2, 16]))
    with tf.GradientTape() as tape:
        llr = demapper(mapper(soft_bits), 0.1)
        loss = tf.reduce_sum(tf.square(llr))
    grad = tape.gradient(loss, soft_bits)
    assert grad is not None and np.all(np.isfinite(grad.numpy()))
    assert np.any(grad.numpy() != 0)


def test_mapper_gradient_is_that_of_the_expected_symbol():
    """Straight-through: forward maps hard bits, backward differentiates E[x | b]."""
    mapper = QAMMapper(2)
    b = tf.Variable([[0.0, 1.0]])
    with tf.GradientTape() as tape:
        x = mapper(b)
        loss = tf.math.real(x)  # QPSK: real part = (1 - 2 b_0) / sqrt(2)
    np.testing.assert_allclose(tape.gradient(loss, b).numpy(), [[-np.sqrt(2), 0.0]], atol=1e-6)
    soft = mapper._expected_symbols(tf.constant([[1.0, 0.0, 1.0, 1.0]]))
    np.testing.assert_allclose(soft, QAMMapper(2)(tf.constant([[1.0, 0.0, 1.0, 1.0]])), atol=1e-6)


def test_save_load_functional_model(tmp_path):
    inp = keras.Input((32,))
    no = keras.Input(())
    llr = QAMDemapper(4)(QAMMapper(4)(inp), no)
    model = keras.Model([inp, no], llr)
    bits = tf.cast(tf.random.uniform([3, 32], 0, 2, tf.int32), tf.float32)
    no_val = tf.fill([3], 0.2)
    loaded = roundtrip(model, tmp_path)
    np.testing.assert_allclose(model([bits, no_val]), loaded([bits, no_val]), atol=1e-6)


@pytest.mark.parametrize("m", [0, -2, 3, 2.5])
def test_bad_num_bits_per_symbol(m):
    with pytest.raises((ValueError, TypeError), match="num_bits_per_symbol"):
        QAMMapper(m)
    with pytest.raises((ValueError, TypeError), match="num_bits_per_symbol"):
        QAMDemapper(m)


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="bits"):
        QAMMapper(4)(tf.zeros([2, 6]))
    with pytest.raises(TypeError, match="`y`"):
        QAMDemapper(4)(tf.zeros([2, 6]), 0.1)
    x = QAMMapper(2)(tf.zeros([2, 8]))
    for bad in (-0.1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="`no`"):
            QAMDemapper(2)(x, bad)
