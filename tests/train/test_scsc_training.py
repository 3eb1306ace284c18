"""Tests of sem_sionna.train.scsc (SCSC losses and training stages)."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from sem_sionna import codecs, data
from sem_sionna.links.scsc import SCSC, encode_at_quality
from sem_sionna.nets import PCEN, PPEN, ProxyNetwork, SegNet
from sem_sionna.phy import MIMOChannel
from sem_sionna.train.scsc import (LOSS_WEIGHTS, proxy_targets, scsc_loss, soft_iou_loss,
                                   train_pcen, train_proxy, train_scsc)

SIZE = 32


@pytest.fixture(scope="module")
def images():
    return data.scenes(8, size=SIZE, seed=2, split="train")[0]


def _model():
    return SCSC(PPEN(4, 1), ProxyNetwork(8, 4, seed=1), SegNet(7, (4, 8, 16), (0, 1)),
                PCEN(2, 2, num_layers=3), num_channel_uses=[800, 600], qualities=[37, 41],
                channel=MIMOChannel(2, 2), seed=1)


def test_soft_iou_loss_closed_forms():
    target = np.zeros((1, 2, 2), np.int32)
    target[0, 0, 0] = 1
    sure = tf.constant(np.eye(3)[target] * 50.0, tf.float32)
    assert float(soft_iou_loss(sure, target, 3)) < 1e-6
    # uniform over 3 classes: p = 1/3 everywhere; class 0 (3 px): inter 1, union 3 + 4/3 - 1;
    # class 1 (1 px): inter 1/3, union 1 + 4/3 - 1/3; class 2 absent -> ignored
    uniform = tf.zeros((1, 2, 2, 3))
    expected = 1.0 - 0.5 * (1.0 / (10.0 / 3.0) + (1.0 / 3.0) / 2.0)
    np.testing.assert_allclose(float(soft_iou_loss(uniform, target, 3)), expected, rtol=1e-5)
    with pytest.raises(ValueError, match="num_classes"):
        soft_iou_loss(uniform, target, 1)


def test_total_loss_is_the_weighted_sum_of_eq_19():
    # default weights: 0.1 L_pcen + 0.5 L_seg + 0.1 L_pre
    np.testing.assert_allclose(float(scsc_loss(2.0, 3.0, 5.0)), 0.2 + 1.5 + 0.5, rtol=1e-6)
    np.testing.assert_allclose(float(scsc_loss(2.0, 3.0, 5.0, (1.0, 0.0, 2.0))), 12.0)
    with pytest.raises(ValueError, match="weights"):
        scsc_loss(1.0, 1.0, 1.0, (1.0, 1.0))


@pytest.mark.parametrize("weights", [LOSS_WEIGHTS, (0.5, 0.1, 0.1)])
def test_loss_weights_set_the_balance_between_competing_terms(weights):
    """L_pcen = (a - 1)^2 and L_seg = (a + 1)^2 pull one parameter apart: gradient descent
    on the total loss settles at a = (w1 - w2) / (w1 + w2), the side of the heavier term."""
    a = tf.Variable(0.0)
    opt = keras.optimizers.SGD(learning_rate=0.5)
    for _ in range(200):
        with tf.GradientTape() as tape:
            loss = scsc_loss((a - 1.0) ** 2, (a + 1.0) ** 2, tf.constant(0.0), weights)
        opt.apply_gradients([(tape.gradient(loss, a), a)])
    w1, w2, _ = weights
    np.testing.assert_allclose(float(a), (w1 - w2) / (w1 + w2), atol=1e-4)
    assert np.sign(float(a)) == np.sign(w1 - w2)


def test_train_pcen_alternates_cen_and_pen():
    pcen = PCEN(2, 2, num_layers=3)
    pcen.build()
    beta, gamma = pcen.ccen.beta, pcen.pen.gamma.numpy().copy()
    u2 = pcen.u2.numpy()
    hist = train_pcen(pcen, MIMOChannel(2, 2, csi_error_var=0.1, seed=3), steps=3,
                      batch_size=8, seed=3)
    assert np.isfinite(hist["loss_cen"]).all() and np.isfinite(hist["loss_pen"]).all()
    assert len(hist["gamma"]) == 3 and len(hist["alpha"]) == 3
    np.testing.assert_array_equal(pcen.u2.numpy(), u2)  # the fixed Eq. (11) CEN is unused
    assert hist["beta"] != beta and not np.allclose(pcen.pen.gamma.numpy(), gamma)


def test_proxy_targets_are_chain_outputs_and_proxy_trains(images):
    model = _model()
    model.build((None, SIZE, SIZE, 3))
    targets = proxy_targets(model, images, draws=1, snr_range=(40.0, 41.0), batch_size=4, seed=0)
    assert targets["x_hat"].shape == images.shape and targets["decoded"] == 1.0
    hevc = codecs.get("hevc")
    i = int(np.flatnonzero(targets["q"] == targets["q"][0])[0])
    q = int(targets["q"][i])
    payload, _ = encode_at_quality(hevc, targets["x"][i], q, model.link(q).max_payload_bytes)
    np.testing.assert_allclose(targets["x_hat"][i], hevc.decode(payload))
    hist = train_proxy(model.proxy, targets, epochs=3, batch_size=4, lr=3e-3, seed=0)
    assert hist["loss"][-1] < hist["loss"][0]


def test_train_scsc_updates_ppen_and_freezes_proxy_and_segnet(images):
    model = _model()
    model.build((None, SIZE, SIZE, 3))
    frozen = [w.numpy().copy() for w in model.proxy.weights + model.segnet.weights]
    ppen = [w.numpy().copy() for w in model.ppen.trainable_weights]
    hist = train_scsc(model, images, epochs=1, batch_size=4, lr=1e-2, seed=0)
    for key in ("loss", "l_seg", "l_pre", "l_pcen", "decoded"):
        assert np.isfinite(hist[key]).all()
    w1, w2, w3 = LOSS_WEIGHTS  # the trained loss is Eq. (19) of the logged terms
    np.testing.assert_allclose(hist["loss"], w1 * np.array(hist["l_pcen"]) + w2 * np.array(
        hist["l_seg"]) + w3 * np.array(hist["l_pre"]), rtol=1e-5)
    for before, w in zip(frozen, model.proxy.weights + model.segnet.weights):
        np.testing.assert_array_equal(w.numpy(), before)
    changed = [not np.array_equal(b, w.numpy())
               for b, w in zip(ppen, model.ppen.trainable_weights)]
    assert any(changed)
    with pytest.raises(ValueError, match="seg_target"):
        train_scsc(model, images, epochs=1, seg_target="labels")


def test_proxy_refresh_refits_the_proxy_on_ppen_outputs(images):
    # proxy_refresh=0 leaves the proxy alone (test above); > 0 refits it every epoch
    model = _model()
    model.build((None, SIZE, SIZE, 3))
    before = [w.numpy().copy() for w in model.proxy.trainable_weights]
    hist = train_scsc(model, images, epochs=1, batch_size=4, lr=1e-2, proxy_refresh=8,
                      seed=0)
    # L_pro over the decoded blocks of the refit (0 only if every block failed)
    assert len(hist["proxy_loss"]) == 1 and hist["proxy_loss"][0] > 0
    moved = [not np.array_equal(b, w.numpy())
             for b, w in zip(before, model.proxy.trainable_weights)]
    assert all(moved)
