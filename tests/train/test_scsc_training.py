"""Tests of sem_sionna.train.scsc (SCSC losses, training stages, BD table)."""
import numpy as np
import pytest
import tensorflow as tf

from sem_sionna import codecs, data
from sem_sionna.links.scsc import SCSC, encode_at_quality
from sem_sionna.nets import PCEN, PPEN, ProxyNetwork, SegNet
from sem_sionna.phy import MIMOChannel
from sem_sionna.train.scsc import (LOSS_WEIGHTS, bd_table, channel_config, proxy_targets,
                                   scsc_loss, soft_iou_loss, train_pcen, train_proxy, train_scsc)

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


def test_total_loss_uses_the_paper_weights():
    assert LOSS_WEIGHTS == (0.1, 0.5, 0.1)
    np.testing.assert_allclose(float(scsc_loss(2.0, 3.0, 5.0)), 0.2 + 1.5 + 0.5)
    with pytest.raises(ValueError, match="weights"):
        scsc_loss(1.0, 1.0, 1.0, (1.0, 1.0))


def test_train_pcen_updates_pen_only():
    pcen = PCEN(2, 2, num_layers=3)
    pcen.build()
    u2 = pcen.u2.numpy()
    gamma = pcen.pen.gamma.numpy().copy()
    hist = train_pcen(pcen, MIMOChannel(2, 2, csi_error_var=0.1, seed=3), steps=3,
                      batch_size=8, combiner="adaptive", seed=3)
    assert np.isfinite(hist["loss"]).all()
    np.testing.assert_array_equal(pcen.u2.numpy(), u2)
    assert not np.allclose(pcen.pen.gamma.numpy(), gamma)


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
    for key in ("loss", "l_seg", "l_pre", "l_pcen"):
        assert np.isfinite(hist[key]).all()
    for before, w in zip(frozen, model.proxy.weights + model.segnet.weights):
        np.testing.assert_array_equal(w.numpy(), before)
    changed = [not np.array_equal(b, w.numpy())
               for b, w in zip(ppen, model.ppen.trainable_weights)]
    assert any(changed)
    with pytest.raises(ValueError, match="seg_target"):
        train_scsc(model, images, epochs=1, seg_target="labels")


def test_bd_table_recovers_a_known_rate_saving():
    cbr = np.array([0.05, 0.08, 0.12, 0.18, 0.27])
    quality = np.log(cbr)
    rows = []
    for scheme, scale in (("digital", 1.0), ("scsc", 0.8)):
        for r, q in zip(cbr, quality):
            rows.append({"scheme": scheme, "channel": "rayleigh", "csi": "perfect",
                         "snr_db": 10.0, "cbr": r * scale, "miou": 0.5 + 0.1 * q,
                         "psnr": 30.0 + 3.0 * q})
    rows.append({**rows[0], "scheme": "short"})
    table = {t["scheme"]: t for t in bd_table(rows, "digital", ["scsc", "short"], [10.0])}
    np.testing.assert_allclose(table["scsc"]["bd_cbr_pct"], -20.0, atol=1e-6)
    np.testing.assert_allclose(table["scsc"]["bd_psnr_db"], -3.0 * np.log(0.8), atol=1e-6)
    np.testing.assert_allclose(table["digital"]["bd_cbr_pct"], 0.0, atol=1e-9)
    assert table["short"]["bd_cbr_pct"] is None and "4 points" in table["short"]["note"]


def test_imperfect_csi_channel_has_the_configured_error_variance():
    """h_hat - h ~ CN(0, 0.1) per entry: sample variance within 5 standard errors."""
    channel = MIMOChannel.from_config({**channel_config("rayleigh", "imperfect", 0.1),
                                       "seed": 4})
    h, h_hat = channel.generate(4000)
    e = (h_hat - h).numpy().ravel()
    var = np.mean(np.abs(e) ** 2)
    assert abs(var - 0.1) < 5 * 0.1 / np.sqrt(e.size)
    assert abs(np.mean(e.real * e.imag)) < 5 * 0.05 / np.sqrt(e.size)
    perfect = MIMOChannel.from_config(channel_config("cdl-a", "perfect", 0.1))
    h, h_hat = perfect.generate(4)
    np.testing.assert_array_equal(h.numpy(), h_hat.numpy())
    with pytest.raises(ValueError, match="csi"):
        channel_config("rayleigh", "partial")
