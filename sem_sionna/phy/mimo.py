"""Narrowband MIMO block-fading channel with imperfect CSI.

One ``num_rx_ant x num_tx_ant`` channel matrix per batch example, held over all
its symbols (block fading), either i.i.d. Rayleigh or a 3GPP TR 38.901 CDL model
(Sionna's :class:`~sionna.phy.channel.tr38901.CDL`) taken at the carrier. The
channel estimate given to precoder and receiver is ``h_hat = h + e`` with
``e ~ CN(0, csi_error_var)``.
"""
from __future__ import annotations

import contextlib
import math
import numbers

import keras
import numpy as np
import tensorflow as tf
from sionna.phy import config as _sionna_config
from sionna.phy.channel.tr38901 import CDL, AntennaArray

from sem_sionna.utils.scalars import ScalarArgsLayer, to_float_tensor
from sem_sionna.utils.checks import (check_complex, check_noise_variance,
                                     check_positive_int, check_rank)

__all__ = ["MIMO_MODELS", "MIMOChannel"]

MIMO_MODELS = ("rayleigh", "cdl-a", "cdl-b", "cdl-c", "cdl-d", "cdl-e")
"""Channel models accepted by :class:`MIMOChannel`."""

# Fixed CDL scenario. At the carrier (f = 0 in baseband) and without motion the
# narrowband channel depends on neither delay spread nor speed, and with antenna
# spacing in wavelengths not on the carrier frequency either; they are set to
# nominal TR 38.901 values (Table 7.7.3-1: 100 ns "nominal delay spread").
_CDL_CARRIER_FREQUENCY = 3.5e9
_CDL_DELAY_SPREAD = 100e-9
_CDL_SPEED = 0.0


def _complex_normal(shape, seed_generator, dtype=tf.complex64):
    """CN(0, 1) samples: real and imaginary parts i.i.d. N(0, 1/2)."""
    real_dtype = tf.as_dtype(dtype).real_dtype
    std = math.sqrt(0.5)
    re = keras.random.normal(shape, stddev=std, dtype=real_dtype, seed=seed_generator)
    im = keras.random.normal(shape, stddev=std, dtype=real_dtype, seed=seed_generator)
    return tf.complex(re, im)


class _SeededSionnaRNG:
    """Stand-in for Sionna's ``config.tf_rng`` drawing from a Keras ``SeedGenerator``.

    Sionna's CDL draws its random coupling and ray phases from a global
    ``tf.random.Generator`` that is created lazily and cannot be created inside
    a functional model or a compiled function. Routing those draws through the
    layer's own ``SeedGenerator`` makes the CDL channel work eagerly, in
    ``tf.function``, with XLA and in functional models, and reproducible from
    the layer's ``seed``.
    """

    def __init__(self, seed_generator: keras.random.SeedGenerator):
        self._seed_generator = seed_generator

    def uniform(self, shape, minval=0.0, maxval=None, dtype=tf.float32, name=None):
        maxval = 1.0 if maxval is None else maxval
        return keras.random.uniform(shape, minval=minval, maxval=maxval, dtype=dtype,
                                    seed=self._seed_generator)

    def normal(self, shape, mean=0.0, stddev=1.0, dtype=tf.float32, name=None):
        return keras.random.normal(shape, mean=mean, stddev=stddev, dtype=dtype,
                                   seed=self._seed_generator)


@contextlib.contextmanager
def _sionna_rng(seed_generator):
    """Temporarily point Sionna's global generator at ``seed_generator``.

    The swap only lasts while Python builds the CDL ops (eagerly or while
    tracing); a traced graph keeps the Keras random ops and needs no global state.
    """
    if not hasattr(_sionna_config, "_tf_rng"):  # unknown Sionna internals: use its own RNG
        yield
        return
    previous = _sionna_config._tf_rng
    _sionna_config._tf_rng = _SeededSionnaRNG(seed_generator)
    try:
        yield
    finally:
        _sionna_config._tf_rng = previous


@keras.saving.register_keras_serializable(package="sem_sionna")
class MIMOChannel(ScalarArgsLayer):
    r"""Narrowband MIMO block-fading channel ``y = h x + n`` with a noisy channel estimate.

    Each batch example gets its own channel matrix ``h``, held over all ``s``
    symbols of the example. ``n`` is i.i.d. ``CN(0, no)`` per receive antenna
    and symbol; with unit total transmit power per channel use (summed over the
    transmit antennas) and ``E|h_ij|^2 = 1`` the SNR per receive antenna is
    ``-10 log10(no)`` dB. The estimate returned with ``y`` is
    ``h_hat = h + e``, ``e`` i.i.d. ``CN(0, csi_error_var)``.

    Models
    ------
    ``"rayleigh"``
        Entries of ``h`` i.i.d. ``CN(0, 1)`` (Sionna's ``RayleighBlockFading``
        statistics, drawn from the layer's own ``SeedGenerator``).
    ``"cdl-a"`` .. ``"cdl-e"``
        3GPP TR 38.901 CDL-A..E (7.7.1) from Sionna's ``tr38901.CDL``, downlink:
        the transmitter is a ULA of ``num_tx_ant`` and the receiver a ULA of
        ``num_rx_ant`` single-polarised (V), omnidirectional elements at half-
        wavelength spacing; carrier 3.5 GHz, delay spread 100 ns, speed 0 m/s.
        The narrowband channel is the frequency response at the carrier, i.e.
        the sum of the path coefficients (``exp(-j 2 pi f tau) = 1`` at
        ``f = 0``), scaled by ``1/sqrt(sum_n P_n)`` so that
        ``E|h_ij|^2 = 1`` (the elements have unit gain). CDL-D/E are LoS
        models: their entries are Rician and correlated across antennas.
        Sionna's random draws are routed through the layer's ``SeedGenerator``,
        so CDL works eagerly, in ``tf.function``, with XLA and inside
        functional models, like ``"rayleigh"``, but is slower to draw (every ray is built).

    Parameters
    ----------
    num_tx_ant : int -- number of transmit antennas ``nt``, positive.
    num_rx_ant : int -- number of receive antennas ``nr``, positive.
    model : str, default "rayleigh" -- one of :data:`MIMO_MODELS`.
    csi_error_var : float, default 0.0 -- variance of each entry of the CSI error
        ``e``, linear, ``>= 0`` (0 = perfect CSI).
    return_channel : bool, default False -- also return the true channel ``h``.
    seed : int or None -- seed of the layer's ``keras.random.SeedGenerator``.

    Input
    -----
    x : [batch, num_tx_ant, s], tf.complex64 -- transmitted symbols, per antenna
        and channel use; total power per channel use 1 (summed over antennas).
    no : scalar or tensor broadcastable to ``[batch, num_rx_ant, s]`` after dummy axes
        are appended at the end (e.g. ``[batch]``), tf.float32 -- complex noise
        variance per receive antenna and symbol, linear.

    Output
    ------
    y : [batch, num_rx_ant, s], tf.complex64 -- received symbols.
    h_hat : [batch, num_rx_ant, num_tx_ant], tf.complex64 -- channel estimate.
    h : [batch, num_rx_ant, num_tx_ant], tf.complex64 -- true channel, only with
        ``return_channel=True``.

    Note
    ----
    When a precoder needs the estimate before transmission, split the call::

        h, h_hat = channel.generate(batch_size)
        x = precoder(s, h_hat, no)
        y = channel.apply(x, no, h)

    All randomness (channel, CSI error, noise) comes from the layer's
    ``keras.random.SeedGenerator``; with ``seed=None``,
    ``keras.utils.set_random_seed`` makes runs reproducible. Eager execution and
    ``tf.function`` draw identical numbers; under XLA TensorFlow's stateless
    generators produce a different, identically distributed stream. The
    generator state is not stored in ``.keras`` files: a reloaded layer starts
    again from ``seed``.

    Example
    -------
    >>> ch = MIMOChannel(2, 2, csi_error_var=0.1, seed=1)
    >>> y, h_hat = ch(tf.ones([8, 2, 16], tf.complex64), 0.1)
    """

    _scalar_args = ("no",)

    def __init__(self, num_tx_ant, num_rx_ant, model="rayleigh", csi_error_var=0.0,
                 return_channel=False, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.num_tx_ant = check_positive_int(num_tx_ant, "num_tx_ant")
        self.num_rx_ant = check_positive_int(num_rx_ant, "num_rx_ant")
        if not isinstance(model, str) or model.lower() not in MIMO_MODELS:
            raise ValueError(f"`model` must be one of {list(MIMO_MODELS)}, got {model!r}")
        self.model = model.lower()
        if (isinstance(csi_error_var, (bool, np.bool_))
                or not isinstance(csi_error_var, numbers.Real)):
            raise TypeError(f"`csi_error_var` must be a real number >= 0, got {csi_error_var!r}")
        if not math.isfinite(csi_error_var) or csi_error_var < 0:
            raise ValueError(f"`csi_error_var` must be a finite number >= 0, got {csi_error_var!r}")
        self.csi_error_var = float(csi_error_var)
        self.return_channel = bool(return_channel)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

        self._cdl = None
        self._cdl_scale = 1.0
        if self.model.startswith("cdl-"):
            def ula(n):
                return AntennaArray(num_rows=1, num_cols=n, polarization="single",
                                    polarization_type="V", antenna_pattern="omni",
                                    carrier_frequency=_CDL_CARRIER_FREQUENCY)
            self._cdl = CDL(self.model[-1].upper(), _CDL_DELAY_SPREAD, _CDL_CARRIER_FREQUENCY,
                            ut_array=ula(self.num_rx_ant), bs_array=ula(self.num_tx_ant),
                            direction="downlink", min_speed=_CDL_SPEED)
            # PDP normalised to sum_n P_n = 1 (TR 38.901 7.7.1); with unit-gain
            # elements this is E|h_ij|^2, divided out in case of rounding.
            total_power = float(tf.reduce_sum(self._cdl.powers))
            self._cdl_scale = 1.0 / math.sqrt(total_power)

    # ------------------------------------------------------------------ generate
    def generate(self, batch_size):
        """Draw ``batch_size`` channels and their estimates.

        Input
        -----
        batch_size : int or scalar int tensor -- number of channel matrices.

        Output
        ------
        h : [batch_size, num_rx_ant, num_tx_ant], tf.complex64 -- true channels.
        h_hat : [batch_size, num_rx_ant, num_tx_ant], tf.complex64 -- estimates ``h + e``.
        """
        if isinstance(batch_size, (numbers.Number, np.generic)):
            batch_size = check_positive_int(batch_size, "batch_size")
        shape = (batch_size, self.num_rx_ant, self.num_tx_ant)
        if self._cdl is None:
            h = _complex_normal(shape, self.seed_generator)
        else:
            with _sionna_rng(self.seed_generator):
                # a: [batch, 1, nr, 1, nt, paths, 1 time step]
                a, _ = self._cdl(batch_size, 1, 1.0)
            h = tf.reduce_sum(a[:, 0, :, 0, :, :, 0], axis=-1)
            h = tf.cast(h, tf.complex64) * tf.complex(self._cdl_scale, 0.0)
        if self.csi_error_var > 0:
            e = _complex_normal(shape, self.seed_generator)
            h_hat = h + tf.complex(math.sqrt(self.csi_error_var), 0.0) * e
        else:
            h_hat = tf.identity(h)
        return h, h_hat

    # --------------------------------------------------------------------- apply
    def _check_x(self, x):
        check_complex(x, "x")
        check_rank(x, "x", 3, exact=True)
        if x.shape[1] is not None and x.shape[1] != self.num_tx_ant:
            raise ValueError(f"`x` must have shape [batch, num_tx_ant={self.num_tx_ant}, s], "
                             f"got shape {tuple(x.shape)}")

    def apply(self, x, no, h):
        """Send ``x`` through the channels ``h`` and add noise of variance ``no``.

        Input
        -----
        x : [batch, num_tx_ant, s], tf.complex64 -- transmitted symbols.
        no : scalar or broadcastable to ``[batch, num_rx_ant, s]`` (dummy axes appended
            at the end), tf.float32 -- complex noise variance per receive antenna and symbol.
        h : [batch, num_rx_ant, num_tx_ant], tf.complex64 -- channels (e.g. from
            :meth:`generate`), held over the ``s`` symbols.

        Output
        ------
        y : [batch, num_rx_ant, s], tf.complex64 -- ``h x + n``.
        """
        self._check_x(x)
        no = to_float_tensor(no, "no")
        check_noise_variance(no, "no")
        check_complex(h, "h")
        check_rank(h, "h", 3, exact=True)
        if tuple(h.shape[1:]) != (self.num_rx_ant, self.num_tx_ant) and None not in h.shape[1:]:
            raise ValueError(f"`h` must have shape [batch, num_rx_ant={self.num_rx_ant}, "
                             f"num_tx_ant={self.num_tx_ant}], got shape {tuple(h.shape)}")
        h = tf.cast(h, x.dtype)
        y = tf.matmul(h, x)
        no = tf.cast(no, x.dtype.real_dtype)
        rank = no.shape.rank
        if rank is not None and rank > 3:
            raise ValueError(f"`no` must broadcast to y [batch, num_rx_ant, s], "
                             f"got shape {tuple(no.shape)}")
        if rank is not None:
            # Sionna's broadcasting: dummy axes are appended at the end.
            no = tf.reshape(no, tf.concat([tf.shape(no), tf.ones([3 - rank], tf.int32)], 0))
        n = _complex_normal(tf.shape(y), self.seed_generator, dtype=x.dtype)
        return y + tf.complex(tf.sqrt(no), tf.zeros_like(no)) * n

    # ---------------------------------------------------------------------- call
    def call(self, x, no):
        self._check_x(x)
        h, h_hat = self.generate(tf.shape(x)[0])
        y = self.apply(x, no, h)
        if self.return_channel:
            return y, h_hat, h
        return y, h_hat

    def get_config(self):
        return {**super().get_config(), "num_tx_ant": self.num_tx_ant,
                "num_rx_ant": self.num_rx_ant, "model": self.model,
                "csi_error_var": self.csi_error_var, "return_channel": self.return_channel,
                "seed": self.seed}
