"""Tests of sem_sionna.links.mimo_jscc (DeepJSCC-MIMO and ADJSCC baselines)."""
import numpy as np
import pytest
import tensorflow as tf

from sem_sionna.links.mimo_jscc import MIMOJSCC, mimo_jscc_cbr
from sem_sionna.phy import MIMOChannel
from sem_sionna.utils.seeding import reseed


@pytest.fixture
def images():
    return tf.random.uniform([3, 16, 16, 3])


@pytest.mark.parametrize("csi_aware", [True, False])
def test_output_shape_range_and_gradients(images, csi_aware):
    net = MIMOJSCC(MIMOChannel(2, 2, seed=1), max_latent_channels=4, num_filters=8,
                   csi_aware=csi_aware)
    with tf.GradientTape() as tape:
        x_hat = net(images, 6.0, num_latent=2)
        loss = tf.reduce_mean(tf.square(x_hat - images))
    assert x_hat.shape == images.shape
    assert 0.0 <= float(tf.reduce_min(x_hat)) and float(tf.reduce_max(x_hat)) <= 1.0
    grads = tape.gradient(loss, net.trainable_weights)
    assert all(g is not None for g in grads)
    # encoder and decoder both learn
    by_id = {id(w): g for w, g in zip(net.trainable_weights, grads)}
    for layer in (net.enc[0], net.dec_out):
        assert float(tf.reduce_max(tf.abs(by_id[id(layer.kernel)]))) > 0


def test_unsent_latent_channels_do_not_reach_the_decoder(images):
    """With c = 2 of 4 channels, the encoder's channels 2, 3 have no effect on x_hat."""
    net = MIMOJSCC(MIMOChannel(2, 2, seed=1), max_latent_channels=4, num_filters=8)
    net(images, 10.0, num_latent=2)
    reseed(net, 3)
    ref = net(images, 10.0, num_latent=2).numpy()
    kernel = net.enc_out.kernel
    # output channels 2, 3 (real parts) and 6, 7 (imaginary parts) are the unsent latents
    delta = np.zeros(kernel.shape, np.float32)
    delta[..., [2, 3, 6, 7]] = 1.0
    kernel.assign(kernel + delta)
    reseed(net, 3)
    np.testing.assert_allclose(net(images, 10.0, num_latent=2).numpy(), ref, atol=1e-6)


def test_cbr_and_validation(images):
    assert mimo_jscc_cbr(8, 2) == 8 / 96
    net = MIMOJSCC(MIMOChannel(2, 2), max_latent_channels=4, num_filters=8)
    with pytest.raises(ValueError, match="num_latent"):
        net(images, 6.0, num_latent=3)
    with pytest.raises(ValueError, match="max_latent_channels"):
        MIMOJSCC(MIMOChannel(2, 2), max_latent_channels=5)
    with pytest.raises(TypeError, match="channel"):
        MIMOJSCC("rayleigh")
    with pytest.raises(ValueError, match="multiples of 4"):
        net(tf.zeros([1, 10, 10, 3]), 6.0)


def test_round_trip_through_config_and_weights(images):
    net = MIMOJSCC(MIMOChannel(2, 2, seed=2), max_latent_channels=4, num_filters=8,
                   csi_aware=False)
    net(images, 6.0)
    clone = MIMOJSCC.from_config(net.get_config())
    clone(images, 6.0)
    clone.set_weights(net.get_weights())
    reseed(net, 5)
    reseed(clone, 5)
    np.testing.assert_array_equal(clone(images, 6.0).numpy(), net(images, 6.0).numpy())


@pytest.mark.parametrize("csi_aware, side_dim", [(True, 4), (False, 2)])
def test_attention_modules_see_the_side_information(csi_aware, side_dim):
    """Every AF module gets [SNR, fraction sent] (+ the 2 eigen-channel SNRs), unscaled."""
    net = MIMOJSCC(MIMOChannel(2, 2, seed=1), max_latent_channels=4, num_filters=8,
                   csi_aware=csi_aware)
    net.build((None, 16, 16, 3))
    assert net.side_dim == side_dim
    for af in net.enc_af + net.dec_af:
        assert af.side_scale == 1.0 and af.hidden_units == 16
        assert af.fc1.kernel.shape == (8 + side_dim, 16)
