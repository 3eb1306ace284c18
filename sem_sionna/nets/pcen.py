"""Precoder & combiner enhancement network (PCEN) of SCSC (Han et al., Sec. III-B).

PCEN = PEN at the transmitter + CEN at the receiver::

    s --> standard precoder --> x_p --> PEN (T unfolded ADMM layers) --> z --> H --(+n)--> y
                                          ^ U2, H                                         |
    s_hat <-- standard combiner <-- x_p_hat = CEN(y) = U2 y <------------------------------+

PEN refines the standard precoder output ``x_p [nt, S]`` into a finite-alphabet
signal ``z``, each antenna sending a point of the QAM constellation scaled by
``1/sqrt(nt)`` (total power 1 per channel use), such that ``U2 H z ~ x_p``
(Eq. (13)). Each layer ``t`` of the unfolded ADMM iteration (Eq. (17), Alg. 1) is::

    W     = [diag((U2 H)^H U2 H)]^-1 (U2 H)^H
    r^t   = z_d^t + gamma_t W (x_p - U2 H z_d^t)
    z^t+1 = Pi_M(r^t)                                  projection onto the alphabet
    z_d^t+1 = alpha_t z_d^t + (1 - alpha_t) z^t+1,     z_d^0 = 0

with learned ``gamma_t, alpha_t``. CEN is the single fully connected complex layer
``x_p_hat = U2 y`` (Eq. (11)). Training minimises
``L_pcen = E ||x_p - U2 (H z + n)||^2`` (Eq. (10)).

Projection. ``Pi_M`` is the hard nearest-point projection in the forward pass.
Its gradient is zero almost everywhere, so the backward pass uses a soft
projection (softmax over the points of ``-|r - c|^2 / tau``, for QPSK the
``tanh`` projection ``a tanh(2 a r / tau)`` per real dimension) as a
straight-through surrogate. The output of PEN is ``Pi_M(z_d^T)``, a point of the
alphabet on every antenna, so the power constraint (Eq. (1)) holds without a
separate normalisation layer for constant-modulus QPSK (on average for QAM).
"""
from __future__ import annotations

import numbers

import keras
import numpy as np
import tensorflow as tf
from sionna.phy.mapping import qam

from sem_sionna.nets.cen import ChannelCEN
from sem_sionna.utils.scalars import ScalarArgsLayer
from sem_sionna.utils.checks import (check_complex, check_noise_variance,
                                     check_num_bits_per_symbol, check_positive_int,
                                     check_rank)

__all__ = [
    "constellation_points",
    "project_to_constellation",
    "soft_project_to_constellation",
    "pcen_loss",
    "optimal_combiner",
    "precoding_matrix",
    "unprecode",
    "PEN",
    "CEN",
    "PCEN",
]


def constellation_points(num_bits_per_symbol: int, num_tx_ant: int = 1) -> tf.Tensor:
    """Points of the Gray QAM constellation scaled to per-antenna power ``1/num_tx_ant``.

    Output
    ------
    points : [2**num_bits_per_symbol], tf.complex64 -- average energy ``1/num_tx_ant``.
    """
    m = check_num_bits_per_symbol(num_bits_per_symbol)
    nt = check_positive_int(num_tx_ant, "num_tx_ant")
    points = np.asarray(qam(m), np.complex64) / np.float32(np.sqrt(nt))
    return tf.constant(points, tf.complex64)


def _sq_dist(r: tf.Tensor, points: tf.Tensor) -> tf.Tensor:
    diff = r[..., None] - points
    return tf.math.real(diff) ** 2 + tf.math.imag(diff) ** 2


def project_to_constellation(r: tf.Tensor, points: tf.Tensor) -> tf.Tensor:
    """Hard projection ``Pi_M``: every entry of ``r`` replaced by its nearest point.

    Input
    -----
    r : [...], tf.complex64 -- values to project.
    points : [M], tf.complex64 -- the finite alphabet.

    Output
    ------
    z : [...], tf.complex64 -- entries of ``points`` (zero gradient).
    """
    r = tf.convert_to_tensor(r)
    check_complex(r, "r")
    points = tf.cast(points, r.dtype)
    return tf.gather(points, tf.argmin(_sq_dist(r, points), axis=-1))


def soft_project_to_constellation(r: tf.Tensor, points: tf.Tensor,
                                  temperature) -> tf.Tensor:
    """Differentiable surrogate of :func:`project_to_constellation`.

    ``sum_m softmax_m(-|r - c_m|^2 / temperature) c_m``; tends to the hard
    projection as ``temperature -> 0``. For QPSK with points ``(+-a +- ja)`` it
    equals ``a tanh(2 a Re(r) / temperature) + j a tanh(2 a Im(r) / temperature)``.

    Input
    -----
    r : [...], tf.complex64 -- values to project.
    points : [M], tf.complex64 -- the finite alphabet.
    temperature : float or tensor -- softness (squared distance units), positive.

    Output
    ------
    z : [...], tf.complex64 -- convex combinations of the points.
    """
    r = tf.convert_to_tensor(r)
    check_complex(r, "r")
    points = tf.cast(points, r.dtype)
    logits = -_sq_dist(r, points) / temperature
    weights = tf.nn.softmax(logits, axis=-1)
    weights = tf.complex(weights, tf.zeros_like(weights))
    return tf.reduce_sum(weights * points, axis=-1)


def _u2_batch(u2: tf.Tensor) -> tf.Tensor:
    """``U2`` as ``[nt, nr]`` or ``[b, nt, nr]``, ready for ``tf.matmul`` with ``[b, ...]``."""
    return u2 if len(u2.shape) == 3 else u2[None]


def pcen_loss(x_p: tf.Tensor, u2: tf.Tensor, h: tf.Tensor, z: tf.Tensor,
              n: tf.Tensor | None = None, no=None) -> tf.Tensor:
    """PCEN loss ``||x_p - U2 (H z + n)||^2`` (Eq. (10)), per channel use.

    With ``n`` the given noise is used. Without ``n`` but with ``no`` the
    expectation over the noise is taken in closed form (Eq. (11)):
    ``||x_p - U2 H z||^2 + no ||U2||_F^2``. With neither, the noiseless error.

    Input
    -----
    x_p : [b, nt, S], tf.complex64 -- target, the standard precoder output.
    u2 : [nt, nr] or [b, nt, nr], tf.complex64 -- combiner ``U2`` (CEN).
    h : [b, nr, nt], tf.complex64 -- channel.
    z : [b, nt, S], tf.complex64 -- transmitted signal (PEN output).
    n : None or [b, nr, S], tf.complex64 -- noise realisation.
    no : None, scalar or [b], tf.float32 -- complex noise variance per receive
        antenna, linear; used only when ``n`` is None.

    Output
    ------
    loss : [], tf.float32 -- error energy summed over the ``nt`` entries of
        ``x_p``, averaged over batch and channel uses.
    """
    x_p = tf.convert_to_tensor(x_p)
    for value, name in ((x_p, "x_p"), (u2, "u2"), (h, "h"), (z, "z")):
        check_complex(value, name)
    u2 = _u2_batch(tf.convert_to_tensor(u2))
    y = tf.matmul(h, z)
    if n is not None:
        y = y + n
    err = x_p - tf.matmul(u2, y)
    loss = tf.reduce_mean(tf.reduce_sum(tf.math.real(err) ** 2 + tf.math.imag(err) ** 2,
                                        axis=-2))
    if n is None and no is not None:
        check_noise_variance(no)
        no = tf.cast(no, tf.float32)
        u2_energy = tf.reduce_sum(tf.math.real(u2) ** 2 + tf.math.imag(u2) ** 2, axis=[-2, -1])
        loss = loss + tf.reduce_mean(tf.reshape(no, [-1]) * u2_energy)
    return loss


def optimal_combiner(x_p: tf.Tensor, hz: tf.Tensor, no) -> tf.Tensor:
    """Linear MMSE combiner ``U2*`` for given ``z`` (Eq. (12)), over a whole batch.

    ``U2* = E{x_p (Hz)^H} (E{Hz (Hz)^H} + no I)^-1``, expectations replaced by
    averages over batch items and channel uses. Use it for the alternating
    optimisation of Sec. III-B or to initialise :class:`CEN` (``set_u2``).

    Input
    -----
    x_p : [b, nt, S], tf.complex64 -- targets.
    hz : [b, nr, S], tf.complex64 -- noiseless received signal ``H z``.
    no : scalar, tf.float32 -- complex noise variance per receive antenna.

    Output
    ------
    u2 : [nt, nr], tf.complex64.
    """
    check_complex(x_p, "x_p")
    check_complex(hz, "hz")
    check_noise_variance(no)
    count = tf.cast(tf.shape(hz)[0] * tf.shape(hz)[2], hz.dtype)
    r_xy = tf.reduce_sum(tf.matmul(x_p, hz, adjoint_b=True), axis=0) / count
    r_yy = tf.reduce_sum(tf.matmul(hz, hz, adjoint_b=True), axis=0) / count
    nr = tf.shape(hz)[1]
    r_yy = r_yy + tf.cast(no, hz.dtype) * tf.eye(nr, dtype=hz.dtype)
    # U2 R_yy = R_xy  <=>  R_yy^H U2^H = R_xy^H (R_yy Hermitian).
    return tf.linalg.adjoint(tf.linalg.solve(r_yy, tf.linalg.adjoint(r_xy)))


def precoding_matrix(precoder, h_hat: tf.Tensor, no, num_streams: int) -> tf.Tensor:
    """Matrix ``P [b, nt, ns]`` of a linear precoder, read by precoding the identity.

    ``precoder`` is any callable with the ``SVDPrecoder`` contract
    ``(s [b, ns, S], h_hat, no) -> x [b, nt, S]`` that is linear in ``s``.

    Output
    ------
    p : [b, nt, num_streams], tf.complex64 -- ``x_p = P s``.
    """
    ns = check_positive_int(num_streams, "num_streams")
    batch = tf.shape(h_hat)[0]
    eye = tf.broadcast_to(tf.eye(ns, dtype=tf.complex64)[None], tf.stack([batch, ns, ns]))
    return precoder(eye, h_hat, no)


def unprecode(x_p_hat: tf.Tensor, p: tf.Tensor, no, u2: tf.Tensor,
              eps: float = 1e-6) -> tuple[tf.Tensor, tf.Tensor]:
    """Streams from the CEN output: ``s_hat = P^+ x_p_hat`` and their noise variance.

    The standard receiver's inverse of a linear precoder ``P`` (for the SVD
    precoder ``P = V1 Lambda`` and ``P^+ = Lambda^-1 V1^H``). Streams without power
    get ``s_hat = 0`` and a noise variance of ``1/eps``, i.e. zero LLRs.

    Input
    -----
    x_p_hat : [b, nt, S], tf.complex64 -- CEN output ``U2 y``.
    p : [b, nt, ns], tf.complex64 -- precoding matrix (see :func:`precoding_matrix`).
    no : scalar or [b], tf.float32 -- complex noise variance per receive antenna.
    u2 : [nt, nr] or [b, nt, nr], tf.complex64 -- CEN combiner.
    eps : float -- relative regularisation of ``P^H P``.

    Output
    ------
    s_hat : [b, ns, S], tf.complex64 -- stream estimates.
    no_eff : [b, ns], tf.float32 -- variance of the filtered receiver noise per
        stream (the residual precoding error ``x_p - U2 H z`` is not included).
    """
    check_complex(x_p_hat, "x_p_hat")
    check_complex(p, "p")
    check_noise_variance(no)
    php = tf.matmul(p, p, adjoint_a=True)
    col_power = tf.math.real(tf.linalg.diag_part(php))  # [b, ns]
    ns = tf.shape(p)[-1]
    reg = eps * tf.reduce_max(col_power, axis=-1, keepdims=True)[..., None]
    p_pinv = tf.linalg.solve(php + tf.cast(reg, p.dtype) * tf.eye(ns, dtype=p.dtype),
                             tf.linalg.adjoint(p))  # [b, ns, nt]
    s_hat = tf.matmul(p_pinv, x_p_hat)
    f = tf.matmul(p_pinv, _u2_batch(tf.cast(u2, p.dtype)))
    gain = tf.reduce_sum(tf.math.real(f) ** 2 + tf.math.imag(f) ** 2, axis=-1)
    no = tf.reshape(tf.cast(no, tf.float32), [-1, 1])
    active = col_power > eps * tf.reduce_max(col_power, axis=-1, keepdims=True)
    no_eff = tf.where(active, no * gain, tf.cast(1.0 / eps, tf.float32))
    return s_hat, no_eff


def _per_layer(value, num_layers: int, name: str) -> list[float]:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return [float(value)] * num_layers
    if isinstance(value, (str, bytes)):
        raise TypeError(f"`{name}` must be a float or a sequence of {num_layers} floats, "
                        f"got {value!r}")
    try:
        values = [float(v) for v in value]
    except (TypeError, ValueError) as err:
        raise TypeError(f"`{name}` must be a float or a sequence of {num_layers} floats, "
                        f"got {value!r}") from err
    if len(values) != num_layers:
        raise ValueError(f"`{name}` must have num_layers={num_layers} entries, got {value!r}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"`{name}` must be finite, got {value!r}")
    return values


@keras.saving.register_keras_serializable(package="sem_sionna")
class PEN(ScalarArgsLayer):
    """Precoder enhancement network: ``T`` unfolded ADMM layers (Eq. (17), Alg. 1).

    Parameters
    ----------
    num_layers : int, default 10 -- unfolded iterations ``T``.
    num_bits_per_symbol : int, default 2 -- QAM alphabet of the transmitted
        signal ``z`` (2 = QPSK as in SCSC), scaled to power ``1/nt`` per antenna.
    gamma_init : float or sequence of ``num_layers`` floats, default 1.0 -- initial
        step sizes ``gamma_t`` (a sequence sets a schedule).
    alpha_init : float or sequence, default 0.95 -- initial damping ``alpha_t``
        (Alg. 1 uses 0.95).
    temperature : float, default 0.1 -- softness of the surrogate projection used
        for gradients, relative to the squared minimum distance of the alphabet.

    Input
    -----
    x_p : [b, nt, S], tf.complex64 -- standard precoder output (with ``nt``
        streams this is the ``SVDPrecoder`` call ``(s, h_hat, no)`` with ``s``
        already precoded; see :func:`precoding_matrix`).
    h_hat : [b, nr, nt], tf.complex64 -- channel known at the transmitter.
    no : scalar or [b], tf.float32 -- complex noise variance per receive antenna;
        accepted for the precoder contract, not used by the iterations.
    u2 : None, [nt, nr] or [b, nt, nr], tf.complex64 -- receiver combiner ``U2``
        (keyword); None means the identity (``nr == nt``).

    Output
    ------
    z : [b, nt, S], tf.complex64 -- finite-alphabet transmit signal, total power 1
        per channel use (exactly for QPSK).
    """

    _scalar_args = ("h_hat", "no")

    def __init__(self, num_layers=10, num_bits_per_symbol=2, gamma_init=1.0, alpha_init=0.95,
                 temperature=0.1, **kwargs):
        super().__init__(**kwargs)
        self.num_layers = check_positive_int(num_layers, "num_layers")
        self.num_bits_per_symbol = check_num_bits_per_symbol(num_bits_per_symbol)
        self.gamma_init = _per_layer(gamma_init, self.num_layers, "gamma_init")
        self.alpha_init = _per_layer(alpha_init, self.num_layers, "alpha_init")
        if (not isinstance(temperature, numbers.Real) or isinstance(temperature, bool)
                or not temperature > 0):
            raise ValueError(f"`temperature` must be a positive float, got {temperature!r}")
        self.temperature = float(temperature)
        self._points = None
        self._tau = None

    def __call__(self, x_p, h_hat, no=0.0, **kwargs):
        return super().__call__(x_p, h_hat, no, **kwargs)

    def build(self, x_p_shape, h_hat_shape=None, no_shape=None, u2_shape=None):
        if len(x_p_shape) != 3 or x_p_shape[1] is None:
            raise ValueError(f"`x_p` must have shape [b, nt, S] with known nt, got {x_p_shape}")
        nt = int(x_p_shape[1])
        pts = np.asarray(qam(self.num_bits_per_symbol), np.complex64) / np.float32(np.sqrt(nt))
        self._points = pts
        d = np.abs(pts[:, None] - pts[None, :])
        self._tau = self.temperature * float(np.min(d[d > 0]) ** 2)
        self.gamma = self.add_weight(
            name="gamma", shape=(self.num_layers,),
            initializer=keras.initializers.Constant(self.gamma_init))
        self.alpha = self.add_weight(
            name="alpha", shape=(self.num_layers,),
            initializer=keras.initializers.Constant(self.alpha_init))

    def project(self, r: tf.Tensor) -> tf.Tensor:
        """Hard projection forward, soft projection gradient (straight-through)."""
        points = tf.constant(self._points, r.dtype)
        soft = soft_project_to_constellation(r, points, self._tau)
        hard = project_to_constellation(r, points)
        return soft + tf.stop_gradient(hard - soft)

    def call(self, x_p, h_hat, no=None, u2=None):
        check_complex(x_p, "x_p")
        check_complex(h_hat, "h_hat")
        check_rank(h_hat, "h_hat", 3, exact=True)
        if no is not None:
            check_noise_variance(no)
        nt = x_p.shape[1]
        if h_hat.shape[2] is not None and h_hat.shape[2] != nt:
            raise ValueError(f"`h_hat` must have shape [b, nr, {nt}] to match `x_p`, "
                             f"got {tuple(h_hat.shape)}")
        if u2 is None:
            if h_hat.shape[1] is not None and h_hat.shape[1] != nt:
                raise ValueError("`u2` is required when nr != nt, got h_hat shape "
                                 f"{tuple(h_hat.shape)}")
            a = h_hat
        else:
            check_complex(u2, "u2")
            a = tf.matmul(_u2_batch(u2), h_hat)  # U2 H, [b, nt, nt]
        # W = [diag(A^H A)]^-1 A^H (Eq. (17)); the diagonal is the column energy of A.
        col_energy = tf.reduce_sum(tf.math.real(a) ** 2 + tf.math.imag(a) ** 2, axis=-2)
        inv_energy = 1.0 / tf.maximum(col_energy, 1e-12)
        w = tf.linalg.adjoint(a) * tf.complex(inv_energy, tf.zeros_like(inv_energy))[..., None]
        z = tf.zeros_like(x_p)
        # tf.complex, not tf.cast: the gradient of a real->complex cast warns.
        gamma = tf.complex(self.gamma, tf.zeros_like(self.gamma))
        alpha = tf.complex(self.alpha, tf.zeros_like(self.alpha))
        for t in range(self.num_layers):
            r = z + gamma[t] * tf.matmul(w, x_p - tf.matmul(a, z))
            z = alpha[t] * z + (1.0 - alpha[t]) * self.project(r)
        return self.project(z)

    def compute_output_shape(self, x_p_shape, *args, **kwargs):
        return x_p_shape

    def get_config(self):
        return {**super().get_config(), "num_layers": self.num_layers,
                "num_bits_per_symbol": self.num_bits_per_symbol,
                "gamma_init": self.gamma_init, "alpha_init": self.alpha_init,
                "temperature": self.temperature}


@keras.saving.register_keras_serializable(package="sem_sionna")
class CEN(keras.layers.Layer):
    """Combiner enhancement network: one complex fully connected layer ``U2`` (Eq. (11)).

    Parameters
    ----------
    num_tx_ant : int -- output size ``nt`` (entries of ``x_p``).
    gain_init : float, default 1.0 -- ``U2`` starts as ``gain_init`` times the
        ``[nt, nr]`` identity.

    Input
    -----
    y : [b, nr, S], tf.complex64 -- received signal.

    Output
    ------
    x_p_hat : [b, nt, S], tf.complex64 -- ``U2 y``, estimate of the precoder output.
    """

    def __init__(self, num_tx_ant, gain_init=1.0, **kwargs):
        super().__init__(**kwargs)
        self.num_tx_ant = check_positive_int(num_tx_ant, "num_tx_ant")
        if not isinstance(gain_init, numbers.Real) or not np.isfinite(gain_init):
            raise ValueError(f"`gain_init` must be a finite float, got {gain_init!r}")
        self.gain_init = float(gain_init)

    def build(self, y_shape):
        if len(y_shape) != 3 or y_shape[1] is None:
            raise ValueError(f"`y` must have shape [b, nr, S] with known nr, got {y_shape}")
        nr = int(y_shape[1])
        eye = self.gain_init * np.eye(self.num_tx_ant, nr, dtype=np.float32)
        self.u2_real = self.add_weight(name="u2_real", shape=(self.num_tx_ant, nr),
                                       initializer=keras.initializers.Constant(eye))
        self.u2_imag = self.add_weight(name="u2_imag", shape=(self.num_tx_ant, nr),
                                       initializer="zeros")

    @property
    def u2(self) -> tf.Tensor:
        """The combiner ``U2`` as [nt, nr], tf.complex64."""
        return tf.complex(tf.convert_to_tensor(self.u2_real), tf.convert_to_tensor(self.u2_imag))

    def set_u2(self, u2) -> None:
        """Assign ``U2`` ([nt, nr] complex), e.g. from :func:`optimal_combiner`."""
        u2 = np.asarray(u2)
        if u2.shape != tuple(self.u2_real.shape):
            raise ValueError(f"`u2` must have shape {tuple(self.u2_real.shape)}, got {u2.shape}")
        self.u2_real.assign(np.real(u2).astype(np.float32))
        self.u2_imag.assign(np.imag(u2).astype(np.float32))

    def call(self, y):
        check_complex(y, "y")
        return tf.matmul(self.u2[None], y)

    def compute_output_shape(self, y_shape):
        return (y_shape[0], self.num_tx_ant, y_shape[2])

    def get_config(self):
        return {**super().get_config(), "num_tx_ant": self.num_tx_ant,
                "gain_init": self.gain_init}


@keras.saving.register_keras_serializable(package="sem_sionna")
class PCEN(ScalarArgsLayer):
    """PEN at the transmitter and CEN at the receiver, sharing ``U2``.

    ``cen`` is the fixed combiner of Eq. (11); ``ccen`` the channel-conditioned one
    (:class:`~sem_sionna.nets.cen.ChannelCEN`, used by ``combiner="learned"`` of
    :func:`sem_sionna.links.pcen_phy.pcen_precode`).

    Calling the layer precodes (the ``SVDPrecoder`` call style); :meth:`combine`
    is the receiver side and :meth:`loss` is ``L_pcen`` with the current ``U2``.

    Parameters
    ----------
    num_tx_ant : int -- transmit antennas ``nt``.
    num_rx_ant : int -- receive antennas ``nr``.
    num_layers, num_bits_per_symbol, gamma_init, alpha_init, temperature -- see :class:`PEN`.
    gain_init : float, default 1.0 -- see :class:`CEN`.

    Input
    -----
    x_p : [b, nt, S], tf.complex64 -- standard precoder output.
    h_hat : [b, nr, nt], tf.complex64 -- channel known at the transmitter.
    no : scalar or [b], tf.float32 -- complex noise variance per receive antenna.

    Output
    ------
    z : [b, nt, S], tf.complex64 -- finite-alphabet transmit signal, power 1 per
        channel use.

    Example
    -------
    >>> h, h_hat = channel.generate(b)
    >>> x_p = svd_precoder(s, h_hat, no)
    >>> z = pcen(x_p, h_hat, no)
    >>> x_p_hat = pcen.combine(channel.apply(z, no, h))
    >>> s_hat, no_eff = unprecode(x_p_hat, precoding_matrix(svd_precoder, h_hat, no, ns),
    ...                           no, pcen.u2)
    """

    _scalar_args = ("h_hat", "no")

    def __init__(self, num_tx_ant, num_rx_ant, num_layers=10, num_bits_per_symbol=2,
                 gamma_init=1.0, alpha_init=0.95, temperature=0.1, gain_init=1.0, **kwargs):
        super().__init__(**kwargs)
        self.num_tx_ant = check_positive_int(num_tx_ant, "num_tx_ant")
        self.num_rx_ant = check_positive_int(num_rx_ant, "num_rx_ant")
        self.pen = PEN(num_layers, num_bits_per_symbol, gamma_init, alpha_init, temperature,
                       name="pen")
        self.cen = CEN(self.num_tx_ant, gain_init, name="cen")
        self.ccen = ChannelCEN(self.num_tx_ant, self.num_rx_ant, name="ccen")
        self.num_layers = self.pen.num_layers
        self.num_bits_per_symbol = self.pen.num_bits_per_symbol
        self.gamma_init = self.pen.gamma_init
        self.alpha_init = self.pen.alpha_init
        self.temperature = self.pen.temperature
        self.gain_init = self.cen.gain_init

    def __call__(self, x_p, h_hat, no=0.0, **kwargs):
        return super().__call__(x_p, h_hat, no, **kwargs)

    def build(self, x_p_shape=None, h_hat_shape=None, no_shape=None):
        nt, nr = self.num_tx_ant, self.num_rx_ant
        self.pen.build((None, nt, None), (None, nr, nt))
        self.cen.build((None, nr, None))
        self.ccen.build()

    @property
    def u2(self) -> tf.Tensor:
        """CEN's combiner ``U2`` as [nt, nr], tf.complex64."""
        return self.cen.u2

    def call(self, x_p, h_hat, no=None):
        if x_p.shape[1] is not None and x_p.shape[1] != self.num_tx_ant:
            raise ValueError(f"`x_p` must have shape [b, {self.num_tx_ant}, S] "
                             f"(num_tx_ant), got {tuple(x_p.shape)}")
        if h_hat.shape[1] is not None and h_hat.shape[1] != self.num_rx_ant:
            raise ValueError(f"`h_hat` must have shape [b, {self.num_rx_ant}, "
                             f"{self.num_tx_ant}], got {tuple(h_hat.shape)}")
        return self.pen(x_p, h_hat, no, u2=self.cen.u2)

    def combine(self, y: tf.Tensor) -> tf.Tensor:
        """Receiver side: ``x_p_hat = U2 y`` ([b, nr, S] -> [b, nt, S])."""
        if not self.built:
            self.build()
        return self.cen(y)

    def loss(self, x_p, h, z, no=None, n=None) -> tf.Tensor:
        """``L_pcen`` (Eq. (10)/(11)) with the current ``U2``; see :func:`pcen_loss`."""
        if not self.built:
            self.build()
        return pcen_loss(x_p, self.cen.u2, h, z, n=n, no=no)

    def compute_output_shape(self, x_p_shape, *args, **kwargs):
        return x_p_shape

    def get_config(self):
        return {**super().get_config(), "num_tx_ant": self.num_tx_ant,
                "num_rx_ant": self.num_rx_ant, "num_layers": self.num_layers,
                "num_bits_per_symbol": self.num_bits_per_symbol,
                "gamma_init": self.gamma_init, "alpha_init": self.alpha_init,
                "temperature": self.temperature, "gain_init": self.gain_init}
