"""The S4 claims (Cao et al., Figs. 5, 9, 10 and 11) and the search contrasts they read.

:data:`CLAIMS` are evaluated by :func:`write_study_claims` on the run's per-image
samples: the test sweep (``per_image.npz``, points with ``channel``), the validation
searches (points with ``study`` = ``beta_search`` / ``alpha_search``, the samples of
every search SNR concatenated) and the classification extension (points with
``task = "classification"``); and on the table ``search_contrasts``
(:func:`search_contrasts`). Fig. 5 and Fig. 11 are checked under each MSE model.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from sem_sionna.metrics import (AllOf, Claim, Greater, GreaterAtEveryPoint, InteriorMaximum,
                                Less, PerImage, Threshold, paired_difference)
from sem_sionna.phy.allocation import MSE_MODELS
from sem_sionna.utils.io import format_value, write_csv

from .importance_mimo_config import Config
from .report import write_claims

__all__ = ["CLAIMS", "FLAT_MARGIN", "search_contrasts", "write_study_claims"]

CHANNEL = "rayleigh-4x4"
"""The sweep's channel (every profile is 4x4)."""

FLAT_MARGIN = 0.01
"""Largest accuracy spread (1 point) over the small-beta half of the grid that counts as
flat (Fig. 9); the whole 95 % interval of the spread must lie below it."""

_PLAIN = ("EPA", "MMSE", "WMMSE")


def _fig5(model: str) -> tuple[Claim, ...]:
    where = {"mse_model": model, "channel": CHANNEL}
    others = ("EPA", "EPA-M", "MMSE", "MMSE-M", "WMMSE")
    src = "S4 Fig. 5"
    best = [Claim(
        f"fig5_wmmse_m_best_{metric}_{model}", src,
        f"WMMSE-M achieves superior performance in {label} across various SNRs "
        f"({model} MSE model).",
        AllOf(*(GreaterAtEveryPoint("WMMSE-M", b, metric, where=where) for b in others)))
        for metric, label in (("psnr", "PSNR"), ("accuracy", "classification accuracy"))]
    matching = Claim(
        f"fig5_matching_helps_{model}", src,
        f"WMMSE-M, MMSE-M and EPA-M outperform their counterparts without subchannel "
        f"matching ({model} MSE model; accuracy and PSNR).",
        AllOf(*(Greater(f"{s}-M", s, metric, where=where)
                for s in _PLAIN for metric in ("accuracy", "psnr"))))
    reversal = Claim(
        f"fig5_epa_m_above_mmse_m_epa_below_mmse_{model}", src,
        f"While EPA-M outperforms MMSE-M, EPA underperforms MMSE ({model} MSE model; "
        f"accuracy and PSNR).",
        AllOf(*(rule for metric in ("accuracy", "psnr")
                for rule in (Greater("EPA-M", "MMSE-M", metric, where=where),
                             Less("EPA", "MMSE", metric, where=where)))))
    return (*best, matching, reversal)


def _fig10(model: str) -> Claim:
    return Claim(
        f"fig10_alpha_peaks_near_2_{model}", "S4 Fig. 10",
        f"WMMSE-M achieves peak performance when alpha approaches 2; values below or "
        f"beyond degrade it (validation accuracy over the SNR grid, {model} MSE model).",
        InteriorMaximum("WMMSE-M", "accuracy", "alpha",
                        where={"study": "alpha_search", "mse_model": model}, near=(2.0, 1.0)))


def _fig11(model: str) -> Claim:
    where = {"task": "classification", "mse_model": model}
    return Claim(
        f"fig11_classification_{model}", "S4 Fig. 11",
        f"In the classification extension WMMSE-M achieves the best accuracy, and the "
        f"schemes with subchannel matching outperform those without ({model} MSE model).",
        AllOf(*(GreaterAtEveryPoint("WMMSE-M", b, "accuracy", where=where)
                for b in ("EPA", "EPA-M", "MMSE", "MMSE-M", "WMMSE")),
              *(Greater(f"{s}-M", s, "accuracy", where=where) for s in _PLAIN)))


CLAIMS = (
    *(c for m in MSE_MODELS for c in _fig5(m)),
    Claim("fig9_beta_flat_then_falling", "S4 Fig. 9",
          "EPA-M performance remains stable for small beta and degrades as beta grows "
          "beyond that range (validation accuracy over the SNR grid).",
          AllOf(Threshold("value", "<", FLAT_MARGIN, where={"contrast": "beta_flat_spread"},
                          table="search_contrasts"),
                Threshold("value", "<", 0.0, where={"contrast": "beta_drop_at_largest"},
                          table="search_contrasts"))),
    *(_fig10(m) for m in MSE_MODELS),
    *(_fig11(m) for m in MSE_MODELS),
)
"""The S4 claims, data for :func:`~sem_sionna.experiments.report.write_claims`."""


def search_contrasts(search: PerImage, betas) -> list[dict]:
    """Fig. 9's contrasts of the beta search (paired over the validation samples).

    The small-beta half of the grid (the ``len(betas) // 2`` smallest, at least 2) is
    the flat part: ``beta_flat_spread`` is its best minus its worst accuracy;
    ``beta_drop_at_largest`` is the largest beta minus the best of the flat part.
    Rows: ``contrast``, ``value``, ``value_ci95``, ``a``, ``b`` (the betas compared).
    """
    points = {p["beta"]: p for p in search.points(study="beta_search")}
    betas = sorted(b for b in betas if b in points)
    if len(betas) < 3:
        return []
    acc = {b: search.sample(points[b], "accuracy") for b in betas}
    flat = betas[:max(2, len(betas) // 2)]
    order = sorted(flat, key=lambda b: float(np.mean(acc[b])))
    rows = []
    for name, a, b in (("beta_flat_spread", order[-1], order[0]),
                       ("beta_drop_at_largest", betas[-1], order[-1])):
        d = paired_difference(acc[a], acc[b])
        rows.append({"contrast": name, "value": d.mean, "value_ci95": d.ci95,
                     "a": f"beta={a:g}", "b": f"beta={b:g}"})
    return rows


def write_study_claims(out_dir, config: Config, rows: list[dict], beta_rows: list[dict],
                       alpha_rows: list[dict], search: PerImage,
                       extra: PerImage | None = None,
                       extra_rows: dict | None = None) -> list[dict]:
    """Merge the sweep's, the searches' (and ``extra``) samples, write
    ``search_contrasts.csv``, ``claims.json`` and ``CLAIMS.md``; returns the entries."""
    out_dir = Path(out_dir)
    path = out_dir / "per_image.npz"
    samples = PerImage.load(path) if path.exists() else PerImage()
    for source in (search, extra):
        for point in (source or ()):
            samples.add(point, source.get(point), replace=True)
    contrasts = search_contrasts(search, config.betas)
    if contrasts:
        write_csv(out_dir / "search_contrasts.csv", list(contrasts[0]),
                  [{k: format_value(v) for k, v in r.items()} for r in contrasts])
    tables = {"metrics": rows, "beta_search": beta_rows, "alpha_search": alpha_rows,
              "search_contrasts": contrasts, **(extra_rows or {})}
    return write_claims(out_dir, CLAIMS, rows=tables, samples=samples,
                        title="S4 importance_mimo (Cao et al.)")
