"""S2: SD-JSCC, deep JSCC with semantic importance weights (Sun et al.).

Q. Sun et al., "Deep joint source-channel coding for wireless image transmission with
semantic importance". A frozen scene classifier supplies the gradient-based semantic
weights (GSW) of its feature maps; a binary JSCC codec is pre-trained with the pixel
loss and fine-tuned with the semantic-weighted feature loss (``sd_jscc``), with equal
weights (``sd_jscc_wo_gsw``) or with the pixel loss only (``deep_jscc``). At each rate
point (``bpp``: JSCC latent bits per pixel) every scheme sends each test image as one
5G transport block (rate-3/4 LDPC + 16-QAM, :class:`~sem_sionna.links.SDJSCCLink` for
JSCC, :class:`~sem_sionna.links.DigitalLink` for the codecs JPEG, WebP, JPEG2000 and
HEVC-intra as BPG, best quality within the same payload) over AWGN or Rayleigh block
fading (perfect CSI). Outputs: ``metrics.csv`` (:data:`COLUMNS`), accuracy / PSNR /
MS-SSIM / failure rate vs SNR, accuracy vs rate, the semantic weights and examples.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
from collections import OrderedDict
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import tensorflow as tf

from sem_sionna import data, metrics, plot
from sem_sionna.links.digital import DigitalLink
from sem_sionna.links.sdjscc import SDJSCCLink, coded_ber, num_channel_uses_for
from sem_sionna.links.transport_chain import TransportChain
from sem_sionna.nets.sdjscc import (gradient_importance, semantic_map, semantic_weights,
                                    uniform_weights)
from sem_sionna.phy.snr import snrdb2no
from sem_sionna.plot.figure import save_figure
from sem_sionna.sweep import RunRecord, SweepRunner, grid
from sem_sionna.train import WeightStore
from sem_sionna.train.sdjscc import (ClassifierTraining, JSCCTraining, pretrain_classifier,
                                     train_sdjscc_schemes)
from sem_sionna.utils import check_positive_int, logger, map_batches

__all__ = ["Config", "SemanticWeighting", "ClassifierTraining", "JSCCTraining", "COLUMNS",
           "CODEC_SCHEMES", "run", "classifier_accuracy", "evaluate_schemes",
           "plot_examples", "plot_semantic_weights"]

NAME = "semantic_jscc"
SCRIPT = Path(__file__).resolve().parents[2] / "scenarios" / f"{NAME}.py"
"""The scenario script, relaunched once per device by ``--devices``."""

COLUMNS = ("scheme", "channel", "snr_db", "cbr", "bpp", "psnr", "ms_ssim",
           "accuracy", "n_images", "fail_rate", "ber")
"""Columns of ``metrics.csv``: ``bpp`` is source bits per pixel (the JSCC latent bits; the
codecs get the same channel uses), ``fail_rate`` the fraction of images whose
transport-block CRC failed (codecs: not decoded), ``ber`` the payload bit error rate."""

CODEC_SCHEMES = {"jpeg+ldpc": "jpeg", "webp+ldpc": "webp", "jpeg2000+ldpc": "jpeg2000",
                 "bpg+ldpc": "hevc"}
"""Separate source-channel baselines: scheme name -> :func:`sem_sionna.codecs.get` name."""

NUM_BITS_PER_SYMBOL = 4  # 16-QAM
CODERATE = 0.75  # S2's WiFi LDPC rate, here 5G LDPC
CHANNELS = ("awgn", "rayleigh")


def _floats(values, name: str) -> tuple[float, ...]:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ValueError(f"`{name}` must be a sequence of numbers, got {values!r}")
    out = tuple(float(v) for v in values)
    if not out or not all(np.isfinite(out)):
        raise ValueError(f"`{name}` must be a non-empty sequence of finite numbers, "
                         f"got {values!r}")
    return out


@dataclasses.dataclass(frozen=True)
class SemanticWeighting:
    """The GSW module (S2 eqs. 8-10): ``W' = r softmax(tau W)`` of the classifier's maps.

    Fields
    ------
    num_images : int -- training images over which the gradients ``W`` are averaged.
    layers : tuple of int -- classifier stages weighted (Python indices, -1 = last).
    reduce : "mean" or "abs" -- eq. 9 over the classes (the paper: "mean").
    tau : float -- softmax temperature (> 0); ``tau * std(W)`` sets the spread.
    r : float -- sum of the weights of each stage (> 0).
    """

    num_images: int
    layers: tuple[int, ...]
    reduce: str
    tau: float
    r: float

    def __post_init__(self):
        check_positive_int(self.num_images, "num_images")
        layers = tuple(self.layers)
        if not layers or not all(isinstance(i, int) for i in layers):
            raise ValueError(f"`layers` must be a non-empty tuple of int, got {self.layers!r}")
        object.__setattr__(self, "layers", layers)
        if self.reduce not in ("mean", "abs"):
            raise ValueError(f"`reduce` must be 'mean' or 'abs', got {self.reduce!r}")
        for name in ("tau", "r"):
            if not float(getattr(self, name)) > 0:
                raise ValueError(f"`{name}` must be > 0, got {getattr(self, name)!r}")


@dataclasses.dataclass(frozen=True)
class Config:
    """S2 on procedural scenes. Images in pixels, rates in latent bits per pixel, SNRs in dB.

    Fields
    ------
    image_size : int -- side of the square test and training scenes (multiple of 4).
    n_train, n_test : int -- training and test images (one object per scene).
    bpp : tuple of float -- rate points, JSCC latent bits per pixel (``16 bpp`` an
        integer: the latent is ``[size/4, size/4, 16 bpp]`` bits).
    classifier : ClassifierTraining -- the task network (``num_classes`` also sets the
        scene classes).
    gsw : SemanticWeighting -- the semantic weights.
    jscc : JSCCTraining -- the codecs' two-stage training.
    snr_train_db : float -- SNR of the coded AWGN link whose BER is the training BSC's
        largest flip probability ``pb_max``.
    channels : tuple of "awgn" / "rayleigh" -- evaluation channels.
    snr_db : tuple of float -- evaluation SNRs.
    codecs : tuple of str -- separate baselines, names from :data:`CODEC_SCHEMES`.
    example_snr_db : tuple of float -- SNRs of the example reconstructions (first
        channel, first rate point).
    rate_plot_snr_db : float -- SNR of the accuracy-vs-rate figure (several ``bpp``).
    """

    image_size: int
    n_train: int
    n_test: int
    bpp: tuple[float, ...]
    classifier: ClassifierTraining
    gsw: SemanticWeighting
    jscc: JSCCTraining
    snr_train_db: float
    channels: tuple[str, ...]
    snr_db: tuple[float, ...]
    codecs: tuple[str, ...]
    example_snr_db: tuple[float, ...]
    rate_plot_snr_db: float

    def __post_init__(self):
        size = check_positive_int(self.image_size, "image_size")
        if size % 4:
            raise ValueError(f"`image_size` must be a multiple of 4, got {size}")
        check_positive_int(self.n_train, "n_train")
        check_positive_int(self.n_test, "n_test")
        for name, kind in (("classifier", ClassifierTraining), ("gsw", SemanticWeighting),
                           ("jscc", JSCCTraining)):
            if not isinstance(getattr(self, name), kind):
                raise ValueError(f"`{name}` must be a {kind.__name__}, "
                                 f"got {getattr(self, name)!r}")
        for name in ("bpp", "snr_db"):
            object.__setattr__(self, name, _floats(getattr(self, name), name))
        object.__setattr__(self, "example_snr_db", tuple(float(s) for s in self.example_snr_db))
        if any(b <= 0 or (16 * b) != round(16 * b) for b in self.bpp):
            raise ValueError(f"`bpp` must be positive multiples of 1/16, got {self.bpp}")
        channels, codecs = tuple(self.channels), tuple(self.codecs)
        if not channels or any(ch not in CHANNELS for ch in channels):
            raise ValueError(f"`channels` must be a non-empty tuple of {CHANNELS}, "
                             f"got {self.channels!r}")
        unknown = [s for s in codecs if s not in CODEC_SCHEMES]
        if unknown:
            raise ValueError(f"`codecs` {unknown} unknown; valid: {sorted(CODEC_SCHEMES)}")
        object.__setattr__(self, "channels", channels)
        object.__setattr__(self, "codecs", codecs)
        if not np.isfinite(float(self.snr_train_db)):
            raise ValueError(f"`snr_train_db` must be finite, got {self.snr_train_db!r}")
        if not np.isfinite(float(self.rate_plot_snr_db)):
            raise ValueError(f"`rate_plot_snr_db` must be finite, got "
                             f"{self.rate_plot_snr_db!r}")

    def latent_bits(self, bpp: float) -> int:
        """JSCC latent bits per image at rate point ``bpp``."""
        return round(bpp * self.image_size * self.image_size)


@dataclasses.dataclass(frozen=True)
class Data:
    """Scenes ``[N, H, W, 3]`` float32 in [0, 1] with their labels ``[N]`` int."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


@dataclasses.dataclass(frozen=True)
class RatePoint:
    """The JSCC codecs of one rate point and the transport block they share."""

    num_channel_uses: int
    pb_max: float  # coded BER at ``snr_train_db`` (unrounded)
    codecs: dict  # {scheme: keras.Model} of :func:`sem_sionna.train.sdjscc.jscc_codec`
    history: dict


# -- steps -----------------------------------------------------------------------------------

def load_data(config: Config, seed: int) -> Data:
    """Training and test scenes of ``config.classifier.num_classes`` classes."""
    kwargs = dict(size=config.image_size, seed=seed,
                  num_classes=config.classifier.num_classes, max_objects=1)
    x_train, _, y_train = data.scenes(config.n_train, split="train", **kwargs)
    x_test, _, y_test = data.scenes(config.n_test, split="test", **kwargs)
    return Data(x_train, y_train, x_test, y_test)


def predict_labels(classifier, images, batch_size: int = 128) -> np.ndarray:
    """Predicted classes ``[N]`` int32 of ``images [N, H, W, 3]`` (inference mode)."""
    logits = map_batches(lambda x: classifier(tf.constant(x), training=False),
                         np.asarray(images, np.float32), batch_size=batch_size)
    return np.argmax(logits, -1).astype(np.int32)


def classifier_accuracy(classifier, images, labels, batch_size: int = 128) -> float:
    """Accuracy of ``classifier`` on ``images [N, H, W, 3]`` against ``labels [N]``."""
    return float(np.mean(predict_labels(classifier, images, batch_size) == np.asarray(labels)))


def compute_weights(config: SemanticWeighting, classifier, images) -> tuple[list, list, list]:
    """GSW importance ``W``, semantic weights ``W'`` and equal weights, per classifier stage."""
    importance = gradient_importance(classifier, images[:config.num_images],
                                     layers=list(config.layers), reduce=config.reduce)
    w_sd = semantic_weights(importance, config.tau, config.r)
    return importance, w_sd, uniform_weights(w_sd, config.r)


def train_rate_point(config: Config, bpp: float, scenes: Data, classifier,
                     losses: Mapping[str, Any], store: WeightStore, seed: int,
                     record: RunRecord) -> RatePoint:
    """Channel uses of the rate point, the training BSC's ``pb_max``, and every JSCC scheme."""
    bits = config.latent_bits(bpp)
    ncu = num_channel_uses_for(bits, NUM_BITS_PER_SYMBOL, CODERATE)
    with record.stage("calibrate"):
        pb_max = coded_ber(ncu, NUM_BITS_PER_SYMBOL, CODERATE, config.snr_train_db, "awgn",
                           seed=seed)
    with record.stage("train"):
        codecs, history = train_sdjscc_schemes(
            store, scenes.x_train, classifier, losses, config.jscc,
            # rounded: the store hashes pb_max, whose last digits are Monte Carlo noise
            latent_channels=bits // (config.image_size // 4) ** 2, pb_max=round(pb_max, 4),
            seed=seed)
    return RatePoint(ncu, pb_max, codecs, history)


class SchemeEvaluator:
    """``prepare`` / ``evaluate`` of :meth:`SweepRunner.run` for every S2 scheme.

    One JSCC link per (scheme, channel, bpp), one :class:`DigitalLink` per codec, and one
    compiled :class:`TransportChain` per (channel, bpp) that serves every scheme.
    """

    def __init__(self, images, labels, classifier, rates: Mapping[float, RatePoint],
                 codec_schemes, channels, fallback=None, num_iter: int = 20, seed: int = 0,
                 example_snr_db=(), example_count: int = 2):
        self.images = np.asarray(images, np.float32)
        self.labels = np.asarray(labels, np.int32)
        self.classifier = classifier
        self.channels = list(channels)
        self.rates = list(rates)
        self.jscc_links, self.codec_links, self.chains, self.compiled = {}, {}, {}, {}
        for bpp, rate in rates.items():
            ncu = rate.num_channel_uses
            link_args = (ncu, NUM_BITS_PER_SYMBOL, CODERATE)
            for ch in self.channels:
                for name, codec in rate.codecs.items():
                    self.jscc_links[(name, ch, bpp)] = SDJSCCLink(
                        codec.layers[0], codec.layers[2], *link_args, ch, num_iter, seed=seed)
                for name in codec_schemes:
                    self.codec_links[(name, ch, bpp)] = DigitalLink(
                        CODEC_SCHEMES[name], *link_args, ch, fallback=fallback,
                        num_iter=num_iter, seed=seed)
                self.chains[(ch, bpp)] = TransportChain(*link_args, ch, num_iter=num_iter,
                                                        seed=seed)
                self.compiled[(ch, bpp)] = tf.function(self.chains[(ch, bpp)],
                                                       jit_compile=True)
        self.example_snr = {float(s) for s in example_snr_db}
        self.example_count = int(example_count)
        self.examples: dict = OrderedDict()
        self._codec_cache: dict = {}

    def transmit(self, key, bits, snr_db: float):
        bits = tf.convert_to_tensor(bits, tf.float32)
        no = tf.fill(tf.shape(bits)[:1], snrdb2no(float(snr_db)))
        bits_hat, crc_ok = self.compiled[key](bits, no)
        return bits_hat.numpy(), crc_ok.numpy()

    def prepare(self, group):
        key = (group["scheme"], group["channel"], group["bpp"])
        if key in self.jscc_links:
            return ("jscc", self.jscc_links[key].encode(self.images))
        cache_key = (group["scheme"], group["bpp"])  # channel independent: encode once
        if cache_key not in self._codec_cache:
            self._codec_cache[cache_key] = self.codec_links[key].encode(self.images)
        return ("codec", self._codec_cache[cache_key])

    def evaluate(self, point, state):
        kind, encoded = state
        name, ch, bpp, snr = point["scheme"], point["channel"], point["bpp"], point["snr_db"]
        bits_hat, crc_ok = self.transmit((ch, bpp), encoded["bits"], snr)
        if kind == "jscc":
            x_hat = self.jscc_links[(name, ch, bpp)].decode(encoded, bits_hat)
            n = encoded["num_bits"]
            ber = float(np.mean(bits_hat[:, :n] != encoded["bits"][:, :n]))
            fail = 1.0 - float(np.mean(crc_ok))
        else:
            x_hat, info = self.codec_links[(name, ch, bpp)].decode(encoded, bits_hat, crc_ok)
            ber = float(np.mean(bits_hat != encoded["bits"]))
            fail = 1.0 - float(np.mean(info["decoded"]))
        x_hat = np.clip(x_hat, 0.0, 1.0)
        pred = predict_labels(self.classifier, x_hat)
        if ch == self.channels[0] and bpp == self.rates[0] and float(snr) in self.example_snr:
            self.examples[(name, float(snr))] = x_hat[:self.example_count]
        return {**metrics.image_metrics(self.images, x_hat),
                "accuracy": float(np.mean(pred == self.labels)),
                "n_images": int(len(self.images)), "fail_rate": fail, "ber": ber}


def evaluate_schemes(config: Config, args: argparse.Namespace, scenes: Data, classifier,
                     rates: Mapping[float, RatePoint], record: RunRecord
                     ) -> tuple[list[dict], dict]:
    """Accuracy, PSNR and MS-SSIM of every scheme over rates, channels and SNRs.

    The sweep runs through :class:`SweepRunner` (``metrics.csv`` with :data:`COLUMNS`;
    encode once per scheme and rate, one row per point, resume, shards, devices).

    Output
    ------
    rows : list of dict -- the CSV rows.
    examples : dict ``{(scheme, snr_db): [count, H, W, 3]}`` (first channel and rate).
    """
    evaluator = SchemeEvaluator(scenes.x_test, scenes.y_test, classifier, rates, config.codecs,
                                config.channels, fallback=data.mean_image(scenes.x_train),
                                seed=args.seed, example_snr_db=config.example_snr_db)
    n_values = int(np.prod(scenes.x_test.shape[1:]))
    points = []
    for bpp, rate in rates.items():
        points += grid(scheme=list(rate.codecs) + list(config.codecs),
                       channel=list(config.channels), bpp=[float(bpp)],
                       cbr=[rate.num_channel_uses / n_values], snr_db=list(config.snr_db))
    runner = SweepRunner(args.out, COLUMNS, resume=args.resume, shard=args.shard,
                         seed=args.seed, record=record, desc=NAME, devices=args.devices,
                         argv=args.argv, script=SCRIPT)
    rows = runner.run(points, evaluator.evaluate, prepare=evaluator.prepare,
                      group_by=("scheme", "channel", "bpp", "cbr"),
                      reseed=list(evaluator.chains.values()))
    logger.info("[%s] %d rows; channel uses per image: %s", NAME, len(rows),
                {bpp: rate.num_channel_uses for bpp, rate in rates.items()})
    return rows, evaluator.examples


# -- figures ---------------------------------------------------------------------------------

def plot_examples(images, examples: Mapping, path, index: int = 0) -> Path | None:
    """Image grid: rows = schemes, columns = SNRs, of test image ``index`` (+ original).

    Returns None (and draws nothing) when ``examples`` is empty, e.g. after a resumed
    sweep that evaluated no example point.
    """
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


def plot_semantic_weights(weights: Sequence[np.ndarray], classifier, images, path,
                          r: float | None = None, titles: Sequence[str] | None = None
                          ) -> Path:
    """Heat maps of the GSW semantic weights and the weighted activations of example images.

    Top row: the weights ``w'_k`` of each classifier stage as a heat map (``K`` cells,
    row-major in channel order). Bottom row: example images overlaid with
    :func:`sem_sionna.nets.semantic_map` of the last weighted stage.

    Parameters
    ----------
    weights : list of ``[K_i]`` arrays (None entries are skipped).
    classifier : SceneClassifier.
    images : [n, H, W, 3] float32 -- a few examples.
    path : output PNG.
    r : float or None -- the weights' sum, shown in the titles.
    titles : stage titles (default ``"stage i (K maps)"``).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    stages = [(i, np.asarray(w, np.float32)) for i, w in enumerate(weights) if w is not None]
    images = np.asarray(images, np.float32)
    ncols = max(len(stages), len(images))
    fig = Figure(figsize=(2.6 * ncols, 5.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, ncols, squeeze=False)
    for ax in axes.flat:
        ax.set_visible(False)
    for col, (i, w) in enumerate(stages):
        k = w.size
        rows = 2 ** int(math.floor(math.log2(max(k, 1)) / 2))
        grid_w = np.full(rows * math.ceil(k / rows), np.nan, np.float32)
        grid_w[:k] = w
        ax = axes[0, col]
        ax.set_visible(True)
        ax.set_xticks([])
        ax.set_yticks([])
        im = ax.imshow(grid_w.reshape(rows, -1), cmap="viridis", vmin=0.0)
        ttl = titles[col] if titles else f"stage {i} ({k} maps)"
        ax.set_title(ttl + (f"\nsum = {r:g}" if r is not None else ""), fontsize="small")
        ax.set_xlabel("feature map index (row-major)", fontsize="x-small")
        fig.colorbar(im, ax=ax, shrink=0.8, label="semantic weight w'_k")
    if stages and len(stages) < ncols:  # distribution of the last stage's weights
        i, w = stages[-1]
        ax = axes[0, len(stages)]
        ax.set_visible(True)
        ax.bar(np.arange(w.size), np.sort(w)[::-1], color="C0", width=1.0)
        ax.axhline(w.sum() / w.size, color="C3", linestyle="--", label="equal weights r/K")
        ax.set_xticks([0, w.size - 1])
        ax.set_xlabel("feature maps, sorted by weight", fontsize="x-small")
        ax.set_ylabel("w'_k", fontsize="x-small")
        ax.set_title(f"stage {i}: sorted weights", fontsize="small")
        ax.legend(fontsize="x-small")
    if stages and len(images):
        last, w_last = stages[-1]
        maps = semantic_map(classifier, images, w_last, stage=last)
        for col, (img, m) in enumerate(zip(images, maps)):
            ax = axes[1, col]
            ax.set_visible(True)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.imshow(np.clip(img, 0, 1))
            ax.imshow(m, cmap="jet", alpha=0.45, vmin=0, vmax=1)
            ax.set_title(f"sum_k w'_k f_k, stage {last}", fontsize="x-small")
    fig.suptitle("GSW semantic weights W' = r softmax(tau W)")
    return save_figure(fig, Path(path))


def plot_figures(config: Config, out: Path, rows, examples, clean_accuracy: float,
                 w_sd, classifier, x_test) -> None:
    """The S2 figures: metrics vs SNR, accuracy vs rate, the semantic weights, examples."""
    title = f"Classification accuracy vs SNR (clean test images: {clean_accuracy:.3f})"
    plot.metric_vs_snr(rows, "accuracy", out / "accuracy_vs_snr.png", title=title)
    plot.metric_vs_snr(rows, "psnr", out / "psnr_vs_snr.png")
    plot.metric_vs_snr(rows, "ms_ssim", out / "ms_ssim_vs_snr.png")
    plot.failure_rate_vs_snr(rows, out / "fail_rate_vs_snr.png")
    if len(config.bpp) > 1:  # the paper's Fig. 6: accuracy vs rate at a good SNR
        plot.metric_vs_cbr(rows, "accuracy", out / "accuracy_vs_cbr.png",
                           where={"snr_db": config.rate_plot_snr_db})
    plot_semantic_weights(w_sd, classifier, x_test[:4], out / "semantic_weights.png",
                          r=config.gsw.r)
    plot_examples(x_test, examples, out / "examples.png")


def _by_rate(values: Mapping[float, Any]) -> dict[str, Any]:
    return {f"{bpp:g}bpp": v for bpp, v in values.items()}


def _stages(weights) -> list:
    return [None if w is None else w.tolist() for w in weights]


def run(config: Config, args: argparse.Namespace) -> None:
    """The S2 study: data, classifier, GSW, JSCC training per rate, sweep, figures."""
    with RunRecord(args.out, NAME, args, config) as record:
        with record.stage("data"):
            scenes = load_data(config, args.seed)
        store = WeightStore(args.out / "ckpt", retrain=args.retrain)
        with record.stage("classifier"):
            classifier, clf_hist = pretrain_classifier(store, scenes.x_train, scenes.y_train,
                                                       config.classifier, args.seed)
            clean_acc = classifier_accuracy(classifier, scenes.x_test, scenes.y_test)
        with record.stage("gsw"):
            importance, w_sd, w_uniform = compute_weights(config.gsw, classifier,
                                                          scenes.x_train)
        losses = {"deep_jscc": None, "sd_jscc_wo_gsw": w_uniform, "sd_jscc": w_sd}
        rates = {bpp: train_rate_point(config, bpp, scenes, classifier, losses, store,
                                       args.seed, record) for bpp in config.bpp}
        with record.stage("sweep"):
            rows, examples = evaluate_schemes(config, args, scenes, classifier, rates, record)
        with record.stage("plots"):
            plot_figures(config, args.out, rows, examples, clean_acc, w_sd, classifier,
                         scenes.x_test)
        record.set("clean_accuracy", clean_acc)
        record.set("num_channel_uses", _by_rate({b: r.num_channel_uses
                                                 for b, r in rates.items()}))
        record.set("train_pb_max", _by_rate({b: r.pb_max for b, r in rates.items()}))
        record.set("gsw_importance", _stages(importance))
        record.set("semantic_weights", _stages(w_sd))
        record.set("train_history", {"classifier": clf_hist,
                                     **_by_rate({b: r.history for b, r in rates.items()})})
