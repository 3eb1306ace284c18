"""S4 validation steps: beta and alpha searches, PHIF / PLIF (Cao et al., Sec. 4.2-4.3).

Each step writes its rows (``<step>.csv``) and a two-panel figure (accuracy and PSNR,
``<step>.png``) into the output directory and returns the rows.
"""
from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from sem_sionna.links.importance_mimo import transmit
from sem_sionna.metrics import PerImage, mean_ci95
from sem_sionna.nets.ciba import PERTURBATION_MODES, perturb_features
from sem_sionna.phy.snr import snrdb2no
from sem_sionna.plot import image_grid
from sem_sionna.plot.figure import new_figure, save_figure, series_style, style_axes
from sem_sionna.utils.io import format_value, write_csv
from sem_sionna.utils.seeding import derive_seed

from .importance_mimo_config import Config
from .importance_mimo_models import Models, Split, decode, features, score_images

__all__ = ["SEARCH_METRICS", "alpha_search", "best_value", "beta_search", "phif_plif"]

NUM_EXAMPLES = 3
"""Test images shown per mode in ``phif_plif_examples.png``."""


SEARCH_METRICS = ("accuracy", "psnr")
"""Per-image metrics kept from the searches (``accuracy`` per image is 0 or 1)."""


def _search(models: Models, config: Config, pairs, val: Split, seed: int, scheme: str,
            mse_model: str, study: str, samples: PerImage | None) -> list[dict]:
    """One row per ``(beta, alpha)`` of ``pairs`` and search SNR, for ``scheme``.

    With ``samples``, the per-image values of every ``(beta, alpha)``, concatenated
    over the search SNRs (the same validation images and channels for every pair),
    are added at ``{"scheme", "study", "mse_model", "beta", "alpha"}``.
    """
    images, labels = val
    x = features(models, images)  # once for every (beta, alpha) and SNR
    rows = []
    for beta, alpha in pairs:
        link = models.link(beta, scheme, alpha, config.num_tx_ant, config.num_rx_ant,
                           mse_model=mse_model)
        pooled = {m: [] for m in SEARCH_METRICS}
        for snr in config.search_snr_db:
            x_hat, mse = transmit(link, images, snr, derive_seed(seed, "search", snr),
                                  config.eval_batch_size, features=x)
            scores = score_images(images, x_hat, labels, models.classifier)
            rows.append({"beta": beta, "alpha": alpha, "scheme": scheme,
                         "mse_model": mse_model, "snr_db": snr, "feature_mse": mse,
                         **_with_ci95(scores)})
            for m in SEARCH_METRICS:
                pooled[m].append(scores[m])
        if samples is not None:
            samples.add({"scheme": scheme, "study": study, "mse_model": mse_model,
                         "beta": beta, "alpha": alpha},
                        {m: np.concatenate(v) for m, v in pooled.items()}, replace=True)
    return rows


def best_value(rows: list[dict], key: str, metric: str) -> float:
    """The value of ``key`` with the highest mean ``metric`` over the rows (every search
    SNR counts alike; the smallest value on ties)."""
    values = sorted({r[key] for r in rows})
    score = [float(np.mean([r[metric] for r in rows if r[key] == v])) for v in values]
    return values[int(np.argmax(score))]


def beta_search(models: Models, config: Config, val: Split, out_dir, seed: int = 0,
                samples: PerImage | None = None) -> tuple[float, list[dict]]:
    """Grid search of the IB weight ``beta`` by EPA-M performance (Cao et al., Sec. 4.3.1).

    EPA-M performance depends on the importance scores only through the matching,
    so it measures how well each predictor ranks the features. Evaluated on the
    validation split ``val`` only, at every ``config.search_snr_db`` under the first
    of ``config.mse_models``; the best mean ``config.select_metric`` over those SNRs
    wins. Writes ``beta_search.csv`` and ``beta_search.png``; returns ``(beta, rows)``.
    """
    rows = _search(models, config, [(b, 0.0) for b in config.betas], val, seed, "EPA-M",
                   config.mse_models[0], "beta_search", samples)
    best = best_value(rows, "beta", config.select_metric)
    _write_rows(Path(out_dir) / "beta_search.csv", rows)
    _panels(rows, "beta", Path(out_dir) / "beta_search.png", r"IB weight $\beta$",
            "EPA-M vs CIBA weight beta (validation)", logx=True, mark=best)
    return best, rows


def alpha_search(models: Models, config: Config, beta: float, val: Split, out_dir,
                 seed: int = 0, samples: PerImage | None = None
                 ) -> tuple[dict[str, float], list[dict]]:
    """Grid search of the WMMSE exponent ``alpha`` by WMMSE-M performance (Sec. 4.3.2).

    One alpha per MSE model of ``config.mse_models``, the best mean
    ``config.select_metric`` on the validation split ``val`` over every
    ``config.search_snr_db``; ``alpha = 0`` is MMSE-M. Writes ``alpha_search.csv``
    and ``alpha_search.png``; returns ``({mse_model: alpha}, rows)``.
    """
    rows, best = [], {}
    for model in config.mse_models:
        part = _search(models, config, [(beta, a) for a in config.alphas], val, seed,
                       "WMMSE-M", model, "alpha_search", samples)
        best[model] = best_value(part, "alpha", config.select_metric)
        rows += part
    _write_rows(Path(out_dir) / "alpha_search.csv", rows)
    for model in config.mse_models:
        name = "alpha_search.png" if model == config.mse_models[0] else \
            f"alpha_search_{model}.png"
        _panels([r for r in rows if r["mse_model"] == model], "alpha", Path(out_dir) / name,
                r"WMMSE exponent $\alpha$",
                f"WMMSE-M vs alpha ({model} MSE model, validation, beta={beta:g})",
                mark=best[model])
    return best, rows


def phif_plif(models: Models, config: Config, beta: float, test: Split, out_dir,
              seed: int = 0) -> list[dict]:
    """PHIF / PLIF validation of the importance scores (Cao et al., Sec. 4.2).

    For each threshold ``tau`` in ``config.thresholds`` (bits), Gaussian noise at the
    feature SNR ``config.perturb_snr_db`` is added to the features with ``I >= tau``
    (PHIF) or ``I < tau`` (PLIF) and the decoded images are scored (the first
    ``config.perturb_images`` of ``test``, or all). Writes ``phif_plif.csv``,
    ``phif_plif.png`` and ``phif_plif_examples.png``.
    """
    images, labels = (part[:config.perturb_images] for part in test)
    x = features(models, images)
    importance = np.asarray(models.predictors[beta].importance(tf.constant(x)))
    noise_var = snrdb2no(config.perturb_snr_db)
    gen = keras.random.SeedGenerator(seed)
    rows, examples = [], {}
    for mode in PERTURBATION_MODES:
        for tau in config.thresholds:
            z = perturb_features(x, importance, tau, mode, noise_var, seed=gen)
            x_hat = decode(models, np.asarray(z))
            perturbed = importance >= tau if mode == "PHIF" else importance < tau
            rows.append({"mode": mode, "threshold": tau,
                         "n_perturbed": float(np.mean(np.sum(perturbed, axis=-1))),
                         "n_images": len(images),
                         **_with_ci95(score_images(images, x_hat, labels,
                                                   models.classifier))})
            examples[(mode, tau)] = x_hat[:NUM_EXAMPLES]
    _write_rows(Path(out_dir) / "phif_plif.csv", rows)
    _panels(rows, "threshold", Path(out_dir) / "phif_plif.png",
            r"importance threshold $\tau$ [bits]",
            f"PHIF vs PLIF (perturbation SNR {config.perturb_snr_db:g} dB, beta={beta:g})",
            series="mode")
    shown = range(min(NUM_EXAMPLES, len(images)))
    grid = [[images[i]] + [examples[(m, t)][i] for t in config.thresholds]
            for m in PERTURBATION_MODES for i in shown]
    image_grid(grid, [f"{m} #{i}" for m in PERTURBATION_MODES for i in shown],
               ["original"] + [f"tau={t:g}" for t in config.thresholds],
               Path(out_dir) / "phif_plif_examples.png", title="Decoded images under PHIF / PLIF")
    return rows


def _with_ci95(scores: dict[str, np.ndarray]) -> dict[str, float]:
    """``{m: mean, m_ci95: half-width}`` of per-image ``scores`` (t-interval over images)."""
    row = {}
    for m, v in scores.items():
        row[m], row[f"{m}_ci95"] = mean_ci95(v)
    return row


def _write_rows(path: Path, rows: list[dict]) -> None:
    columns = list(rows[0]) if rows else []
    write_csv(path, columns, [{k: format_value(v) for k, v in r.items()} for r in rows])


def _panels(rows: list[dict], x: str, path: Path, xlabel: str, title: str,
            series: str = "snr_db", logx: bool = False, mark=None) -> Path:
    """Accuracy and PSNR against ``x``, one line per value of ``series``, each with its
    95 % confidence band (``<metric>_ci95``)."""
    fig, axes = new_figure(2)
    names = sorted({r[series] for r in rows},
                   key=lambda v: (isinstance(v, str), v if not isinstance(v, str) else 0, str(v)))
    for ax, metric, label in zip(axes, ("accuracy", "psnr"), ("accuracy", "PSNR [dB]")):
        for i, name in enumerate(names):
            pts = np.array(sorted((r[x], r[metric], r[f"{metric}_ci95"]) for r in rows
                                  if r[series] == name), dtype=float).reshape(-1, 3)
            lbl = f"SNR {name:g} dB" if series == "snr_db" else str(name)
            (line,) = ax.plot(pts[:, 0], pts[:, 1], label=lbl, **series_style(i))
            ax.fill_between(pts[:, 0], pts[:, 1] - pts[:, 2], pts[:, 1] + pts[:, 2],
                            color=line.get_color(), alpha=0.18, linewidth=0)
        if mark is not None:
            ax.axvline(mark, color="0.5", linestyle=":", linewidth=1)
        if logx:
            ax.set_xscale("log")
        style_axes(ax, xlabel, label)
        ax.legend(fontsize="small", loc="best", framealpha=0.6)
    fig.suptitle(title)
    return save_figure(fig, path)
