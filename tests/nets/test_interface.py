"""Multi-level BSC interface (S1 eq. (17)) and the learned BSC interface (S0 eqs. (8)-(12))."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from layer_checks import roundtrip
from sem_sionna.nets.interface import LearnedBSCInterface, MultiLevelBSC, multilevel_eps


def _random_bits(shape, seed=0):
    return tf.cast(tf.random.stateless_uniform(shape, seed=[seed, 3]) < 0.5, tf.float32)


def test_multilevel_eps_is_geometric_from_max_to_min():
    eps = multilevel_eps(10, 0.4, 0.001)
    assert eps[0] == pytest.approx(0.4) and eps[-1] == pytest.approx(0.001)
    ratios = eps[1:] / eps[:-1]
    np.testing.assert_allclose(ratios, (0.001 / 0.4) ** (1 / 9), rtol=1e-12)
    # S1 eq. (17) written with 1-based i
    for i in range(2, 10):
        assert eps[i - 1] == pytest.approx(0.4 / (0.4 / 0.001) ** ((i - 1) / 9))


def test_multilevel_bsc_flip_rates_per_level():
    n_levels, m, batch = 5, 100, 4000
    layer = MultiLevelBSC(n_levels, eps_max=0.4, eps_min=0.01, seed=7)
    bits = _random_bits([batch, m])
    flips = np.abs(layer(bits).numpy() - bits.numpy())
    per_level = flips.reshape(batch, n_levels, m // n_levels).mean(axis=(0, 2))
    n = batch * m // n_levels
    eps = layer.level_eps
    np.testing.assert_array_less(np.abs(per_level - eps), 5 * np.sqrt(eps * (1 - eps) / n))
    assert np.all(np.diff(per_level) < 0)           # level 0 is the least reliable
    np.testing.assert_allclose(layer.eps.numpy(), np.repeat(eps, m // n_levels), rtol=1e-6)


def test_multilevel_bsc_noisy_probs_lemma1():
    layer = MultiLevelBSC(2, eps_max=0.3, eps_min=0.1, num_bits=4)
    p = tf.constant([[0.0, 1.0, 0.5, 0.8]])
    expected = [0.3, 0.7, 0.5, 0.8 * 0.8 + 0.1]
    np.testing.assert_allclose(layer.noisy_probs(p), [expected], rtol=1e-6)


def test_multilevel_bsc_validation():
    with pytest.raises(ValueError, match=r"last dimension of `bits` \(M=10\).*num_levels.*N=3"):
        MultiLevelBSC(3)(tf.zeros([2, 10]))
    with pytest.raises(ValueError, match="num_bits"):
        MultiLevelBSC(3, num_bits=10)
    with pytest.raises(ValueError, match="eps_max"):
        MultiLevelBSC(3, eps_max=0.6)
    with pytest.raises(ValueError, match="eps_min"):
        MultiLevelBSC(3, eps_max=0.1, eps_min=0.2)
    with pytest.raises(ValueError, match="num_levels"):
        MultiLevelBSC(0)
    with pytest.raises(ValueError, match="eps_for"):
        _ = MultiLevelBSC(3).eps


def test_multilevel_bsc_xla_and_save_load(tmp_path):
    inp = keras.Input((20,))
    model = keras.Model(inp, MultiLevelBSC(4, seed=3)(inp))
    bits = _random_bits([8, 20], seed=2)
    # seed-generator states are not saved: compare both from their initial state
    loaded = roundtrip(model, tmp_path)
    np.testing.assert_array_equal(model(bits), loaded(bits))
    assert loaded.layers[1].num_bits == 20
    out = tf.function(lambda b: model(b), jit_compile=True)(bits)
    assert out.shape == (8, 20) and set(np.unique(out.numpy())) <= {0.0, 1.0}


def test_learned_interface_init_and_regulariser_value():
    layer = LearnedBSCInterface(6, mu_init=-4.0, reg_weight=2.0)
    eps0 = 1 / (1 + np.exp(4.0)) / 2
    np.testing.assert_allclose(layer.eps, np.full(6, eps0), rtol=1e-6)
    np.testing.assert_allclose(layer.importance, 1 - 2 * eps0, rtol=1e-6)
    assert float(layer.regularization_loss()) == pytest.approx(2.0 * (eps0 - 0.5) ** 2, rel=1e-5)
    layer(tf.zeros([3, 6]))
    assert len(layer.losses) == 1
    assert float(layer.losses[0]) == pytest.approx(2.0 * (eps0 - 0.5) ** 2, rel=1e-5)


def test_learned_interface_regulariser_pushes_eps_up():
    layer = LearnedBSCInterface(4)
    opt = keras.optimizers.SGD(10.0)
    before = layer.eps.numpy()
    for _ in range(5):
        with tf.GradientTape() as tape:
            reg = layer.regularization_loss()
        opt.apply_gradients(zip(tape.gradient(reg, [layer.mu]), [layer.mu]))
    assert np.all(layer.eps.numpy() > before)


def test_learned_interface_flip_rate_matches_eps():
    m, batch = 4, 50_000
    layer = LearnedBSCInterface(m, seed=11)
    target = np.array([0.02, 0.1, 0.25, 0.45])
    layer.mu.assign(np.log(2 * target / (1 - 2 * target)))    # sigmoid(mu)/2 = target
    np.testing.assert_allclose(layer.eps, target, rtol=1e-5)
    bits = _random_bits([batch, m], seed=4)
    out = layer(bits).numpy()
    assert set(np.unique(out)) <= {0.0, 1.0}
    rate = np.abs(out - bits.numpy()).mean(0)
    np.testing.assert_array_less(np.abs(rate - target), 5 * np.sqrt(target * (1 - target) / batch))


def test_learned_interface_straight_through_gradient_closed_form():
    m = 5
    layer = LearnedBSCInterface(m, mu_init=-1.0, seed=1)
    probs = tf.constant([[0.1, 0.9, 0.5, 0.0, 1.0], [0.3, 0.2, 0.7, 0.0, 1.0]])
    w = tf.constant([1.0, -2.0, 0.5, 3.0, -1.0])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(probs)
        out = layer(probs)
        loss = tf.reduce_sum(out * w)
    g_mu = tape.gradient(loss, layer.mu).numpy()
    g_p = tape.gradient(loss, probs).numpy()
    s = 1 / (1 + np.exp(1.0))
    deps = s * (1 - s) / 2                                  # d eps / d mu
    eps = s / 2
    expected_mu = (w.numpy() * (1 - 2 * probs.numpy())).sum(0) * deps
    np.testing.assert_allclose(g_mu, expected_mu, rtol=1e-5)
    assert np.all(np.isfinite(g_mu)) and np.all(g_mu != 0)
    np.testing.assert_allclose(g_p, np.tile(w.numpy() * (1 - 2 * eps), (2, 1)), rtol=1e-5)


def test_learned_interface_validation_and_save_load(tmp_path):
    with pytest.raises(ValueError, match="num_bits"):
        LearnedBSCInterface(0)
    with pytest.raises(ValueError, match="reg_weight"):
        LearnedBSCInterface(4, reg_weight=-1.0)
    with pytest.raises(ValueError, match="num_bits=4"):
        LearnedBSCInterface(4)(tf.zeros([2, 5]))
    layer = LearnedBSCInterface(8, mu_init=-2.0, seed=5)
    inp = keras.Input((8,))
    model = keras.Model(inp, layer(inp))
    layer.mu.assign(np.linspace(-3, 1, 8))
    loaded = roundtrip(model, tmp_path)
    np.testing.assert_allclose(loaded.layers[1].eps, layer.eps)
    x = tf.fill([4, 8], 0.5)
    np.testing.assert_array_equal(model(x), loaded(x))
    xla = tf.function(lambda x: loaded(x), jit_compile=True)(x)
    assert xla.shape == (4, 8)
