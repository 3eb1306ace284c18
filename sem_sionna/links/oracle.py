"""Choice of code rate and QAM order per SNR for the separate digital baseline: fixed on
validation images (default), or the genie upper bound that picks on the test images."""
from __future__ import annotations

import numbers
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from sem_sionna.links.base import CodecChain, channel_config, resolve_channel
from sem_sionna.links.digital import DigitalLink
from sem_sionna.metrics import ms_ssim, psnr
from sem_sionna.phy.mimo import MIMOChannel
from sem_sionna.utils.checks import check_positive_int

__all__ = ["DEFAULT_MCS", "ORACLE_METRICS", "SELECT_MODES", "DigitalOracle"]

SELECT_MODES = ("validation", "genie")
"""How :class:`DigitalOracle` picks the MCS: fixed per SNR by :meth:`DigitalOracle.select_mcs`
on validation images, or per batch from the test outcomes (upper bound)."""

DEFAULT_MCS = ((1 / 4, 2), (1 / 3, 2), (1 / 2, 2), (2 / 3, 2), (3 / 4, 2),
               (1 / 3, 4), (1 / 2, 4), (2 / 3, 4), (3 / 4, 4),
               (1 / 2, 6), (2 / 3, 6), (3 / 4, 6))
"""``(coderate, num_bits_per_symbol)`` pairs tried by default: QPSK at rates 1/4..3/4,
16-QAM at 1/3..3/4 and 64-QAM at 1/2..3/4, the span of the 5G NR MCS table
(38.214 Table 5.1.3.1-1) in round rates."""

ORACLE_METRICS = {"psnr": psnr, "ms_ssim": ms_ssim}
"""Metrics the oracle can maximise: name -> per-image function ``(x, x_hat) -> [batch]``."""

# DigitalLink arguments that DigitalOracle passes through to every link
_LINK_ARGS = ("num_streams", "power_allocation", "num_iter", "jit_compile", "seed")
# channel uses of a block that carries a payload at every rate and QAM order
_PROBE_CHANNEL_USES = 4096


def _check_mcs(mcs) -> tuple[tuple[float, int], ...]:
    if isinstance(mcs, (str, bytes)) or not isinstance(mcs, Sequence) or not mcs:
        raise ValueError(f"`mcs` must be a non-empty sequence of (coderate, "
                         f"num_bits_per_symbol) pairs, got {mcs!r}")
    table = []
    for entry in mcs:
        valid = (isinstance(entry, Sequence) and len(entry) == 2
                 and isinstance(entry[0], numbers.Real) and 0.0 < float(entry[0]) < 1.0
                 and isinstance(entry[1], numbers.Integral)
                 and not isinstance(entry[1], (bool, np.bool_))
                 and entry[1] > 0 and entry[1] % 2 == 0)
        if not valid:
            raise ValueError(f"`mcs` entries must be (coderate in (0, 1), even "
                             f"num_bits_per_symbol > 0), got {entry!r}")
        table.append((float(entry[0]), int(entry[1])))
    if len(set(table)) != len(table):
        raise ValueError(f"`mcs` has repeated entries: {mcs!r}")
    return tuple(table)


@keras.saving.register_keras_serializable(package="sem_sionna")
class DigitalOracle(CodecChain):
    """Separate-coding baseline with the best (code rate, QAM order) picked per SNR.

    One :class:`DigitalLink` per ``(coderate, num_bits_per_symbol)`` in ``mcs``, all
    with the same codec, channel uses, channel model and seed::

        images -> for every MCS: codec at its budget -> 5G TB + QAM -> channel
                  -> BP + CRC -> codec decode / fallback -> metric(images, x_hat)
               -> keep the MCS with the best mean metric over the batch

    A low rate survives low SNR but leaves few bytes to the codec; a high rate gives
    the codec more bytes but fails below its threshold. Picking the best per SNR with
    knowledge of the outcome (the reconstructions of this very batch) is a **genie
    upper bound** of link adaptation, the envelope that the seeds draw for their
    digital baselines (S1 "the best (rate, QAM) per SNR"; S3 "the best-performing
    combination is selected"). A real transmitter chooses from CSI before sending
    and does worse. Ties go to the higher spectral efficiency ``coderate * m``, then
    the higher code rate.

    MCS that carry no payload at ``num_channel_uses`` (transport block too small, or
    no room after the length field) are dropped at construction and listed in
    :attr:`skipped_mcs`; an MCS whose budget no codec quality fits for any image of
    a batch is not transmitted and not eligible (metric NaN in ``mcs_metric``). If no
    MCS is eligible the oracle returns the fallback with ``mcs = None``.

    The links use the same ``seed``; a ``MIMOChannel`` is cloned per link from its
    config, so with a seeded channel every MCS sees the same channel draws (common
    random numbers). Each link draws its own noise.

    Parameters
    ----------
    codec : str or codecs.ImageCodec -- ``"jpeg"``, ``"jpeg2000"``, ``"webp"``, ``"hevc"``.
    num_channel_uses : int -- complex channel uses per image (per stream), positive.
    mcs : sequence of (float, int), default :data:`DEFAULT_MCS` -- ``(coderate,
        num_bits_per_symbol)`` pairs.
    channel : "awgn", "rayleigh" or phy.MIMOChannel, default "awgn".
    fallback : [H, W, 3] array or None -- reconstruction after a failure (mid-grey if None).
    metric : "psnr" or "ms_ssim", default "psnr" -- what the oracle maximises.
    select : "validation" or "genie", default "validation" -- ``"validation"``: the MCS
        per SNR is fixed beforehand by :meth:`select_mcs` on held-out validation images
        (for this ``num_channel_uses``, i.e. this CBR) and :meth:`evaluate` transmits
        only that MCS; ``"genie"``: the best MCS of each test batch, an upper bound.
    **kwargs : ``num_streams``, ``power_allocation``, ``num_iter``, ``jit_compile``,
        ``seed`` go to every :class:`DigitalLink`; the rest to ``keras.layers.Layer``.

    Attributes
    ----------
    mcs : tuple of (float, int) -- the MCS in use (``skipped_mcs`` removed).
    links : list of DigitalLink -- one per entry of ``mcs``.
    skipped_mcs : tuple of (float, int) -- requested MCS that carry no payload.

    Input
    -----
    images : [batch, H, W, 3], tf.float32 -- in [0, 1].
    snr_db : scalar, tf.float32 -- SNR in dB, one for the batch (the choice is per SNR).

    Output
    ------
    x_hat : [batch, H, W, 3], tf.float32 -- reconstructions of the chosen MCS.
    info : dict, only with ``return_info=True`` -- ``decoded``, ``payload_bytes``,
        ``crc_ok``, ``quality`` ([batch], as :class:`DigitalLink`, for the chosen MCS)
        and ``mcs_index`` [batch] int32 (index into :attr:`mcs`, -1 if none).
        :meth:`evaluate` returns the full table (see there).

    Example
    -------
    >>> oracle = DigitalOracle("hevc", 256, seed=1)
    >>> state = oracle.encode(images)                      # once per group
    >>> for snr_db in (0.0, 5.0, 10.0):
    ...     x_hat, info = oracle.reconstruct(state, snr_db)
    ...     print(snr_db, info["mcs"], info["mcs_metric"][info["mcs"]])
    """

    info_spec = (("decoded", tf.bool), ("payload_bytes", tf.int32), ("crc_ok", tf.bool),
                 ("quality", tf.int32), ("mcs_index", tf.int32))

    def __init__(self, codec, num_channel_uses: int, mcs=DEFAULT_MCS, channel="awgn",
                 fallback=None, metric: str = "psnr", select: str = "validation", **kwargs):
        link_kwargs = {k: kwargs.pop(k) for k in _LINK_ARGS if k in kwargs}
        super().__init__(codec, fallback, **kwargs)
        self.num_channel_uses = check_positive_int(num_channel_uses, "num_channel_uses")
        self.requested_mcs = _check_mcs(mcs)
        self.metric = self._check_metric(metric)
        if select not in SELECT_MODES:
            raise ValueError(f"`select` must be one of {SELECT_MODES}, got {select!r}")
        self.select = select
        #: ``{snr_db: (coderate, m) or None}`` fixed by :meth:`select_mcs`
        self.selection: dict = {}
        self.channel, _ = resolve_channel(channel)
        self.link_kwargs = link_kwargs

        links, used, skipped = [], [], []
        for coderate, m in self.requested_mcs:
            def make(num_channel_uses, coderate=coderate, m=m):
                return DigitalLink(self.codec, num_channel_uses, m, coderate,
                                   channel=self._channel_copy(), fallback=self.fallback,
                                   **link_kwargs)
            try:
                link = make(self.num_channel_uses)
            except ValueError:
                # a block too small for any payload is refused by the transport chain;
                # if a large block is refused too, the error is the caller's (e.g.
                # num_streams) and propagates
                make(max(_PROBE_CHANNEL_USES, self.num_channel_uses))
                skipped.append((coderate, m))
                continue
            if link.max_payload_bytes <= 0:
                skipped.append((coderate, m))
                continue
            links.append(link)
            used.append((coderate, m))
        if not links:
            raise ValueError(f"`num_channel_uses`={num_channel_uses} carries no payload for "
                             f"any entry of `mcs` {list(self.requested_mcs)}")
        self.links = links
        self.mcs = tuple(used)
        self.skipped_mcs = tuple(skipped)

    @staticmethod
    def _check_metric(metric) -> str:
        if metric not in ORACLE_METRICS:
            raise ValueError(f"`metric` must be one of {list(ORACLE_METRICS)}, got {metric!r}")
        return metric

    def _channel_copy(self):
        if isinstance(self.channel, str):
            return self.channel
        config = self.channel.get_config()
        config.pop("name", None)
        return MIMOChannel.from_config(config)

    @property
    def max_payload_bytes(self) -> dict:
        """Codec byte budget of each MCS: ``{(coderate, m): bytes}``."""
        return {mcs: link.max_payload_bytes for mcs, link in zip(self.mcs, self.links)}

    # -- sweep API ----------------------------------------------------------------
    def encode(self, images) -> dict:
        """Source-encode a batch once per MCS (budgets differ).

        Output
        ------
        state : dict -- ``images`` (the originals, the genie's reference) and ``mcs``:
            ``{(coderate, m): DigitalLink.encode(images)}`` (``bits``, ``payloads``,
            ``quality``, ``shape`` each).
        """
        images = np.asarray(images, np.float32)
        return {"images": images,
                "mcs": {mcs: link.encode(images) for mcs, link in zip(self.mcs, self.links)}}

    def reconstruct(self, state: dict, snr_db, channel=None):
        """The sweep protocol (:mod:`sem_sionna.sweep.protocol`): :meth:`evaluate`."""
        self._check_channel(channel)
        return self.evaluate(state, snr_db)

    def evaluate(self, state: dict, snr_db, metric: str | None = None):
        """Transmit the MCS chosen for ``snr_db`` (the genie: every MCS, keeping the best):
        ``(x_hat, info)`` as NumPy.

        Input
        -----
        state : dict -- from :meth:`encode`.
        snr_db : scalar, float -- SNR in dB.
        metric : "psnr", "ms_ssim" or None -- what to maximise (None: ``self.metric``).

        Output
        ------
        x_hat : [batch, H, W, 3], np.float32 -- reconstructions of the chosen MCS.
        info : dict -- ``decoded``, ``crc_ok``, ``payload_bytes``, ``quality`` ([batch],
            chosen MCS, as :meth:`DigitalLink.decode`); ``mcs``: the chosen
            ``(coderate, m)`` or None; ``mcs_metric``: ``{mcs: mean metric}`` (NaN where
            nothing was sent); ``mcs_fail_rate``: ``{mcs: fraction not decoded}``;
            ``fail_rate``: that of the chosen MCS; ``skipped_mcs``.
        """
        metric = self.metric if metric is None else self._check_metric(metric)
        if np.ndim(snr_db) != 0:
            raise ValueError(f"`snr_db` must be a scalar (the oracle picks per SNR), "
                             f"got shape {np.shape(snr_db)}")
        if not isinstance(state, dict) or "mcs" not in state or "images" not in state:
            raise ValueError("`state` must be what oracle.encode(images) returns")
        encoded, images = state["mcs"], state["images"]
        missing = [mcs for mcs in self.mcs if mcs not in encoded]
        if missing:
            raise ValueError(f"`state` lacks the MCS {missing}; pass oracle.encode(images)")
        candidates = self.mcs
        if self.select == "validation":
            key = float(snr_db)
            if key not in self.selection:
                raise ValueError(f"`snr_db`={snr_db!r} has no MCS chosen on validation images; "
                                 f"call select_mcs(val_images, snr_db_grid) first (chosen for "
                                 f"{sorted(self.selection)})")
            candidates = () if self.selection[key] is None else (self.selection[key],)
        return self._evaluate(encoded, images, snr_db, metric, candidates)

    def select_mcs(self, val_images, snr_db_grid, metric: str | None = None) -> dict:
        """Fix the MCS per SNR on validation images: ``{snr_db: (coderate, m) or None}``.

        The MCS with the best mean ``metric`` on ``val_images`` at each SNR (the genie rule
        applied to held-out images; ties to the higher spectral efficiency) is stored in
        :attr:`selection` and used by :meth:`evaluate` on test images. None: no MCS fits.

        Input
        -----
        val_images : [n, H, W, 3], float32 -- validation images in [0, 1], disjoint from
            the test images.
        snr_db_grid : sequence of float -- SNRs in dB.
        metric : "psnr", "ms_ssim" or None (``self.metric``).
        """
        metric = self.metric if metric is None else self._check_metric(metric)
        grid = [float(v) for v in np.atleast_1d(np.asarray(snr_db_grid, np.float64))]
        if not grid:
            raise ValueError("`snr_db_grid` must hold at least one SNR")
        val_images = np.asarray(val_images, np.float32)
        encoded = self.encode(val_images)["mcs"]
        for snr_db in grid:
            _, info = self._evaluate(encoded, val_images, snr_db, metric, self.mcs)
            self.selection[snr_db] = info["mcs"]
        return {snr_db: self.selection[snr_db] for snr_db in grid}

    def _evaluate(self, encoded, images, snr_db, metric, candidates):
        score_fn = ORACLE_METRICS[metric]
        scores, fail_rates, outputs = {}, {}, {}
        for mcs, link in zip(self.mcs, self.links):
            if mcs not in candidates:
                continue
            enc = encoded[mcs]
            if len(enc["payloads"]) != len(images):
                raise ValueError(f"`encoded` holds {len(enc['payloads'])} images, `images` "
                                 f"{len(images)}")
            if not any(enc["payloads"]):  # nothing fits: not transmitted, not eligible
                scores[mcs], fail_rates[mcs] = float("nan"), 1.0
                continue
            x_hat, info = link.reconstruct(enc, snr_db)
            scores[mcs] = float(np.mean(score_fn(images, x_hat)))
            fail_rates[mcs] = float(1.0 - np.mean(info["decoded"]))
            outputs[mcs] = (x_hat, info)
        if outputs:
            best = max(outputs, key=lambda k: (scores[k], k[0] * k[1], k[0]))
            x_hat, info = outputs[best]
            info = dict(info)
        else:
            best = None
            shape = tuple(next(iter(encoded.values()))["shape"])
            x_hat = np.broadcast_to(self._fallback(shape),
                                    (len(images),) + shape).astype(np.float32)
            n = len(images)
            info = {"decoded": np.zeros(n, bool), "crc_ok": np.zeros(n, bool),
                    "payload_bytes": np.zeros(n, np.int32),
                    "quality": np.full(n, -1, np.int32)}
        info.update(mcs=best, coderate=None if best is None else best[0],
                    num_bits_per_symbol=None if best is None else best[1], select=self.select,
                    mcs_metric=scores, mcs_fail_rate=fail_rates,
                    fail_rate=1.0 if best is None else fail_rates[best],
                    skipped_mcs=self.skipped_mcs)
        return x_hat, info

    def run(self, images, snr_db, metric: str | None = None):
        """Encode and :meth:`evaluate` a batch in NumPy: ``(x_hat, info)``; ``snr_db`` is
        one SNR for the whole batch (the MCS is chosen per SNR)."""
        snr = np.unique(np.asarray(snr_db, np.float64))
        if snr.size != 1:
            raise ValueError(f"`snr_db` must be one value for the batch, got {snr_db!r}")
        return self.evaluate(self.encode(images), float(snr[0]), metric)

    # -- Keras API ----------------------------------------------------------------
    def _info_arrays(self, info: dict, images) -> list:
        index = -1 if info["mcs"] is None else self.mcs.index(info["mcs"])
        info = {**info, "mcs_index": np.full(len(images), index, np.int32)}
        return super()._info_arrays(info, images)

    def get_config(self):
        return {**super().get_config(), "num_channel_uses": self.num_channel_uses,
                "mcs": [list(m) for m in self.requested_mcs],
                "channel": channel_config(self.channel), "metric": self.metric,
                "select": self.select,
                **self.link_kwargs}
