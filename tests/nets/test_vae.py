"""Tests for sem_sionna.nets.vae (VAE encoder/decoder) and sem_sionna.train.ciba.train_vae."""
import keras
import numpy as np
import pytest
import tensorflow as tf
from layer_checks import assert_modes_agree, roundtrip

from sem_sionna.nets.vae import VAE, VAEDecoder, VAEEncoder, kl_divergence
from sem_sionna.train.ciba import feature_statistics, train_vae


def _images(rng, n=4, size=16):
    return tf.constant(rng.uniform(size=(n, size, size, 3)).astype(np.float32))


def test_shapes_and_range(rng):
    vae = VAE(8, image_size=16, filters=4, num_stages=2)
    x = _images(rng)
    mu, logvar = vae.encode(x)
    assert mu.shape == (4, 8) and logvar.shape == (4, 8) and mu.dtype == tf.float32
    y = vae(x)
    assert y.shape == (4, 16, 16, 3)
    assert np.all((y.numpy() > 0) & (y.numpy() < 1))
    dec = VAEDecoder(8, image_size=(16, 8), filters=4, num_stages=2)
    assert dec(tf.zeros([2, 8])).shape == (2, 16, 8, 3)


def test_kl_divergence_closed_form():
    # KL(N(mu, s^2) || N(0, 1)) = 0.5 (s^2 + mu^2 - 1 - ln s^2), summed over features
    mu = tf.constant([[0.0, 1.0], [2.0, 0.0]])
    logvar = tf.constant([[0.0, 0.0], [np.log(0.25), np.log(4.0)]], tf.float32)
    ref = [0.5, 0.5 * (0.25 + 4 - 1 - np.log(0.25)) + 0.5 * (4 - 1 - np.log(4.0))]
    np.testing.assert_allclose(kl_divergence(mu, logvar).numpy(), ref, rtol=1e-6)


def test_sampling_is_seeded_and_inference_uses_mean(rng):
    x = _images(rng)
    a, b = VAE(8, 16, 4, 2, seed=3), VAE(8, 16, 4, 2, seed=3)
    a.build(x.shape)
    b.build(x.shape)
    b.set_weights(a.get_weights())
    np.testing.assert_allclose(a(x, training=True), b(x, training=True), atol=1e-6)
    mu, _ = a.encode(x)
    np.testing.assert_allclose(a(x), a.decode(mu), atol=1e-6)
    assert not np.allclose(a(x, training=True), a(x), atol=1e-6)


def test_modes_agree_and_keras_round_trip(rng, tmp_path):
    x = _images(rng)
    enc = VAEEncoder(8, filters=4, num_stages=2)
    dec = VAEDecoder(8, image_size=16, filters=4, num_stages=2)
    assert_modes_agree(lambda t: enc(t)[0], x)
    assert_modes_agree(dec, tf.constant(rng.normal(size=(3, 8)).astype(np.float32)))
    inp = keras.Input((16, 16, 3))
    model = keras.Model(inp, dec(enc(inp)[0]))
    loaded = roundtrip(model, tmp_path)
    np.testing.assert_allclose(loaded(x), model(x), atol=1e-6)
    vae = VAE(8, 16, 4, 2, seed=1)
    vae(x)
    vae2 = roundtrip(vae, tmp_path, "vae.keras")
    np.testing.assert_allclose(vae2(x), vae(x), atol=1e-6)


def test_training_reduces_loss_and_gives_feature_statistics(rng):
    # two-colour images: the VAE must learn which colour an image has
    colours = rng.uniform(size=(2, 3)).astype(np.float32)
    ids = rng.integers(0, 2, size=64)
    images = np.broadcast_to(colours[ids][:, None, None, :], (64, 16, 16, 3)).copy()
    vae = VAE(4, 16, 8, 2, seed=0)
    history = train_vae(vae, images, epochs=15, batch_size=16, lr=5e-3, kl_weight=0.01)
    assert set(history) >= {"loss", "mse", "kl", "psnr"}
    # better than the best image-independent output (the mean image): the latent is used
    mse = np.mean((vae(images).numpy() - images) ** 2)
    assert mse < 0.3 * images.var(0).mean()
    mean, std = feature_statistics(vae, images)
    assert mean.shape == std.shape == (4,) and np.all(std > 0)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="latent_dim"):
        VAEEncoder(0)
    with pytest.raises(ValueError, match="image_size"):
        VAEDecoder(4, image_size=20, num_stages=3)
    with pytest.raises(ValueError, match="images"):
        VAEEncoder(4).build((None, 16, 16, 1))
    with pytest.raises(ValueError, match="z"):
        VAEDecoder(4, 16).build((None, 5))
    with pytest.raises(TypeError, match="images"):
        VAEEncoder(4, 4, 2)(tf.zeros([1, 16, 16, 3], tf.int32))
    with pytest.raises(ValueError, match="kl_weight"):
        train_vae(VAE(4, 16, 4, 2), np.zeros((4, 16, 16, 3), np.float32), 1, kl_weight=-1.0)
