"""PCEN's two sides around the standard SVD precoder (S3, Sec. III-B, Alg. 1).

:func:`pcen_precode` is the transmitter (standard precoder ``P``, the combiner ``U2`` of
the CEN variant, PEN's finite-alphabet signal ``z``), :func:`pcen_receive` the receiver
(CEN, ``P^+`` and the noise variance a demapper should assume). Both serve the digital
chain (:class:`~sem_sionna.links.scsc.PCENTransport`) and ProxyNet
(:class:`~sem_sionna.links.proxynet.ProxyNetMIMO`). The combiner variants are described
in :mod:`sem_sionna.links.scsc`.
"""
from __future__ import annotations

import math

import tensorflow as tf

from sem_sionna.nets.pcen import PCEN, precoding_matrix, unprecode

__all__ = ["COMBINERS", "check_combiner", "pcen_precode", "pcen_receive", "regularised_pinv"]

COMBINERS = ("learned", "adaptive", "fixed")
"""CEN variants of :func:`pcen_precode` (described in :mod:`sem_sionna.links.scsc`)."""


def check_combiner(combiner: str) -> str:
    """``combiner`` if it is one of :data:`COMBINERS`, else ``ValueError``."""
    if combiner not in COMBINERS:
        raise ValueError(f"`combiner` must be one of {list(COMBINERS)}, got {combiner!r}")
    return combiner


def regularised_pinv(a: tf.Tensor, rel_ridge: float = 1e-6) -> tf.Tensor:
    """Tikhonov-regularised pseudo-inverse ``(a^H a + r I)^-1 a^H`` of ``[b, m, n]``
    matrices, ``r = rel_ridge * tr(a^H a) / n + 1e-12`` (finite for (nearly) singular
    ``a``; ``a^+`` to within ``rel_ridge`` otherwise). Output ``[b, n, m]``."""
    gram = tf.matmul(a, a, adjoint_a=True)
    n = tf.shape(a)[-1]
    ridge = rel_ridge * tf.linalg.trace(gram)[:, None, None] / tf.cast(n, gram.dtype) + 1e-12
    return tf.linalg.solve(gram + ridge * tf.eye(n, dtype=a.dtype), tf.linalg.adjoint(a))


def pcen_precode(pcen: PCEN, precoder, s: tf.Tensor, h_hat: tf.Tensor, no,
                 combiner: str = "learned") -> tuple[tf.Tensor, ...]:
    """Transmitter side of PCEN: standard precoder, combiner ``U2`` and PEN.

    Input
    -----
    pcen : nets.PCEN -- PEN + CEN.
    precoder : phy.SVDPrecoder -- the standard precoder ``S_p`` (Eq. (9)).
    s : [b, ns, S], tf.complex64 -- streams of unit-energy QAM symbols.
    h_hat : [b, nr, nt], tf.complex64 -- channel estimate (known at both ends).
    no : scalar or [b], tf.float32 -- complex noise variance per receive antenna.
    combiner : "learned", "adaptive" or "fixed" -- CEN variant (:data:`COMBINERS`).

    Output
    ------
    x_p : [b, nt, S], tf.complex64 -- standard precoder output.
    p : [b, nt, ns], tf.complex64 -- precoding matrix, ``x_p = P s``.
    u2 : [b, nt, nr], tf.complex64 -- combiner ``U2`` of each block.
    z : [b, nt, S], tf.complex64 -- PEN output: QAM points on every antenna, power 1
        per channel use.
    """
    check_combiner(combiner)
    if not pcen.built:
        pcen.build()
    x_p = precoder(s, h_hat, no)
    p = precoding_matrix(precoder, h_hat, no, int(s.shape[1]))
    if combiner == "learned":
        u2 = pcen.ccen(h_hat, tf.cast(tf.convert_to_tensor(no), tf.float32), p)
    elif combiner == "fixed":
        u2 = tf.broadcast_to(pcen.u2[None], tf.stack([tf.shape(h_hat)[0], pcen.num_tx_ant,
                                                      pcen.num_rx_ant]))
    else:
        nt = pcen.num_tx_ant
        u2 = tf.matmul(pcen.u2[None], tf.cast(math.sqrt(nt), tf.complex64)
                       * tf.matmul(p, regularised_pinv(h_hat)))
    z = pcen.pen(x_p, h_hat, no, u2=u2)
    return x_p, p, u2, z


def pcen_receive(y: tf.Tensor, x_p: tf.Tensor, p: tf.Tensor, u2: tf.Tensor, z: tf.Tensor,
                 h_hat: tf.Tensor, no) -> tuple[tf.Tensor, tf.Tensor]:
    """Receiver side of PCEN: CEN ``U2 y``, the standard receiver ``P^+`` and the noise
    variance the demapper should assume.

    That variance is the filtered receiver noise (:func:`~sem_sionna.nets.pcen.unprecode`)
    plus the power of the residual ``P^+ (x_p - U2 h_hat z)`` of the finite-alphabet
    precoder, which the transmitter knows and a DMRS-based SINR estimate would measure.

    Input
    -----
    y : [b, nr, S], tf.complex64 -- received signal of ``z``.
    x_p, p, u2, z : from :func:`pcen_precode`.
    h_hat : [b, nr, nt], tf.complex64 -- channel estimate.
    no : scalar or [b], tf.float32 -- complex noise variance per receive antenna.

    Output
    ------
    s_hat : [b, ns, S], tf.complex64 -- stream estimates.
    no_var : [b, ns], tf.float32 -- noise plus precoding-residual variance per stream.
    """
    s_hat, no_eff = unprecode(tf.matmul(u2, y), p, no, u2)
    residual, _ = unprecode(x_p - tf.matmul(u2, tf.matmul(h_hat, z)), p, no, u2)
    distortion = tf.reduce_mean(tf.math.real(residual) ** 2 + tf.math.imag(residual) ** 2,
                                axis=-1)
    return s_hat, no_eff + distortion
