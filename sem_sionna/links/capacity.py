"""Ideal-capacity bound of separate source-channel coding.

The best a separate (codec + channel code) scheme can do over ``num_channel_uses``
channel uses: a capacity-achieving channel code carries ``num_channel_uses * C``
bits without error, so the receiver decodes the codec payload at the best quality
that fits that budget::

    image -> capacity C(SNR, h) [bits per channel use]
          -> budget floor(num_channel_uses * C / 8) bytes
          -> codec at the best quality within the budget -> (no channel errors)
          -> codec decodes ? decoded image : fallback image

``C`` is the Gaussian-input capacity of the block: ``log2(1 + snr)`` over AWGN,
``log2(1 + |h|^2 snr)`` over a Rayleigh block with coefficient ``h``, and the
water-filling capacity of the MIMO matrix ``H`` (Telatar 1999; Cover & Thomas,
Sec. 9.4) with perfect CSI at both ends. One channel realisation is held over
an image's whole block, so the fading bound is per block (outage-free genie
knowledge of ``h`` at the transmitter), not the ergodic capacity.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from sem_sionna import codecs
from sem_sionna.links.base import (CodecChain, channel_config, check_num_streams,
                                   resolve_channel)
from sem_sionna.phy.mimo import MIMOChannel
from sem_sionna.phy.power import water_filling
from sem_sionna.utils.checks import check_positive_int

__all__ = ["CAPACITY_CHANNELS", "capacity_bits", "CapacityBound"]

CAPACITY_CHANNELS = ("awgn", "rayleigh", "mimo")
"""Channel names accepted by :func:`capacity_bits` (a ``MIMOChannel`` counts as ``"mimo"``)."""


def _snr_linear(snr_db) -> np.ndarray:
    snr_db = np.asarray(snr_db, np.float64)
    if snr_db.ndim > 1:
        raise ValueError(f"`snr_db` must be a scalar or have shape [batch], "
                         f"got shape {snr_db.shape}")
    if not np.all(np.isfinite(snr_db)):
        raise ValueError(f"`snr_db` must be finite, got {snr_db!r}")
    return 10.0 ** (snr_db / 10.0)


def capacity_bits(snr_db, channel="awgn", h=None, num_streams: int | None = None) -> np.ndarray:
    r"""Gaussian-input capacity per channel use, per image (block).

    - ``"awgn"``: :math:`C = \log_2(1 + \mathrm{snr})`;
    - ``"rayleigh"``: :math:`C = \log_2(1 + |h|^2 \mathrm{snr})` for the block's
      coefficient ``h`` (genie CSI at the transmitter, one value per block);
    - ``"mimo"`` (or a :class:`~sem_sionna.phy.MIMOChannel`): with the singular values
      :math:`\sigma_k` of ``h`` and ``no = 1/snr``,
      :math:`C = \sum_k \log_2(1 + p_k \sigma_k^2 / no)` with the water-filling powers
      :math:`p_k` (:func:`~sem_sionna.phy.water_filling`, :math:`\sum_k p_k = 1`) over the
      ``num_streams`` strongest eigen-channels.

    ``snr = 10^(snr_db/10) = 1/no`` is the SNR per receive antenna with unit total
    transmit power and ``E|h_ij|^2 = 1``, as in :class:`~sem_sionna.phy.MIMOChannel`.

    Parameters
    ----------
    channel : str or MIMOChannel, default "awgn" -- one of :data:`CAPACITY_CHANNELS`.
    num_streams : int or None -- MIMO eigen-channels used (the strongest);
        default ``min(nr, nt)``. Must be None or 1 for ``"awgn"``/``"rayleigh"``.

    Input
    -----
    snr_db : scalar or [batch], float -- SNR in dB.
    h : None (``"awgn"``); [batch] or [batch, 1, 1], complex (``"rayleigh"``);
        [batch, nr, nt], complex (``"mimo"``) -- true channel of each block.

    Output
    ------
    c : [batch] (or the shape of ``snr_db`` for ``"awgn"``), np.float64 -- capacity in
        bits per (complex) channel use, summed over the streams.
    """
    if isinstance(channel, MIMOChannel):
        expected = (channel.num_rx_ant, channel.num_tx_ant)
        channel = "mimo"
    elif isinstance(channel, str) and channel in CAPACITY_CHANNELS:
        expected = (1, 1) if channel == "rayleigh" else None
    else:
        raise ValueError(f"`channel` must be one of {CAPACITY_CHANNELS} or a MIMOChannel, "
                         f"got {channel!r}")
    snr = _snr_linear(snr_db)
    if channel == "awgn":
        if h is not None:
            raise ValueError("`h` must be None for channel='awgn'")
        if num_streams not in (None, 1):
            raise ValueError(f"`num_streams` must be None or 1 for channel='awgn', "
                             f"got {num_streams!r}")
        return np.log2(1.0 + snr)

    if h is None:
        raise ValueError(f"`h` is required for channel={channel!r}: the channel of each block")
    h = np.asarray(h)
    if channel == "rayleigh" and h.ndim == 1:
        h = h[:, None, None]
    if h.ndim != 3 or (expected is not None and h.shape[1:] != expected):
        want = "[batch, nr, nt]" if expected is None else f"[batch, {expected[0]}, {expected[1]}]"
        extra = " or [batch]" if channel == "rayleigh" else ""
        raise ValueError(f"`h` must have shape {want}{extra} for channel={channel!r}, "
                         f"got shape {h.shape}")
    max_streams = min(h.shape[1:])
    if num_streams is None:
        num_streams = max_streams
    num_streams = check_positive_int(num_streams, "num_streams")
    if num_streams > max_streams:
        raise ValueError(f"`num_streams` must be <= min(nr, nt) = {max_streams}, "
                         f"got {num_streams}")
    if snr.ndim == 1 and snr.shape[0] != h.shape[0]:
        raise ValueError(f"`snr_db` has shape {snr.shape}, `h` has batch size {h.shape[0]}")
    # singular values come in descending order: keep the strongest eigen-channels
    sigma2 = np.linalg.svd(h.astype(np.complex128), compute_uv=False)[:, :num_streams] ** 2
    gains = sigma2 * np.broadcast_to(snr, (h.shape[0],))[:, None]
    p = water_filling(tf.constant(gains, tf.float64)).numpy()
    return np.sum(np.log2(1.0 + p * gains), axis=-1)


@keras.saving.register_keras_serializable(package="sem_sionna")
class CapacityBound(CodecChain):
    """Genie upper bound of a codec over a capacity-achieving channel code.

    Each image gets ``floor(num_channel_uses * C / 8)`` bytes, ``C`` from
    :func:`capacity_bits` for its SNR and channel block, and is sent at the best codec
    quality that fits (:func:`~sem_sionna.codecs.encode_batch_to_budget`, every codec
    byte counted, no framing or CRC overhead), then decoded without channel errors.
    Where not even the lowest quality fits, nothing is sent and the receiver shows the
    fallback (``fallback`` if given, else mid-grey 0.5); such images have
    ``info["decoded"] == False``. No channel-code loss, no finite-blocklength loss, no
    outage: it bounds every :class:`~sem_sionna.links.DigitalLink` (and
    :class:`~sem_sionna.links.DigitalOracle`) with the same codec, channel uses and channel.

    Fading channels draw one realisation per image from a ``MIMOChannel``
    (``"rayleigh"``: an own seeded ``MIMOChannel(1, 1)``; an instance: its own
    generator) and use the true ``h``, whatever CSI error the channel models.

    Parameters
    ----------
    codec : str or codecs.ImageCodec -- ``"jpeg"``, ``"jpeg2000"``, ``"webp"``, ``"hevc"``.
    num_channel_uses : int -- complex channel uses per image (per stream), positive.
    channel : "awgn", "rayleigh" or phy.MIMOChannel, default "awgn".
    fallback : [H, W, 3] array or None -- reconstruction when nothing fits.
    num_streams : int or None -- MIMO eigen-channels (default ``min(nt, nr)``).
    seed : int or None -- seed of the ``"rayleigh"`` channel draws.

    Input
    -----
    images, snr_db : as :class:`~sem_sionna.links.DigitalLink`.

    Output
    ------
    x_hat : [batch, H, W, 3], tf.float32 -- reconstructions.
    info : dict, only with ``return_info=True`` -- ``decoded`` [batch] bool (a payload
        fitted and decoded), ``payload_bytes`` [batch] int32, ``quality`` [batch] int32
        (-1 if nothing sent), ``capacity`` [batch] float32 (bits per channel use),
        ``budget_bytes`` [batch] int32.

    Example
    -------
    >>> bound = CapacityBound("hevc", num_channel_uses=256)
    >>> x_hat, info = bound.run(images, 10.0)   # NumPy in, NumPy out
    """

    info_spec = (("decoded", tf.bool), ("payload_bytes", tf.int32), ("quality", tf.int32),
                 ("capacity", tf.float32), ("budget_bytes", tf.int32))

    def __init__(self, codec, num_channel_uses: int, channel="awgn", fallback=None,
                 num_streams: int | None = None, seed: int | None = None, **kwargs):
        super().__init__(codec, fallback, **kwargs)
        self.num_channel_uses = check_positive_int(num_channel_uses, "num_channel_uses")
        self.seed = seed
        self.channel, self._mimo = resolve_channel(channel, seed)
        self.num_streams = check_num_streams(num_streams, self._mimo)

    # -- NumPy API ------------------------------------------------------------------
    def capacity(self, snr_db, batch_size: int) -> np.ndarray:
        """Capacity of ``batch_size`` blocks (fresh channel draws): [batch] np.float64."""
        snr_db = np.broadcast_to(np.asarray(snr_db, np.float64), (batch_size,))
        if self._mimo is None:
            return capacity_bits(snr_db, "awgn")
        h, _ = self._mimo.generate(batch_size)
        return capacity_bits(snr_db, "mimo", h.numpy(), self.num_streams)

    def run(self, images, snr_db):
        """Budget, encode and decode a batch in NumPy: ``(x_hat, info)``."""
        images = np.asarray(images, np.float32)
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"`images` must have shape [batch, H, W, 3], got {images.shape}")
        batch_size = images.shape[0]
        shape = images.shape[1:]
        fallback = self._fallback(shape)
        c = self.capacity(snr_db, batch_size)
        # a capacity-achieving code carries N C bits; a byte that does not fit is not sent
        budget = np.floor(self.num_channel_uses * c / 8.0).astype(np.int64)
        encoded = [(b"", None)] * batch_size
        fits = np.flatnonzero(budget > 0)
        if fits.size:
            for i, e in zip(fits, codecs.encode_batch_to_budget(self.codec, images[fits],
                                                                 budget[fits])):
                encoded[i] = e
        payloads = [p for p, _ in encoded]
        x_hat, decoded = codecs.decode_batch(self.codec, payloads, shape, fallback)
        info = {"decoded": decoded,
                "payload_bytes": np.array([len(p) for p in payloads], np.int32),
                "quality": np.array([-1 if q is None else q for _, q in encoded], np.int32),
                "capacity": c.astype(np.float32),
                "budget_bytes": np.minimum(budget, np.iinfo(np.int32).max).astype(np.int32)}
        return x_hat, info

    def get_config(self):
        return {**super().get_config(), "num_channel_uses": self.num_channel_uses,
                "channel": channel_config(self.channel), "num_streams": self.num_streams,
                "seed": self.seed}
