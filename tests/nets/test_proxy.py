"""Tests of sem_sionna.nets.proxy (proxy network and straight-through chain)."""
import numpy as np
import pytest
import keras
import tensorflow as tf
from layer_checks import first_and_last_loss

from sem_sionna.nets.proxy import ProxyNetwork, proxy_loss, straight_through_chain


def _codec_like(x):
    """Non-differentiable stand-in for a codec chain: 8-level quantisation."""
    return np.round(np.asarray(x) * 7.0) / 7.0


@pytest.fixture
def images():
    return tf.random.uniform([2, 16, 16, 3])


def test_output_shape_and_range(images):
    proxy = ProxyNetwork(num_filters=8, seed=1)
    out = proxy(images, 6.0, 34.0)
    assert out.shape == images.shape and out.dtype == tf.float32
    assert float(tf.reduce_min(out)) >= 0.0 and float(tf.reduce_max(out)) <= 1.0


def test_build_creates_all_weights(images):
    proxy = ProxyNetwork(num_filters=8, seed=1)
    proxy.build(images.shape)
    count = len(proxy.weights)
    proxy(images, 6.0, 34.0)
    assert len(proxy.weights) == count


def test_noise_follows_snr(images):
    """The latent noise shrinks with the SNR: outputs at 40 dB are nearly deterministic."""
    proxy = ProxyNetwork(num_filters=8, seed=1)
    spread = {}
    for snr in (0.0, 40.0):
        a, b = proxy(images, snr, 34.0), proxy(images, snr, 34.0)
        spread[snr] = float(tf.reduce_mean(tf.abs(a - b)))
    assert spread[40.0] < 0.05 * spread[0.0]


def test_conditioning_changes_output(images):
    proxy = ProxyNetwork(num_filters=8, seed=1)
    a = proxy(images, 40.0, 28.0)
    b = proxy(images, 40.0, 41.0)
    assert float(tf.reduce_mean(tf.abs(a - b))) > 1e-4


def test_straight_through_forward_is_chain_and_gradient_is_proxy(images):
    proxy = ProxyNetwork(num_filters=8, seed=1)
    x = tf.Variable(images)
    with tf.GradientTape(persistent=True) as tape:
        p = proxy(x, 40.0, 34.0)
        y = straight_through_chain(x, p, _codec_like)
        loss_y = tf.reduce_sum(y * y)
        # Same upstream gradient 2*y applied to the proxy output alone.
        loss_p = tf.reduce_sum(tf.stop_gradient(2.0 * y) * p)
    np.testing.assert_array_equal(y.numpy(), _codec_like(images.numpy()).astype(np.float32))
    g_y = tape.gradient(loss_y, x).numpy()
    g_p = tape.gradient(loss_p, x).numpy()
    np.testing.assert_allclose(g_y, g_p, rtol=1e-5, atol=1e-7)
    assert np.abs(g_y).max() > 0


def test_straight_through_in_tf_function_with_args(images):
    proxy = ProxyNetwork(num_filters=8, seed=1)

    def chain(x, levels):
        return np.round(x * levels) / levels

    @tf.function
    def run(x, levels):
        return straight_through_chain(x, proxy(x, 40.0, 34.0), chain, [levels])

    y = run(images, tf.constant(3.0))
    assert y.shape == images.shape
    np.testing.assert_allclose(y.numpy(), chain(images.numpy(), 3.0), atol=1e-7)


def test_training_reduces_proxy_loss(images):
    proxy = ProxyNetwork(num_filters=8, seed=1)
    target = tf.constant(_codec_like(images.numpy()), tf.float32)
    first, last = first_and_last_loss(lambda: proxy_loss(proxy(images, 12.0, 34.0), target),
                                      lambda: proxy.trainable_weights,
                                      keras.optimizers.Adam(3e-3), 30)
    assert last < 0.7 * first


def test_proxy_loss_is_mse():
    a = tf.random.uniform([2, 4, 4, 3])
    b = tf.random.uniform([2, 4, 4, 3])
    np.testing.assert_allclose(float(proxy_loss(a, b)),
                               np.mean((a.numpy() - b.numpy()) ** 2), rtol=1e-6)


def test_graph_and_xla_agree_with_seeded_layers(images):
    """Same seed: eager = graph. XLA draws other random numbers, so compare it at 80 dB."""
    outs = {}
    for mode in ("eager", "graph", "xla"):
        keras.utils.set_random_seed(3)
        proxy = ProxyNetwork(num_filters=8, seed=5)
        fn = {"eager": proxy, "graph": tf.function(proxy),
              "xla": tf.function(proxy, jit_compile=True)}[mode]
        snr = tf.constant([80.0, 80.0]) if mode == "xla" else tf.constant([4.0, 8.0])
        outs[mode] = fn(images, snr, 34.0).numpy()
        if mode == "eager":
            outs["eager_80"] = proxy(images, tf.constant([80.0, 80.0]), 34.0).numpy()
    np.testing.assert_allclose(outs["graph"], outs["eager"], atol=1e-5)
    np.testing.assert_allclose(outs["xla"], outs["eager_80"], atol=1e-3)


def test_keras_round_trip(tmp_path, images):
    img = keras.Input((16, 16, 3))
    snr = keras.Input(())
    q = keras.Input(())
    model = keras.Model([img, snr, q], ProxyNetwork(num_filters=8, seed=2)(img, snr, q))
    inputs = [images, tf.constant([5.0, 9.0]), tf.constant([28.0, 37.0])]
    path = str(tmp_path / "proxy.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    # The noise generator state travels with the weights: the next calls agree.
    np.testing.assert_allclose(loaded(inputs).numpy(), model(inputs).numpy(), atol=1e-6)


def test_bad_arguments_raise(images):
    with pytest.raises(ValueError, match="latent_channels"):
        ProxyNetwork(latent_channels=0)
    with pytest.raises(ValueError, match="snr_range"):
        ProxyNetwork(snr_range=(12.0, 2.0))
    with pytest.raises(ValueError, match="multiples of 4"):
        ProxyNetwork(num_filters=4)(tf.zeros([1, 10, 12, 3]), 5.0, 30.0)
    with pytest.raises(TypeError, match="chain_fn"):
        straight_through_chain(images, images, "bpg")
