"""BPSK/QPSK over i.i.d. Rayleigh SISO block fading vs the closed form; a mixed model trains."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from sem_sionna.phy import MIMOChannel, QAMDemapper, QAMMapper, SVDCombiner, snrdb2no


def rayleigh_ber(gamma_b):
    """BPSK bit error rate on Rayleigh fading with coherent detection, mean Eb/N0 gamma_b."""
    return 0.5 * (1.0 - np.sqrt(gamma_b / (1.0 + gamma_b)))


def tolerance(p, n):
    return 5 * np.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("snr_db", [0.0, 10.0, 20.0])
def test_bpsk_rayleigh_ber(snr_db):
    n = 200_000
    no = snrdb2no(snr_db)
    bits = tf.random.stateless_uniform([n, 1, 1], [4, 2], 0, 2, tf.int32)
    x = tf.complex(1.0 - 2.0 * tf.cast(bits, tf.float32), 0.0)
    y, h_hat = MIMOChannel(1, 1, seed=3)(x, no)
    z = tf.math.real(tf.math.conj(h_hat) * y)  # coherent detection, perfect CSI
    ber = np.mean((z.numpy() < 0) != (bits.numpy() == 1))
    ref = rayleigh_ber(1.0 / no)  # BPSK: Eb/N0 = Es/N0 = 1/no
    assert abs(ber - ref) < tolerance(ref, n), (ber, ref)


@pytest.mark.parametrize("snr_db", [0.0, 10.0, 20.0])
def test_qpsk_rayleigh_ber_through_qam_layers(snr_db):
    n_sym = 100_000
    no = snrdb2no(snr_db)
    bits = tf.cast(tf.random.stateless_uniform([n_sym, 1, 2], [5, 2], 0, 2, tf.int32), tf.float32)
    y, h_hat = MIMOChannel(1, 1, seed=4)(QAMMapper(2)(bits), no)
    h = h_hat  # [n, 1, 1]: one coefficient per example
    no_eff = no / tf.abs(h) ** 2
    bits_hat = QAMDemapper(2, hard_out=True)(y / h, no_eff)
    ber = float(tf.reduce_mean(tf.abs(bits_hat - bits)))
    ref = rayleigh_ber(1.0 / (2.0 * no))  # QPSK: Eb/N0 = Es/(2 N0)
    assert abs(ber - ref) < tolerance(ref, n_sym), (ber, ref)


@keras.saving.register_keras_serializable(package="sem_sionna_tests")
class _Sigmoid(keras.layers.Layer):
    def call(self, x):
        return tf.sigmoid(x)


@keras.saving.register_keras_serializable(package="sem_sionna_tests")
class _ToStreams(keras.layers.Layer):
    """[b, s] complex -> [b, 1, s]; keras.layers.Reshape would cast complex to float32."""

    def call(self, x):
        return x[:, tf.newaxis, :]


def test_functional_model_dense_qam_mimo_svd_trains():
    """Dense -> soft bits -> QAMMapper -> MIMOChannel (1x2) -> SVDCombiner: the loss goes down.

    With one transmit antenna the SVD combiner is maximum-ratio combining and its
    output is ``s`` plus noise, so the Dense layer can learn the target symbols.
    """
    inp = keras.Input((8,))
    bits = _Sigmoid()(keras.layers.Dense(16)(inp))
    s = _ToStreams()(QAMMapper(2)(bits))
    y, h_hat = MIMOChannel(1, 2, seed=1)(s, 0.01)
    s_hat, _ = SVDCombiner(1)(y, h_hat, 0.01)
    model = keras.Model(inp, s_hat)
    x = tf.random.stateless_normal([64, 8], [1, 1])
    target = tf.reshape(QAMMapper(2)(tf.cast(tf.tile(x, [1, 2]) > 0, tf.float32)), [64, 1, 8])
    opt = keras.optimizers.Adam(0.05)
    losses = []
    for _ in range(10):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.abs(model(x) - target) ** 2)
        grads = tape.gradient(loss, model.trainable_variables)
        assert all(np.all(np.isfinite(g.numpy())) for g in grads)
        opt.apply(grads, model.trainable_variables)
        losses.append(float(loss))
    assert losses[-1] < 0.7 * losses[0], losses
