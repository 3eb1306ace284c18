"""Typed configuration of the SCSC study (S3, Han et al.): one frozen dataclass per stage.

:class:`Config` groups the image set and the shared training settings with one nested
config per part: the digital chain (:class:`ChainConfig`), the training stages
(:class:`SegNetConfig`, :class:`PCENConfig`, :class:`ProxyConfig`, :class:`SCSCConfig`,
:class:`JSCCConfig`) and the evaluation (:class:`SweepConfig`). Fields without a default
are the sizes a profile chooses (``scenarios/scsc_mimo.py``); the defaults are the
method's settings. Sequences are tuples; lists are converted.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from sem_sionna.nets.ppen import SCSC_Q_VALUES
from sem_sionna.train.scsc import LOSS_WEIGHTS, PRE_SCALE, SEG_TARGETS
from sem_sionna.utils.checks import check_positive_int, check_range

__all__ = ["ChainConfig", "SegNetConfig", "PCENConfig", "ProxyConfig", "SCSCConfig",
           "JSCCConfig", "SweepConfig", "Config", "CHANNEL_MODELS", "GEN_CODECS"]

#: Channel models of the sweep (``phy.MIMOChannel`` names).
CHANNEL_MODELS = ("rayleigh", "cdl-a", "cdl-b", "cdl-c", "cdl-d", "cdl-e")
#: Codecs PPEN (trained with HEVC) is also evaluated with.
GEN_CODECS = ("jpeg", "jpeg2000")


def _tuple(obj, name: str, cast=float) -> None:
    """Store field ``name`` of frozen ``obj`` as a tuple of ``cast`` values."""
    value = getattr(obj, name)
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ValueError(f"`{name}` must be a sequence, got {value!r}")
    object.__setattr__(obj, name, tuple(cast(v) for v in value))


def _positive(obj, *names: str, minimum: int = 1) -> None:
    for name in names:
        try:
            check_positive_int(getattr(obj, name), name, minimum=minimum)
        except TypeError as err:
            raise ValueError(str(err)) from None


def _positive_float(obj, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"`{name}` must be a positive number, got {value!r}")


@dataclasses.dataclass(frozen=True)
class ChainConfig:
    """The digital chain: HEVC intra (BPG) at QP ``Q`` + CRC + 5G LDPC + QAM, 2x2 SVD MIMO.

    Fields
    ------
    qualities : tuple of int -- codec QPs ``Q`` of the chain (PPEN's QA input), 0..51.
    q_main : int -- ``Q`` of the SNR curves; one of ``qualities``.
    q_gen : int -- ``Q`` whose block length the JPEG / JPEG2000 runs use (each codec
        at its best quality within that block); one of ``qualities``. Small images need
        a large block: a 64x64 baseline JPEG with its tables is ~320 bytes at quality 1.
    n_budget : int -- training images whose HEVC sizes set each ``Q``'s block length.
    budget_quantile : float in (0, 1] -- block payload = this quantile of those sizes
        (bytes), so that most images fit.
    num_bits_per_symbol : int -- QAM order (2: QPSK).
    coderate : float in (0, 1) -- LDPC code rate of the blocks (each ``Q``'s block length)
        and of the SNR curves.
    coderates : tuple of float -- LDPC rates of the (Q, rate) pairs that ``digital`` (at
        every point) and ``scsc`` (on the CBR curves) choose from on the validation
        images (one rate: no choice).
    q_ablation : int or None -- ``Q`` of the ablations (Fig. 16: w/o PPEN, w/o PCEN, w/o QA
        beside SCSC and the digital chain over SNR; the PPEN without QA is trained at
        it); one of ``qualities``; None: ``q_main``. The paper's Fig. 16 is at Q = 37.
    """

    qualities: tuple[int, ...]
    q_main: int
    q_gen: int
    n_budget: int
    budget_quantile: float = 0.9
    num_bits_per_symbol: int = 2
    coderate: float = 0.5
    coderates: tuple[float, ...] = (0.5,)
    q_ablation: int | None = None

    def __post_init__(self):
        if self.q_ablation is None:
            object.__setattr__(self, "q_ablation", self.q_main)
        _tuple(self, "qualities", int)
        _tuple(self, "coderates")
        if not self.coderates or any(not 0.0 < r < 1.0 for r in self.coderates):
            raise ValueError(f"`coderates` must be rates in (0, 1), got {self.coderates!r}")
        if not self.qualities or any(not 0 <= q <= 51 for q in self.qualities):
            raise ValueError(f"`qualities` must be QPs in 0..51, got {self.qualities!r}")
        for name in ("q_main", "q_gen", "q_ablation"):
            if getattr(self, name) not in self.qualities:
                raise ValueError(f"`{name}`={getattr(self, name)!r} must be one of "
                                 f"`qualities` {list(self.qualities)}")
        _positive(self, "n_budget", "num_bits_per_symbol")
        if not 0.0 < self.budget_quantile <= 1.0:
            raise ValueError(f"`budget_quantile` must lie in (0, 1], got "
                             f"{self.budget_quantile!r}")
        if not 0.0 < self.coderate < 1.0:
            raise ValueError(f"`coderate` must lie in (0, 1), got {self.coderate!r}")

    @property
    def q_range(self) -> tuple[float, float]:
        """``(min, max)`` of the QPs PPEN's QA and the proxy normalise ``Q`` over."""
        values = SCSC_Q_VALUES + self.qualities
        return float(min(values)), float(max(values))


@dataclasses.dataclass(frozen=True)
class SegNetConfig:
    """Stage 1: the segmentation network (cross-entropy on clean images).

    Fields
    ------
    widths : tuple of int -- channels of the encoder stages.
    blocks : tuple of int -- residual blocks of the deeper stages.
    epochs : int -- training epochs.
    lr : float -- Adam learning rate.
    """

    widths: tuple[int, ...]
    blocks: tuple[int, ...]
    epochs: int
    lr: float = 3e-3

    def __post_init__(self):
        _tuple(self, "widths", int)
        _tuple(self, "blocks", int)
        _positive(self, "epochs")
        _positive_float(self, "lr")


@dataclasses.dataclass(frozen=True)
class PCENConfig:
    """Stage 2: PCEN on ``L_pcen`` (Eqs. (10)-(11)), CEN and PEN in alternation.

    Fields
    ------
    steps : int -- alternating rounds (one CEN step, one PEN step each) on windows of the
        chain's own QPSK streams over fresh channel draws.
    num_layers : int -- unfolded iterations ``T``.
    lr : float -- Adam learning rate.
    symbol_images : int -- training images whose transport blocks (``q_main``) give the
        streams ``L_pcen`` is computed on.
    link_blocks : int -- transport blocks per SNR of ``pcen_link.csv`` (SVD vs untrained
        vs trained PCEN; the 95 % half-width of a decode rate p is
        ``1.96 sqrt(p (1 - p) / link_blocks)``).
    """

    steps: int
    num_layers: int = 10
    lr: float = 0.02
    symbol_images: int = 32
    link_blocks: int = 96

    def __post_init__(self):
        _positive(self, "steps", "num_layers", "symbol_images", "link_blocks")
        _positive_float(self, "lr")


@dataclasses.dataclass(frozen=True)
class ProxyConfig:
    """Stage 3: the proxy network on ``L_pro`` (Eq. (18)) against the real chain.

    Fields
    ------
    filters : int -- convolution channels.
    epochs : int -- training epochs.
    num_latent : int -- latent channels of its AWGN bottleneck (CBR = num_latent / 48).
    draws : int -- passes over the training images for the chain targets.
    lr : float -- Adam learning rate (also of ProxyNet).
    decoded_only : bool -- fit decoded blocks only (see ``train.scsc.train_proxy``).
    proxynet_epochs : int -- epochs of the ProxyNet baseline (stage 6: a proxy network of
        the same filters, its latent sized to ``q_main``'s CBR, trained on MSE over
        QPSK + SVD + PCEN, :class:`~sem_sionna.links.proxynet.ProxyNetMIMO`).
    """

    filters: int
    epochs: int
    num_latent: int = 4
    draws: int = 1
    lr: float = 2e-3
    decoded_only: bool = True
    proxynet_epochs: int = 8

    def __post_init__(self):
        _positive(self, "filters", "epochs", "num_latent", "draws", "proxynet_epochs")
        _positive_float(self, "lr")
        if not isinstance(self.decoded_only, bool):
            raise ValueError(f"`decoded_only` must be a bool, got {self.decoded_only!r}")


@dataclasses.dataclass(frozen=True)
class SCSCConfig:
    """Stage 4: PPEN (and PEN) end to end on Eq. (19); PPEN without QA at ``q_main``.

    Fields
    ------
    ppen_filters : int -- PPEN's convolution channels.
    ppen_stages : int -- PPEN's down/up-sampling stages (>= 0).
    epochs : int -- epochs of SCSC (PPEN with QA).
    noqa_epochs : int -- epochs of the ablation without QA (``scsc_wo_qa``).
    ppen_dac : int -- DAC blocks per stage.
    lr : float -- initial AdamW learning rate (polynomial decay, power 0.9).
    loss_weights : (float, float, float) -- ``(lambda_1, lambda_2, lambda_3)`` of
        ``L_pcen, L_seg, L_pre``.
    seg_target : str -- ``"teacher"`` (SegNet on the original image, Eq. (20)) or
        ``"mask"`` (ground truth).
    pre_scale : float -- ``L_pre = pre_scale * MSE`` of [0, 1] pixels; the default
        (``train.scsc.PRE_SCALE``) is the MSE of 8-bit pixels over 100.
    proxy_refresh : int -- training images per epoch on which the proxy is refit to the
        chain's outputs for the current PPEN (0: never).
    patience : int or None -- stop when the validation loss has not improved for this
        many epochs (None: run every epoch).
    """

    ppen_filters: int
    ppen_stages: int
    epochs: int
    noqa_epochs: int
    ppen_dac: int = 1
    lr: float = 5e-4
    loss_weights: tuple[float, float, float] = LOSS_WEIGHTS
    seg_target: str = "teacher"
    pre_scale: float = PRE_SCALE
    proxy_refresh: int = 0
    patience: int | None = None

    def __post_init__(self):
        _positive(self, "ppen_filters", "epochs", "noqa_epochs", "ppen_dac")
        _positive(self, "proxy_refresh", minimum=0)
        _positive_float(self, "pre_scale")
        if self.patience is not None:
            _positive(self, "patience")
        _positive(self, "ppen_stages", minimum=0)
        _positive_float(self, "lr")
        _tuple(self, "loss_weights")
        if len(self.loss_weights) != 3 or any(w < 0 for w in self.loss_weights):
            raise ValueError(f"`loss_weights` must be three non-negative weights, got "
                             f"{self.loss_weights!r}")
        if self.seg_target not in SEG_TARGETS:
            raise ValueError(f"`seg_target` must be one of {list(SEG_TARGETS)}, got "
                             f"{self.seg_target!r}")


@dataclasses.dataclass(frozen=True)
class JSCCConfig:
    """Stage 5: the DeepJSCC-MIMO and ADJSCC baselines (MSE, random latent count).

    Fields
    ------
    filters : int -- convolution channels.
    epochs : int -- training epochs.
    batch_size : int -- images per step.
    lr : float -- Adam learning rate.
    """

    filters: int
    epochs: int
    batch_size: int = 8
    lr: float = 3e-3

    def __post_init__(self):
        _positive(self, "filters", "epochs", "batch_size")
        _positive_float(self, "lr")


@dataclasses.dataclass(frozen=True)
class SweepConfig:
    """Evaluation grid. SNRs in dB (total transmit power 1 per channel use).

    Fields
    ------
    snr_db : tuple of float -- SNRs of the curves over SNR (Rayleigh, perfect CSI).
    snr_cbr : tuple of float -- SNRs of the curves over CBR (every ``Q`` / latent count).
    snr_channels : tuple of float -- SNRs of the channel / CSI / codec comparisons.
    snr_example : float -- SNR of ``examples.png``.
    channels : tuple of str -- channel models compared with perfect and imperfect CSI.
    gen_codecs : tuple of str -- other codecs PPEN is evaluated with (``jpeg``,
        ``jpeg2000``).
    num_examples : int -- images in ``examples.png``.
    csi_error_var : float -- variance of the CSI error ``e ~ CN(0, var)`` of "imperfect".
    """

    snr_db: tuple[float, ...]
    snr_cbr: tuple[float, ...]
    snr_channels: tuple[float, ...]
    snr_example: float
    channels: tuple[str, ...]
    gen_codecs: tuple[str, ...]
    num_examples: int
    csi_error_var: float = 0.1

    def __post_init__(self):
        for name in ("snr_db", "snr_cbr", "snr_channels"):
            _tuple(self, name)
            if not getattr(self, name):
                raise ValueError(f"`{name}` must hold at least one SNR")
        _tuple(self, "channels", str)
        _tuple(self, "gen_codecs", str)
        for name, valid in (("channels", CHANNEL_MODELS), ("gen_codecs", GEN_CODECS)):
            bad = [v for v in getattr(self, name) if v not in valid]
            if bad:
                raise ValueError(f"`{name}` must be among {list(valid)}, got {bad}")
        _positive(self, "num_examples")
        _positive_float(self, "csi_error_var")
        object.__setattr__(self, "snr_example", float(self.snr_example))


@dataclasses.dataclass(frozen=True)
class Config:
    """S3 on procedural scenes: SCSC vs the digital chain and learned baselines, 2x2 MIMO.

    Fields
    ------
    size : int -- image height and width (pixels, a multiple of 4).
    n_train : int -- training images.
    n_test : int -- test images of every sweep point. Sized for the claimed gaps: one of
        ``n`` images moves mIoU by about ``1/n`` of its IoU spread (~0.015 at 48 images),
        and the paired bootstrap half-width of a difference shrinks as ``1/sqrt(n)``;
        200 (quick) resolves gaps of ~0.01 mIoU between schemes that disagree on a few
        images, the size of S3's ablation gaps (Fig. 16).
    n_val : int -- validation images (training split, another seed): SCSC's early
        stopping and the (Q, code rate) choice of every selecting point.
    batch_size : int -- images per training step (proxy targets: twice as many).
    chain, segnet, pcen, proxy, scsc, jscc, sweep -- the nested configs above.
    snr_range : (float, float) -- training SNR range, dB (uniform per image).
    """

    size: int
    n_train: int
    n_test: int
    batch_size: int
    chain: ChainConfig
    segnet: SegNetConfig
    pcen: PCENConfig
    proxy: ProxyConfig
    scsc: SCSCConfig
    jscc: JSCCConfig
    sweep: SweepConfig
    snr_range: tuple[float, float] = (2.0, 12.0)
    n_val: int = 32

    def __post_init__(self):
        _positive(self, "size", "n_train", "n_test", "batch_size", "n_val")
        if self.size % 4:
            raise ValueError(f"`size` must be a multiple of 4, got {self.size!r}")
        object.__setattr__(self, "snr_range", check_range(self.snr_range, "snr_range"))
        for name, cls in (("chain", ChainConfig), ("segnet", SegNetConfig),
                          ("pcen", PCENConfig), ("proxy", ProxyConfig), ("scsc", SCSCConfig),
                          ("jscc", JSCCConfig), ("sweep", SweepConfig)):
            if not isinstance(getattr(self, name), cls):
                raise ValueError(f"`{name}` must be a {cls.__name__}, got "
                                 f"{type(getattr(self, name)).__name__}")

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (for ``run.json`` and the weight-store keys)."""
        return dataclasses.asdict(self)
