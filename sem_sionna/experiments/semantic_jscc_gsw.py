"""S2's GSW module under test: are the semantic weights informative, and which tau?

Two analyses of the study :mod:`sem_sionna.experiments.semantic_jscc`:

- :func:`map_table` -- per feature map ``k`` of the weighted stage: the GSW importance
  ``w_k`` (eqs. 8-9, averaged over the images), its spread over the images and between
  the classes (``W`` of each image alone), and the drop in task accuracy when map ``k``
  is ablated (set to zero before the classifier's head), with its paired 95 % CI. The
  weights are informative when they vary with the image and rank the maps as the
  ablation does (``gsw_maps.csv``, ``gsw_informative.png``).
- :func:`tau_curve` -- accuracy of SD-JSCC codecs fine-tuned at several temperatures,
  on validation (to choose ``tau``) and test images (the paper's Fig. 7).
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import tensorflow as tf

from sem_sionna import plot
from sem_sionna.metrics import mean_ci95
from sem_sionna.nets.sdjscc import gradient_importance, semantic_map
from sem_sionna.plot.figure import save_figure
from sem_sionna.utils import map_batches

__all__ = ["MAP_COLUMNS", "map_table", "plot_map_table", "tau_curve", "plot_tau_curve",
           "plot_semantic_weights", "plot_examples", "predict_labels"]

MAP_COLUMNS = ("stage", "map", "w", "w_std_images", "w_std_classes", "w_sd",
               "accuracy_drop", "accuracy_drop_ci95")
"""Columns of ``gsw_maps.csv``: ``w`` the GSW importance (eqs. 8-9), ``w_std_images``
its standard deviation over the images, ``w_std_classes`` that of the class means,
``w_sd`` the semantic weight ``w'_k`` (eq. 10), ``accuracy_drop`` the clean accuracy
minus the accuracy with map ``k`` set to zero."""


def predict_labels(classifier, images, batch_size: int = 128) -> np.ndarray:
    """Predicted classes ``[N]`` int32 of ``images [N, H, W, 3]`` (inference mode)."""
    logits = map_batches(lambda x: classifier(tf.constant(x), training=False),
                         np.asarray(images, np.float32), batch_size=batch_size)
    return np.argmax(logits, -1).astype(np.int32)


def _ablated_correct(classifier, images, labels, stage: int, batch_size: int = 128):
    """``[K + 1, N]`` bool: correct predictions, clean (row 0) and with map ``k`` zeroed
    (row ``k + 1``) at the last stage ``stage`` (the one the head reads)."""
    images = np.asarray(images, np.float32)
    rows = None
    for start in range(0, len(images), batch_size):
        maps = classifier.features(tf.constant(images[start:start + batch_size]),
                                   training=False)
        if stage % len(maps) != len(maps) - 1:
            raise ValueError(f"map ablation needs the last stage ({len(maps) - 1}), "
                             f"got stage {stage}")
        f = maps[-1]
        k = int(f.shape[-1])
        y = labels[start:start + batch_size]
        out = [np.argmax(classifier.classify(maps, training=False), -1) == y]
        for j in range(k):
            mask = tf.constant(np.where(np.arange(k) == j, 0.0, 1.0), tf.float32)
            logits = classifier.classify([*maps[:-1], f * mask], training=False)
            out.append(np.argmax(logits, -1) == y)
        block = np.stack(out)
        rows = block if rows is None else np.concatenate([rows, block], axis=1)
    return rows


def map_table(classifier, images, labels, stage: int, w_sd, reduce: str = "mean"
              ) -> tuple[list[dict], dict]:
    """Per-map GSW importance against the accuracy drop of ablating the map.

    Input
    -----
    classifier : SceneClassifier -- the frozen task network.
    images : [N, H, W, 3] float32, labels : [N] int -- held-out images (validation).
    stage : int -- the weighted stage (the last one).
    w_sd : [K] -- the semantic weights of that stage used in training (eq. 10).
    reduce : "mean" or "abs" -- eq. 9 (see :func:`gradient_importance`).

    Output
    ------
    rows : list of dict with :data:`MAP_COLUMNS`.
    summary : dict -- ``clean_accuracy``, ``w_cv_images`` (mean over maps of the
        images' std of ``w_k`` over ``|mean w_k|``), ``w_class_spread`` (std of the class
        means over std of all ``w_k``), ``num_images``.
    """
    labels = np.asarray(labels, np.int32)
    per_image = gradient_importance(classifier, images, layers=[stage], reduce=reduce,
                                    per_image=True)[stage]  # [N, K]
    correct = _ablated_correct(classifier, images, labels, stage).astype(np.float64)
    classes = np.unique(labels)
    class_means = np.stack([per_image[labels == c].mean(0) for c in classes])
    w = per_image.mean(0)
    rows = []
    for k in range(per_image.shape[1]):
        drop, half = mean_ci95(correct[0] - correct[k + 1])
        rows.append({"stage": int(stage), "map": k, "w": float(w[k]),
                     "w_std_images": float(per_image[:, k].std()),
                     "w_std_classes": float(class_means[:, k].std()),
                     "w_sd": float(np.asarray(w_sd)[k]),
                     "accuracy_drop": float(drop), "accuracy_drop_ci95": float(half)})
    scale = float(np.abs(w).mean()) + 1e-30
    summary = {"clean_accuracy": float(correct[0].mean()), "num_images": int(len(labels)),
               "w_cv_images": float(per_image.std(0).mean() / scale),
               "w_class_spread": float(class_means.std(0).mean() / (w.std() + 1e-30))}
    return rows, summary


def plot_map_table(rows: Sequence[Mapping], summary: Mapping, path) -> Path:
    """GSW importance vs the accuracy drop of ablating each map (with 95 % CIs)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    w = np.array([r["w"] for r in rows])
    sd = np.array([r["w_std_images"] for r in rows])
    drop = np.array([r["accuracy_drop"] for r in rows])
    ci = np.array([r["accuracy_drop_ci95"] for r in rows])
    fig = Figure(figsize=(10, 4), layout="constrained")
    FigureCanvasAgg(fig)
    ax, bx = fig.subplots(1, 2)
    ax.errorbar(w, drop, yerr=ci, fmt="o", ms=3, capsize=2, label="map k (95% CI)")
    ax.set_xlabel("GSW importance w_k (logit per unit activation)")
    ax.set_ylabel("accuracy drop when map k is zeroed")
    ax.axhline(0, color="grey", lw=0.5)
    ax.legend(fontsize="small")
    ax.set_title(f"clean accuracy {summary['clean_accuracy']:.3f}, "
                 f"{summary['num_images']} validation images", fontsize="small")
    order = np.argsort(w)[::-1]
    bx.errorbar(np.arange(len(w)), w[order], yerr=sd[order], fmt=".", capsize=1,
                label="mean +- std over images")
    bx.set_xlabel("feature map, sorted by w_k")
    bx.set_ylabel("w_k (logit per unit activation)")
    bx.set_title(f"spread over images: std/|mean| = {summary['w_cv_images']:.2f}",
                 fontsize="small")
    bx.legend(fontsize="small")
    fig.suptitle("Are the GSW weights informative? (S2 eqs. 8-9)")
    return save_figure(fig, Path(path))


def tau_curve(codecs: Mapping[float, object], classifier, splits: Mapping[str, tuple]
              ) -> dict[str, dict[float, np.ndarray]]:
    """Per-image correct predictions of SD-JSCC codecs trained at several ``tau``.

    The codecs decode the quantised latent without channel errors (the training SNR of
    the tau point is above the LDPC threshold, so the digital link is error free).

    Input
    -----
    codecs : dict ``{tau: keras.Model}`` -- :func:`~sem_sionna.train.sdjscc.jscc_codec`.
    splits : dict ``{name: (images, labels)}`` -- e.g. validation and test.

    Output
    ------
    dict ``{split: {tau: [N] float64}}`` -- 1 where the reconstruction is classified right.
    """
    out: dict = {}
    for split, (images, labels) in splits.items():
        out[split] = {}
        for tau, codec in codecs.items():
            x_hat = map_batches(lambda x: codec(tf.constant(x), training=False),
                                np.asarray(images, np.float32), batch_size=128)
            pred = predict_labels(classifier, np.clip(x_hat, 0, 1))
            out[split][float(tau)] = (pred == np.asarray(labels)).astype(np.float64)
    return out


def plot_tau_curve(curve: Mapping[str, Mapping[float, np.ndarray]], chosen: float,
                   path) -> Path:
    """Accuracy vs ``tau`` per split with 95 % CIs (the paper's Fig. 7)."""
    taus = sorted(next(iter(curve.values())))
    ys = {s: [float(np.mean(v[t])) for t in taus] for s, v in curve.items()}
    ci = {s: [mean_ci95(v[t])[1] for t in taus] for s, v in curve.items()}
    return plot.line_plot([float(np.log10(t)) for t in taus], ys, path,
                          xlabel="log10 tau (temperature of eq. 10)",
                          ylabel="classification accuracy",
                          title=f"SD-JSCC accuracy vs tau (chosen on validation: {chosen:g})",
                          ci95=ci)


def plot_semantic_weights(w_sd: np.ndarray, classifier, images, stage: int, path) -> Path:
    """Sorted semantic weights ``w'_k`` of the weighted stage and the weighted activation
    ``sum_k w'_k f_k`` over a few example images (a Grad-CAM-like picture)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    w = np.asarray(w_sd, np.float32)
    images = np.asarray(images, np.float32)
    fig = Figure(figsize=(2.6 * (len(images) + 1), 3.0), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(images) + 1, squeeze=False)[0]
    axes[0].bar(np.arange(w.size), np.sort(w)[::-1], width=1.0)
    axes[0].axhline(1.0, color="C3", ls="--", label="w/o GSW: 1")
    axes[0].set_xlabel("feature maps, sorted")
    axes[0].set_ylabel("semantic weight w'_k")
    axes[0].legend(fontsize="x-small")
    maps = semantic_map(classifier, images, w, stage=stage)
    for ax, img, m in zip(axes[1:], images, maps):
        ax.imshow(np.clip(img, 0, 1))
        ax.imshow(m, cmap="jet", alpha=0.45, vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title("sum_k w'_k f_k", fontsize="x-small")
    fig.suptitle("GSW semantic weights W' = r softmax(tau W)")
    return save_figure(fig, Path(path))


def plot_examples(images, examples: Mapping, path, index: int = 0) -> Path | None:
    """Image grid: rows = schemes, columns = SNRs, of test image ``index`` (+ original);
    None (nothing drawn) when ``examples`` is empty."""
    if not examples:
        return None
    schemes = list(dict.fromkeys(k[0] for k in examples))
    snrs = sorted({k[1] for k in examples})
    rows = [[images[index]] + [None] * (len(snrs) - 1)]
    labels = ["original"]
    for s in schemes:
        rows.append([examples[(s, snr)][index] if (s, snr) in examples else None
                     for snr in snrs])
        labels.append(s)
    return plot.image_grid(rows, labels, [f"{snr:g} dB" for snr in snrs], path,
                           title="Received images (AWGN)")
