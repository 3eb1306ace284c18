"""S2: SD-JSCC, deep JSCC with semantic importance weights (Sun et al.).

Q. Sun et al., "Deep joint source-channel coding for wireless image transmission with
semantic importance". A frozen scene classifier with fully connected layers on its
flattened last maps (so that gradients depend on the image, as the paper's task
networks) supplies the gradient-based semantic weights (GSW, eqs. 8-10) of its last
convolutional stage; a binary JSCC codec is pre-trained with the pixel loss over
``q + N`` (eqs. 14-15, Algorithm 1) and fine-tuned with the semantic-weighted feature
loss (eq. 13: ``sd_jscc``), with every weight 1 (``sd_jscc_wo_gsw``, Sec. IV-C2) or
with the pixel loss only (``deep_jscc``). ``tau`` is chosen on validation images.

Each training point ``(bpp, snr_train_db)`` (``bpp``: JSCC latent bits per pixel) sends
the test images as one 5G transport block each (rate-3/4 LDPC + 16-QAM,
:class:`~sem_sionna.links.SDJSCCLink`); the separate baselines (``bpg+ldpc`` with the
real BPG codec, ``webp+ldpc``, ``jpeg+ldpc``) get the same channel uses and a (code
rate, QAM) fixed per SNR on validation images (:class:`~sem_sionna.links.DigitalOracle`),
recorded in ``metrics.csv``. Outputs: ``metrics.csv`` (:data:`COLUMNS`, 95 % CIs),
``per_image.npz``, ``claims.json``, ``gsw_maps.csv`` and ``tau_curve.csv``, figures.
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Mapping

import numpy as np

from sem_sionna import data, plot
from sem_sionna.experiments import semantic_jscc_gsw as gsw_study
from sem_sionna.experiments.report import write_claims
from sem_sionna.links.oracle import DigitalOracle
from sem_sionna.links.sdjscc import SDJSCCLink, coded_ber, num_channel_uses_for
from sem_sionna.metrics import Claim, Greater, GreaterAtEveryPoint, InteriorMaximum, Less
from sem_sionna.metrics import PerImage, f1_counts, mean_ci95
from sem_sionna.metrics.row_rules import AllOf, RankCorrelation
from sem_sionna.nets.sdjscc import gradient_importance, semantic_weights, uniform_weights
from sem_sionna.phy.snr import snrdb2no
from sem_sionna.sweep import ImageSweep, RunRecord, SweepRunner, grid, with_ci95
from sem_sionna.train import WeightStore
from sem_sionna.train.sdjscc import (ClassifierTraining, JSCCTraining, pretrain_classifier,
                                     train_sdjscc_schemes)
from sem_sionna.utils import check_positive_int, logger
from sem_sionna.utils.io import write_csv

__all__ = ["Config", "SemanticWeighting", "TrainPoint", "ClassifierTraining", "JSCCTraining",
           "COLUMNS", "METRICS", "RATIO_METRICS", "CODEC_SCHEMES", "CLAIMS", "run"]

NAME = "semantic_jscc"
SCRIPT = Path(__file__).resolve().parents[2] / "scenarios" / f"{NAME}.py"

METRICS = ("psnr", "ms_ssim", "accuracy", "fail_rate")
COLUMNS = tuple(with_ci95(("scheme", "channel", "snr_db", "snr_train_db", "cbr", "bpp",
                           "psnr", "ms_ssim", "accuracy", "f1", "f1_ci95", "n_images",
                           "fail_rate", "ber", "coderate", "num_bits_per_symbol"), METRICS))
"""Columns of ``metrics.csv``: ``bpp`` the JSCC latent bits per pixel (the codecs get the
same channel uses), ``snr_train_db`` the JSCC training SNR of the rate point (the codecs
are compared at it), ``f1`` the macro F1 score, ``fail_rate`` the fraction of images
whose CRC failed (codecs: not decoded), ``ber`` the payload bit error rate of the JSCC
latent, ``coderate`` / ``num_bits_per_symbol`` the MCS (codecs: chosen on validation)."""
KEY_COLUMNS = ("scheme", "channel", "cbr", "snr_db", "snr_train_db")
#: Ratio metrics of ``per_image.npz``: macro F1 from per-image counts
#: (:func:`~sem_sionna.metrics.f1_counts`), so F1 pairs and bootstraps over images as
#: accuracy does.
RATIO_METRICS = {"f1": ("f1_numerator", "f1_denominator")}

CODEC_SCHEMES = {"jpeg+ldpc": "jpeg", "webp+ldpc": "webp", "bpg+ldpc": "bpg",
                 "jpeg2000+ldpc": "jpeg2000"}
"""Separate source-channel baselines: scheme name -> :func:`sem_sionna.codecs.get` name."""

JSCC_SCHEMES = ("deep_jscc", "sd_jscc_wo_gsw", "sd_jscc")
NUM_BITS_PER_SYMBOL = 4  # 16-QAM
CODERATE = 0.75  # S2's (1944, 1458) LDPC rate, here 5G LDPC
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
    layers : tuple of int -- classifier stages weighted (-1: the last convolutional
        stage, the ``K`` maps the fully connected layers read; the paper weights one
        feature layer, eq. 7).
    reduce : "mean" or "abs" -- eq. 9 over the classes (the paper: "mean").
    tau_spread : tuple of float -- the temperatures tried, as ``tau * std(W)`` (the
        spread of ``tau W`` sets how concentrated the weights are); the one with the
        best validation accuracy is used.
    r : float or None -- sum of the weights of a stage; None: ``K`` (mean weight 1, as
        the ablation's weights).
    """

    num_images: int
    layers: tuple[int, ...]
    reduce: str
    tau_spread: tuple[float, ...]
    r: float | None = None

    def __post_init__(self):
        check_positive_int(self.num_images, "num_images")
        layers = tuple(self.layers)
        if not layers or not all(isinstance(i, int) for i in layers):
            raise ValueError(f"`layers` must be a non-empty tuple of int, got {self.layers!r}")
        object.__setattr__(self, "layers", layers)
        if self.reduce not in ("mean", "abs"):
            raise ValueError(f"`reduce` must be 'mean' or 'abs', got {self.reduce!r}")
        spread = _floats(self.tau_spread, "tau_spread")
        if any(t <= 0 for t in spread) or len(set(spread)) != len(spread):
            raise ValueError(f"`tau_spread` must hold distinct values > 0, got {spread}")
        object.__setattr__(self, "tau_spread", tuple(sorted(spread)))
        if self.r is not None and not float(self.r) > 0:
            raise ValueError(f"`r` must be > 0 or None, got {self.r!r}")


@dataclasses.dataclass(frozen=True)
class TrainPoint:
    """One rate point: JSCC codecs trained at ``snr_train_db``, tested at ``snr_db``.

    Fields
    ------
    bpp : float -- latent bits per pixel (a multiple of 1/16).
    snr_train_db : float -- training SNR of ``q + N``.
    snr_db : tuple of float -- test SNRs.
    codecs : bool -- evaluate the separate baselines here too.
    """

    bpp: float
    snr_train_db: float
    snr_db: tuple[float, ...]
    codecs: bool = False

    def __post_init__(self):
        if not float(self.bpp) > 0 or 16 * self.bpp != round(16 * self.bpp):
            raise ValueError(f"`bpp` must be a positive multiple of 1/16, got {self.bpp!r}")
        if not np.isfinite(float(self.snr_train_db)):
            raise ValueError(f"`snr_train_db` must be finite, got {self.snr_train_db!r}")
        object.__setattr__(self, "snr_db", _floats(self.snr_db, "snr_db"))


@dataclasses.dataclass(frozen=True)
class Config:
    """S2 on procedural scenes. Images in pixels, rates in latent bits per pixel, SNRs in dB.

    Fields
    ------
    image_size : int -- side of the square scenes (multiple of 4).
    n_train, n_val, n_test : int -- training, validation (tau, MCS and the GSW analysis)
        and test images. A paired accuracy difference (per image -1, 0 or 1) has a 95 %
        half-width of about ``1.96 sqrt(P(disagree) / n_test)``: +-1.9 points at 1024
        images when 10 % of them disagree, below the few-point gaps of S2's Fig. 6.
    max_objects, object_scale : scene clutter and main-object size
        (:func:`sem_sionna.data.scenes`): a task whose accuracy is not at its ceiling.
    points : tuple of TrainPoint -- the rate points.
    tau_point : int -- index into ``points`` where ``tau`` is chosen (and Fig. 7 drawn).
    classifier : ClassifierTraining -- the task network (``num_classes`` also sets the
        scene classes).
    gsw : SemanticWeighting.
    jscc : JSCCTraining -- the codecs' two-stage training (``channel="awgn"``: ``q + N``).
    channels : tuple of "awgn" / "rayleigh" -- evaluation channels.
    codecs : tuple of str -- separate baselines, names from :data:`CODEC_SCHEMES`.
    mcs : tuple of (coderate, num_bits_per_symbol) -- the baselines' MCS candidates.
    example_snr_db : tuple of float -- SNRs of the example reconstructions.
    """

    image_size: int
    n_train: int
    n_val: int
    n_test: int
    max_objects: int
    object_scale: float
    points: tuple[TrainPoint, ...]
    tau_point: int
    classifier: ClassifierTraining
    gsw: SemanticWeighting
    jscc: JSCCTraining
    channels: tuple[str, ...]
    codecs: tuple[str, ...]
    mcs: tuple[tuple[float, int], ...]
    example_snr_db: tuple[float, ...]

    def __post_init__(self):
        size = check_positive_int(self.image_size, "image_size")
        if size % 4:
            raise ValueError(f"`image_size` must be a multiple of 4, got {size}")
        for name in ("n_train", "n_val", "n_test", "max_objects"):
            check_positive_int(getattr(self, name), name)
        for name, kind in (("classifier", ClassifierTraining), ("gsw", SemanticWeighting),
                           ("jscc", JSCCTraining)):
            if not isinstance(getattr(self, name), kind):
                raise ValueError(f"`{name}` must be a {kind.__name__}, "
                                 f"got {getattr(self, name)!r}")
        points = tuple(self.points)
        if not points or not all(isinstance(p, TrainPoint) for p in points):
            raise ValueError(f"`points` must be a non-empty tuple of TrainPoint, "
                             f"got {self.points!r}")
        keys = [(p.bpp, p.snr_train_db) for p in points]
        if len(set(keys)) != len(keys):
            raise ValueError(f"`points` has repeated (bpp, snr_train_db): {keys}")
        object.__setattr__(self, "points", points)
        if not isinstance(self.tau_point, int) or not 0 <= self.tau_point < len(points):
            raise ValueError(f"`tau_point` must index `points`, got {self.tau_point!r}")
        channels, codecs = tuple(self.channels), tuple(self.codecs)
        if not channels or any(ch not in CHANNELS for ch in channels):
            raise ValueError(f"`channels` must be a non-empty tuple of {CHANNELS}, "
                             f"got {self.channels!r}")
        unknown = [s for s in codecs if s not in CODEC_SCHEMES]
        if unknown:
            raise ValueError(f"`codecs` {unknown} unknown; valid: {sorted(CODEC_SCHEMES)}")
        object.__setattr__(self, "channels", channels)
        object.__setattr__(self, "codecs", codecs)
        object.__setattr__(self, "mcs", tuple((float(r), int(m)) for r, m in self.mcs))
        object.__setattr__(self, "example_snr_db", tuple(float(s) for s in self.example_snr_db))

    def latent_bits(self, bpp: float) -> int:
        """JSCC latent bits per image at rate point ``bpp``."""
        return round(bpp * self.image_size * self.image_size)


CLAIMS = (
    Claim("fig4_acc_vs_deep_jscc", "S2 Fig. 4 / Table I",
          "SD-JSCC achieves a higher classification accuracy than deep JSCC at the "
          "training SNR (Fig. 4: +9.1 % at 5 dB; Table I: +10.94 %)",
          AllOf(Greater("sd_jscc", "deep_jscc", "accuracy", over="snr_train_db",
                        where={"channel": "awgn", "snr_db": 5.0, "snr_train_db": 5.0}),
                Greater("sd_jscc", "deep_jscc", "accuracy", over="bpp",
                        where={"channel": "awgn", "snr_db": 20.0, "snr_train_db": 20.0}))),
    Claim("table1_psnr_below_deep_jscc", "S2 Table I",
          "SD-JSCC's pixel-level quality is slightly below deep JSCC's (27.02 vs 28.89 dB)",
          Less("sd_jscc", "deep_jscc", "psnr", over="bpp",
               where={"channel": "awgn", "snr_db": 20.0, "snr_train_db": 20.0})),
    Claim("fig4_far_above_sscc_low_snr", "S2 Fig. 4",
          "At low SNR SD-JSCC is far above the separate schemes (JPEG, WebP, BPG + LDPC): "
          "+57.7 % accuracy at 5 dB; the SSCC schemes fall off a cliff",
          AllOf(*(Greater("sd_jscc", b, "accuracy", margin=0.1,
                          where={"channel": "awgn", "snr_train_db": 5.0, "snr_db": 5.0})
                  for b in ("bpg+ldpc", "webp+ldpc", "jpeg+ldpc")))),
    Claim("fig6_gsw_every_bpp", "S2 Fig. 6",
          "With SNR_train = SNR_test = 20 dB SD-JSCC has a higher accuracy than SD-JSCC "
          "w/o GSW (all weights 1) at every compression rate",
          GreaterAtEveryPoint("sd_jscc", "sd_jscc_wo_gsw", "accuracy", over="bpp",
                              where={"channel": "awgn", "snr_db": 20.0,
                                     "snr_train_db": 20.0})),
    Claim("fig7_tau_non_monotone", "S2 Fig. 7",
          "Accuracy is non-monotone in the temperature tau: too concentrated or too "
          "dispersed semantic weights degrade it",
          InteriorMaximum("sd_jscc", "accuracy", over="tau", where={"split": "test"})),
    Claim("gsw_informative", "S2 Sec. III-A",
          "The semantic weights represent the importance of the feature maps: maps with "
          "a larger GSW importance cost more accuracy when removed",
          RankCorrelation("w", "accuracy_drop", sign=1, table="gsw_maps")),
)


# -- steps -----------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Data:
    """Scenes ``[N, H, W, 3]`` float32 in [0, 1] with labels ``[N]`` int per split."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_data(config: Config, seed: int) -> Data:
    """Training, validation (training split, after the training scenes) and test scenes."""
    kwargs = dict(size=config.image_size, seed=seed, num_classes=config.classifier.num_classes,
                  max_objects=config.max_objects, object_scale=config.object_scale)
    x, _, y = data.scenes(config.n_train + config.n_val, split="train", **kwargs)
    x_test, _, y_test = data.scenes(config.n_test, split="test", **kwargs)
    n = config.n_train
    return Data(x[:n], y[:n], x[n:], y[n:], x_test, y_test)


def train_point(config: Config, point: TrainPoint, scenes: Data, classifier, losses,
                store: WeightStore, seed: int, record: RunRecord) -> tuple[dict, dict, int]:
    """The JSCC codecs of one rate point: ``(codecs, history, num_channel_uses)``."""
    bits = config.latent_bits(point.bpp)
    ncu = num_channel_uses_for(bits, NUM_BITS_PER_SYMBOL, CODERATE)
    pb_max = 0.0
    if config.jscc.channel == "bsc":
        pb_max = round(coded_ber(ncu, NUM_BITS_PER_SYMBOL, CODERATE, point.snr_train_db,
                                 "awgn", seed=seed), 4)
    with record.stage("train"):
        codecs, history = train_sdjscc_schemes(
            store, scenes.x_train, classifier, losses, config.jscc,
            latent_channels=bits // (config.image_size // 4) ** 2, pb_max=pb_max,
            seed=seed, no=float(snrdb2no(point.snr_train_db)))
    return codecs, history, ncu


class Evaluator:
    """``prepare`` / ``evaluate`` over every rate point: one :class:`ImageSweep` per point
    (keyed ``(bpp, snr_train_db)``), accuracy and F1 of the frozen classifier, the MCS."""

    def __init__(self, scenes: Data, classifier, num_classes: int, seed: int,
                 example_key=None, example_snr_db=(), example_count: int = 2):
        self.images, self.labels = scenes.x_test, scenes.y_test
        self.classifier, self.num_classes, self.seed = classifier, num_classes, seed
        self.sweeps: dict = {}
        self.example_key = example_key  # (bpp, snr_train_db) of the example images
        self.example_snr = set(example_snr_db)
        self.example_count = example_count
        self.examples: dict = {}
        self._last: dict = {}

    def add_point(self, key, links: Mapping):
        def accuracy(images, x_hat):
            pred = gsw_study.predict_labels(self.classifier, np.clip(x_hat, 0, 1))
            self._last["pred"] = pred
            return (pred == self.labels).astype(np.float64)

        def keep(point, x_hat, info):
            self._last["info"] = info
            if key == self.example_key and point["snr_db"] in self.example_snr:
                self.examples[(point["scheme"], point["snr_db"])] = x_hat[:self.example_count]

        self.sweeps[key] = ImageSweep(links, self.images, task_metrics={"accuracy": accuracy},
                                      on_result=keep)

    def layers(self) -> list:
        return [l for s in self.sweeps.values() for l in s.seeded_layers()]

    def _sweep(self, point):
        return self.sweeps[(point["bpp"], point["snr_train_db"])]

    def prepare(self, group):
        return self._sweep(group).prepare(group)

    def evaluate(self, point, state):
        out = self._sweep(point).evaluate(point, state)
        info, pred = self._last["info"], self._last["pred"]
        # per-image F1 counts: the runner's F1 is their ratio of sums, with a bootstrap CI
        out["f1_numerator"], out["f1_denominator"] = f1_counts(pred, self.labels,
                                                               self.num_classes)
        out["n_images"] = int(len(self.labels))
        if "bit_errors" in info:  # JSCC: the latent behind the transport block
            out["ber"] = float(np.mean(info["bit_errors"]) / info["num_bits"])
            out["coderate"], out["num_bits_per_symbol"] = CODERATE, NUM_BITS_PER_SYMBOL
        elif info.get("coderate") is not None:
            out["coderate"] = float(info["coderate"])
            out["num_bits_per_symbol"] = int(info["num_bits_per_symbol"])
        return out


def evaluate_schemes(config: Config, args, scenes: Data, classifier, rates: Mapping,
                     record: RunRecord) -> tuple[list[dict], Evaluator]:
    """The sweep over rate points, schemes, channels and SNRs (``metrics.csv``)."""
    # examples from the rate point with the codecs (or the first), over its SNRs
    shown = next((p for p in config.points if p.codecs), config.points[0])
    evaluator = Evaluator(scenes, classifier, config.classifier.num_classes, args.seed,
                          (shown.bpp, shown.snr_train_db), config.example_snr_db)
    fallback = data.mean_image(scenes.x_train)
    n_values = int(np.prod(scenes.x_test.shape[1:]))
    points = []
    for point in config.points:
        codecs, ncu = rates[(point.bpp, point.snr_train_db)]
        cbr = ncu / n_values
        links = {}
        for ch in config.channels:
            for name, codec in codecs.items():
                links[(name, cbr, ch)] = SDJSCCLink(codec.layers[0], codec.layers[2], ncu,
                                                    NUM_BITS_PER_SYMBOL, CODERATE, ch,
                                                    seed=args.seed)
            for name in (config.codecs if point.codecs else ()):
                oracle = DigitalOracle(CODEC_SCHEMES[name], ncu, mcs=config.mcs, channel=ch,
                                       fallback=fallback, select="validation", seed=args.seed)
                with record.stage("mcs_selection"):
                    chosen = oracle.select_mcs(scenes.x_val[:64], point.snr_db)
                logger.info("[%s] %s at %g bpp, %s: MCS per SNR %s", NAME, name, point.bpp,
                            ch, chosen)
                links[(name, cbr, ch)] = oracle
        evaluator.add_point((point.bpp, point.snr_train_db), links)
        schemes = list(codecs) + list(config.codecs if point.codecs else ())
        points += grid(scheme=schemes, channel=list(config.channels), bpp=[point.bpp],
                       snr_train_db=[point.snr_train_db], cbr=[cbr],
                       snr_db=list(point.snr_db))
    runner = SweepRunner(args.out, COLUMNS, key_columns=KEY_COLUMNS, resume=args.resume,
                         shard=args.shard, seed=args.seed, record=record, desc=NAME,
                         devices=args.devices, argv=args.argv, script=SCRIPT,
                         ratio_metrics=RATIO_METRICS)
    rows = runner.run(points, evaluator.evaluate, prepare=evaluator.prepare,
                      group_by=("scheme", "channel", "bpp", "snr_train_db", "cbr"),
                      reseed=evaluator.layers())
    return rows, evaluator


def choose_tau(config: Config, scenes: Data, classifier, importance, store, seed, record
               ) -> tuple[float, dict, dict]:
    """Fine-tune SD-JSCC at every ``tau`` of the tau point; the best on validation wins.

    Output
    ------
    tau : float -- the chosen temperature.
    curve : ``{split: {tau: [N] correct}}`` on validation and test images.
    codecs : ``{tau: codec}`` (the chosen one is reused in the sweep).
    """
    point = config.points[config.tau_point]
    stage = config.gsw.layers[-1]
    spread = float(np.std(importance[stage])) + 1e-30
    codecs = {}
    for s in config.gsw.tau_spread:
        tau = float(f"{s / spread:.4g}")
        w = semantic_weights(importance, tau, config.gsw.r)
        trained, _, _ = train_point(config, point, scenes, classifier, {"sd_jscc": w}, store,
                                    seed, record)
        codecs[tau] = trained["sd_jscc"]
    curve = gsw_study.tau_curve(codecs, classifier, {"validation": (scenes.x_val,
                                                                    scenes.y_val),
                                                     "test": (scenes.x_test, scenes.y_test)})
    val = curve["validation"]
    tau = max(val, key=lambda t: (float(np.mean(val[t])), -t))
    return tau, curve, codecs


def _tau_rows(curve, point: TrainPoint) -> tuple[list[dict], PerImage]:
    rows, samples = [], PerImage()
    for split, by_tau in curve.items():
        for tau, correct in by_tau.items():
            mean, half = mean_ci95(correct)
            rows.append({"split": split, "tau": tau, "accuracy": mean,
                         "accuracy_ci95": half, "n_images": len(correct)})
            samples.add({"scheme": "sd_jscc", "split": split, "tau": tau, "bpp": point.bpp,
                         "snr_train_db": point.snr_train_db}, {"accuracy": correct})
    return rows, samples


def _write_table(path: Path, columns, rows) -> None:
    def fmt(v):
        return f"{v:.6g}" if isinstance(v, float) else str(v)
    write_csv(path, columns, [{c: fmt(r[c]) for c in columns} for r in rows])


def _merge(a: PerImage, b: PerImage) -> PerImage:
    for point, values in b.select():
        a.add(point, values, replace=True)
    return a


def plot_figures(config: Config, out: Path, rows, clean_accuracy: float) -> None:
    """Metrics vs SNR at the low training SNR, accuracy vs bpp at 20 dB (Fig. 6)."""
    title = f"Classification accuracy vs SNR (clean test images: {clean_accuracy:.3f})"
    curves = {(p.bpp, p.snr_train_db) for p in config.points if len(p.snr_db) > 1}

    def over_snr(r):
        return (r["bpp"], r["snr_train_db"]) in curves

    panels = ("channel", "bpp", "snr_train_db")
    for metric in ("accuracy", "psnr", "ms_ssim"):
        plot.metric_vs_snr(rows, metric, out / f"{metric}_vs_snr.png", panels=panels,
                           title=title if metric == "accuracy" else None, where=over_snr)
    plot.failure_rate_vs_snr(rows, out / "fail_rate_vs_snr.png", panels=panels,
                             where=over_snr)
    for metric in ("accuracy", "psnr"):
        plot.metric_vs(rows, metric, "bpp", out / f"{metric}_vs_bpp.png",
                       panels=("channel",), xlabel="rate (latent bits per pixel)",
                       title=f"{metric} vs rate, SNR_train = SNR_test = 20 dB (Fig. 6)",
                       where=lambda r: r["snr_db"] == 20.0 and r["snr_train_db"] == 20.0
                       and r["scheme"] in JSCC_SCHEMES)


def run(config: Config, args: argparse.Namespace) -> None:
    """The S2 study: data, classifier, GSW, tau on validation, JSCC per rate, sweep, claims."""
    out = Path(args.out)
    with RunRecord(out, NAME, args, config) as record:
        with record.stage("data"):
            scenes = load_data(config, args.seed)
        store = WeightStore(out / "ckpt", retrain=args.retrain)
        with record.stage("classifier"):
            classifier, clf_hist = pretrain_classifier(
                store, scenes.x_train, scenes.y_train, config.classifier, args.seed)
            clean = gsw_study.predict_labels(classifier, scenes.x_test) == scenes.y_test
        stage = config.gsw.layers[-1] % config.classifier.depth
        with record.stage("gsw"):
            importance = gradient_importance(classifier, scenes.x_train[:config.gsw.num_images],
                                             layers=list(config.gsw.layers),
                                             reduce=config.gsw.reduce)
        tau, curve, tau_codecs = choose_tau(config, scenes, classifier, importance, store,
                                            args.seed, record)
        w_sd = semantic_weights(importance, tau, config.gsw.r)
        with record.stage("gsw_analysis"):
            map_rows, map_summary = gsw_study.map_table(classifier, scenes.x_val, scenes.y_val,
                                                        stage, w_sd[stage], config.gsw.reduce)
            _write_table(out / "gsw_maps.csv", gsw_study.MAP_COLUMNS, map_rows)
            gsw_study.plot_map_table(map_rows, map_summary, out / "gsw_informative.png")
        tau_rows, tau_samples = _tau_rows(curve, config.points[config.tau_point])
        _write_table(out / "tau_curve.csv", ("split", "tau", "accuracy", "accuracy_ci95",
                                             "n_images"), tau_rows)
        losses = {"deep_jscc": None, "sd_jscc_wo_gsw": uniform_weights(w_sd),
                  "sd_jscc": w_sd}
        rates, histories = {}, {}
        for point in config.points:
            codecs, hist, ncu = train_point(config, point, scenes, classifier, losses, store,
                                            args.seed, record)
            rates[(point.bpp, point.snr_train_db)] = (codecs, ncu)
            histories[f"{point.bpp:g}bpp@{point.snr_train_db:g}dB"] = hist
        with record.stage("sweep"):
            rows, evaluator = evaluate_schemes(config, args, scenes, classifier, rates, record)
        with record.stage("claims"):
            samples = _merge(PerImage.load(out / "per_image.npz"), tau_samples)
            write_claims(out, CLAIMS, rows={"metrics": rows, "gsw_maps": map_rows,
                                            "tau_curve": tau_rows},
                         samples=samples, title="S2 SD-JSCC: claims")
        with record.stage("plots"):
            plot_figures(config, out, rows, float(np.mean(clean)))
            gsw_study.plot_tau_curve(curve, tau, out / "tau_curve.png")
            gsw_study.plot_semantic_weights(w_sd[stage], classifier, scenes.x_test[:4], stage,
                                            out / "semantic_weights.png")
            gsw_study.plot_examples(scenes.x_test, evaluator.examples, out / "examples.png")
        record.set("clean_accuracy", float(np.mean(clean)))
        record.set("clean_accuracy_ci95", mean_ci95(clean.astype(np.float64))[1])
        record.set("tau", tau)
        record.set("gsw_summary", map_summary)
        record.set("num_channel_uses", {f"{b:g}bpp@{s:g}dB": ncu
                                        for (b, s), (_, ncu) in rates.items()})
        record.set("gsw_importance", importance[stage].tolist())
        record.set("semantic_weights", w_sd[stage].tolist())
        record.set("train_history", {"classifier": clf_hist, **histories})
