"""sem_sionna.plot: the figures of the scenario scripts.

Every function takes sweep rows (or plain arrays), writes one figure atomically and
returns its path; axes carry units ("SNR [dB]", "PSNR [dB]", "MS-SSIM", "mIoU",
"CBR (channel uses / source value)", "decode failure rate"). Rendering uses the Agg
canvas without ``pyplot``.
"""
from .bars import bar_chart
from .curves import (failure_rate_vs_snr, line_plot, metric_vs, metric_vs_cbr,
                     metric_vs_snr)
from .figure import AXIS_LABELS, axis_label, save_figure
from .images import image_grid

__all__ = [
    "metric_vs",
    "metric_vs_snr",
    "metric_vs_cbr",
    "failure_rate_vs_snr",
    "bar_chart",
    "image_grid",
    "line_plot",
    "AXIS_LABELS",
    "axis_label",
    "save_figure",
]
