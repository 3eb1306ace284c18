"""SceneClassifier: shapes, features, validation, modes, .keras round trip, training."""
import numpy as np
import pytest
import tensorflow as tf

from sem_sionna.data import scenes
from sem_sionna.nets.classifier import SceneClassifier, predict_labels
from sem_sionna.train.classifier import train_classifier
from layer_checks import assert_modes_agree, roundtrip


def _images(rng, b=2, h=16, w=24):
    return tf.constant(rng.random((b, h, w, 3)), tf.float32)


def test_logits_and_feature_shapes(rng):
    clf = SceneClassifier(5, width=4, depth=3)
    x = _images(rng, 2, 20, 16)
    logits = clf(x)
    assert logits.shape == (2, 5) and logits.dtype == tf.float32
    maps = clf.features(x)
    assert [tuple(f.shape) for f in maps] == [(2, 20, 16, 4), (2, 10, 8, 8), (2, 5, 4, 16)]
    assert clf.stage_channels == (4, 8, 16)
    # logits are the head applied to the last feature map
    np.testing.assert_allclose(clf.classify(maps), logits, atol=1e-6)
    assert all(float(tf.reduce_min(f)) >= 0.0 for f in maps)  # post-ReLU


@pytest.mark.parametrize("kwargs, name", [
    (dict(num_classes=1), "num_classes"),
    (dict(num_classes=3, width=0), "width"),
    (dict(num_classes=3, depth=0), "depth"),
    (dict(num_classes=3, dropout=1.0), "dropout"),
    (dict(num_classes=3, head="max"), "head"),
    (dict(num_classes=3, head="fc", fc_units=0), "fc_units"),
])
def test_bad_arguments(kwargs, name):
    with pytest.raises((ValueError, TypeError), match=name):
        SceneClassifier(**kwargs)


def test_bad_images(rng):
    clf = SceneClassifier(3, width=4, depth=2)
    with pytest.raises(ValueError, match="images"):
        clf(tf.zeros((1, 8, 8, 3)))
    with pytest.raises(ValueError, match="images"):
        clf(tf.zeros((1, 16, 16, 1)))


def test_modes_agree(rng):
    clf = SceneClassifier(4, width=4, depth=2)
    x = _images(rng, 2, 16, 16)
    clf(x)
    assert_modes_agree(lambda t: clf(t, training=False), x, atol=1e-4)


def test_keras_roundtrip_identical(rng, tmp_path):
    clf = SceneClassifier(4, width=4, depth=2, dropout=0.1)
    x = _images(rng, 3, 16, 16)
    out = clf(x)
    loaded = roundtrip(clf, tmp_path)
    assert isinstance(loaded, SceneClassifier)
    assert loaded.get_config()["dropout"] == 0.1 and loaded.depth == 2
    np.testing.assert_allclose(loaded(x), out, atol=1e-6)
    for a, b in zip(loaded.features(x), clf.features(x)):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_fc_head_shapes_roundtrip_and_fixed_size(rng, tmp_path):
    clf = SceneClassifier(4, width=4, depth=2, head="fc", fc_units=8)
    x = _images(rng, 3, 16, 16)
    out = clf(x)
    assert out.shape == (3, 4)
    assert tuple(clf.hidden.kernel.shape) == (8 * 8 * 8, 8)  # flattened last maps
    np.testing.assert_allclose(clf.classify(clf.features(x)), out, atol=1e-6)
    loaded = roundtrip(clf, tmp_path)
    assert loaded.head_type == "fc" and loaded.fc_units == 8
    np.testing.assert_allclose(loaded(x), out, atol=1e-6)
    with pytest.raises(ValueError, match="fixed image size"):
        SceneClassifier(4, width=4, depth=2, head="fc").build((None, None, None, 3))


def test_training_learns_scene_classes(tmp_path):
    x, _, y = scenes(192, size=16, seed=0, num_classes=3, max_objects=1)
    clf = SceneClassifier(3, width=8, depth=2)
    before = np.mean(predict_labels(clf, x) == y)
    hist = train_classifier(clf, x, y, epochs=4, batch_size=32, lr=3e-3, ckpt_dir=tmp_path)
    after = np.mean(predict_labels(clf, x) == y)
    assert hist["loss"][-1] < hist["loss"][0]
    assert after > max(before, 0.6)
    assert (tmp_path / "history.json").exists()


def test_train_classifier_rejects_bad_labels():
    clf = SceneClassifier(3, width=4, depth=1)
    x = np.zeros((4, 16, 16, 3), np.float32)
    with pytest.raises(ValueError, match="labels"):
        train_classifier(clf, x, np.array([0, 1, 2, 3]), epochs=1)
    with pytest.raises(ValueError, match="labels"):
        train_classifier(clf, x, np.array([0, 1]), epochs=1)
