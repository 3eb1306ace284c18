"""Tests for sem_sionna.links.importance_mimo (the S4 link and ``transmit``)."""
import keras
import numpy as np
import pytest
import tensorflow as tf
from layer_checks import roundtrip

from sem_sionna.links.importance_mimo import ImportanceMIMOLink, transmit
from sem_sionna.nets.ciba import LatentClassifier, NoisePredictor
from sem_sionna.nets.vae import VAEDecoder, VAEEncoder
from sem_sionna.phy.allocation import ALLOCATION_SCHEMES, subchannel_matching
from sem_sionna.utils.seeding import reseed


def _parts(d=8):
    return (VAEEncoder(d, filters=4, num_stages=2),
            VAEDecoder(d, image_size=16, filters=4, num_stages=2),
            NoisePredictor(d, units=8))


def _link(scheme="WMMSE-M", d=8, seed=5, parts=None, **kw):
    enc, dec, pred = parts or _parts(d)
    link = ImportanceMIMOLink(enc, dec, pred, 2, 2, scheme=scheme, seed=seed, **kw)
    link.build((None, 16, 16, 3))
    return link


def _images(rng, n=6):
    return tf.constant(rng.uniform(size=(n, 16, 16, 3)).astype(np.float32))


def test_noiseless_link_returns_the_clean_reconstruction(rng):
    x = _images(rng)
    for scheme in ("EPA", "WMMSE-M"):
        link = _link(scheme, alpha=0.0)  # alpha = 0: every feature gets power
        y, info = link(x, 150.0, return_info=True)
        np.testing.assert_allclose(info["features_hat"], info["features"], atol=1e-4)
        mu, _ = link.encoder(x)
        np.testing.assert_allclose(y, link.decoder(mu), atol=1e-4)
        assert info["power"].shape == (6, 4, 2) and info["gains"].shape == (6, 4, 2)
        np.testing.assert_allclose(info["power"].numpy().sum(-1), 1.0, atol=1e-5)
        # graph and XLA draw other channels, but a noiseless link ignores them
        for jit in ((False, True) if scheme == "WMMSE-M" else ()):
            out = tf.function(lambda t, lk=link: lk(t, 150.0), jit_compile=jit)(x)
            np.testing.assert_allclose(out, y, atol=1e-4)


def test_feature_error_matches_lmmse_theory(rng):
    """Per-feature MSE given x: x^2/(1+snr)^2 + snr/(1+snr)^2 with snr = p g."""
    x = tf.tile(_images(rng, 2), [200, 1, 1, 1])  # each copy gets its own channel and noise
    link = _link("MMSE-M", mse_model="lmmse")
    _, info = link(x, 5.0, return_info=True)
    slot_snr = tf.reshape(info["power"] * info["gains"], [400, -1])
    snr = tf.gather(slot_snr, tf.argsort(info["assignment"], axis=-1), batch_dims=1).numpy()
    f = info["features"].numpy()
    errs = (f - info["features_hat"].numpy()) ** 2
    expected = (f ** 2 + snr) / (1 + snr) ** 2
    stderr = np.std(errs) / np.sqrt(errs.size)
    assert abs(errs.mean() - expected.mean()) < 4 * stderr
    # a zero-forcing receiver (no shrinkage) would have the larger error mean(1 / snr)
    on = snr > 0
    assert np.mean(1.0 / snr[on]) > expected[on].mean() + 4 * stderr


def test_feature_error_matches_zf_theory(rng):
    """ZF model: unbiased estimate, per-feature MSE 1 / (p g) whatever x."""
    x = tf.tile(_images(rng, 2), [200, 1, 1, 1])
    link = _link("WMMSE-M", mse_model="zf", alpha=1.0)
    _, info = link(x, 5.0, return_info=True)
    slot_snr = tf.reshape(info["power"] * info["gains"], [400, -1])
    snr = tf.gather(slot_snr, tf.argsort(info["assignment"], axis=-1), batch_dims=1).numpy()
    f, f_hat = info["features"].numpy(), info["features_hat"].numpy()
    on = snr > 0
    z = (f_hat - f)[on] * np.sqrt(snr[on])  # standard normal under the ZF model
    assert abs(z.mean()) < 4 / np.sqrt(z.size)
    assert abs(np.mean(z ** 2) - 1.0) < 4 * np.sqrt(2 / z.size)
    np.testing.assert_array_equal(f_hat[~on], 0.0)  # features without power are not sent


def test_matching_and_common_random_numbers(rng):
    x = _images(rng)
    parts = _parts()
    infos = {}
    for scheme in ALLOCATION_SCHEMES:
        link = _link(scheme, parts=parts)
        reseed(link.channel, 11)
        infos[scheme] = link(x, 0.0, return_info=True)[1]
    for scheme in ALLOCATION_SCHEMES:  # same channel draws whatever the scheme
        np.testing.assert_allclose(infos[scheme]["gains"], infos["EPA"]["gains"])
    m = infos["EPA-M"]
    np.testing.assert_array_equal(m["assignment"], subchannel_matching(
        m["importance"], tf.reshape(m["gains"], [6, -1])))
    np.testing.assert_array_equal(infos["EPA"]["assignment"], np.tile(np.arange(8), (6, 1)))


def test_transmit_is_reproducible(rng):
    link = _link()
    a, mse_a = transmit(link, _images(rng), 3.0, seed=4, batch_size=4)
    link(_images(rng), 3.0)  # advance the generator
    b, mse_b = transmit(link, _images(np.random.default_rng(1234)), 3.0, seed=4, batch_size=4)
    assert a.shape == (6, 16, 16, 3)
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert mse_a == pytest.approx(mse_b)


def test_transmit_from_features_equals_transmit_from_images(rng):
    link = _link(feature_mean=np.full(8, 0.1), feature_std=np.full(8, 2.0))
    x = _images(rng)
    a, mse_a = transmit(link, x, 3.0, seed=4, batch_size=4, per_image=True)
    b, mse_b = transmit(link, None, 3.0, seed=4, batch_size=4, per_image=True,
                        features=link.features(x).numpy())
    np.testing.assert_allclose(b, a, atol=1e-6)
    np.testing.assert_allclose(mse_b, mse_a, rtol=1e-5)
    c, _ = transmit(link, None, 9.0, seed=5, batch_size=4, features=link.features(x).numpy())
    assert np.abs(c - a).max() > 1e-3  # another SNR and draw: another output


def test_transmit_features_rejects_bad_features():
    link = _link()
    with pytest.raises(ValueError, match="`x`"):
        link.transmit_features(np.zeros((3, 5), np.float32), 3.0)
    with pytest.raises(TypeError, match="`x`"):
        link.transmit_features(np.zeros((3, 8), np.int32), 3.0)


def test_link_keras_round_trip(rng, tmp_path):
    x = _images(rng)
    img = keras.Input((16, 16, 3))
    snr = keras.Input((), dtype="float32")
    link = _link("WMMSE", feature_mean=np.full(8, 0.1), feature_std=np.full(8, 2.0))
    model = keras.Model([img, snr], link(img, snr))
    loaded = roundtrip(model, tmp_path)
    snr_db = tf.fill([6], 4.0)
    reseed(model, 2)
    reseed(loaded, 2)
    np.testing.assert_allclose(loaded([x, snr_db]), model([x, snr_db]), atol=1e-5)
    inner = next(layer for layer in loaded.layers if isinstance(layer, ImportanceMIMOLink))
    np.testing.assert_allclose(inner.feature_std.numpy(), 2.0)
    assert inner.scheme == "WMMSE" and inner.num_channel_uses == 4


def test_link_bad_arguments():
    enc, dec, pred = _parts()
    with pytest.raises(ValueError, match="scheme"):
        ImportanceMIMOLink(enc, dec, pred, scheme="WF")
    with pytest.raises(ValueError, match="multiple"):
        ImportanceMIMOLink(enc, dec, pred, 3, 3)
    with pytest.raises(ValueError, match="latent_dim"):
        ImportanceMIMOLink(enc, dec, NoisePredictor(4))
    with pytest.raises(TypeError, match="noise_predictor"):
        ImportanceMIMOLink(enc, dec, enc)
    with pytest.raises(ValueError, match="alpha"):
        ImportanceMIMOLink(enc, dec, pred, alpha=-1.0)


def test_link_with_a_classifier_head_returns_logits(rng):
    enc = VAEEncoder(8, filters=4, num_stages=2)
    head = LatentClassifier(8, 3, units=8)
    link = ImportanceMIMOLink(enc, head, NoisePredictor(8, units=8), 2, 2, scheme="WMMSE-M",
                              seed=1)
    link.build((None, 16, 16, 3))
    x = _images(rng)
    logits, info = link(x, 150.0, return_info=True)
    assert logits.shape == (6, 3)
    np.testing.assert_allclose(logits, head(enc(x)[0]), atol=1e-3)  # noiseless: clean logits
    assert link.cbr == 8 / (16 * 16 * 3)
