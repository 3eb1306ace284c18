"""Tests for sem_sionna.nets.ciba (CIBA noise predictor, importance, PHIF/PLIF) and its training."""
import keras
import numpy as np
import pytest
import tensorflow as tf
from layer_checks import assert_modes_agree, roundtrip

from sem_sionna.nets.ciba import (
    LatentClassifier,
    NoisePredictor,
    ciba_loss,
    ciba_task_loss,
    importance_score,
    perturb_features,
)
from sem_sionna.nets.vae import VAE, VAEEncoder
from sem_sionna.train.ciba import (encoder_features, feature_statistics, train_noise_predictor,
                                   train_task_noise_predictor)


def test_importance_is_awgn_capacity():
    # C = 0.5 log2(1 + P / sigma^2): sigma^2 = 1/3 -> 1 bit, sigma^2 = 1/15 -> 2 bits
    imp = importance_score(tf.constant([1 / 3, 1 / 15, 1e9]))
    np.testing.assert_allclose(imp.numpy(), [1.0, 2.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(importance_score(tf.constant([1.0]), 3.0).numpy(), [1.0], atol=1e-6)


def test_ciba_loss_closed_form():
    x = tf.zeros([2, 4, 4, 3])
    x_hat = tf.fill([2, 4, 4, 3], 0.1)
    noise_var = tf.constant([[1 / 3, 1 / 15], [1 / 3, 1 / 3]])
    loss, metrics = ciba_loss(x, x_hat, noise_var, beta=0.5)
    # mse 0.01, capacity per example 3 and 2 bits -> mean 2.5
    np.testing.assert_allclose(metrics["mse"].numpy(), 0.01, rtol=1e-5)
    np.testing.assert_allclose(metrics["capacity"].numpy(), 2.5, rtol=1e-5)
    np.testing.assert_allclose(loss.numpy(), 0.01 + 0.5 * 2.5, rtol=1e-5)
    with pytest.raises(ValueError, match="beta"):
        ciba_loss(x, x_hat, noise_var, beta=-1.0)


def test_noise_predictor_shapes_bounds_and_init(rng):
    pred = NoisePredictor(6, units=8, init_log_noise_var=-5.0, max_log_noise_var=9.0)
    x = tf.constant(rng.normal(size=(5, 6)).astype(np.float32))
    out = pred(x)
    assert out.shape == (5, 6) and out.dtype == tf.float32
    # small initial kernel: close to the initial log-variance
    np.testing.assert_allclose(out.numpy(), -5.0, atol=0.2)
    big = pred(x * 1e6).numpy()
    assert np.all(np.abs(big) <= 9.0)
    imp = pred.importance(x).numpy()
    np.testing.assert_allclose(imp, 0.5 * np.log2(1 + np.exp(-out.numpy())), rtol=1e-5)


def test_noise_predictor_modes_and_round_trip(rng, tmp_path):
    pred = NoisePredictor(6, units=8)
    x = tf.constant(rng.normal(size=(5, 6)).astype(np.float32))
    assert_modes_agree(pred, x)
    pred(x)
    loaded = roundtrip(pred, tmp_path)
    np.testing.assert_allclose(loaded(x), pred(x), atol=1e-6)
    inp = keras.Input((6,))
    model = keras.Model(inp, NoisePredictor(6, units=8)(inp))
    np.testing.assert_allclose(roundtrip(model, tmp_path, "m.keras")(x), model(x), atol=1e-6)


def test_perturb_features_phif_plif(rng):
    x = tf.zeros([200, 4])
    imp = tf.constant(np.tile([[0.1, 0.5, 2.0, 3.0]], (200, 1)), tf.float32)
    phif = perturb_features(x, imp, 1.0, "PHIF", 4.0, seed=1).numpy()
    plif = perturb_features(x, imp, 1.0, "PLIF", 4.0, seed=1).numpy()
    assert np.all(phif[:, :2] == 0) and np.all(plif[:, 2:] == 0)
    # noise variance 4: sample std of 400 values within a few standard errors of 2
    assert abs(phif[:, 2:].std() - 2.0) < 0.25 and abs(plif[:, :2].std() - 2.0) < 0.25
    with pytest.raises(ValueError, match="mode"):
        perturb_features(x, imp, 1.0, "ALL", 1.0)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="latent_dim"):
        NoisePredictor(0)
    with pytest.raises(ValueError, match="max_log_noise_var"):
        NoisePredictor(4, max_log_noise_var=0.0)
    with pytest.raises(ValueError, match="init_log_noise_var"):
        NoisePredictor(4, init_log_noise_var=-10.0, max_log_noise_var=9.0)
    with pytest.raises(ValueError, match="features"):
        NoisePredictor(4).build((None, 5))


def test_ib_training_separates_used_from_unused_features(rng):
    """A decoder that ignores half of the features: CIBA must find them unimportant."""
    vae = VAE(4, 16, 4, 2, seed=0)
    images = rng.uniform(size=(64, 16, 16, 3)).astype(np.float32)
    vae.build(images.shape)
    # features 0 and 1 drive the decoder strongly, features 2 and 3 do not reach it
    kernel = vae.decoder.head.kernel
    kernel.assign(tf.concat([30.0 * kernel[:2], tf.zeros_like(kernel[2:])], 0))
    mean, std = feature_statistics(vae, images)
    pred = NoisePredictor(4, units=16)
    hist = train_noise_predictor(pred, vae, images, mean, std, beta=1e-3, epochs=15,
                                 batch_size=32, lr=1e-2)
    assert hist["capacity"][-1] < hist["capacity"][0]
    imp = pred.importance(tf.constant((np.asarray(vae.encode(images)[0]) - mean) / std)).numpy()
    assert imp[:, 2:].mean() < 0.5 * imp[:, :2].mean()


def test_ciba_task_loss_closed_form():
    labels = tf.constant([0, 1])
    logits = tf.constant([[2.0, 0.0], [0.0, 0.0]])
    noise_var = tf.fill([2, 3], 1.0)  # C_k = 0.5 bit each
    loss, m = ciba_task_loss(labels, logits, noise_var, beta=0.1)
    ce = (np.log1p(np.exp(-2.0)) + np.log(2.0)) / 2
    np.testing.assert_allclose(m["ce"], ce, rtol=1e-6)
    np.testing.assert_allclose(m["capacity"], 1.5, rtol=1e-6)
    np.testing.assert_allclose(loss, ce + 0.15, rtol=1e-6)
    np.testing.assert_allclose(m["accuracy"], 0.5)  # the tie predicts class 0
    with pytest.raises(ValueError, match="beta"):
        ciba_task_loss(labels, logits, noise_var, beta=-1.0)


def test_latent_classifier_shapes_and_config_round_trip(rng):
    head = LatentClassifier(6, 4, units=8)
    x = tf.constant(rng.normal(size=(5, 6)).astype(np.float32))
    head.build(x.shape)
    assert head(x).shape == (5, 4)
    restored = LatentClassifier.from_config(head.get_config())
    restored.build(x.shape)
    restored.set_weights(head.get_weights())
    np.testing.assert_allclose(restored(x), head(x), atol=1e-6)
    with pytest.raises(ValueError, match="latent_dim"):
        LatentClassifier(6, 4).build((None, 5))


def test_task_ciba_training_separates_used_from_unused_features(rng):
    """A head that reads only features 0 and 1: the task-loss CIBA must find 2 and 3
    unimportant."""
    enc = VAEEncoder(4, filters=4, num_stages=2)
    images = rng.uniform(size=(64, 16, 16, 3)).astype(np.float32)
    enc.build(images.shape)
    mu = encoder_features(enc, images)
    mean, std = mu.mean(0), np.maximum(mu.std(0), 1e-6)
    labels = (((mu[:, 0] - mean[0]) / std[0] + (mu[:, 1] - mean[1]) / std[1]) > 0).astype(int)
    head = LatentClassifier(4, 2, units=8, num_layers=0)
    head.build((None, 4))
    w = np.zeros((4, 2), np.float32)
    w[:2, 1] = 5.0 / std[:2]
    head.out.kernel.assign(w)
    head.out.bias.assign([0.0, -5.0 * float(np.sum(mean[:2] / std[:2]))])
    pred = NoisePredictor(4, units=16)
    hist = train_task_noise_predictor(pred, enc, head, images, labels, mean, std, beta=1e-2,
                                      epochs=15, batch_size=32, lr=1e-2)
    assert hist["capacity"][-1] < hist["capacity"][0]
    imp = pred.importance(tf.constant((mu - mean) / std)).numpy()
    assert imp[:, 2:].mean() < 0.5 * imp[:, :2].mean()
