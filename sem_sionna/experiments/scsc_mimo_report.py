"""Figures and tables of the SCSC study: curves over SNR and CBR, ablations, BD rates, examples."""
from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from sem_sionna import metrics, plot, utils
from sem_sionna.experiments.scsc_mimo_config import Config
from sem_sionna.experiments.scsc_mimo_sweep import (ABLATION_SCHEMES, JSCC_SCHEMES,
                                                    MAIN_SCHEMES, SchemeEvaluator)
from sem_sionna.utils.io import write_csv

__all__ = ["BD_COLUMNS", "bd_table", "versus_table", "write_report", "plot_examples"]

#: Columns of ``bd_rates.csv``.
BD_COLUMNS = ["scheme", "channel", "csi", "snr_db", "bd_cbr_pct", "bd_cbr_pct_ci95",
              "bd_psnr_db", "bd_psnr_db_ci95", "n_points", "n_envelope", "note"]

#: Fit of Table II's BD values (:mod:`sem_sionna.metrics.bjontegaard`): the piecewise
#: cubic Hermite interpolant, which passes through every CBR point and needs two.
BD_METHOD = "pchip"

#: Share of bootstrap resamples on which a BD value may be undefined before its
#: half-width is reported as infinite (:func:`sem_sionna.metrics.bd_ci95`).
BD_MAX_UNDEFINED = 0.025


def _miou_pct(x, axis: int = 0):
    return 100.0 * metrics.ratio_of_sums(x, axis=axis)


def bd_table(samples: metrics.PerImage, anchor: str, tests: Sequence[str],
             snrs: Sequence[float], channel: str = "rayleigh", csi: str = "perfect", *,
             n_resamples: int = 1000, seed: int = 0) -> list[dict]:
    """Table II: BD-CBR (at equal mIoU) and BD-PSNR (at equal CBR) of ``tests`` against
    ``anchor``, with paired bootstrap 95 % half-widths over the test images.

    A scheme's curve is its points at one SNR over its CBR points. BD-CBR compares the
    operational curves (:func:`sem_sionna.metrics.rd_envelope`: a link given a CBR can
    send any smaller block, so a CBR point that a smaller one matches in mIoU adds
    nothing), which rise strictly in mIoU as the inversion needs; BD-PSNR compares the
    PSNR of every point. Both use :data:`BD_METHOD`, and each bootstrap resample of the
    images recomputes the points, the envelopes and the BD values
    (:func:`sem_sionna.metrics.bd_ci95`). A comparison that is undefined (too few
    points, no overlap) gets empty values and the reason in ``note``.

    Output
    ------
    rows : list of dict -- :data:`BD_COLUMNS`; ``bd_cbr_pct`` < 0 means less bandwidth
        than the anchor for the same mIoU; ``n_points`` / ``n_envelope``: the scheme's
        CBR points and those on its operational curve.
    """
    def curve(scheme, snr):
        sel = sorted(samples.select(scheme, channel=channel, csi=csi, snr_db=snr),
                     key=lambda pv: float(pv[0]["cbr"]))
        return (np.array([float(p["cbr"]) for p, _ in sel]),
                [samples.sample(p, "miou") for p, _ in sel],
                [samples.sample(p, "psnr") for p, _ in sel])

    bd_cbr = functools.partial(metrics.bd_rate, method=BD_METHOD)
    bd_psnr = functools.partial(metrics.bd_psnr, method=BD_METHOD)
    boot = {"n_resamples": n_resamples, "seed": seed, "max_undefined": BD_MAX_UNDEFINED}
    table = []
    for snr in snrs:
        r_a, m_a, p_a = curve(anchor, float(snr))
        for scheme in (anchor, *tests):
            r_t, m_t, p_t = curve(scheme, float(snr))
            entry = {"scheme": scheme, "channel": channel, "csi": csi, "snr_db": float(snr),
                     "bd_cbr_pct": None, "bd_cbr_pct_ci95": None, "bd_psnr_db": None,
                     "bd_psnr_db_ci95": None, "n_points": len(r_t), "n_envelope": 0,
                     "note": ""}
            if not len(r_t) or not len(r_a):
                entry["note"] = f"no points of {scheme if not len(r_t) else anchor}"
                table.append(entry)
                continue
            q_t = [float(_miou_pct(x)) for x in m_t]
            entry["n_envelope"] = len(metrics.rd_envelope(r_t, q_t)[0])
            notes = []
            # (column, BD function, samples, statistic, envelope, quality axis)
            for name, bd, samp_a, samp_t, stat, envelope, axis in (
                    ("bd_cbr_pct", bd_cbr, m_a, m_t, _miou_pct, True, "mIoU [%]"),
                    ("bd_psnr_db", bd_psnr, p_a, p_t, metrics.row_mean, False, "PSNR")):
                try:
                    value, ci = metrics.bd_ci95(bd, r_a, samp_a, r_t, samp_t, statistic=stat,
                                                envelope=envelope, **boot)
                except ValueError as err:  # bd_rate names its quality axis PSNR
                    notes.append(f"{name}: {str(err).replace('PSNR', axis)}")
                    continue
                entry[name], entry[f"{name}_ci95"] = value, ci
                if not math.isfinite(ci):
                    notes.append(f"{name}: undefined on over {100 * BD_MAX_UNDEFINED:g} % "
                                 "of the resamples")
            entry["note"] = "; ".join(notes)
            table.append(entry)
    return table


def _is_reference(row: Mapping[str, Any]) -> bool:
    """A main scheme on Rayleigh with perfect CSI."""
    return (row["channel"] == "rayleigh" and row["csi"] == "perfect"
            and row["scheme"] in MAIN_SCHEMES)


def write_report(rows: Sequence[Mapping[str, Any]], out: Path, config: Config, c_main: int,
                 record) -> list[dict]:
    """Figures over SNR and CBR, channels / CSI, codecs, ablations; ``bd_rates.csv``
    (returned as rows).

    ``c_main`` is the JSCC latent count of ``q_main``'s CBR.
    """
    q_main, q_gen, sw = config.chain.q_main, config.chain.q_gen, config.sweep
    q_abl = config.chain.q_ablation

    def main_point(r):
        return _is_reference(r) and (r["q"] == q_main or r["num_latent"] == c_main)

    for metric in ("miou", "psnr", "ms_ssim"):
        plot.metric_vs_snr(rows, metric, out / f"{metric}_vs_snr.png", panels=(),
                           where=main_point,
                           title=f"2x2 MIMO Rayleigh, Q={q_main}")
    cbr_rows = [r for r in rows if float(r["snr_db"]) in sw.snr_cbr and _is_reference(r)]
    for metric in ("psnr", "miou", "ms_ssim"):
        plot.metric_vs_cbr(cbr_rows, metric, out / f"{metric}_vs_cbr.png", panels=("snr_db",),
                           title="2x2 MIMO Rayleigh")
    plot.metric_vs_snr(rows, "miou", out / "miou_vs_snr_channels.png",
                       panels=("channel", "csi"),
                       where=lambda r: r["scheme"] in ("digital", "scsc") and r["q"] == q_main,
                       title=f"Rayleigh / CDL-A, CSI error var {sw.csi_error_var}, "
                             f"Q={q_main}")
    gen = [c for codec in sw.gen_codecs for c in (codec, f"scsc_{codec}")]
    if gen:
        plot.metric_vs_snr(rows, "miou", out / "miou_vs_snr_codecs.png", panels=("channel",),
                           where=lambda r: r["scheme"] in gen,
                           title=f"PPEN (trained with BPG) with other codecs, "
                                 f"block of Q={q_gen}")
    abl = [r for r in rows if r["scheme"] in ABLATION_SCHEMES and r["channel"] == "rayleigh"
           and r["csi"] == "perfect" and r["q"] == q_abl and float(r["snr_db"]) in sw.snr_db]
    means = [float(np.mean([r["miou"] for r in abl if r["scheme"] == s] or [np.nan]))
             for s in ABLATION_SCHEMES]
    plot.metric_vs_snr(abl, "miou", out / "ablation.png", panels=(),
                       title=f"Ablations (Fig. 16), 2x2 MIMO Rayleigh, Q={q_abl}")
    table = bd_table(metrics.PerImage.load(out / "per_image.npz"), "digital",
                     ("scsc", *JSCC_SCHEMES), sw.snr_cbr)
    write_csv(out / "bd_rates.csv", BD_COLUMNS,
              [{k: utils.format_value(v) for k, v in t.items()} for t in table])
    record.set("bd_rates", table)
    record.set("ablation_mean_miou", dict(zip(ABLATION_SCHEMES, means)))
    return table


def versus_table(rows: Sequence[Mapping[str, Any]], scheme: str, others: Sequence[str],
                 where) -> list[dict]:
    """``scheme`` minus each of ``others`` in mIoU at every SNR of the rows ``where``
    selects (each scheme at its own CBR point); ``miou_diff_ci95`` combines the two
    rows' half-widths as independent (``sqrt(a^2 + b^2)``)."""
    sel = [r for r in rows if where(r)]
    ref = {float(r["snr_db"]): r for r in sel if r["scheme"] == scheme}
    out = []
    for other in others:
        for r in sel:
            snr = float(r["snr_db"])
            if r["scheme"] != other or snr not in ref:
                continue
            a = ref[snr]
            ci = np.hypot(float(a.get("miou_ci95") or np.nan), float(r.get("miou_ci95")
                                                                      or np.nan))
            out.append({"versus": other, "snr_db": snr, "cbr": float(r["cbr"]),
                        "miou_diff": float(a["miou"]) - float(r["miou"]),
                        "miou_diff_ci95": float(ci)})
    return out


def plot_examples(evaluator: SchemeEvaluator, out: Path, c_main: int) -> None:
    """``examples.png``: originals, digital, SCSC and DeepJSCC-MIMO with their segmentations."""
    config, data = evaluator.config, evaluator.data
    n = min(config.sweep.num_examples, len(data.x_test))
    snr, q_main = config.sweep.snr_example, config.chain.q_main
    rows = [[c for i in range(n) for c in (data.x_test[i], data.m_test[i])]]
    labels = ["original"]
    for scheme in ("digital", "scsc", "deepjscc_mimo"):
        point = {"scheme": scheme, "channel": "rayleigh", "csi": "perfect", "snr_db": snr,
                 "q": q_main, "num_latent": c_main}
        x_hat, _ = evaluator.reconstruct(point, evaluator.prepare(point))
        x_hat = x_hat[:n]
        pred = np.asarray(evaluator.segment(x_hat), np.int32)
        rows.append([c for i in range(n) for c in (x_hat[i], pred[i])])
        labels.append(scheme)
    cols = [c for i in range(n) for c in (f"image {i}", f"segmentation {i}")]
    plot.image_grid(rows, labels, cols, out / "examples.png",
                    title=f"Reconstructions and segmentations, Rayleigh 2x2, SNR {snr:g} dB, "
                          f"Q={q_main}", num_classes=data.num_classes)
