"""SD-JSCC blocks: binary quantiser (STE), codec shapes and round trip, GSW weights, loss."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from layer_checks import assert_modes_agree, roundtrip
from sem_sionna.nets.classifier import SceneClassifier
from sem_sionna.nets.sdjscc import (BinaryQuantizer, SDJSCCDecoder, SDJSCCEncoder,
                                    gradient_importance, semantic_loss, semantic_map,
                                    semantic_weights, uniform_weights)


# -- quantiser ------------------------------------------------------------------------------

def test_quantizer_forward_is_exact_threshold():
    e = tf.constant([[0.0, 0.2, 0.5, 0.5001, 0.9, 1.0]])
    q = BinaryQuantizer()(e)
    np.testing.assert_array_equal(q, [[0, 0, 0, 1, 1, 1]])
    q = BinaryQuantizer(threshold=0.1)(e)
    np.testing.assert_array_equal(q, [[0, 1, 1, 1, 1, 1]])


def test_quantizer_gradient_is_straight_through():
    e = tf.Variable([[0.1, 0.7, 0.4]])
    coeff = tf.constant([[1.0, -2.0, 3.0]])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(coeff * BinaryQuantizer()(e))
    np.testing.assert_allclose(tape.gradient(loss, e), coeff)


def test_quantizer_rejects_bad_arguments():
    with pytest.raises(TypeError, match="threshold"):
        BinaryQuantizer(threshold="half")
    with pytest.raises(TypeError, match="e"):
        BinaryQuantizer()(tf.constant([1, 0]))


# -- encoder / decoder ----------------------------------------------------------------------

def test_codec_shapes_and_ranges(rng):
    enc = SDJSCCEncoder(latent_channels=3, filters=8)
    dec = SDJSCCDecoder(filters=8)
    x = tf.constant(rng.random((2, 16, 24, 3)), tf.float32)
    e = enc(x)
    assert e.shape == (2, 4, 6, 3)
    assert float(tf.reduce_min(e)) > 0.0 and float(tf.reduce_max(e)) < 1.0
    x_hat = dec(BinaryQuantizer()(e))
    assert x_hat.shape == x.shape and x_hat.dtype == tf.float32
    assert float(tf.reduce_min(x_hat)) >= 0.0 and float(tf.reduce_max(x_hat)) <= 1.0
    assert enc.compute_output_shape((None, 16, 24, 3)) == (None, 4, 6, 3)
    assert dec.compute_output_shape((None, 4, 6, 3)) == (None, 16, 24, 3)


@pytest.mark.parametrize("make, name", [
    (lambda: SDJSCCEncoder(0), "latent_channels"),
    (lambda: SDJSCCEncoder(2, filters=0), "filters"),
    (lambda: SDJSCCEncoder(2, num_downsamples=0), "num_downsamples"),
    (lambda: SDJSCCDecoder(num_res_blocks=-1), "num_res_blocks"),
    (lambda: SDJSCCDecoder(num_upsamples=0), "num_upsamples"),
])
def test_codec_bad_arguments(make, name):
    with pytest.raises((ValueError, TypeError), match=name):
        make()


def test_encoder_rejects_indivisible_images():
    with pytest.raises(ValueError, match="multiples of 4"):
        SDJSCCEncoder(2, filters=4)(tf.zeros((1, 18, 16, 3)))


def test_codec_modes_agree(rng):
    enc, dec = SDJSCCEncoder(2, filters=8), SDJSCCDecoder(filters=8)
    x = tf.constant(rng.random((2, 16, 16, 3)), tf.float32)
    dec(enc(x))
    # the sigmoid output is compared, not the thresholded bits (XLA rounding at 0.5)
    assert_modes_agree(lambda t: dec(enc(t)), x, atol=1e-4)


def test_encoder_decoder_keras_roundtrip(rng, tmp_path):
    inp = keras.Input((16, 16, 3))
    bits = BinaryQuantizer(name="q")(SDJSCCEncoder(4, filters=8, num_res_blocks=2,
                                                   name="enc")(inp))
    model = keras.Model(inp, SDJSCCDecoder(filters=8, num_res_blocks=2, name="dec")(bits))
    x = tf.constant(rng.random((3, 16, 16, 3)), tf.float32)
    out = model(x)
    loaded = roundtrip(model, tmp_path)
    np.testing.assert_allclose(loaded(x), out, atol=1e-6)
    enc = loaded.get_layer("enc")
    assert isinstance(enc, SDJSCCEncoder) and enc.num_res_blocks == 2
    np.testing.assert_array_equal(loaded.get_layer("q")(enc(x)),
                                  model.get_layer("q")(model.get_layer("enc")(x)))


# -- GSW ------------------------------------------------------------------------------------

def _classifier_with_head(kernel):
    """One-stage classifier: logits = dense(GAP(f)), so dy^c/df_k(m, n) = kernel[k, c] / (M N)."""
    k, c = kernel.shape
    clf = SceneClassifier(c, width=k, depth=1)
    clf.build((None, 16, 16, 3))
    clf.head.kernel.assign(kernel)
    return clf


def test_gsw_closed_form_and_sum(rng):
    kernel = (0.3 * rng.normal(size=(4, 3))).astype(np.float32)
    kernel[:, 0] += [-1.0, 0.0, 3.0, 1.0]  # feature map 2: the largest task gradient
    clf = _classifier_with_head(kernel)
    x = rng.random((5, 16, 16, 3)).astype(np.float32)
    (w,) = gradient_importance(clf, x, batch_size=2)
    np.testing.assert_allclose(w, kernel.mean(axis=1) / 256.0, rtol=1e-4, atol=1e-9)
    tau, r = 200.0, 3.0
    (w_sem,) = semantic_weights([w], tau, r)
    expected = np.exp(tau * w) / np.exp(tau * w).sum() * r
    np.testing.assert_allclose(w_sem, expected, rtol=1e-5)
    assert np.isclose(w_sem.sum(), r, rtol=1e-6)
    assert np.argmax(w_sem) == 2
    assert np.all(np.argsort(w_sem) == np.argsort(w))  # larger gradient -> larger weight


def test_gsw_abs_and_label_variants(rng):
    kernel = np.zeros((3, 2), np.float32)
    kernel[0] = [4.0, -4.0]  # large but opposite contributions: signed mean 0
    kernel[1] = [1.0, 1.0]
    clf = _classifier_with_head(kernel)
    x = rng.random((4, 16, 16, 3)).astype(np.float32)
    (w_mean,) = gradient_importance(clf, x)
    (w_abs,) = gradient_importance(clf, x, reduce="abs")
    (w_lab,) = gradient_importance(clf, x, labels=np.array([0, 0, 0, 1]))
    np.testing.assert_allclose(w_mean * 256, [0, 1, 0], atol=1e-5)
    np.testing.assert_allclose(w_abs * 256, [4, 1, 0], atol=1e-5)
    np.testing.assert_allclose(w_lab * 256, [2, 1, 0], atol=1e-5)  # (3*4 - 4) / 4


def test_gsw_selects_stages(rng):
    clf = SceneClassifier(3, width=4, depth=3)
    clf.build((None, 16, 16, 3))
    x = rng.random((2, 16, 16, 3)).astype(np.float32)
    w = gradient_importance(clf, x, layers=[0, -1])
    assert w[1] is None and w[0].shape == (4,) and w[2].shape == (16,)
    sem = semantic_weights(w, 10.0, 1.0)
    assert sem[1] is None and np.isclose(sem[2].sum(), 1.0)
    uni = uniform_weights(sem)
    assert uni[1] is None
    np.testing.assert_array_equal(uni[0], np.ones(4))
    np.testing.assert_array_equal(uni[2], np.ones(16))
    with pytest.raises(ValueError, match="layers"):
        gradient_importance(clf, x, layers=[3])
    with pytest.raises(ValueError, match="reduce"):
        gradient_importance(clf, x, reduce="max")


def _fc_classifier_with_planted_map(rng, x, planted=2, k=4, units=16):
    """One-stage classifier with an FC head in which map ``planted`` drives the logits:
    its rows of the hidden kernel are positive, the class weights too, the other maps'
    rows are small noise; each hidden unit's bias is minus its median pre-activation over
    ``x``, so the ReLU gates switch on and off from image to image."""
    clf = SceneClassifier(3, width=k, depth=1, head="fc", fc_units=units)
    clf.build((None, 16, 16, 3))
    kernel = rng.normal(scale=0.01, size=(16 * 16 * k, units))
    rows = np.arange(16 * 16 * k) % k == planted  # flattened [h, w, k]: k fastest
    kernel[rows] = np.abs(rng.normal(scale=0.5, size=(rows.sum(), units)))
    clf.hidden.kernel.assign(kernel.astype(np.float32))
    clf.head.kernel.assign(np.abs(rng.normal(size=(units, 3))).astype(np.float32))
    f = np.asarray(clf.features(tf.constant(x))[-1]).reshape(len(x), -1)
    clf.hidden.bias.assign((-np.median(f @ kernel, axis=0)).astype(np.float32))
    return clf


def test_gsw_fc_head_is_image_dependent_and_finds_planted_map(rng):
    x = rng.random((16, 16, 16, 3)).astype(np.float32)
    clf = _fc_classifier_with_planted_map(rng, x)
    (per_image,) = gradient_importance(clf, x, per_image=True)
    (w,) = gradient_importance(clf, x, batch_size=5)
    assert per_image.shape == (16, 4)
    np.testing.assert_allclose(per_image.mean(0), w, rtol=1e-4, atol=1e-9)
    assert np.argmax(w) == 2
    # the weights move with the image (the gates differ): a spread far above float noise
    assert per_image[:, 2].std() > 0.05 * abs(w[2])
    assert np.mean(np.argmax(per_image, axis=1) == 2) >= 0.75
    assert np.argmax(semantic_weights([w], 1.0 / w.std())[0]) == 2


def test_gsw_gap_head_is_the_same_for_every_image(rng):
    clf = SceneClassifier(3, width=4, depth=1)  # GAP + one dense: linear in the map means
    clf.build((None, 16, 16, 3))
    x = rng.random((6, 16, 16, 3)).astype(np.float32)
    (per_image,) = gradient_importance(clf, x, per_image=True)
    np.testing.assert_allclose(per_image, np.broadcast_to(per_image[0], per_image.shape),
                               rtol=1e-5, atol=1e-9)


def test_ablation_switch_sets_every_weight_to_one(rng):
    w = [None, rng.normal(size=8).astype(np.float32)]
    off = semantic_weights(w, 500.0, gsw=False)
    assert off[0] is None
    np.testing.assert_array_equal(off[1], np.ones(8, np.float32))
    on = semantic_weights(w, 500.0)  # r = K by default: the same mean weight 1
    assert np.isclose(on[1].sum(), 8.0, rtol=1e-5) and not np.allclose(on[1], 1.0)
    np.testing.assert_allclose(semantic_weights(w, 0.0)[1], off[1], rtol=1e-6)
    np.testing.assert_array_equal(uniform_weights(w)[1], off[1])


def test_semantic_weights_limits_and_errors():
    w = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(semantic_weights(w, 0.0, 6.0)[0], [2.0, 2.0, 2.0])
    hot = semantic_weights(w, 1e4, 1.0)[0]
    np.testing.assert_allclose(hot, [0, 0, 1], atol=1e-6)
    with pytest.raises(ValueError, match="tau"):
        semantic_weights(w, -1.0, 1.0)
    with pytest.raises(ValueError, match="r"):
        semantic_weights(w, 1.0, 0.0)


def test_semantic_loss_closed_form(rng):
    f = [tf.constant(rng.random((2, 3, 3, 2)), tf.float32)]
    g = [f[0] + tf.constant([1.0, 2.0])]  # per-map squared error 1 and 4
    loss = semantic_loss(f, g, [np.array([0.25, 0.5])])
    np.testing.assert_allclose(float(loss), 0.25 * 1 + 0.5 * 4, rtol=1e-6)
    with pytest.raises(ValueError, match="weights"):
        semantic_loss(f, g, [np.ones(3)])


def test_semantic_map_range(rng):
    clf = SceneClassifier(3, width=4, depth=2)
    x = rng.random((2, 16, 16, 3)).astype(np.float32)
    m = semantic_map(clf, x, np.full(8, 0.125, np.float32))
    assert m.shape == (2, 16, 16)
    assert m.min() >= 0.0 and m.max() <= 1.0 + 1e-6
