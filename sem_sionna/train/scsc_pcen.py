"""PCEN training of SCSC (S3, Sec. III-B): CEN and PEN in alternation on ``L_pcen``.

``L_pcen = ||x_p - U2 h z||^2 + no ||U2||_F^2`` (Eqs. (10)-(11), the noise expectation
in closed form) on the chain's own QPSK symbols (:func:`chain_symbols`: the transport
block of real payloads, LDPC coded and mapped) over fresh channel draws and SNRs.
Each round of :func:`train_pcen` is

1. a **CEN step** (Remark 1): PEN's output ``z`` held fixed, the channel-conditioned
   combiner (:class:`~sem_sionna.nets.cen.ChannelCEN`) takes SGD steps on ``L_pcen``
   (for fixed ``z`` ``L_pcen`` is quadratic in ``U2``, minimised by Eq. (12));
2. a **PEN step**: ``U2`` held fixed, the unfolded ADMM parameters ``gamma_t, alpha_t``
   take SGD steps through the straight-through projection (Eq. (17), Alg. 1).
"""
from __future__ import annotations

from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from sem_sionna.links.pcen_phy import pcen_precode
from sem_sionna.nets.pcen import PCEN, pcen_loss
from sem_sionna.phy.mapping import QAMMapper
from sem_sionna.phy.mimo import MIMOChannel
from sem_sionna.phy.precoding import SVDPrecoder
from sem_sionna.phy.snr import snrdb2no
from sem_sionna.utils.checks import check_positive_int

__all__ = ["chain_symbols", "pcen_objective", "pcen_variables", "make_steps",
           "alternating_round", "train_pcen"]


def chain_symbols(link, images) -> np.ndarray:
    """The QPSK streams ``[N, ns, S]`` (complex64) a PCEN link sends for ``images``.

    ``link`` is a :class:`~sem_sionna.links.scsc.FixedQualityLink` with PCEN: the
    images are coded, framed, CRC + LDPC encoded and mapped as in the sweep.
    """
    bits = link.encode(np.asarray(images, np.float32))["bits"]
    return link.chain.modulate(tf.constant(bits, tf.float32)).numpy()


def pcen_objective(pcen: PCEN, precoder: SVDPrecoder, s, h, h_hat, no,
                   combiner: str = "learned", hold: str | None = None) -> tf.Tensor:
    """``L_pcen`` of the streams ``s`` [b, ns, S] over the channels ``h`` (estimate
    ``h_hat``) at noise variances ``no`` [b].

    ``hold="z"`` stops the gradient through PEN's output (CEN step), ``hold="u2"``
    through the combiner (PEN step), None lets both through.
    """
    if hold not in (None, "z", "u2"):
        raise ValueError(f"`hold` must be None, 'z' or 'u2', got {hold!r}")
    if hold == "u2":
        x_p, p, u2, _ = pcen_precode(pcen, precoder, s, h_hat, no, combiner)
        u2 = tf.stop_gradient(u2)
        z = pcen.pen(x_p, h_hat, no, u2=u2)
    else:
        x_p, _, u2, z = pcen_precode(pcen, precoder, s, h_hat, no, combiner)
        if hold == "z":
            z = tf.stop_gradient(z)
    return pcen_loss(x_p, u2, h, z, no=no)


def pcen_variables(pcen: PCEN, combiner: str = "learned") -> dict[str, list]:
    """Trainable variables of the two alternating steps: ``{"cen": [...], "pen": [...]}``."""
    if not pcen.built:
        pcen.build()
    cen = pcen.ccen if combiner == "learned" else pcen.cen
    return {"cen": list(cen.trainable_weights), "pen": list(pcen.pen.trainable_weights)}


def make_steps(pcen: PCEN, precoder: SVDPrecoder, optimizers: dict,
               combiner: str = "learned") -> dict:
    """Compiled SGD steps ``{"cen": f, "pen": f}``, ``f(s, h, h_hat, no) -> loss``: the CEN
    step holds ``z``, the PEN step holds ``U2``."""
    variables = pcen_variables(pcen, combiner)
    steps = {}
    for phase, hold in (("cen", "z"), ("pen", "u2")):
        def step(s, h, h_hat, no, phase=phase, hold=hold):
            with tf.GradientTape() as tape:
                loss = pcen_objective(pcen, precoder, s, h, h_hat, no, combiner, hold)
            grads = tape.gradient(loss, variables[phase])
            optimizers[phase].apply_gradients(
                [(g, v) for g, v in zip(grads, variables[phase]) if g is not None])
            return loss
        steps[phase] = tf.function(step)
    return steps


def alternating_round(steps: dict, batch_fn, cen_steps: int = 1,
                      pen_steps: int = 1) -> dict[str, float]:
    """One round: ``cen_steps`` CEN steps (``z`` held), then ``pen_steps`` PEN steps
    (``U2`` held), with the steps of :func:`make_steps`. ``batch_fn()`` returns
    ``(s, h, h_hat, no)`` (a fixed set or fresh draws). Output: mean loss per phase."""
    out = {}
    for phase, count in (("cen", cen_steps), ("pen", pen_steps)):
        losses = [float(steps[phase](*batch_fn())) for _ in range(count)]
        out[phase] = float(np.mean(losses)) if losses else float("nan")
    return out


def train_pcen(pcen: PCEN, channel: MIMOChannel, steps: int, *, symbols=None,
               batch_size: int = 64, num_symbols: int = 32,
               snr_range: Sequence[float] = (2.0, 12.0), lr: float = 0.01,
               combiner: str = "learned", power_allocation: str = "waterfilling",
               cen_steps: int = 1, pen_steps: int = 1, seed: int = 0) -> dict:
    """Train PCEN in ``steps`` alternating rounds (module docstring), stage 2.

    Every step draws ``batch_size`` blocks of ``num_symbols`` channel uses: windows of
    ``symbols`` ([N, ns, S] complex, the chain's own streams, :func:`chain_symbols`) or,
    with ``symbols=None``, uniform QPSK streams; channels of ``channel`` (with its CSI
    error) and SNRs uniform in ``snr_range``. Adam (one optimiser per phase).

    Output
    ------
    history : dict -- per-round ``loss_cen``, ``loss_pen``; the final ``gamma``,
    ``alpha`` (per layer) and, with ``combiner="learned"``, ``beta``.
    """
    steps = check_positive_int(steps, "steps")
    precoder = SVDPrecoder(pcen.num_tx_ant, power_allocation)
    rng = np.random.default_rng(seed)
    ns = pcen.num_tx_ant
    points = np.asarray(QAMMapper(2).points)  # QPSK, unit energy
    if symbols is not None:
        symbols = np.asarray(symbols, np.complex64)
        if symbols.ndim != 3 or symbols.shape[1] != ns or symbols.shape[2] < num_symbols:
            raise ValueError(f"`symbols` must have shape [N, {ns}, >= {num_symbols}], got "
                             f"{symbols.shape}")

    def batch_fn():
        if symbols is None:
            s = points[rng.integers(0, 4, (batch_size, ns, num_symbols))]
        else:
            i = rng.integers(0, len(symbols), batch_size)
            j = rng.integers(0, symbols.shape[2] - num_symbols + 1, batch_size)
            s = np.stack([symbols[a, :, b:b + num_symbols] for a, b in zip(i, j)])
        h, h_hat = channel.generate(batch_size)
        no = snrdb2no(tf.constant(rng.uniform(*snr_range, batch_size), tf.float32))
        return tf.constant(s, tf.complex64), h, h_hat, no

    optimizers = {"cen": keras.optimizers.Adam(lr), "pen": keras.optimizers.Adam(lr)}
    compiled = make_steps(pcen, precoder, optimizers, combiner)
    hist = {"loss_cen": [], "loss_pen": []}
    for _ in range(steps):
        r = alternating_round(compiled, batch_fn, cen_steps, pen_steps)
        hist["loss_cen"].append(r["cen"])
        hist["loss_pen"].append(r["pen"])
    hist["gamma"] = [float(v) for v in pcen.pen.gamma.numpy()]
    hist["alpha"] = [float(v) for v in pcen.pen.alpha.numpy()]
    if combiner == "learned":
        hist["beta"] = pcen.ccen.beta
    return hist
