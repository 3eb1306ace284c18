"""Does PCEN learn? Link curves of SVD, untrained and trained PCEN at equal power (S3).

The transport block of SCSC's main ``Q`` (CRC + 5G LDPC + QPSK, 2x2 MIMO) carries
random bits over the same channel draws (common random numbers per SNR) with

* ``svd`` -- the standard SVD precoder / combiner with water-filling,
* ``pcen_untrained`` -- PCEN at its initial parameters (``gamma_t = 1``,
  ``alpha_t = 0.95``, LMMSE combiner with ``beta = 1``, zero CEN residual),
* ``pcen_trained`` -- PCEN after stage 2 (and stage 4),

every one at total transmit power 1 per channel use. Output: ``pcen_link.csv``
(:data:`PCEN_COLUMNS`: bit error rate of the decoded payload and block-decode rate, with
95 % half-widths over blocks, and each variant's paired difference from untrained PCEN
over the same blocks) and ``pcen_link_{ber,decoded}.png``. The variants share bits and
channel draws, so the paired differences resolve far smaller gaps than the per-variant
intervals: they are what says whether the learned ``gamma_t, alpha_t`` matter.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from sem_sionna import plot, utils
from sem_sionna.links.scsc import PCENTransport
from sem_sionna.metrics import mean_ci95
from sem_sionna.links.transport_chain import TransportChain
from sem_sionna.nets.pcen import PCEN
from sem_sionna.phy.mimo import MIMOChannel
from sem_sionna.phy.snr import snrdb2no
from sem_sionna.utils.io import write_csv

__all__ = ["PCEN_COLUMNS", "VARIANTS", "pcen_link_curves", "write_pcen_link"]

PCEN_COLUMNS = ["variant", "snr_db", "ber", "ber_ci95", "decoded", "decoded_ci95",
                "ber_vs_untrained", "ber_vs_untrained_ci95", "decoded_vs_untrained",
                "decoded_vs_untrained_ci95", "n_blocks"]
VARIANTS = ("svd", "pcen_untrained", "pcen_trained")


def _chain(variant: str, pcen: PCEN, n: int, m: int, rate: float, channel: dict, seed: int):
    mimo = MIMOChannel.from_config({**channel, "seed": seed})
    if variant == "svd":
        return TransportChain(n, m, rate, mimo, seed=seed)
    if variant == "pcen_untrained":
        pcen = PCEN(pcen.num_tx_ant, pcen.num_rx_ant, num_layers=pcen.num_layers,
                    name="pcen_untrained")
        pcen.build()
    return PCENTransport(n, m, rate, mimo, pcen, seed=seed)


def pcen_link_curves(pcen: PCEN, channel: dict, num_channel_uses: int, snr_db, *,
                     n_blocks: int = 64, num_bits_per_symbol: int = 2,
                     coderate: float = 0.5, batch: int = 32, seed: int = 0) -> list[dict]:
    """Rows of :data:`PCEN_COLUMNS` for every variant and SNR (same bits and channels).

    ``<m>_vs_untrained`` is the mean per-block difference ``m(variant) - m(pcen_untrained)``
    over the same blocks, ``<m>_vs_untrained_ci95`` its paired 95 % t half-width.
    """
    blocks = {}
    for variant in VARIANTS:
        chain = _chain(variant, pcen, num_channel_uses, num_bits_per_symbol, coderate,
                       channel, seed)
        step = tf.function(chain)
        for snr in snr_db:
            crn = utils.derive_seed(seed, "pcen_link", utils.format_value(float(snr)))
            utils.reseed(chain, crn)
            rng = np.random.default_rng(crn)
            errors, ok = [], []
            for start in range(0, n_blocks, batch):
                b = min(batch, n_blocks - start)
                bits = rng.integers(0, 2, (b, chain.payload_bits)).astype(np.float32)
                bits_hat, crc_ok = step(tf.constant(bits), snrdb2no(float(snr)))
                errors.append(np.mean(bits_hat.numpy() != bits, axis=1))
                ok.append(crc_ok.numpy().astype(float))
            blocks[variant, float(snr)] = {"ber": np.concatenate(errors),
                                           "decoded": np.concatenate(ok)}
    rows = []
    for (variant, snr), values in blocks.items():
        row = {"variant": variant, "snr_db": snr}
        for m, v in values.items():
            row[m], row[f"{m}_ci95"] = mean_ci95(v)
            row[f"{m}_vs_untrained"], row[f"{m}_vs_untrained_ci95"] = mean_ci95(
                v - blocks["pcen_untrained", snr][m])
        rows.append({**row, "n_blocks": int(len(values["decoded"]))})
    return rows


def write_pcen_link(rows: list[dict], out) -> None:
    """``pcen_link.csv`` and ``pcen_link.png`` (BER and block-decode rate vs SNR)."""
    out = Path(out)
    write_csv(out / "pcen_link.csv", PCEN_COLUMNS, rows)
    snrs = sorted({r["snr_db"] for r in rows})
    for metric, label, logy in (("ber", "payload bit error rate", True),
                                ("decoded", "block-decode rate", False)):
        ys, ci = {}, {}
        for variant in VARIANTS:
            by_snr = {r["snr_db"]: r for r in rows if r["variant"] == variant}
            ys[variant] = [by_snr[s][metric] if s in by_snr else np.nan for s in snrs]
            ci[variant] = [by_snr[s][f"{metric}_ci95"] if s in by_snr else np.nan for s in snrs]
        plot.line_plot(snrs, ys, out / f"pcen_link_{metric}.png", "SNR (dB)", label,
                       f"PCEN vs SVD, 2x2 Rayleigh: {label}", logy=logy, ci95=ci)
