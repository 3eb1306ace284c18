"""Typed configuration of the S4 study (:mod:`sem_sionna.experiments.importance_mimo`).

Sizes are counts (images, units, filters), SNRs in dB, learning rates per Adam step,
importance thresholds in bits. Sequences are tuples; a list given to a field is
converted to a tuple of floats (or of str for ``schemes``).
"""
from __future__ import annotations

import dataclasses
import math

from sem_sionna.phy.allocation import ALLOCATION_SCHEMES, MSE_MODELS
from sem_sionna.utils.checks import check_positive_int

__all__ = ["CIBAConfig", "ClassificationConfig", "ClassifierConfig", "Config", "SELECT_METRICS",
           "TrainingConfig", "VAEConfig"]

SELECT_METRICS = ("accuracy", "psnr")
"""Validation metrics the beta / alpha searches may select by."""


def _check_int(obj, name: str) -> None:
    check_positive_int(getattr(obj, name), name)


def _check_number(obj, name: str, minimum: float = 0.0, strict: bool = True) -> None:
    value = getattr(obj, name)
    ok = (not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
          and (value > minimum if strict else value >= minimum))
    if not ok:
        rel = ">" if strict else ">="
        raise ValueError(f"`{name}` must be a finite number {rel} {minimum:g}, got {value!r}")


def _as_floats(obj, name: str, minimum: float | None = None) -> None:
    """Turn the sequence field ``name`` into a non-empty tuple of finite floats."""
    value = getattr(obj, name)
    try:
        values = tuple(float(v) for v in value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"`{name}` must be a sequence of numbers, got {value!r}") from err
    if not values or not all(math.isfinite(v) for v in values):
        raise ValueError(f"`{name}` must be a non-empty sequence of finite numbers, got {value!r}")
    if minimum is not None and min(values) < minimum:
        raise ValueError(f"`{name}` must hold numbers >= {minimum:g}, got {value!r}")
    if len(set(values)) != len(values):
        raise ValueError(f"`{name}` must not repeat a value, got {value!r}")
    object.__setattr__(obj, name, values)


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """Fields shared by every training stage (its subclasses add theirs as keywords).

    Fields
    ------
    epochs : int -- passes over the training images.
    batch_size : int -- images per step.
    lr : float -- Adam learning rate.
    """

    epochs: int
    batch_size: int
    lr: float

    def __post_init__(self):
        for name in ("epochs", "batch_size"):
            _check_int(self, name)
        _check_number(self, "lr")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ClassifierConfig(TrainingConfig):
    """The evaluation model (:class:`~sem_sionna.nets.classifier.SceneClassifier`).

    Fields (and those of :class:`TrainingConfig`)
    ------
    width : int -- filters of the first convolution stage.
    depth : int -- convolution stages.
    """

    width: int
    depth: int

    def __post_init__(self):
        super().__post_init__()
        for name in ("width", "depth"):
            _check_int(self, name)


@dataclasses.dataclass(frozen=True, kw_only=True)
class VAEConfig(TrainingConfig):
    """The semantic codec (:class:`~sem_sionna.nets.vae.VAE`), trained without a channel.

    Fields (and those of :class:`TrainingConfig`)
    ------
    latent_dim : int -- ``d``, real features per image (the channel symbols).
    filters : int -- filters of the first convolution stage.
    num_stages : int -- stride-2 stages (``image_size`` divisible by ``2**num_stages``).
    kl_weight : float -- weight of the KL term per pixel value, ``>= 0``.
    """

    latent_dim: int
    filters: int
    num_stages: int
    kl_weight: float

    def __post_init__(self):
        super().__post_init__()
        for name in ("latent_dim", "filters", "num_stages"):
            _check_int(self, name)
        _check_number(self, "kl_weight", strict=False)


@dataclasses.dataclass(frozen=True, kw_only=True)
class CIBAConfig(TrainingConfig):
    """The CIBA noise predictor (:class:`~sem_sionna.nets.ciba.NoisePredictor`), one per beta.

    Fields (and those of :class:`TrainingConfig`; the VAE is frozen)
    ------
    units : int -- hidden units of the predictor.
    """

    units: int

    def __post_init__(self):
        super().__post_init__()
        _check_int(self, "units")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ClassificationConfig(TrainingConfig):
    """The classification extension (Cao et al., Sec. 4.4, Fig. 11).

    A semantic encoder (a :class:`~sem_sionna.nets.vae.VAEEncoder` with the VAE's
    ``latent_dim``, ``filters`` and ``num_stages``, its posterior mean sent) and a
    classifier head (:class:`~sem_sionna.nets.ciba.LatentClassifier`) are trained
    jointly on the cross-entropy (no channel); a CIBA predictor at the selected beta
    is then trained with the head's cross-entropy as the task term.

    Fields (and those of :class:`TrainingConfig`, the codec's schedule)
    ------
    units : int -- hidden units of the head.
    ciba_epochs : int -- epochs of the predictor (batch size and lr of ``Config.ciba``).
    """

    units: int
    ciba_epochs: int

    def __post_init__(self):
        super().__post_init__()
        for name in ("units", "ciba_epochs"):
            _check_int(self, name)


@dataclasses.dataclass(frozen=True)
class Config:
    """S4 (Cao et al.): CIBA importance + EPA / MMSE / WMMSE allocation over SVD MIMO.

    Sample size (quick): 8192 test images x 2 channel draws = 16384 samples per sweep
    point, paired across schemes and MSE models (same images, channels and noise).
    One scheme's accuracy then has a 95 % half-width of about 0.6-0.8 points. Paired
    differences are much tighter (only the samples on which two schemes disagree
    count): with a per-sample std of an accuracy difference of 0.09-0.24 for
    WMMSE-M - MMSE-M, the half-width is 0.14-0.37 points, and 0.28-0.54 for a -M form
    against its plain one gives 0.4-0.8 points. CIBA trains 8 epochs in the quick
    profile (its loss is within 2 % of its 15-epoch value by then), which keeps the
    profile under 15 minutes on a 2-core CPU.
    Each split is encoded once; every scheme, SNR and draw then reuses the features
    (:func:`~sem_sionna.links.importance_mimo.transmit`'s ``features``), so a point
    costs the decoder, the evaluation classifier and MS-SSIM only. The searches use
    1024 validation images x 6 SNRs = 6144 paired samples per beta / alpha.

    Fields
    ------
    image_size : int -- side of the square scenes, pixels.
    num_classes : int -- object classes of the scenes (and of the evaluation model).
    num_tx_ant, num_rx_ant : int -- antennas of the Rayleigh MIMO channel;
        ``vae.latent_dim`` must be a multiple of ``min(num_tx_ant, num_rx_ant)``.
    n_train, n_val, n_test : int -- training, validation (beta / alpha searches) and
        test (PHIF / PLIF, scheme sweep) images.
    channel_draws : int -- channel matrices and noise drawn per test image at every
        sweep point (the samples of a point are ``n_test * channel_draws``, paired
        across schemes).
    eval_batch_size : int -- images per call of a link during evaluation.
    classifier : ClassifierConfig -- the evaluation model.
    vae : VAEConfig -- the semantic codec.
    ciba : CIBAConfig -- the noise predictors.
    betas : tuple of float -- IB weights searched (one predictor each), ``>= 0``.
    alphas : tuple of float -- WMMSE exponents searched (``w = I**alpha``), ``>= 0``;
        one alpha per MSE model, the best mean of ``select_metric`` over
        ``search_snr_db`` (the paper's Fig. 10 gives one peak, near 2, not one per SNR).
    search_snr_db : tuple of float -- SNRs of the beta / alpha searches, dB.
    select_metric : str -- validation metric of the searches, from
        :data:`SELECT_METRICS` (the paper's Figs. 9-10 and its claims are on accuracy).
    thresholds : tuple of float -- PHIF / PLIF importance thresholds, bits.
    perturb_snr_db : float -- feature SNR of the PHIF / PLIF perturbation, dB.
    perturb_images : int or None -- test images scored by PHIF / PLIF (the first ones;
        None: all ``n_test``). A figure without claims: 2048 images give mean-PSNR
        half-widths of about 0.1 dB, well below the gaps between thresholds.
    snr_db : tuple of float -- SNRs of the scheme sweep, dB.
    schemes : tuple of str -- allocation schemes of the sweep, from
        :data:`~sem_sionna.phy.allocation.ALLOCATION_SCHEMES` (the ``EUB`` rows are
        always added).
    mse_models : tuple of str -- MSE models swept (:data:`~sem_sionna.phy.allocation.
        MSE_MODELS`, the column ``mse_model`` of ``metrics.csv``); the first is the one
        the beta search uses.
    classification : ClassificationConfig or None -- the Sec. 4.4 extension (None: off).
    """

    image_size: int
    num_classes: int
    num_tx_ant: int
    num_rx_ant: int
    n_train: int
    n_val: int
    n_test: int
    eval_batch_size: int
    classifier: ClassifierConfig
    vae: VAEConfig
    ciba: CIBAConfig
    betas: tuple[float, ...]
    alphas: tuple[float, ...]
    search_snr_db: tuple[float, ...]
    thresholds: tuple[float, ...]
    perturb_snr_db: float
    snr_db: tuple[float, ...]
    schemes: tuple[str, ...] = ALLOCATION_SCHEMES
    channel_draws: int = 1
    select_metric: str = "accuracy"
    mse_models: tuple[str, ...] = MSE_MODELS
    classification: ClassificationConfig | None = None
    perturb_images: int | None = None

    def __post_init__(self):
        for name in ("image_size", "num_classes", "num_tx_ant", "num_rx_ant", "n_train",
                     "n_val", "n_test", "eval_batch_size", "channel_draws"):
            _check_int(self, name)
        for name, cls in (("classifier", ClassifierConfig), ("vae", VAEConfig),
                          ("ciba", CIBAConfig), ("classification", ClassificationConfig)):
            if name == "classification" and self.classification is None:
                continue
            if not isinstance(getattr(self, name), cls):
                raise ValueError(f"`{name}` must be a {cls.__name__}, "
                                 f"got {type(getattr(self, name)).__name__}")
        streams = min(self.num_tx_ant, self.num_rx_ant)
        if self.vae.latent_dim % streams:
            raise ValueError(f"`vae.latent_dim` must be a multiple of min(num_tx_ant, "
                             f"num_rx_ant)={streams}, got {self.vae.latent_dim}")
        if self.image_size % 2 ** self.vae.num_stages:
            raise ValueError(f"`image_size` must be divisible by 2**vae.num_stages="
                             f"{2 ** self.vae.num_stages}, got {self.image_size}")
        for name in ("betas", "alphas", "thresholds"):
            _as_floats(self, name, minimum=0.0)
        for name in ("search_snr_db", "snr_db"):
            _as_floats(self, name)
        _check_number(self, "perturb_snr_db", minimum=-math.inf)
        if self.perturb_images is not None:
            _check_int(self, "perturb_images")
        schemes = self.schemes
        if isinstance(schemes, str) or not schemes or any(s not in ALLOCATION_SCHEMES
                                                          for s in schemes):
            raise ValueError(f"`schemes` must be a non-empty sequence of "
                             f"{list(ALLOCATION_SCHEMES)}, got {schemes!r}")
        object.__setattr__(self, "schemes", tuple(str(s) for s in schemes))
        if self.select_metric not in SELECT_METRICS:
            raise ValueError(f"`select_metric` must be one of {list(SELECT_METRICS)}, "
                             f"got {self.select_metric!r}")
        models = self.mse_models
        if (isinstance(models, str) or not models or any(m not in MSE_MODELS for m in models)
                or len(set(models)) != len(models)):
            raise ValueError(f"`mse_models` must be a non-empty sequence of distinct "
                             f"{list(MSE_MODELS)}, got {models!r}")
        object.__setattr__(self, "mse_models", tuple(str(m) for m in models))
