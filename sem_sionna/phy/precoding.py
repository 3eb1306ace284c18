"""SVD (eigenmode) precoding and combining for narrowband MIMO.

With ``h = U diag(sigma) V^H``, transmitting ``x = V_k diag(sqrt(p)) s`` and
combining with ``diag(1 / (sqrt(p_k) sigma_k)) U_k^H`` turns the MIMO channel
into ``num_streams`` parallel channels ``s_hat_k = s_k + n_k`` with
``var(n_k) = no / (p_k sigma_k^2)`` (Telatar 1999; Tse & Viswanath, Sec. 7.1).

The decomposition is taken from ``tf.linalg.eigh(h^H h)`` (eigenvalues
``sigma_k^2``, eigenvectors ``V``) instead of ``tf.linalg.svd``, because the
complex SVD does not compile with XLA while ``eigh`` does; the combiner uses
``U_k^H y = diag(1/sigma_k) V_k^H h^H y`` so that ``U`` is never formed.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from sem_sionna.phy.power import get_power_allocation
from sem_sionna.utils.scalars import ScalarArgsLayer
from sem_sionna.utils.checks import (check_complex, check_noise_variance,
                                     check_positive_int, check_rank)

__all__ = ["NO_EFF_MAX", "SVDCombiner", "SVDPrecoder"]

NO_EFF_MAX = 1e9
"""``no_eff`` reported for streams that carry no power or have no gain (LLRs ~ 0)."""

# Eigenvalues of h^H h below this fraction of the largest are float32 round-off
# (eigh is accurate to ~ n * eps * lambda_max): such eigen-channels get no gain.
_EIG_RTOL = 1e-6
# Lower bound on no when forming the gains sigma^2 / no (no = 0 gives inf gains,
# which the allocators handle, but inf * 0 in gradients would give NaN).
_NO_MIN = 1e-30


@tf.custom_gradient
def _finite_gradient(t):
    """Identity whose gradient has non-finite entries replaced by 0.

    Guards the ``eigh`` gradient, which contains ``1 / (lambda_i - lambda_j)``
    and blows up for (nearly) repeated eigenvalues.
    """
    def grad(dy):
        if dy.dtype.is_complex:
            ok = tf.logical_and(tf.math.is_finite(tf.math.real(dy)),
                                tf.math.is_finite(tf.math.imag(dy)))
        else:
            ok = tf.math.is_finite(dy)
        return tf.where(ok, dy, tf.zeros_like(dy))
    return tf.identity(t), grad


def _eigenmodes(h_hat, num_streams):
    """Strongest ``num_streams`` eigenmodes of ``h_hat^H h_hat``.

    Output
    ------
    v : [batch, num_tx_ant, num_streams], complex -- right singular vectors, phase
        fixed so that the largest-magnitude entry of each is real positive (so that
        eager, graph and XLA runs, and precoder and combiner, agree).
    lam : [batch, num_streams], float -- ``sigma_k^2``, descending, ``>= 0``.
    usable : [batch, num_streams], bool -- eigenvalue above round-off.
    """
    gram = tf.matmul(h_hat, h_hat, adjoint_a=True)
    gram = 0.5 * (gram + tf.linalg.adjoint(gram))
    lam, v = tf.linalg.eigh(_finite_gradient(gram))
    lam = tf.reverse(lam, axis=[-1])[..., :num_streams]
    v = tf.reverse(v, axis=[-1])[..., :num_streams]
    lam = tf.nn.relu(tf.math.real(lam))  # eigh returns complex eigenvalues for complex input

    mag = tf.abs(v)
    pick = tf.one_hot(tf.argmax(mag, axis=-2), depth=tf.shape(v)[-2], axis=1, dtype=v.dtype)
    anchor = tf.reduce_sum(v * pick, axis=-2, keepdims=True)
    anchor_mag = tf.cast(tf.abs(anchor), v.dtype)
    v = v * tf.math.conj(anchor) / anchor_mag

    usable = lam > _EIG_RTOL * lam[..., :1]
    return v, lam, usable


def _noise_per_example(no, name="no"):
    """``no`` as a tensor broadcastable to ``[batch, num_streams]``."""
    rank = no.shape.rank
    if rank is None or rank == 0:
        return no
    if rank > 3 or any(d not in (1, None) for d in no.shape[1:]):
        raise ValueError(f"`{name}` must be a scalar or one value per batch example "
                         f"([batch], [batch, 1] or [batch, 1, 1]), got shape {tuple(no.shape)}")
    return tf.reshape(no, [-1, 1])


class _SVDLayer(ScalarArgsLayer):
    """Shared arguments, checks and power allocation of the SVD precoder/combiner."""

    _scalar_args = ("h_hat", "no")

    def __init__(self, num_streams, power_allocation="waterfilling", **kwargs):
        super().__init__(**kwargs)
        self.num_streams = check_positive_int(num_streams, "num_streams")
        self._allocate = get_power_allocation(power_allocation)
        self.power_allocation = power_allocation

    def __call__(self, *args, **kwargs):
        # h_hat is complex: convert array inputs here, not as a float scalar argument.
        args = list(args)
        if len(args) > 1 and not keras.ops.is_tensor(args[1]) \
                and not isinstance(args[1], keras.KerasTensor):
            args[1] = tf.convert_to_tensor(np.asarray(args[1]))
        if "h_hat" in kwargs and not keras.ops.is_tensor(kwargs["h_hat"]) \
                and not isinstance(kwargs["h_hat"], keras.KerasTensor):
            kwargs["h_hat"] = tf.convert_to_tensor(np.asarray(kwargs["h_hat"]))
        return super().__call__(*args, **kwargs)

    def _check_h_hat(self, h_hat):
        check_complex(h_hat, "h_hat")
        check_rank(h_hat, "h_hat", 3, exact=True)
        num_rx_ant, num_tx_ant = h_hat.shape[1], h_hat.shape[2]
        if num_rx_ant is not None and num_tx_ant is not None \
                and self.num_streams > min(num_rx_ant, num_tx_ant):
            raise ValueError(
                f"`num_streams` must be <= min(num_rx_ant, num_tx_ant) = "
                f"{min(num_rx_ant, num_tx_ant)} for h_hat of shape {tuple(h_hat.shape)}, "
                f"got num_streams={self.num_streams}")

    def _streams(self, h_hat, no):
        """Eigenmodes and per-stream powers, identical in precoder and combiner."""
        check_noise_variance(no, "no")
        v, lam, usable = _eigenmodes(h_hat, self.num_streams)
        no = tf.cast(_noise_per_example(no), lam.dtype)
        safe_no = tf.maximum(no, _NO_MIN)
        gains = tf.where(usable, lam / safe_no, tf.zeros_like(lam))
        p = self._allocate(gains, 1.0)
        return v, lam, usable, p, no

    def get_config(self):
        return {**super().get_config(), "num_streams": self.num_streams,
                "power_allocation": self.power_allocation}


@keras.saving.register_keras_serializable(package="sem_sionna")
class SVDPrecoder(_SVDLayer):
    r"""SVD precoder with equal or water-filling power over the eigen-channels.

    Computes ``x = V_k diag(sqrt(p)) s`` where ``V_k`` holds the right singular
    vectors of ``h_hat`` for its ``num_streams`` largest singular values
    ``sigma_k`` and ``p`` is allocated over the gains ``sigma_k^2 / no`` with
    ``sum_k p_k = 1``: the total transmit power per channel use is 1 for
    unit-energy streams.

    Parameters
    ----------
    num_streams : int -- number of spatial streams ``ns``, ``1 <= ns <= min(nt, nr)``.
    power_allocation : str, default "waterfilling" -- ``"waterfilling"`` (capacity)
        or ``"equal"`` (``p_k = 1/ns``); see :mod:`sem_sionna.phy.power`.

    Input
    -----
    s : [batch, num_streams, S], tf.complex64 -- stream symbols, unit average energy.
    h_hat : [batch, num_rx_ant, num_tx_ant], tf.complex64 -- channel estimate.
    no : scalar, [batch], [batch, 1] or [batch, 1, 1], tf.float32 -- complex noise
        variance per receive antenna and symbol, linear (sets the water level).

    Output
    ------
    x : [batch, num_tx_ant, S], tf.complex64 -- precoded symbols per transmit antenna.

    Note
    ----
    Eigen-channels whose ``sigma_k^2`` is below ``1e-6`` of the largest count as
    having zero gain (no water-filling power). Gradients flow to ``s`` and
    ``h_hat``; the ``eigh`` gradient is made finite for repeated eigenvalues.
    """

    def call(self, s, h_hat, no):
        check_complex(s, "s")
        check_rank(s, "s", 3, exact=True)
        self._check_h_hat(h_hat)
        if s.shape[1] is not None and s.shape[1] != self.num_streams:
            raise ValueError(f"`s` must have shape [batch, num_streams={self.num_streams}, S], "
                             f"got shape {tuple(s.shape)}")
        h_hat = tf.cast(h_hat, s.dtype)
        v, _, _, p, _ = self._streams(h_hat, no)
        safe_p = tf.where(p > 0, p, tf.ones_like(p))
        amp = tf.where(p > 0, tf.sqrt(safe_p), tf.zeros_like(p))
        return tf.matmul(v, tf.complex(amp, tf.zeros_like(amp))[..., None] * s)


@keras.saving.register_keras_serializable(package="sem_sionna")
class SVDCombiner(_SVDLayer):
    r"""SVD combiner matching :class:`SVDPrecoder`: equalised streams and their noise.

    Computes ``s_hat = diag(1 / (sqrt(p_k) sigma_k)) U_k^H y`` with the same
    eigenmodes and powers as the precoder (same ``h_hat``, ``no`` and
    ``power_allocation``). With ``h_hat == h``, ``s_hat_k = s_k + n_k`` and
    ``no_eff_k = var(n_k) = no / (p_k sigma_k^2)``, ready for ``QAMDemapper``.

    Parameters
    ----------
    num_streams : int -- number of spatial streams ``ns``, ``1 <= ns <= min(nt, nr)``.
    power_allocation : str, default "waterfilling" -- as in :class:`SVDPrecoder`.

    Input
    -----
    y : [batch, num_rx_ant, S], tf.complex64 -- received symbols.
    h_hat : [batch, num_rx_ant, num_tx_ant], tf.complex64 -- channel estimate.
    no : scalar, [batch], [batch, 1] or [batch, 1, 1], tf.float32 -- complex noise
        variance per receive antenna and symbol, linear.

    Output
    ------
    s_hat : [batch, num_streams, S], tf.complex64 -- equalised stream estimates.
    no_eff : [batch, num_streams], tf.float32 -- noise variance of each stream after
        equalisation, linear (as seen with perfect CSI).

    Note
    ----
    A stream without power (``p_k = 0``, water-filling at low SNR) or without
    gain (``sigma_k^2`` below ``1e-6`` of the largest) carries nothing: its
    ``s_hat`` is 0 and its ``no_eff`` is :data:`NO_EFF_MAX` (``1e9``), so a
    demapper returns LLRs of about 0 for it. ``no_eff`` never exceeds
    ``NO_EFF_MAX`` and is never inf or NaN.
    """

    def call(self, y, h_hat, no):
        check_complex(y, "y")
        check_rank(y, "y", 3, exact=True)
        self._check_h_hat(h_hat)
        if y.shape[1] is not None and h_hat.shape[1] is not None \
                and y.shape[1] != h_hat.shape[1]:
            raise ValueError(f"`y` must have shape [batch, num_rx_ant={h_hat.shape[1]}, S] "
                             f"to match h_hat, got shape {tuple(y.shape)}")
        h_hat = tf.cast(h_hat, y.dtype)
        v, lam, usable, p, no = self._streams(h_hat, no)
        active = tf.logical_and(usable, p > 0)
        safe_p = tf.where(active, p, tf.ones_like(p))
        safe_lam = tf.where(active, lam, tf.ones_like(lam))
        gain = safe_p * safe_lam  # p_k sigma_k^2
        # U_k^H y / (sqrt(p_k) sigma_k) = V_k^H h^H y / (sqrt(p_k) sigma_k^2)
        scale = tf.where(active, tf.math.rsqrt(safe_p) / safe_lam, tf.zeros_like(lam))
        z = tf.matmul(v, tf.matmul(h_hat, y, adjoint_a=True), adjoint_a=True)
        s_hat = tf.complex(scale, tf.zeros_like(scale))[..., None] * z
        no_eff = tf.where(active, tf.minimum(no / gain, NO_EFF_MAX), NO_EFF_MAX)
        return s_hat, no_eff

