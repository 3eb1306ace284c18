"""Tests for sem_sionna.train.ciba: batched feature extraction and the argument checks.

The training behaviour (loss decrease, IB separation of features) is tested with the
nets in tests/nets/test_vae.py and tests/nets/test_ciba.py.
"""
import numpy as np
import pytest

from sem_sionna.nets.ciba import NoisePredictor
from sem_sionna.nets.vae import VAE
from sem_sionna.train.ciba import (encode_features, feature_statistics, train_noise_predictor,
                                   train_vae)


@pytest.fixture(scope="module")
def vae():
    model = VAE(8, image_size=16, filters=4, num_stages=2, seed=1)
    model.build((None, 16, 16, 3))
    return model


def test_encode_features_does_not_depend_on_the_batch_size(vae, rng):
    images = rng.uniform(size=(7, 16, 16, 3)).astype(np.float32)
    whole = encode_features(vae, images, batch_size=7)
    assert whole.shape == (7, 8) and whole.dtype == np.float32
    np.testing.assert_allclose(encode_features(vae, images, batch_size=3), whole, atol=1e-6)
    np.testing.assert_allclose(whole, np.asarray(vae.encode(images)[0]), atol=1e-6)


def test_feature_statistics_floor_the_std(vae):
    mean, std = feature_statistics(vae, np.zeros((4, 16, 16, 3), np.float32))
    assert mean.shape == std.shape == (8,)
    np.testing.assert_array_equal(std, np.float32(1e-6))  # identical images: constant features


def test_bad_arguments_raise(vae, rng):
    images = rng.uniform(size=(4, 16, 16, 3)).astype(np.float32)
    with pytest.raises(ValueError, match="images"):
        encode_features(vae, images[..., :1])
    with pytest.raises(ValueError, match="kl_weight"):
        train_vae(vae, images, 1, kl_weight=-1.0)
    with pytest.raises(ValueError, match="batch_size"):
        train_noise_predictor(NoisePredictor(8), vae, images, np.zeros(8), np.ones(8), 0.1, 1,
                              batch_size=0)
