"""PCEN learns (S3, Sec. III-B): channel-conditioned CEN, PEN's finite-alphabet search,
alternating optimisation of L_pcen, and the failed-block masks of SCSC's losses."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from sem_sionna.links.pcen_phy import pcen_precode
from sem_sionna.nets import PCEN
from sem_sionna.phy import MIMOChannel
from sem_sionna.phy.precoding import SVDPrecoder
from sem_sionna.phy.snr import snrdb2no
from sem_sionna.train.scsc import masked_mse, soft_iou_loss
from sem_sionna.train.scsc_pcen import (alternating_round, make_steps, pcen_objective,
                                        pcen_variables)

QPSK = (np.array([1 + 1j, 1 - 1j, -1 + 1j, -1 - 1j]) / np.sqrt(2.0)).astype(np.complex64)


def _fixed_set(batch=64, seed=0):
    rng = np.random.default_rng(seed)
    s = tf.constant(QPSK[rng.integers(0, 4, (batch, 2, 16))])
    h, h_hat = MIMOChannel(2, 2, "rayleigh", seed=seed).generate(batch)
    no = snrdb2no(tf.constant(rng.uniform(2.0, 12.0, batch), tf.float32))
    return s, h, h_hat, no


def _pcen():
    pcen = PCEN(2, 2, num_layers=4)
    pcen.build()
    return pcen


def _set_pen(pcen, gamma, alpha):
    pcen.pen.gamma.assign(np.full(pcen.num_layers, gamma, np.float32))
    pcen.pen.alpha.assign(np.full(pcen.num_layers, alpha, np.float32))


def test_learned_combiner_is_not_the_channel_inverse_so_pen_parameters_change_z():
    s, h, h_hat, no = _fixed_set()
    pcen, pre = _pcen(), SVDPrecoder(2, "waterfilling")
    x_p, p, u2, _ = pcen_precode(pcen, pre, s, h_hat, no, "learned")
    a = tf.matmul(u2, h_hat).numpy()
    assert np.abs(a - np.sqrt(2.0) * p.numpy()).max() > 0.05
    zs, losses = [], []
    for gamma, alpha in ((1.0, 0.95), (0.3, 0.5)):
        _set_pen(pcen, gamma, alpha)
        with tf.GradientTape() as tape:
            loss = pcen_objective(pcen, pre, s, h, h_hat, no, "learned")
        grads = tape.gradient(loss, pcen_variables(pcen)["pen"])
        assert all(g is not None and float(tf.norm(g)) > 0 for g in grads)
        zs.append(pcen_precode(pcen, pre, s, h_hat, no, "learned")[3].numpy())
        losses.append(float(loss))
    assert np.any(zs[0] != zs[1]) and losses[0] != losses[1]


def test_zero_forcing_combiner_makes_pen_parameters_irrelevant():
    """The failure the learned combiner removes: with U2 = sqrt(nt) P h^+, z = s/sqrt(nt)
    solves PEN's problem exactly, for any gamma_t, alpha_t."""
    s, h, h_hat, no = _fixed_set()
    pcen, pre = _pcen(), SVDPrecoder(2, "waterfilling")
    zs = []
    for gamma, alpha in ((1.0, 0.95), (0.3, 0.5)):
        _set_pen(pcen, gamma, alpha)
        zs.append(pcen_precode(pcen, pre, s, h_hat, no, "adaptive")[3].numpy())
    np.testing.assert_array_equal(zs[0], zs[1])


def test_alternating_rounds_decrease_l_pcen_on_a_fixed_channel_set():
    s, h, h_hat, no = _fixed_set(seed=1)
    pcen, pre = _pcen(), SVDPrecoder(2, "waterfilling")
    before = float(pcen_objective(pcen, pre, s, h, h_hat, no))
    steps = make_steps(pcen, pre, {"cen": keras.optimizers.Adam(0.02),
                                   "pen": keras.optimizers.Adam(0.02)})
    for _ in range(15):
        alternating_round(steps, lambda: (s, h, h_hat, no))
    assert float(pcen_objective(pcen, pre, s, h, h_hat, no)) < before


def test_each_phase_moves_only_its_own_parameters():
    s, h, h_hat, no = _fixed_set(seed=2)
    pcen, pre = _pcen(), SVDPrecoder(2, "waterfilling")
    steps = make_steps(pcen, pre, {"cen": keras.optimizers.Adam(0.05),
                                   "pen": keras.optimizers.Adam(0.05)})
    pen = [v.numpy().copy() for v in pcen_variables(pcen)["pen"]]
    cen = [v.numpy().copy() for v in pcen_variables(pcen)["cen"]]
    alternating_round(steps, lambda: (s, h, h_hat, no), cen_steps=1, pen_steps=0)
    for before, v in zip(pen, pcen_variables(pcen)["pen"]):
        np.testing.assert_array_equal(v.numpy(), before)
    assert any(not np.array_equal(b, v.numpy()) for b, v in zip(cen, pcen_variables(pcen)["cen"]))
    cen = [v.numpy().copy() for v in pcen_variables(pcen)["cen"]]
    alternating_round(steps, lambda: (s, h, h_hat, no), cen_steps=0, pen_steps=1)
    for before, v in zip(cen, pcen_variables(pcen)["cen"]):
        np.testing.assert_array_equal(v.numpy(), before)


def test_masked_losses_give_failed_blocks_zero_gradient():
    rng = np.random.default_rng(0)
    logits = tf.Variable(rng.normal(size=(3, 4, 4, 3)).astype(np.float32))
    x_hat = tf.Variable(rng.uniform(size=(3, 4, 4, 3)).astype(np.float32))
    target = rng.integers(0, 3, (3, 4, 4))
    x_o = rng.uniform(size=(3, 4, 4, 3)).astype(np.float32)
    ok = tf.constant([1.0, 0.0, 1.0])
    with tf.GradientTape() as tape:
        loss = soft_iou_loss(logits, target, 3, weights=ok) + masked_mse(x_hat, x_o, ok)
    g_logits, g_x = tape.gradient(loss, [logits, x_hat])
    assert float(tf.reduce_max(tf.abs(g_logits[1]))) == 0.0
    assert float(tf.reduce_max(tf.abs(g_x[1]))) == 0.0
    assert float(tf.reduce_max(tf.abs(g_logits[0]))) > 0 and float(
        tf.reduce_max(tf.abs(g_x[2]))) > 0
    # the masked loss is the loss of the decoded examples alone
    keep = [0, 2]
    np.testing.assert_allclose(
        float(soft_iou_loss(logits, target, 3, weights=ok)),
        float(soft_iou_loss(tf.gather(logits, keep), target[keep], 3)), rtol=1e-5)
    np.testing.assert_allclose(float(masked_mse(x_hat, x_o, ok)),
                               float(masked_mse(tf.gather(x_hat, keep), x_o[keep])), rtol=1e-6)


def test_train_pcen_rejects_streams_of_the_wrong_shape():
    from sem_sionna.train.scsc_pcen import train_pcen
    with pytest.raises(ValueError, match="symbols"):
        train_pcen(_pcen(), MIMOChannel(2, 2, seed=0), 1,
                   symbols=np.zeros((4, 3, 40), np.complex64))
