"""Metrics: image fidelity, task performance, bit/block error rates and BD-rate.

The TensorFlow metrics accept NumPy arrays or tensors and return tensors; the
Bjontegaard metrics are NumPy and return Python floats.
"""
from .bits import ber, bler, per_level_ber
from .bjontegaard import bd_psnr, bd_rate
from .image import MS_SSIM_POWER_FACTORS, PSNR_MAX_DB, image_metrics, ms_ssim, ms_ssim_params, psnr
from .task import accuracy, miou

__all__ = [
    "psnr",
    "ms_ssim",
    "ms_ssim_params",
    "image_metrics",
    "PSNR_MAX_DB",
    "MS_SSIM_POWER_FACTORS",
    "miou",
    "accuracy",
    "ber",
    "bler",
    "per_level_ber",
    "bd_rate",
    "bd_psnr",
]
