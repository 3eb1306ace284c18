"""Typed configuration of the split-vs-LDPC study (S1 Split DeepJSCC, S0 learned interface).

Sizes are in bits or symbols, SNRs in dB, CBR = complex channel uses / source real values
(SPEC), learning rates per Adam step.
"""
from __future__ import annotations

import dataclasses
from typing import Optional

from sem_sionna.utils.checks import check_positive_int

__all__ = ["Schedule", "SwinConfig", "Config", "DATASETS", "CHANNELS", "S0_SOURCES",
           "ESTIMATORS", "S0_ABLATIONS"]

#: Values of :attr:`Config.dataset`.
DATASETS = ("embedded", "cifar10")
#: Values of :attr:`Config.channels`.
CHANNELS = ("awgn", "rayleigh")
#: Values of :attr:`Config.s0_source`.
S0_SOURCES = ("conv", "swin")
#: Values of :attr:`Config.s0_ablations` (S0 Fig. 7): no interface attention; no IAN.
S0_ABLATIONS = ("wo_ia", "wo_ian")
#: Values of :attr:`Config.stage2_estimator`.
ESTIMATORS = ("vimco", "ste")


def _positive_int(value, name: str, none: bool = False, minimum: int = 1) -> None:
    if value is None and none:
        return
    try:
        check_positive_int(value, name, minimum)
    except TypeError as err:  # a config field of the wrong type is a bad value
        raise ValueError(str(err)) from None


def _positive(value, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"`{name}` must be a positive number, got {value!r}")


def _number(value, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"`{name}` must be a number, got {value!r}")


def _tuple(value, name: str, choices=None) -> None:
    if not isinstance(value, tuple) or not value:
        raise ValueError(f"`{name}` must be a non-empty tuple, got {value!r}")
    if choices is not None and not set(value) <= set(choices):
        raise ValueError(f"`{name}` must hold values from {list(choices)}, got {value!r}")


def _choice(value, name: str, choices) -> None:
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {list(choices)}, got {value!r}")


@dataclasses.dataclass(frozen=True)
class Schedule:
    """Length of one training stage.

    Fields
    ------
    epochs : int -- passes over the training images.
    steps : int or None -- batches per epoch; None runs the whole set.
    """

    epochs: int
    steps: Optional[int] = None

    def __post_init__(self):
        _positive_int(self.epochs, "epochs")
        _positive_int(self.steps, "steps", none=True)


@dataclasses.dataclass(frozen=True)
class SwinConfig:
    """S0's Swin-style source mapper/demapper (:mod:`sem_sionna.nets.swin`).

    Fields
    ------
    embed_dim : int -- token width (channels).
    depth : int -- transformer blocks per stage.
    window : int -- attention window side, in tokens.
    heads : int -- attention heads.
    """

    embed_dim: int = 96
    depth: int = 2
    window: int = 4
    heads: int = 4

    def __post_init__(self):
        for name in ("embed_dim", "depth", "window", "heads"):
            _positive_int(getattr(self, name), name)


@dataclasses.dataclass(frozen=True)
class Config:
    """S1 + S0 vs DeepJSCC and digital (codec + 5G LDPC) chains on square image patches.

    Data split (``dataset="embedded"``): training and validation patches come from the
    five training photos, test patches from the two other photos. The seeds train and
    test on i.i.d. splits of one data set (CIFAR-10); ``generalisation.csv`` measures the
    difference: PSNR of the same models on validation patches (training photos) against
    the test photos. The photo-disjoint test set is kept as the default on purpose: the
    validation patches overlap the training patches' photos (random crops of the same
    images), so they measure fit rather than generalisation, and the quick profile's few
    photos would otherwise test the models on the scenes they were trained on. The seeds'
    comparisons are between schemes evaluated on the same images, which the paired
    per-image claims keep either way; absolute PSNRs are not comparable with the papers'.

    Test-set size: quick uses 64 test patches, paired across schemes (same images, same
    channel draws per point). The claims' paired per-image PSNR differences have standard
    deviations of about 1-3 dB (learned vs digital, whose failures are per image) and
    0.3-1 dB (learned vs learned), so with n = 64 the 95 % half-width is about
    ``2.0 s / 8``: 0.25-0.75 dB and 0.08-0.25 dB. That resolves the seeds' 1-3 dB gaps
    (S1 Fig. 7, the digital cliff, S1 Fig. 8) and S0's 0.5-1.5 dB over S1 (Fig. 5-6); S0's
    ablation gaps (Fig. 7, a few tenths of a dB) are at the edge. The per-bit claims
    (``learned_eps.csv``: 512 bits; ``interface_ber.csv``: per-level BER over 64 x 256
    bits per level) have many more samples.

    Fields
    ------
    n_train : int or None -- training images (None: the whole CIFAR-10 set, or the
        embedded set's default size).
    n_test : int -- test images of the sweep.
    n_val : int -- validation images, held-out patches of the training photos (or
        CIFAR-10 training images): the training schedules' validation set and the
        digital baselines' MCS choice.
    dataset : "embedded" or "cifar10" -- CIFAR-10 when cached locally, else the
        embedded photos.
    image_size : int -- patch side in pixels (embedded photos).
    snr_db : tuple of float -- channel SNRs, dB.
    cbrs : tuple of float -- channel bandwidth ratios K / (H W 3).
    channels : tuple of "awgn" / "rayleigh" -- channel models (Rayleigh: block fading).
    codecs : tuple of str -- codecs of the ``<codec>+ldpc`` schemes (``codecs.get``);
        ``"bpg"`` (real BPG files) is S1's BPG baseline, and the codec of ``bpg@capacity``.
    mcs : tuple of (float, int) -- (LDPC code rate, bits per QAM symbol); the digital
        chains use, per SNR and CBR, the pair that is best on the validation images.
    example_snr_db : float -- SNR of the example-reconstruction figure, dB.
    num_bits : int -- M, source-mapper output bits of S1.
    s0_num_bits : int or None -- M of S0 (None: ``num_bits``).
    filters : int -- conv width of the source mappers and of DeepJSCC.
    units : int -- hidden width of S1's channel mapper/demapper.
    num_levels : int -- N, reliability levels of S1's multi-level BSC (S1 eq. 17).
    eps_max : float -- flip probability of the least reliable level, in (0, 0.5].
    eps_min : float -- flip probability of the most reliable level, in (0, eps_max].
    s0_source : "conv" or "swin" -- S0's source mapper/demapper backbone.
    swin : SwinConfig or None -- the Swin backbone's sizes (required for "swin").
    s0_tokens : int -- tokens of S0's importance-aware channel mapper.
    s0_embed_dim : int -- token width of S0's channel mapper.
    s0_transformer_blocks : int -- transformer blocks of S0's channel mapper (>= 0).
    mu_init : float -- initial logit ``mu`` of S0's learned flips (eps = sigmoid(mu)/2).
    reg_weight : float -- weight of S0's interface regulariser (>= 0).
    s0_mse_weight : float -- weight of the [0, 1] MSE in S0's source loss; ``255**2``
        is the reference code's MSE of 0..255 pixels (``L = 255^2 MSE + lambda L_reg``).
    mu_lr_scale : float -- S0's logit is ``mu_lr_scale * mu``: ``mu``'s own learning rate.
    s0_ablations : tuple of "wo_ia" / "wo_ian" -- S0 Fig. 7 ablations, stage 2 retrained
        at the first CBR without interface attention / without the IAN (neither
        interface attention nor SE block).
    flip_cost_images : int or None -- test-split images of the bit flip-cost
        measurement, drawn beyond the ``n_test`` sweep images when larger (None: the
        sweep's test images).
    batch_size : int -- images per step.
    lr : float -- Adam learning rate.
    vimco_samples : int -- J, VIMCO samples per image (S1).
    vimco_batch_size : int or None -- batch of S1's VIMCO stages (None: ``batch_size``).
    stage2_estimator : "vimco" or "ste" -- gradient estimator of S1's channel stage.
    vimco_lr : float or None -- learning rate of S1's VIMCO channel stage (None: ``lr``).
    stage2_warmup : Schedule or None -- S1's channel stage first runs this many epochs
        with the straight-through estimator, then ``stage2`` with ``stage2_estimator``.
    lr_patience, lr_factor, early_stop : the papers' schedule: learning rate times
        ``lr_factor`` after ``lr_patience`` epochs without validation improvement,
        stop after ``early_stop`` (S1: 2, 0.8, 4); the epoch counts are caps. Every
        stage ends with the weights of its best validation epoch.
    train_snr_db : float -- S1's channel-stage training SNR, dB.
    s0_snr_range_db : (float, float) -- S0's channel-stage SNR range, dB (uniform).
    deepjscc_snr_db : float -- DeepJSCC's training SNR, dB.
    stage1 : Schedule -- source stage (S1 and S0).
    stage2 : Schedule -- S1's channel stage.
    s0_stage2 : Schedule -- S0's channel stage (over AWGN).
    s0_rayleigh_stage2 : Schedule or None -- S0's channel stage over Rayleigh block
        fading: the full IAN and each ablation get a second channel mapper/demapper per
        CBR trained over Rayleigh (S0 Sec. IV trains separate Rayleigh models), which the
        Rayleigh points use; None evaluates Rayleigh with the AWGN-trained models.
    s0_rayleigh_lr : float or None -- learning rate of that stage (None: ``lr``; S0 uses
        5e-4 over Rayleigh against 1e-4 over AWGN).
    deepjscc : Schedule -- DeepJSCC.
    """

    # sizes, schedules and grids: every profile sets them
    n_train: Optional[int]
    n_test: int
    snr_db: tuple[float, ...]
    cbrs: tuple[float, ...]
    num_bits: int
    filters: int
    units: int
    s0_tokens: int
    s0_embed_dim: int
    s0_transformer_blocks: int
    batch_size: int
    lr: float
    vimco_samples: int
    stage1: Schedule
    stage2: Schedule
    s0_stage2: Schedule
    deepjscc: Schedule
    # the study's settings shared by the profiles (S1 eq. 17 ladder, S0's SNR range, ...)
    dataset: str = "embedded"
    image_size: int = 32
    n_val: int = 64
    channels: tuple[str, ...] = ("awgn", "rayleigh")
    codecs: tuple[str, ...] = ("bpg", "jpeg2000")
    mcs: tuple[tuple[float, int], ...] = ((1 / 3, 2), (1 / 2, 2), (3 / 4, 2), (1 / 2, 4),
                                          (3 / 4, 4), (2 / 3, 6), (3 / 4, 6))
    example_snr_db: float = 10.0
    num_levels: int = 8
    eps_max: float = 0.4
    eps_min: float = 0.001
    s0_source: str = "conv"
    swin: Optional[SwinConfig] = None
    mu_init: float = -4.0
    reg_weight: float = 1.0
    s0_mse_weight: float = 255.0 ** 2
    mu_lr_scale: float = 1.0
    s0_num_bits: Optional[int] = None
    s0_ablations: tuple[str, ...] = ("wo_ia", "wo_ian")
    flip_cost_images: Optional[int] = None
    vimco_batch_size: Optional[int] = None
    stage2_estimator: str = "vimco"
    stage2_warmup: Optional[Schedule] = None
    vimco_lr: Optional[float] = None
    s0_rayleigh_stage2: Optional[Schedule] = None
    s0_rayleigh_lr: Optional[float] = None
    lr_patience: int = 2
    lr_factor: float = 0.8
    early_stop: int = 4
    train_snr_db: float = 20.0
    s0_snr_range_db: tuple[float, float] = (5.0, 20.0)
    deepjscc_snr_db: float = 10.0

    def __post_init__(self):
        _positive_int(self.n_train, "n_train", none=True)
        for name in ("n_test", "image_size", "num_bits", "filters", "units", "num_levels",
                     "s0_tokens", "s0_embed_dim", "batch_size", "vimco_samples"):
            _positive_int(getattr(self, name), name)
        _positive_int(self.vimco_batch_size, "vimco_batch_size", none=True)
        for name in ("n_val", "lr_patience", "early_stop"):
            _positive_int(getattr(self, name), name)
        _positive_int(self.s0_num_bits, "s0_num_bits", none=True)
        _positive_int(self.flip_cost_images, "flip_cost_images", none=True)
        for name in ("vimco_lr", "s0_rayleigh_lr"):
            if getattr(self, name) is not None:
                _positive(getattr(self, name), name)
        for name in ("s0_mse_weight", "mu_lr_scale", "lr_factor"):
            _positive(getattr(self, name), name)
        if not isinstance(self.s0_ablations, tuple) or not set(self.s0_ablations) <= set(
                S0_ABLATIONS):
            raise ValueError(f"`s0_ablations` must be a tuple of values from "
                             f"{list(S0_ABLATIONS)}, got {self.s0_ablations!r}")
        for name in ("stage2_warmup", "s0_rayleigh_stage2"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), Schedule):
                raise ValueError(f"`{name}` must be a Schedule or None, got "
                                 f"{getattr(self, name)!r}")
        _positive_int(self.s0_transformer_blocks, "s0_transformer_blocks", minimum=0)
        _choice(self.dataset, "dataset", DATASETS)
        _choice(self.s0_source, "s0_source", S0_SOURCES)
        _choice(self.stage2_estimator, "stage2_estimator", ESTIMATORS)
        if self.s0_source == "swin" and not isinstance(self.swin, SwinConfig):
            raise ValueError(f"`swin` must be a SwinConfig when s0_source='swin', got "
                             f"{self.swin!r}")
        _tuple(self.snr_db, "snr_db")
        for snr in self.snr_db:
            _number(snr, "snr_db")
        _tuple(self.cbrs, "cbrs")
        for cbr in self.cbrs:
            _positive(cbr, "cbrs")
        _tuple(self.channels, "channels", CHANNELS)
        _tuple(self.codecs, "codecs")
        _tuple(self.mcs, "mcs")
        for pair in self.mcs:
            if (not isinstance(pair, tuple) or len(pair) != 2 or not 0 < pair[0] <= 1
                    or isinstance(pair[1], bool) or not isinstance(pair[1], int)
                    or pair[1] < 1):
                raise ValueError(f"`mcs` entries must be (code rate in (0, 1], bits per "
                                 f"symbol >= 1) tuples, got {pair!r}")
        if not 0 < self.eps_min <= self.eps_max <= 0.5:
            raise ValueError(f"`eps_max` and `eps_min` must satisfy 0 < eps_min <= eps_max "
                             f"<= 0.5, got eps_max={self.eps_max!r}, eps_min={self.eps_min!r}")
        for name in ("example_snr_db", "train_snr_db", "deepjscc_snr_db", "mu_init"):
            _number(getattr(self, name), name)
        _positive(self.lr, "lr")
        if isinstance(self.reg_weight, bool) or not isinstance(
                self.reg_weight, (int, float)) or self.reg_weight < 0:
            raise ValueError(f"`reg_weight` must be a non-negative number, got "
                             f"{self.reg_weight!r}")
        low_high = self.s0_snr_range_db
        if not isinstance(low_high, tuple) or len(low_high) != 2 or not low_high[0] <= low_high[1]:
            raise ValueError(f"`s0_snr_range_db` must be a (low, high) tuple with low <= high, "
                             f"got {low_high!r}")
        for name in ("stage1", "stage2", "s0_stage2", "deepjscc"):
            if not isinstance(getattr(self, name), Schedule):
                raise ValueError(f"`{name}` must be a Schedule, got {getattr(self, name)!r}")

    @property
    def s0_bits(self) -> int:
        """M of S0 (``s0_num_bits``, else ``num_bits``)."""
        return self.s0_num_bits or self.num_bits
