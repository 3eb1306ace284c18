"""Importance-aware analog transmission of VAE features over SVD MIMO (S4, Cao et al.).

Separate source-channel coding: a VAE (trained without any channel) extracts ``d``
latent features; a CIBA noise predictor scores their importance (the AWGN
capacity each needs); the features are sent as analog real symbols over the
eigen-channels of a MIMO channel, with importance-aware power allocation and
subchannel matching, and decoded by the VAE decoder::

    images --VAEEncoder--> mu --(mu - mean) / std--> x in R^d (unit power)
                                                      |--NoisePredictor--> I (bits)
    h, h_hat = MIMOChannel.generate         gains g = 2 sigma_k^2(h_hat) / no
    (assignment, p) = allocate_features(scheme, I, g)        [EPA|MMSE|WMMSE][-M]
    x --assignment--> [T channel uses x ns streams] --* sqrt(ns p)--> SVDPrecoder("equal")
      --> MIMOChannel.apply(h, no) --> SVDCombiner("equal") --> Re(.) / sqrt(ns p)
      --> LMMSE shrink p g / (1 + p g) --inverse assignment--> x_hat
    x_hat --mean + std * x_hat--> VAEDecoder --> images_hat

Each real feature rides the in-phase part of one eigen-channel use, so a feature
on eigen-channel ``k`` with power ``p`` sees the real SNR ``p g_k`` with
``g_k = 2 sigma_k^2 / no`` and, after the LMMSE estimate, the error
``1 / (1 + p g_k)``: the objective the allocators of
:mod:`sem_sionna.phy.allocation` minimise. One channel matrix is held over the
``T = d / ns`` channel uses of an image; the power per channel use is 1 (SPEC).

The module also holds the S4 experiment steps used by ``scenarios/importance_mimo.py``:
data, training through the :class:`~sem_sionna.train.WeightStore`, beta and
alpha searches, PHIF/PLIF validation and the scheme sweep with its plots.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from sem_sionna.nets.ciba import NoisePredictor, perturb_features
from sem_sionna.nets.vae import VAE, VAEDecoder, VAEEncoder
from sem_sionna.phy.allocation import (
    ALLOCATION_SCHEMES,
    allocate_features,
    apply_assignment,
    eigen_gains,
    invert_assignment,
)
from sem_sionna.phy.mimo import MIMOChannel
from sem_sionna.phy.precoding import SVDCombiner, SVDPrecoder
from sem_sionna.utils.checks import check_positive_int, check_real
from sem_sionna.phy.snr import snrdb2no

__all__ = [
    "ImportanceMIMOLink",
    "S4Models",
    "alpha_search",
    "beta_search",
    "evaluate_images",
    "load_s4_data",
    "phif_plif",
    "scheme_sweep",
    "train_s4_models",
    "transmit",
]



@keras.saving.register_keras_serializable(package="sem_sionna")
class ImportanceMIMOLink(keras.layers.Layer):
    """VAE features over SVD MIMO eigen-channels with EPA/MMSE/WMMSE (+ matching).

    Parameters
    ----------
    encoder : VAEEncoder -- semantic encoder (its posterior mean is sent).
    decoder : VAEDecoder -- semantic decoder.
    noise_predictor : NoisePredictor -- CIBA importance of the normalised features.
    num_tx_ant, num_rx_ant : int, default 4 -- antennas; ``ns = min(nt, nr)`` streams,
        ``latent_dim`` must be a multiple of ``ns``.
    scheme : str, default "WMMSE-M" -- one of
        :data:`~sem_sionna.phy.allocation.ALLOCATION_SCHEMES`.
    alpha : float, default 2.0 -- WMMSE weight exponent (``w = I**alpha``).
    csi_error_var : float, default 0.0 -- CSI error variance of the channel estimate
        used by transmitter and receiver.
    feature_mean, feature_std : [latent_dim] array or None -- feature normalisation
        (:func:`~sem_sionna.train.ciba.feature_statistics`); stored as weights.
    seed : int or None -- seed of the channel (draws of ``h`` and noise).

    Input
    -----
    images : [batch, H, W, 3], tf.float32 -- images in [0, 1].
    snr_db : scalar or [batch], tf.float32 -- SNR ``-10 log10(no)`` in dB.
    return_info : bool, default False -- also return a dict of intermediate tensors.

    Output
    ------
    images_hat : [batch, H, W, 3], tf.float32 -- reconstructions in (0, 1).
    info : dict, only with ``return_info`` -- ``features`` / ``features_hat``
        ``[batch, d]`` (normalised, sent and estimated), ``importance`` ``[batch, d]``
        (bits), ``assignment`` ``[batch, d]`` int32 (feature index per slot),
        ``power`` and ``gains`` ``[batch, T, ns]`` (linear).
    """

    def __init__(self, encoder: VAEEncoder, decoder: VAEDecoder,
                 noise_predictor: NoisePredictor, num_tx_ant: int = 4, num_rx_ant: int = 4,
                 scheme: str = "WMMSE-M", alpha: float = 2.0, csi_error_var: float = 0.0,
                 feature_mean=None, feature_std=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if scheme not in ALLOCATION_SCHEMES:
            raise ValueError(f"`scheme` must be one of {list(ALLOCATION_SCHEMES)}, "
                             f"got {scheme!r}")
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha >= 0:
            raise ValueError(f"`alpha` must be a number >= 0, got {alpha!r}")
        for name, layer, cls in (("encoder", encoder, VAEEncoder),
                                 ("decoder", decoder, VAEDecoder),
                                 ("noise_predictor", noise_predictor, NoisePredictor)):
            if not isinstance(layer, cls):
                raise TypeError(f"`{name}` must be a {cls.__name__}, got {type(layer).__name__}")
        self.encoder, self.decoder, self.noise_predictor = encoder, decoder, noise_predictor
        self.latent_dim = encoder.latent_dim
        if decoder.latent_dim != self.latent_dim or noise_predictor.latent_dim != self.latent_dim:
            raise ValueError(f"`encoder`, `decoder` and `noise_predictor` must share latent_dim, "
                             f"got {encoder.latent_dim}, {decoder.latent_dim}, "
                             f"{noise_predictor.latent_dim}")
        self.num_tx_ant = check_positive_int(num_tx_ant, "num_tx_ant")
        self.num_rx_ant = check_positive_int(num_rx_ant, "num_rx_ant")
        self.num_streams = min(self.num_tx_ant, self.num_rx_ant)
        if self.latent_dim % self.num_streams:
            raise ValueError(f"latent_dim={self.latent_dim} must be a multiple of the number "
                             f"of streams min(num_tx_ant, num_rx_ant)={self.num_streams}")
        self.num_channel_uses = self.latent_dim // self.num_streams
        self.scheme = scheme
        self.alpha = float(alpha)
        self.csi_error_var = float(csi_error_var)
        self.seed = seed
        self.channel = MIMOChannel(self.num_tx_ant, self.num_rx_ant,
                                   csi_error_var=self.csi_error_var, seed=seed, name="channel")
        self.precoder = SVDPrecoder(self.num_streams, "equal", name="precoder")
        self.combiner = SVDCombiner(self.num_streams, "equal", name="combiner")
        self._init_mean = feature_mean
        self._init_std = feature_std

    @property
    def cbr(self) -> float:
        """Stream symbols (real features) per source value, ``d / (H W 3)``."""
        h, w = self.decoder.image_size
        return self.latent_dim / (h * w * 3)

    def _stat(self, name, value, default):
        value = np.full([self.latent_dim], default, np.float32) if value is None \
            else np.asarray(value, np.float32)
        if value.shape != (self.latent_dim,):
            raise ValueError(f"`{name}` must have shape [{self.latent_dim}], got {value.shape}")
        return self.add_weight(name=name, shape=(self.latent_dim,), trainable=False,
                               initializer=keras.initializers.Constant(value))

    def build(self, images_shape, snr_db_shape=None):
        for layer, shape in ((self.encoder, images_shape), (self.decoder, (None, self.latent_dim)),
                             (self.noise_predictor, (None, self.latent_dim))):
            if not layer.built:  # shared, possibly trained layers are built already
                layer.build(shape)
        self.feature_mean = self._stat("feature_mean", self._init_mean, 0.0)
        self.feature_std = self._stat("feature_std", self._init_std, 1.0)
        self.built = True

    def __call__(self, images, snr_db, **kwargs):
        if not isinstance(snr_db, (tf.Tensor, tf.Variable, keras.KerasTensor)):
            snr_db = tf.constant(np.asarray(snr_db, np.float32))
        return super().__call__(images, snr_db, **kwargs)

    def features(self, images) -> tf.Tensor:
        """Normalised features ``(mu - mean) / std``, ``[batch, latent_dim]``."""
        mu, _ = self.encoder(images)
        return (mu - self.feature_mean) / self.feature_std

    def call(self, images, snr_db, return_info=False):
        check_real(images, "images")
        x = self.features(images)
        importance = self.noise_predictor.importance(x)
        batch = tf.shape(x)[0]
        t, ns = self.num_channel_uses, self.num_streams
        no = snrdb2no(tf.cast(snr_db, tf.float32))
        no_col = tf.reshape(no, [-1, 1]) if no.shape.rank else no  # [batch, 1] or scalar

        h, h_hat = self.channel.generate(batch)
        lam = eigen_gains(h_hat, ns)  # [b, ns], the precoder's stream order
        # a real feature on the in-phase part sees noise variance no / 2
        gains = tf.tile((2.0 * lam / tf.maximum(no_col, 1e-30))[:, None, :], [1, t, 1])
        assignment, p = allocate_features(self.scheme, importance, gains, 1.0, self.alpha)

        slots = tf.reshape(apply_assignment(x, assignment), [batch, t, ns])
        amp = tf.sqrt(ns * p)  # SVDPrecoder("equal") gives each stream power 1/ns
        symbols = tf.complex(tf.transpose(amp * slots, [0, 2, 1]), 0.0)  # [b, ns, T]
        tx = self.precoder(symbols, h_hat, no)
        y = self.channel.apply(tx, no, h)
        s_hat, no_eff = self.combiner(y, h_hat, no)  # s_hat = amp s + n, var(n) = no_eff

        r = tf.transpose(tf.math.real(s_hat), [0, 2, 1])  # [b, T, ns]
        on = amp > 0
        safe_amp = tf.where(on, amp, tf.ones_like(amp))
        snr = 2.0 * tf.square(amp) / no_eff[:, None, :]  # = p g for the true channel
        est = tf.where(on, r / safe_amp * snr / (1.0 + snr), tf.zeros_like(r))
        x_hat = invert_assignment(tf.reshape(est, [batch, self.latent_dim]), assignment)
        images_hat = self.decoder(self.feature_mean + self.feature_std * x_hat)
        if not return_info:
            return images_hat
        return images_hat, {"features": x, "features_hat": x_hat, "importance": importance,
                            "assignment": assignment, "power": p, "gains": gains}

    def get_config(self):
        ser = keras.saving.serialize_keras_object
        return {**super().get_config(), "encoder": ser(self.encoder),
                "decoder": ser(self.decoder), "noise_predictor": ser(self.noise_predictor),
                "num_tx_ant": self.num_tx_ant, "num_rx_ant": self.num_rx_ant,
                "scheme": self.scheme, "alpha": self.alpha,
                "csi_error_var": self.csi_error_var, "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("encoder", "decoder", "noise_predictor"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


# --------------------------------------------------------------------------- experiment
class S4Models:
    """The trained S4 models: evaluation classifier, VAE, feature statistics and one
    CIBA noise predictor per ``beta``."""

    def __init__(self, classifier, vae: VAE, feature_mean, feature_std,
                 predictors: dict[float, NoisePredictor], summaries: dict[str, Any]):
        self.classifier = classifier
        self.vae = vae
        self.feature_mean = np.asarray(feature_mean, np.float32)
        self.feature_std = np.asarray(feature_std, np.float32)
        self.predictors = predictors
        self.summaries = summaries

    def link(self, beta: float, scheme: str, alpha: float, num_tx_ant: int = 4,
             num_rx_ant: int = 4, seed: int = 0) -> ImportanceMIMOLink:
        """A built link with the predictor of ``beta``."""
        link = ImportanceMIMOLink(self.vae.encoder, self.vae.decoder, self.predictors[beta],
                                  num_tx_ant, num_rx_ant, scheme=scheme, alpha=alpha,
                                  feature_mean=self.feature_mean, feature_std=self.feature_std,
                                  seed=seed)
        link.build((None, *self.vae.image_size, 3))
        return link


def load_s4_data(cfg: dict, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Train / validation / test scenes ``(images, labels)`` (one object per scene).

    ``cfg`` keys: ``n_train``, ``n_val``, ``n_test``, ``image_size``, ``num_classes``.
    Validation scenes come from the training photos with another seed (used for the
    beta / alpha searches); test scenes from the test photos.
    """
    from sem_sionna.data import scenes

    def get(n, split, s):
        images, _, labels = scenes(n, size=cfg["image_size"], seed=s, split=split,
                                   num_classes=cfg["num_classes"], max_objects=1)
        return images, labels

    return {"train": get(cfg["n_train"], "train", seed),
            "val": get(cfg["n_val"], "train", seed + 7919),
            "test": get(cfg["n_test"], "test", seed)}


def train_s4_models(cfg: dict, data: dict, ckpt_root, retrain: bool = False, seed: int = 0,
                    record=None) -> S4Models:
    """Train (or load from ``ckpt_root`` by config hash) classifier, VAE and predictors.

    ``cfg`` keys: ``num_classes``, ``image_size``, ``classifier`` (``width``,
    ``depth``, ``epochs``, ``batch_size``, ``lr``), ``vae`` (``latent_dim``,
    ``filters``, ``num_stages``, ``epochs``, ``batch_size``, ``lr``, ``kl_weight``),
    ``ciba`` (``units``, ``epochs``, ``batch_size``, ``lr``), ``betas``, ``n_train``.
    """
    from sem_sionna.nets.classifier import SceneClassifier
    from sem_sionna.train.classifier import train_classifier
    from sem_sionna.utils.seeding import derive_seed, set_global_seed
    from sem_sionna.train import WeightStore
    from sem_sionna.train.ciba import (
        feature_statistics,
        train_noise_predictor,
        train_vae,
    )

    set_global_seed(derive_seed(seed, "train"))  # weight initialisation
    store = WeightStore(ckpt_root, retrain=retrain)
    images, labels = data["train"]
    shape = (None, *images.shape[1:])
    base = {"n_train": cfg["n_train"], "image_size": cfg["image_size"],
            "num_classes": cfg["num_classes"], "seed": seed}
    summaries: dict[str, Any] = {}

    def stage(name):
        return record.stage(name) if record is not None else contextlib.nullcontext()

    c = cfg["classifier"]
    clf = SceneClassifier(cfg["num_classes"], width=c["width"], depth=c["depth"])
    clf.build(shape)
    with stage("train_classifier"):
        _, summaries["classifier"] = store.load_or_train(
            "classifier", {**base, **c}, {"classifier": clf},
            lambda work: train_classifier(clf, images, labels, c["epochs"], c["batch_size"],
                                          c["lr"], ckpt_dir=work, seed=seed))

    v = cfg["vae"]
    vae = VAE(v["latent_dim"], cfg["image_size"], v["filters"], v["num_stages"], seed=seed)
    vae.build(shape)
    with stage("train_vae"):
        _, summaries["vae"] = store.load_or_train(
            "vae", {**base, **v}, {"vae": vae},
            lambda work: train_vae(vae, images, v["epochs"], v["batch_size"], v["lr"],
                                   v["kl_weight"], ckpt_dir=work, seed=seed))
    mean, std = feature_statistics(vae, images)

    a = cfg["ciba"]
    predictors = {}
    with stage("train_ciba"):
        for beta in cfg["betas"]:
            pred = NoisePredictor(v["latent_dim"], units=a["units"])
            pred.build((None, v["latent_dim"]))
            _, summaries[f"ciba_beta={beta:g}"] = store.load_or_train(
                "ciba", {**base, **v, **a, "beta": beta}, {"predictor": pred},
                lambda work, pred=pred, beta=beta: train_noise_predictor(
                    pred, vae, images, mean, std, beta, a["epochs"], a["batch_size"], a["lr"],
                    ckpt_dir=work, seed=seed))
            predictors[beta] = pred
    return S4Models(clf, vae, mean, std, predictors, summaries)


def evaluate_images(images, images_hat, labels, classifier, batch_size: int = 256) -> dict:
    """Mean ``psnr`` (dB), ``ms_ssim`` and classifier ``accuracy`` of reconstructions."""
    from sem_sionna.metrics import accuracy, ms_ssim, psnr
    from sem_sionna.nets.classifier import predict_labels

    images = np.asarray(images, np.float32)
    images_hat = np.clip(np.asarray(images_hat, np.float32), 0.0, 1.0)
    pred = predict_labels(classifier, images_hat, batch_size)
    return {"psnr": float(np.mean(psnr(images, images_hat))),
            "ms_ssim": float(np.mean(ms_ssim(images, images_hat))),
            "accuracy": float(accuracy(pred, labels))}


def transmit(link: ImportanceMIMOLink, images, snr_db: float, seed: int,
             batch_size: int = 128) -> tuple[np.ndarray, float]:
    """Send ``images`` through ``link`` at ``snr_db``; returns ``(images_hat, feature_mse)``.

    The link's channel is reseeded from ``seed`` first, so links of different
    schemes called with the same ``seed`` see the same channel matrices and noise
    (common random numbers: scheme differences are not sampling noise).
    """
    from sem_sionna.utils.seeding import reseed

    reseed(link.channel, seed)
    fn = link.__dict__.get("_transmit_fn")
    if fn is None:
        def run(x, snr_db):
            return link(x, snr_db, return_info=True)

        fn = tf.function(run, autograph=False)
        object.__setattr__(link, "_transmit_fn", fn)  # not a tracked Keras attribute
    images = np.asarray(images, np.float32)
    out, err = [], []
    for i in range(0, images.shape[0], batch_size):
        x_hat, info = fn(tf.constant(images[i:i + batch_size]), tf.constant(snr_db, tf.float32))
        out.append(np.asarray(x_hat))
        err.append(np.asarray(tf.square(info["features"] - info["features_hat"])))
    return np.concatenate(out), float(np.mean(np.concatenate(err)))


def _search(models, betas_alphas, data, cfg, seed, scheme_of):
    from sem_sionna.utils.seeding import derive_seed

    images, labels = data
    rows = []
    for beta, alpha in betas_alphas:
        link = models.link(beta, scheme_of, alpha, cfg["num_tx_ant"], cfg["num_rx_ant"])
        for snr in cfg["search_snr_db"]:
            x_hat, mse = transmit(link, images, snr, derive_seed(seed, "search", snr),
                                  cfg["eval_batch_size"])
            rows.append({"beta": beta, "alpha": alpha, "scheme": scheme_of, "snr_db": snr,
                         "feature_mse": mse,
                         **evaluate_images(images, x_hat, labels, models.classifier)})
    return rows


def _mean_by(rows, key, metric):
    values = sorted({r[key] for r in rows})
    return values, [float(np.mean([r[metric] for r in rows if r[key] == v])) for v in values]


def beta_search(models: S4Models, data, cfg: dict, out_dir, seed: int = 0,
                select: str = "psnr") -> tuple[float, list[dict]]:
    """Grid search of the IB weight ``beta`` by EPA-M performance (Cao et al., Sec. 4.3.1).

    EPA-M performance depends on the importance scores only through the matching,
    so it measures how well each predictor ranks the features. Evaluated on
    ``data`` (validation) at ``cfg["search_snr_db"]``; the best mean ``select``
    metric wins. Writes ``beta_search.csv`` and ``beta_search.png``.
    """
    rows = _search(models, [(b, 0.0) for b in cfg["betas"]], data, cfg, seed, "EPA-M")
    betas, score = _mean_by(rows, "beta", select)
    best = betas[int(np.argmax(score))]
    _write_rows(Path(out_dir) / "beta_search.csv", rows)
    _panels(rows, "beta", Path(out_dir) / "beta_search.png", r"IB weight $\beta$",
            "EPA-M vs CIBA weight beta (validation)", logx=True, mark=best)
    return best, rows


def alpha_search(models: S4Models, beta: float, data, cfg: dict, out_dir, seed: int = 0,
                 select: str = "psnr") -> tuple[float, list[dict]]:
    """Grid search of the WMMSE exponent ``alpha`` by WMMSE-M performance (Sec. 4.3.2).

    ``alpha = 0`` is MMSE-M. Writes ``alpha_search.csv`` and ``alpha_search.png``.
    """
    rows = _search(models, [(beta, a) for a in cfg["alphas"]], data, cfg, seed, "WMMSE-M")
    alphas, score = _mean_by(rows, "alpha", select)
    best = alphas[int(np.argmax(score))]
    _write_rows(Path(out_dir) / "alpha_search.csv", rows)
    _panels(rows, "alpha", Path(out_dir) / "alpha_search.png", r"WMMSE exponent $\alpha$",
            f"WMMSE-M vs alpha (validation, beta={beta:g})", mark=best)
    return best, rows


def phif_plif(models: S4Models, beta: float, data, cfg: dict, out_dir,
              seed: int = 0) -> list[dict]:
    """PHIF / PLIF validation of the importance scores (Cao et al., Sec. 4.2).

    For each threshold ``tau`` in ``cfg["thresholds"]`` (bits), Gaussian noise at the
    feature SNR ``cfg["perturb_snr_db"]`` is added to the features with ``I >= tau``
    (PHIF) or ``I < tau`` (PLIF) and the decoded images are scored. Writes
    ``phif_plif.csv``, ``phif_plif.png`` and ``phif_plif_examples.png``.
    """
    from sem_sionna.plot import image_grid

    images, labels = data
    pred = models.predictors[beta]
    x = _features(models, images)
    importance = np.asarray(pred.importance(tf.constant(x)))
    noise_var = 10.0 ** (-cfg["perturb_snr_db"] / 10.0)
    gen = keras.random.SeedGenerator(seed)
    rows, examples = [], {}
    for mode in ("PHIF", "PLIF"):
        for tau in cfg["thresholds"]:
            z = perturb_features(x, importance, tau, mode, noise_var, seed=gen)
            x_hat = _decode(models, np.asarray(z))
            n_pert = float(np.mean(np.sum(importance >= tau if mode == "PHIF"
                                          else importance < tau, axis=-1)))
            rows.append({"mode": mode, "threshold": tau, "n_perturbed": n_pert,
                         **evaluate_images(images, x_hat, labels, models.classifier)})
            examples[(mode, tau)] = x_hat[:3]
    _write_rows(Path(out_dir) / "phif_plif.csv", rows)
    _panels(rows, "threshold", Path(out_dir) / "phif_plif.png",
            r"importance threshold $\tau$ [bits]",
            f"PHIF vs PLIF (perturbation SNR {cfg['perturb_snr_db']:g} dB, beta={beta:g})",
            series="mode")
    taus = list(cfg["thresholds"])
    grid = [[images[i]] + [examples[(m, t)][i] for t in taus]
            for m in ("PHIF", "PLIF") for i in range(min(3, len(images)))]
    image_grid(grid, [f"{m} #{i}" for m in ("PHIF", "PLIF") for i in range(min(3, len(images)))],
               ["original"] + [f"tau={t:g}" for t in taus], Path(out_dir) / "phif_plif_examples.png",
               title="Decoded images under PHIF / PLIF")
    return rows


def _features(models: S4Models, images, batch_size: int = 256) -> np.ndarray:
    mu = np.concatenate([np.asarray(models.vae.encode(tf.constant(images[i:i + batch_size]))[0])
                         for i in range(0, len(images), batch_size)])
    return (mu - models.feature_mean) / models.feature_std


def _decode(models: S4Models, x, batch_size: int = 256) -> np.ndarray:
    z = models.feature_mean + models.feature_std * np.asarray(x, np.float32)
    return np.concatenate([np.asarray(models.vae.decode(tf.constant(z[i:i + batch_size])))
                           for i in range(0, len(z), batch_size)])


COLUMNS = ("scheme", "channel", "snr_db", "cbr", "beta", "alpha", "psnr", "ms_ssim", "accuracy",
           "feature_mse", "n_images")
"""Columns of ``metrics.csv`` written by :func:`scheme_sweep`."""


def scheme_sweep(models: S4Models, beta: float, alpha: float, data, cfg: dict, out_dir,
                 seed: int = 0, resume: bool = False, shard=None, record=None) -> list[dict]:
    """The six allocation schemes vs SNR on ``data``, plus the empirical upper bound.

    ``EUB`` rows (the same at every SNR) decode the clean features: the VAE and
    classifier without any channel. Every scheme at a given SNR sees the same
    channel matrices and noise (:func:`transmit`). Writes ``metrics.csv`` (:data:`COLUMNS`) through
    :class:`~sem_sionna.sweep.SweepRunner` and the figures ``accuracy_vs_snr.png``,
    ``psnr_vs_snr.png`` and ``ms_ssim_vs_snr.png``.
    """
    from sem_sionna import plot, sweep, utils

    images, labels = data
    channel = f"rayleigh-{cfg['num_tx_ant']}x{cfg['num_rx_ant']}"
    probe = models.link(beta, "EPA", alpha, cfg["num_tx_ant"], cfg["num_rx_ant"])
    cbr = probe.cbr
    schemes = list(cfg.get("schemes", ALLOCATION_SCHEMES))
    points = sweep.grid(scheme=["EUB", *schemes], channel=channel, snr_db=cfg["snr_db"],
                        cbr=cbr, beta=beta, alpha=alpha)
    def prepare(group):
        if group["scheme"] == "EUB":  # decoder on the clean features: no channel
            x_hat = _decode(models, _features(models, images))
            return evaluate_images(images, x_hat, labels, models.classifier)
        return models.link(beta, group["scheme"], alpha, cfg["num_tx_ant"], cfg["num_rx_ant"])

    def evaluate(point, link):
        if isinstance(link, dict):
            return {**link, "feature_mse": 0.0, "n_images": len(images)}
        x_hat, mse = transmit(link, images, point["snr_db"],
                              utils.derive_seed(seed, "channel", point["snr_db"]),
                              cfg["eval_batch_size"])
        return {**evaluate_images(images, x_hat, labels, models.classifier),
                "feature_mse": mse, "n_images": len(images)}

    if record is not None:  # the evaluation model on the original images, for reference
        record.set("classifier_accuracy_original",
                   evaluate_images(images, images, labels, models.classifier)["accuracy"])
    runner = sweep.SweepRunner(out_dir, COLUMNS, resume=resume, shard=shard, seed=seed,
                               record=record, desc="importance_mimo")
    rows = runner.run(points, evaluate, prepare=prepare)
    if shard is None:
        for metric in ("accuracy", "psnr", "ms_ssim"):
            plot.metric_vs_snr(rows, metric, Path(out_dir) / f"{metric}_vs_snr.png",
                               panels=("channel",))
    return rows


def _write_rows(path: Path, rows: list[dict]) -> None:
    from sem_sionna.utils.io import write_csv

    columns = list(rows[0]) if rows else []
    write_csv(path, columns, [{k: _fmt(v) for k, v in r.items()} for r in rows])


def _fmt(value) -> str:
    from sem_sionna.utils.io import format_value

    return format_value(value)


def _panels(rows: list[dict], x: str, path: Path, xlabel: str, title: str,
            series: str = "snr_db", logx: bool = False, mark=None) -> Path:
    """Accuracy and PSNR against ``x``, one line per value of ``series``."""
    from sem_sionna.plot.figure import new_figure, save_figure, series_style, style_axes

    fig, axes = new_figure(2)
    names = sorted({r[series] for r in rows}, key=str)
    for ax, metric, label in zip(axes, ("accuracy", "psnr"), ("accuracy", "PSNR [dB]")):
        for i, name in enumerate(names):
            pts = sorted((r[x], r[metric]) for r in rows if r[series] == name)
            lbl = f"SNR {name:g} dB" if series == "snr_db" else str(name)
            ax.plot([p[0] for p in pts], [p[1] for p in pts], label=lbl, **series_style(i))
        if mark is not None:
            ax.axvline(mark, color="0.5", linestyle=":", linewidth=1)
        if logx:
            ax.set_xscale("log")
        style_axes(ax, xlabel, label)
        ax.legend(fontsize="small")
    fig.suptitle(title)
    return save_figure(fig, path)


