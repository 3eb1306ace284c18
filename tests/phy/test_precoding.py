"""Tests for sem_sionna.phy.precoding (SVDPrecoder, SVDCombiner)."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from sem_sionna.phy.mimo import MIMOChannel
from sem_sionna.phy.precoding import NO_EFF_MAX, SVDCombiner, SVDPrecoder


def _crandn(rng, *shape):
    return ((rng.normal(size=shape) + 1j * rng.normal(size=shape)) / np.sqrt(2)).astype(np.complex64)


def _qpsk(rng, *shape):
    bits = rng.integers(0, 2, size=(2,) + shape)
    return ((1 - 2 * bits[0] + 1j * (1 - 2 * bits[1])) / np.sqrt(2)).astype(np.complex64)


def _np_water_filling(gains, total_power=1.0):
    """Iterative water-filling: drop the weakest channel while its power is negative."""
    gains = np.asarray(gains, np.float64)
    order = np.argsort(-gains)
    p = np.zeros_like(gains)
    for m in range(len(gains), 0, -1):
        best = order[:m]
        mu = (total_power + np.sum(1.0 / gains[best])) / m
        power = mu - 1.0 / gains[best]
        if np.all(power > 0):
            p[best] = power
            break
    return p


@pytest.mark.parametrize("nt, nr, ns, alloc", [(4, 2, 2, "waterfilling"), (2, 4, 2, "equal"),
                                                (4, 4, 2, "waterfilling"), (3, 2, 1, "equal")])
def test_perfect_csi_recovers_streams_with_unit_power(rng, nt, nr, ns, alloc):
    h = _crandn(rng, 5, nr, nt)
    s = _qpsk(rng, 5, ns, 7)
    x = SVDPrecoder(ns, alloc)(s, h, 1e-6)
    assert x.shape == (5, nt, 7) and x.dtype == tf.complex64
    # unit-modulus symbols: total power over the antennas is sum_k p_k = 1 per channel use
    np.testing.assert_allclose(np.sum(np.abs(x.numpy()) ** 2, axis=1), 1.0, atol=1e-5)
    s_hat, no_eff = SVDCombiner(ns, alloc)(h @ x.numpy(), h, 1e-6)
    assert s_hat.shape == (5, ns, 7) and no_eff.shape == (5, ns)
    assert s_hat.dtype == tf.complex64 and no_eff.dtype == tf.float32
    np.testing.assert_allclose(s_hat.numpy(), s, atol=2e-3)


def test_no_eff_and_sum_rate_match_numpy_water_filling_capacity(rng):
    nt, nr, ns, no = 3, 4, 3, 0.4
    h = _crandn(rng, 32, nr, nt)
    s_hat, no_eff = SVDCombiner(ns)(tf.zeros([32, nr, 1], tf.complex64), h, no)
    sigma2 = np.linalg.svd(h, compute_uv=False) ** 2
    p = np.stack([_np_water_filling(g / no) for g in sigma2])
    assert np.any(p == 0), "no = 0.4 should switch some eigen-channels off"
    expected = np.where(p > 0, no / np.maximum(p * sigma2, 1e-30), NO_EFF_MAX)
    np.testing.assert_allclose(no_eff.numpy(), expected, rtol=1e-4)
    capacity = np.sum(np.log2(1.0 + p * sigma2 / no), axis=-1)
    rate = np.sum(np.log2(1.0 + 1.0 / no_eff.numpy().astype(np.float64)), axis=-1)
    np.testing.assert_allclose(rate, capacity, rtol=1e-4)
    # streams without power carry nothing
    np.testing.assert_array_equal(s_hat.numpy()[p == 0], 0)

    _, no_eff_eq = SVDCombiner(2, "equal")(tf.zeros([32, nr, 1], tf.complex64), h, no)
    np.testing.assert_allclose(no_eff_eq.numpy(), no * 2 / sigma2[:, :2], rtol=1e-4)


def test_noise_after_combining_has_variance_no_eff(rng):
    nt, nr, ns, no, n_sym = 2, 2, 2, 0.05, 4000
    h = _crandn(rng, 3, nr, nt)
    s = _qpsk(rng, 3, ns, n_sym)
    x = SVDPrecoder(ns)(s, h, no).numpy()
    y = h @ x + np.sqrt(no) * _crandn(rng, 3, nr, n_sym)
    s_hat, no_eff = SVDCombiner(ns)(y, h, no)
    var = np.mean(np.abs(s_hat.numpy() - s) ** 2, axis=-1)
    # relative standard error of a variance estimate from n complex Gaussians: 1/sqrt(n)
    np.testing.assert_allclose(var, no_eff.numpy(), rtol=5 / np.sqrt(n_sym))


def test_noise_variance_broadcasting_and_zero_noise(rng):
    h = _crandn(rng, 4, 2, 2)
    y = _crandn(rng, 4, 2, 3)
    no = np.array([0.01, 0.1, 1.0, 3.0], np.float32)
    comb = SVDCombiner(2)
    per_example = [comb(y[i:i + 1], h[i:i + 1], float(no[i])) for i in range(4)]
    ref_s = np.concatenate([o[0].numpy() for o in per_example])
    ref_no = np.concatenate([o[1].numpy() for o in per_example])
    for shaped in (no, no[:, None], no[:, None, None]):
        s_hat, no_eff = comb(y, h, tf.constant(shaped))
        np.testing.assert_allclose(s_hat.numpy(), ref_s, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(no_eff.numpy(), ref_no, rtol=1e-5)
    s = _qpsk(rng, 4, 2, 3)
    x = SVDPrecoder(2)(s, h, 0.0)
    s_hat, no_eff = comb(h @ x.numpy(), h, 0.0)
    np.testing.assert_allclose(s_hat.numpy(), s, atol=1e-3)
    np.testing.assert_array_equal(no_eff.numpy(), 0.0)


def test_streams_without_power_or_gain_stay_finite():
    h = np.array([[[2.0, 0.0], [0.0, 0.1]],            # weak 2nd mode: no water at no = 10
                  [[1.0, 1.0], [1.0, 1.0]],            # rank 1
                  [[0.0, 0.0], [0.0, 0.0]]], np.complex64)
    s = np.ones([3, 2, 4], np.complex64)
    for alloc in ("waterfilling", "equal"):
        x = SVDPrecoder(2, alloc)(s, h, 10.0)
        s_hat, no_eff = SVDCombiner(2, alloc)(h @ x.numpy(), h, 10.0)
        assert np.all(np.isfinite(x.numpy())) and np.all(np.isfinite(s_hat.numpy()))
        off = slice(0, 2) if alloc == "waterfilling" else slice(1, 2)  # EPA powers mode 2 of h[0]
        np.testing.assert_array_equal(no_eff.numpy()[off, 1], NO_EFF_MAX)
        np.testing.assert_array_equal(s_hat.numpy()[off, 1], 0)
        np.testing.assert_array_equal(no_eff.numpy()[2], NO_EFF_MAX)
    np.testing.assert_allclose(no_eff.numpy()[0], [10 / (0.5 * 4), 10 / (0.5 * 0.01)], rtol=1e-5)


def test_eager_graph_xla_agree(rng):
    h = tf.constant(_crandn(rng, 6, 2, 3))
    s = tf.constant(_qpsk(rng, 6, 2, 5))
    y = tf.constant(_crandn(rng, 6, 2, 5))
    no = tf.constant([0.1, 0.5, 1.0, 2.0, 0.01, 0.3])
    pre, comb = SVDPrecoder(2), SVDCombiner(2)

    def run(s, h, y, no):
        return (pre(s, h, no),) + tuple(comb(y, h, no))

    eager = run(s, h, y, no)
    for jit in (False, True):
        out = tf.function(run, jit_compile=jit)(s, h, y, no)
        for a, b in zip(out, eager):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-4)


def test_gradients_flow_to_streams_upstream_weights_and_h_hat(rng):
    dense = keras.layers.Dense(8)
    feat = tf.constant(rng.normal(size=(4, 6)), tf.float32)
    h_hat = tf.Variable(_crandn(rng, 4, 2, 2))
    degenerate = tf.Variable(np.tile(np.eye(2, dtype=np.complex64), [4, 1, 1]))
    pre, comb = SVDPrecoder(2), SVDCombiner(2)
    for h in (h_hat, degenerate):  # degenerate: repeated eigenvalues of h^H h
        with tf.GradientTape() as tape:
            z = tf.reshape(dense(feat), [4, 2, 2, 2])
            s = tf.complex(z[..., 0], z[..., 1])
            y = tf.matmul(h, pre(s, h, 0.1))
            s_hat, no_eff = comb(y + 0.1, h, 0.1)
            loss = tf.reduce_mean(tf.abs(s_hat - 1.0) ** 2) + tf.reduce_mean(no_eff)
        grads = tape.gradient(loss, dense.trainable_variables + [h])
        for g in grads:
            assert g is not None and np.all(np.isfinite(g.numpy()))
            assert np.any(g.numpy() != 0)


def test_bad_arguments():
    h = tf.zeros([2, 2, 3], tf.complex64)
    with pytest.raises(ValueError, match="num_streams"):
        SVDPrecoder(3)(tf.zeros([2, 3, 4], tf.complex64), h, 0.1)
    with pytest.raises(ValueError, match="num_streams"):
        SVDCombiner(3)(tf.zeros([2, 2, 4], tf.complex64), h, 0.1)
    with pytest.raises(ValueError, match="num_streams"):
        SVDPrecoder(0)
    with pytest.raises(ValueError, match=r"power_allocation.*'equal'.*'waterfilling'"):
        SVDPrecoder(1, "wmmse")
    with pytest.raises(ValueError, match=r"power_allocation.*'equal'.*'waterfilling'"):
        SVDCombiner(1, "max")
    with pytest.raises(TypeError, match="`s`"):
        SVDPrecoder(2)(tf.zeros([2, 2, 4]), h, 0.1)
    with pytest.raises(ValueError, match="`s`"):
        SVDPrecoder(2)(tf.zeros([2, 1, 4], tf.complex64), h, 0.1)
    with pytest.raises(TypeError, match="`h_hat`"):
        SVDPrecoder(2)(tf.zeros([2, 2, 4], tf.complex64), tf.zeros([2, 2, 3]), 0.1)
    with pytest.raises(TypeError, match="`y`"):
        SVDCombiner(2)(tf.zeros([2, 2, 4]), h, 0.1)
    with pytest.raises(ValueError, match="`y`"):
        SVDCombiner(2)(tf.zeros([2, 3, 4], tf.complex64), h, 0.1)
    for bad in (-0.1, float("nan")):
        with pytest.raises(ValueError, match="`no`"):
            SVDPrecoder(2)(tf.zeros([2, 2, 4], tf.complex64), h, bad)
        with pytest.raises(ValueError, match="`no`"):
            SVDCombiner(2)(tf.zeros([2, 2, 4], tf.complex64), h, bad)
    with pytest.raises(ValueError, match="`no`"):
        SVDCombiner(2)(tf.zeros([2, 2, 4], tf.complex64), h, tf.ones([2, 2]))


def test_config_and_keras_round_trip(rng, tmp_path):
    for layer in (SVDPrecoder(2, "equal"), SVDCombiner(1)):
        clone = type(layer).from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()
    s_in = keras.Input((2, 5), dtype="complex64")
    h_in = keras.Input((2, 3), dtype="complex64")
    no_in = keras.Input(())
    x = SVDPrecoder(2, "equal", name="pre")(s_in, h_in, no_in)
    y = keras.ops.matmul(h_in, x)
    s_hat, no_eff = SVDCombiner(2, "equal", name="comb")(y, h_in, no_in)
    model = keras.Model([s_in, h_in, no_in], [s_hat, no_eff])
    inputs = [_qpsk(rng, 4, 2, 5), _crandn(rng, 4, 2, 3), np.full([4], 0.2, np.float32)]
    before = model(inputs)
    np.testing.assert_allclose(before[0].numpy(), inputs[0], atol=1e-4)
    model.save(tmp_path / "svd.keras")
    loaded = keras.models.load_model(tmp_path / "svd.keras")
    assert loaded.get_layer("pre").get_config() == model.get_layer("pre").get_config()
    for a, b in zip(loaded(inputs), before):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_generate_precode_apply_flow():
    """The flow of the contract: precode with h_hat, transmit over h."""
    ch = MIMOChannel(4, 2, seed=3)
    pre, comb = SVDPrecoder(2), SVDCombiner(2)
    s = tf.complex(tf.sign(tf.random.normal([16, 2, 8])), tf.sign(tf.random.normal([16, 2, 8])))
    s = s / np.sqrt(2)
    h, h_hat = ch.generate(16)
    y = ch.apply(pre(s, h_hat, 1e-4), 1e-4, h)
    s_hat, no_eff = comb(y, h_hat, 1e-4)
    err = np.abs((s_hat - s).numpy()) ** 2
    # the weakest stream of a 4x2 Rayleigh channel has sigma^2 > 0.02 w.p. > 0.99
    assert np.all(no_eff.numpy() < 1e-4 / (0.5 * 1e-3))
    assert np.mean(err) < 10 * np.mean(no_eff.numpy())

    imperfect = MIMOChannel(4, 2, csi_error_var=0.1, seed=3)
    h, h_hat = imperfect.generate(16)
    y = imperfect.apply(pre(s, h_hat, 1e-4), 1e-4, h)
    s_hat_imp, _ = comb(y, h_hat, 1e-4)
    assert np.all(np.isfinite(s_hat_imp.numpy()))
    assert np.mean(np.abs((s_hat_imp - s).numpy()) ** 2) > 10 * np.mean(err)


@keras.saving.register_keras_serializable(package="sem_sionna_tests")
class _PrecodedMIMO(keras.layers.Layer):
    """generate -> SVDPrecoder(h_hat) -> apply(h) -> SVDCombiner(h_hat), as a link would."""

    def __init__(self, no, **kwargs):
        super().__init__(**kwargs)
        self.no = no
        self.channel = MIMOChannel(2, 2, csi_error_var=0.01, seed=1)
        self.precoder = SVDPrecoder(2)
        self.combiner = SVDCombiner(2)

    def build(self, s_shape):
        self.built = True

    def call(self, s):
        h, h_hat = self.channel.generate(tf.shape(s)[0])
        y = self.channel.apply(self.precoder(s, h_hat, self.no), self.no, h)
        return self.combiner(y, h_hat, self.no)[0]


@keras.saving.register_keras_serializable(package="sem_sionna_tests")
class _ToComplex(keras.layers.Layer):
    """[batch, 16] real -> [batch, 2, 4] complex (real and imaginary halves)."""

    def call(self, z):
        z = tf.reshape(z, [-1, 2, 4, 2])
        return tf.complex(z[..., 0], z[..., 1])


def _to_real(z):
    return keras.ops.reshape(keras.ops.stack([keras.ops.real(z), keras.ops.imag(z)], -1), (-1, 16))


def test_functional_models_train_one_step(rng):
    feat = tf.constant(rng.normal(size=(8, 6)), tf.float32)
    target = tf.constant(rng.normal(size=(8, 16)), tf.float32)

    # (a) precoded link; (b) MIMOChannel and SVDCombiner wired directly in the graph
    inp = keras.Input((6,))
    z = _ToComplex()(keras.layers.Dense(16)(inp))
    out_a = keras.layers.Dense(16)(_to_real(_PrecodedMIMO(0.05)(z)))
    y, h_hat = MIMOChannel(2, 2, model="rayleigh", seed=2)(z, 0.05)
    s_hat, _ = SVDCombiner(2, "equal")(y, h_hat, 0.05)
    out_b = keras.layers.Dense(16)(_to_real(s_hat))
    model = keras.Model(inp, [out_a, out_b])
    optimizer = keras.optimizers.Adam(1e-2)
    with tf.GradientTape() as tape:
        out_a, out_b = model(feat)
        loss = tf.reduce_mean((out_a - target) ** 2) + tf.reduce_mean((out_b - target) ** 2)
    grads = tape.gradient(loss, model.trainable_variables)
    assert len(grads) == 6
    for g in grads:
        assert np.all(np.isfinite(g.numpy())) and np.any(g.numpy() != 0)
    before = [v.numpy().copy() for v in model.trainable_variables]
    optimizer.apply(grads, model.trainable_variables)
    assert all(np.any(v.numpy() != b) for v, b in zip(model.trainable_variables, before))
