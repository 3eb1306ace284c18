"""Metrics: image fidelity, task performance, bit/block error rates, BD-rate,
confidence intervals, per-image samples and claim rules.

The TensorFlow metrics accept NumPy arrays or tensors and return tensors; the
Bjontegaard metrics are NumPy and return Python floats.
"""
from .bits import ber, bler, flip_cost, gauss_newton_flip_cost, per_level_ber
from .bjontegaard import BD_METHODS, bd_ci95, bd_psnr, bd_rate, rd_envelope
from .image import MS_SSIM_POWER_FACTORS, PSNR_MAX_DB, image_metrics, ms_ssim, ms_ssim_params, psnr
from .claims import (CLAIM_KEYS, Claim, claims_markdown, evaluate_claims, replace_marked_block,
                     write_claims)
from .row_rules import AllOf, RankCorrelation, Threshold
from .rules import (VERDICTS, DifferenceGrows, Greater, GreaterAtEveryPoint, InteriorMaximum,
                    Less, LessAtEveryPoint, Outcome, Rule, SmallerDrop)
from .per_image import DEFAULT_RATIO_METRICS, PerImage
from .task import accuracy, f1_counts, macro_f1, miou
from .uncertainty import (Difference, bootstrap_ci95, mean_ci95, miou_ci95, paired_contrast,
                          paired_difference, ratio_ci95, ratio_of_sums, row_mean)

__all__ = [
    "psnr",
    "ms_ssim",
    "ms_ssim_params",
    "image_metrics",
    "PSNR_MAX_DB",
    "MS_SSIM_POWER_FACTORS",
    "miou",
    "accuracy",
    "f1_counts",
    "macro_f1",
    "ber",
    "bler",
    "per_level_ber",
    "flip_cost",
    "gauss_newton_flip_cost",
    "bd_rate",
    "bd_psnr",
    "bd_ci95",
    "rd_envelope",
    "BD_METHODS",
    "mean_ci95",
    "bootstrap_ci95",
    "ratio_ci95",
    "miou_ci95",
    "row_mean",
    "ratio_of_sums",
    "Difference",
    "paired_difference",
    "paired_contrast",
    "PerImage",
    "DEFAULT_RATIO_METRICS",
    "Claim",
    "Outcome",
    "Rule",
    "Greater",
    "Less",
    "GreaterAtEveryPoint",
    "LessAtEveryPoint",
    "DifferenceGrows",
    "SmallerDrop",
    "InteriorMaximum",
    "RankCorrelation",
    "Threshold",
    "AllOf",
    "VERDICTS",
    "CLAIM_KEYS",
    "evaluate_claims",
    "write_claims",
    "claims_markdown",
    "replace_marked_block",
]
