"""SD-JSCC training schedule: the losses decrease, the store reloads, arguments are checked."""
import numpy as np
import pytest

from sem_sionna.data import scenes
from sem_sionna.nets.classifier import SceneClassifier
from sem_sionna.nets.sdjscc import SDJSCCDecoder, SDJSCCEncoder, uniform_weights
from sem_sionna.train import WeightStore
from sem_sionna.train.sdjscc import (ClassifierTraining, JSCCTraining, jscc_codec,
                                     noisy_bits, pretrain_classifier, train_jscc,
                                     train_sdjscc_schemes)


@pytest.fixture(scope="module")
def images():
    x, _, y = scenes(64, size=16, seed=0, num_classes=3, max_objects=1)
    return x, y


def test_pixel_training_reduces_loss(images):
    x, _ = images
    enc, dec = SDJSCCEncoder(4, filters=8), SDJSCCDecoder(filters=8)
    hist = train_jscc(enc, dec, x, epochs=5, batch_size=16, lr=3e-3, pb_max=0.05, seed=1)
    assert hist["loss"][-1] < 0.8 * hist["loss"][0]
    assert hist["mse"] == hist["loss"]


def test_semantic_training_reduces_loss_and_freezes_classifier(images):
    x, _ = images
    clf = SceneClassifier(3, width=4, depth=2)
    clf.build((None, 16, 16, 3))
    before = [w.copy() for w in clf.get_weights()]
    enc, dec = SDJSCCEncoder(4, filters=8), SDJSCCDecoder(filters=8)
    weights = [None, np.linspace(0.5, 1.5, 8, dtype=np.float32) / 8]
    hist = train_jscc(enc, dec, x, epochs=5, batch_size=16, lr=3e-3, classifier=clf,
                      weights=weights, pixel_weight=0.5, seed=1)
    assert hist["loss"][-1] < hist["loss"][0]
    assert hist["semantic"][-1] < hist["semantic"][0]
    np.testing.assert_allclose(hist["loss"], 0.5 * np.array(hist["mse"]) +
                               np.array(hist["semantic"]), rtol=1e-4)
    for a, b in zip(clf.get_weights(), before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("snr_db", [0.0, 5.0, 20.0])
def test_q_plus_n_channel_statistics(snr_db):
    # S2 eqs. 14-15: x' = D(q + N); bits are the real and imaginary parts of channel uses
    # with E|q1 + j q2|^2 = 1, so each bit gets real noise of variance no / 2
    import keras
    no = 10 ** (-snr_db / 10)
    rng = np.random.default_rng(0)
    q = rng.integers(0, 2, (64, 4, 4, 64)).astype(np.float32)  # 65 536 bits
    y = np.asarray(noisy_bits(q, no, keras.random.SeedGenerator(3)))
    noise = (y - q).ravel().astype(np.float64)
    n, var = noise.size, no / 2
    assert abs(noise.mean()) < 5 * np.sqrt(var / n)
    assert abs(noise.var() / var - 1) < 5 * np.sqrt(2 / n)  # var of a sample variance
    assert abs(np.mean(noise ** 3)) < 5 * np.sqrt(15 * var ** 3 / n)  # symmetric
    assert abs(np.mean(np.abs(q[..., 0::2] + 1j * q[..., 1::2]) ** 2) - 1) < 0.02


def test_q_plus_n_training_reduces_loss(images):
    x, _ = images
    enc, dec = SDJSCCEncoder(4, filters=8), SDJSCCDecoder(filters=8)
    hist = train_jscc(enc, dec, x, epochs=5, batch_size=16, lr=3e-3, channel="awgn",
                      no=10 ** -0.5, seed=1)
    assert hist["loss"][-1] < 0.8 * hist["loss"][0]


@pytest.mark.parametrize("kwargs, name", [
    (dict(pb_max=0.7), "pb_max"),
    (dict(channel="awgn"), "no"),
    (dict(channel="rayleigh"), "channel"),
    (dict(pixel_weight=0.0), "pixel_weight"),
    (dict(weights=[None, np.ones(8)]), "classifier"),
])
def test_train_jscc_rejects_bad_arguments(images, kwargs, name):
    enc, dec = SDJSCCEncoder(4, filters=4), SDJSCCDecoder(filters=4)
    with pytest.raises(ValueError, match=name):
        train_jscc(enc, dec, images[0], epochs=1, **kwargs)


def test_weights_must_match_classifier_stages(images):
    clf = SceneClassifier(3, width=4, depth=2)
    enc, dec = SDJSCCEncoder(4, filters=4), SDJSCCDecoder(filters=4)
    with pytest.raises(ValueError, match="stage"):
        train_jscc(enc, dec, images[0], 1, classifier=clf, weights=[np.ones(4)])


def test_schemes_train_once_then_load(images, tmp_path):
    x, y = images
    store = WeightStore(tmp_path)
    clf_cfg = ClassifierTraining(num_classes=3, width=4, depth=2, epochs=1, batch_size=16,
                                 lr=1e-3)
    clf, hist = pretrain_classifier(store, x, y, clf_cfg, seed=0)
    assert len(hist["loss"]) == 1
    training = JSCCTraining(filters=4, num_res_blocks=1, pretrain_epochs=1, finetune_epochs=1,
                            batch_size=16, lr=1e-3, finetune_lr=1e-3, pixel_weight=1.0)
    losses = {"deep_jscc": None, "uniform": uniform_weights([None, 8])}
    kwargs = dict(latent_channels=2, pb_max=0.1, seed=0)
    codecs, summaries = train_sdjscc_schemes(store, x, clf, losses, training, **kwargs)
    assert set(summaries) == {"jscc_pretrain", "deep_jscc", "uniform"}
    assert "semantic" in summaries["uniform"] and "semantic" not in summaries["deep_jscc"]
    out = {k: np.asarray(c(x[:4])) for k, c in codecs.items()}
    again, _ = train_sdjscc_schemes(store, x, clf, losses, training, **kwargs)  # loads
    for k, c in again.items():
        np.testing.assert_allclose(np.asarray(c(x[:4])), out[k], atol=1e-6)
    assert len(list(tmp_path.glob("*/done.json"))) == 4


def test_jscc_codec_layers():
    codec = jscc_codec(16, 3, filters=4)
    enc, quant, dec = codec.layers
    assert isinstance(enc, SDJSCCEncoder) and isinstance(dec, SDJSCCDecoder)
    assert codec.output_shape == (None, 16, 16, 3)


@pytest.mark.parametrize("kind, kwargs, name", [
    (ClassifierTraining, dict(num_classes=1), "num_classes"),
    (ClassifierTraining, dict(epochs=0), "epochs"),
    (ClassifierTraining, dict(lr=0.0), "lr"),
    (JSCCTraining, dict(batch_size=0), "batch_size"),
    (JSCCTraining, dict(finetune_lr=-1e-3), "finetune_lr"),
    (JSCCTraining, dict(pixel_weight=-1.0), "pixel_weight"),
])
def test_training_configs_reject_bad_fields(kind, kwargs, name):
    valid = {ClassifierTraining: dict(num_classes=3, width=4, depth=2, epochs=1,
                                      batch_size=16, lr=1e-3),
             JSCCTraining: dict(filters=4, num_res_blocks=1, pretrain_epochs=1,
                                finetune_epochs=1, batch_size=16, lr=1e-3, finetune_lr=1e-3)}
    with pytest.raises(ValueError, match=name):
        kind(**{**valid[kind], **kwargs})
