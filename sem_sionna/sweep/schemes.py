"""The ``prepare``/``evaluate`` pair of a sweep over image links.

Every link implements :class:`~sem_sionna.sweep.protocol.SweepLink`: it encodes the
images once per (scheme, CBR, channel) group and reconstructs them per SNR.

:class:`ImageSweep` computes per-image PSNR, MS-SSIM, decode failures and optional task
metrics from the reconstructions (the runner reports their means with 95 % CIs), and detects non-finite reconstructions
(:class:`~sem_sionna.utils.NumericalError`, which the runner records as a failure).
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

from sem_sionna.utils.errors import NumericalError

__all__ = ["ImageSweep", "reconstruct_examples"]


class ImageSweep:
    """``prepare``/``evaluate`` for :class:`~sem_sionna.sweep.SweepRunner` over image schemes.

    Parameters
    ----------
    schemes : dict ``{(scheme name, cbr, channel): link}`` -- links implementing
        :class:`~sem_sionna.sweep.protocol.SweepLink` (a learned link may appear under
        several channels).
    images : [n, H, W, 3] float32 in [0, 1] -- the test images, the same for every scheme.
    task_metrics : dict ``{column: fn(images, x_hat)}`` -- e.g. accuracy of a frozen
        classifier on the reconstructions; ``fn`` returns per-image values ``[n]`` (the
        CSV gets their mean and 95 % CI), a dict of per-image arrays (e.g.
        ``iou_intersection``/``iou_union`` ``[n, C]`` for ``miou``) or a float.
    on_result : callable ``(point, x_hat, info)`` or None -- e.g. to keep examples.
    """

    def __init__(self, schemes: Mapping[tuple, Any], images,
                 task_metrics: Mapping[str, Callable] | None = None,
                 on_result: Callable | None = None):
        self.schemes = dict(schemes)
        self.images = np.asarray(images, np.float32)
        self.task_metrics = dict(task_metrics or {})
        self.on_result = on_result

    def seeded_layers(self) -> list:
        """Every link, to reset their noise generators per point
        (``SweepRunner.run(..., reseed=sweep.seeded_layers())``)."""
        return list({id(link): link for link in self.schemes.values()}.values())

    def _link(self, point):
        key = (point["scheme"], point["cbr"], point["channel"])
        if key not in self.schemes:
            raise KeyError(f"no link for (scheme, cbr, channel) {key!r}")
        return self.schemes[key]

    def prepare(self, group):
        return self._link(group).encode(self.images)

    def evaluate(self, point, state) -> dict:
        from sem_sionna.metrics import ms_ssim, psnr  # TensorFlow only when evaluating

        x_hat, info = self._link(point).reconstruct(state, point["snr_db"], point["channel"])
        x_hat = np.asarray(x_hat, np.float32)
        if not np.all(np.isfinite(x_hat)):
            raise NumericalError(f"non-finite reconstruction for scheme {point['scheme']} at "
                                 f"SNR {point['snr_db']} dB")
        # per image: the runner writes the means, their 95 % CIs and per_image.npz
        metrics = {"psnr": np.asarray(psnr(self.images, x_hat), np.float64),
                   "ms_ssim": np.asarray(ms_ssim(self.images, x_hat), np.float64)}
        decoded = info.get("decoded") if isinstance(info, Mapping) else None
        if decoded is not None:
            metrics["fail_rate"] = 1.0 - np.asarray(decoded, bool).astype(np.float64)
        for name, fn in self.task_metrics.items():
            value = fn(self.images, x_hat)
            if isinstance(value, Mapping):  # e.g. per-image IoU counts for mIoU
                metrics.update({k: np.asarray(v) for k, v in value.items()})
            else:
                metrics[name] = value if np.ndim(value) else float(value)
        if self.on_result is not None:
            self.on_result(point, x_hat, info)
        return metrics


def reconstruct_examples(links: Mapping[str, Any], images, snr_db: float,
                         channel: str) -> dict[str, np.ndarray]:
    """Reconstructions of a few images by each link at one SNR and channel.

    Input
    -----
    links : dict ``{label: link}`` -- :class:`~sem_sionna.sweep.protocol.SweepLink`\ s.
    images : [n, H, W, 3] float32 in [0, 1].

    Output
    ------
    dict ``{label: [n, H, W, 3] np.float32}``.
    """
    images = np.asarray(images, np.float32)
    out = {}
    for label, link in links.items():
        x_hat, _ = link.reconstruct(link.encode(images), snr_db, channel)
        out[label] = np.clip(np.asarray(x_hat, np.float32), 0.0, 1.0)
    return out
