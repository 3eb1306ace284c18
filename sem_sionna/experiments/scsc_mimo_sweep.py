"""Sweep of the SCSC study: the grid of (scheme, channel, CSI, CBR, SNR) points and their metrics.

Every chain scheme (:data:`CHAIN_SCHEMES`) runs the real digital chain at a fixed codec
quality ``Q`` (one link per ``Q``, channel, PCEN and codec, shared by the
pre-processors) and encodes the test images once per group of points; ProxyNet sends
its latent as QPSK over the same MIMO channel with PCEN; the MIMO JSCC baselines send
``num_latent`` latent channels. The digital baseline, and SCSC on the CBR curves, choose their
(Q, code rate) pair per point on the validation images (:meth:`SchemeEvaluator.selects`).
Every point draws its channels and noise from a seed derived from
``--seed``, the channel, the CSI and the SNR, so all schemes see the same channels.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import tensorflow as tf

from sem_sionna import metrics, sweep, utils
from sem_sionna.experiments.scsc_mimo_config import Config
from sem_sionna.links.mimo_jscc import MIMOJSCC, mimo_jscc_cbr
from sem_sionna.links.proxynet import ProxyNetMIMO
from sem_sionna.experiments.scsc_mimo_pairs import pair_candidates, select_pair
from sem_sionna.links.scsc import SCSC, FixedQualityLink
from sem_sionna.nets.pcen import PCEN
from sem_sionna.nets.ppen import PPEN
from sem_sionna.nets.proxy import ProxyNetwork
from sem_sionna.nets.segnet import SegNet
from sem_sionna.phy.mimo import MIMOChannel

__all__ = ["METRICS", "COLUMNS", "iou_counts", "KEY_COLUMNS", "CHAIN_SCHEMES", "JSCC_SCHEMES", "MAIN_SCHEMES",
           "ABLATION_SCHEMES", "SceneData", "Models", "mimo_channel_config", "sweep_points",
           "SchemeEvaluator", "run_sweep"]

#: Metrics with one value per test image (CSV: mean and ``<m>_ci95``; ``per_image.npz``).
METRICS = ("miou", "psnr", "ms_ssim", "decoded")
#: Columns of ``metrics.csv``.
COLUMNS = sweep.with_ci95(["scheme", "channel", "csi", "snr_db", "cbr", "q", "num_latent",
                           "q_sel", "coderate", "miou", "psnr", "ms_ssim", "decoded",
                           "payload_bytes", "n_images"],
                          METRICS)
#: Columns that identify a sweep point.
KEY_COLUMNS = ("scheme", "channel", "csi", "cbr", "snr_db")
#: Schemes of the experiment that run the digital chain: (pre-processor, PCEN, codec).
CHAIN_SCHEMES = {
    "digital": (None, False, "bpg"),
    "scsc": ("ppen", True, "bpg"),
    "scsc_wo_ppen": (None, True, "bpg"),
    "scsc_wo_pcen": ("ppen", False, "bpg"),
    "scsc_wo_qa": ("ppen_noqa", True, "bpg"),
    "jpeg": (None, False, "jpeg"),
    "scsc_jpeg": ("ppen", True, "jpeg"),
    "jpeg2000": (None, False, "jpeg2000"),
    "scsc_jpeg2000": ("ppen", True, "jpeg2000"),
}
JSCC_SCHEMES = ("deepjscc_mimo", "adjscc")
MAIN_SCHEMES = ("digital", "scsc", "proxynet", "deepjscc_mimo", "adjscc")
ABLATION_SCHEMES = ("digital", "scsc_wo_ppen", "scsc_wo_pcen", "scsc_wo_qa", "scsc")
#: Images per inference call.
_BATCH = 32


@dataclasses.dataclass
class SceneData:
    """Images, masks and the chain's block sizes.

    ``x_*`` [N, H, W, 3] float32 in [0, 1], ``m_*`` [N, H, W] int class ids; ``fallback``
    [H, W, 3] the training-set mean image (shown for a failed block); ``blocks[Q]`` has
    ``budget_bytes``, ``num_channel_uses`` (per stream) and ``cbr``; ``latent[Q]`` the
    JSCC latent count of about the same CBR.
    """

    x_train: np.ndarray
    m_train: np.ndarray
    x_test: np.ndarray
    m_test: np.ndarray
    fallback: np.ndarray
    num_classes: int
    blocks: dict[int, dict[str, Any]]
    latent: dict[int, int]
    x_val: np.ndarray | None = None
    m_val: np.ndarray | None = None

    @property
    def latent_choices(self) -> list[int]:
        """Latent counts the JSCC baselines are trained and evaluated with."""
        return sorted(set(self.latent.values()))


@dataclasses.dataclass
class Models:
    """The networks of the study (built)."""

    segnet: SegNet
    pcen: PCEN
    proxy: ProxyNetwork
    ppen: PPEN
    ppen_noqa: PPEN
    scsc: SCSC
    scsc_noqa: SCSC
    jscc: dict[str, MIMOJSCC]
    train_channel: dict
    proxynet: ProxyNetMIMO


def mimo_channel_config(model: str, csi: str, csi_error_var: float = 0.1) -> dict:
    """Config of the 2x2 :class:`~sem_sionna.phy.MIMOChannel` of a sweep point.

    ``csi="imperfect"``: ``h_hat = h + e``, ``e ~ CN(0, csi_error_var)`` (S3, Fig. 15);
    ``"perfect"``: ``h_hat = h``. ``model`` is ``"rayleigh"`` or ``"cdl-a"``.. ``"cdl-e"``.
    """
    if csi not in ("perfect", "imperfect"):
        raise ValueError(f"`csi` must be 'perfect' or 'imperfect', got {csi!r}")
    var = float(csi_error_var) if csi == "imperfect" else 0.0
    return MIMOChannel(2, 2, model, csi_error_var=var).get_config()


def sweep_points(config: Config, data: SceneData) -> list[dict]:
    """The grid: SNR curves (``q_main``), ablations over SNR (``q_ablation``), CBR curves,
    channels / CSI, other codecs (the first of equal points wins)."""
    cbr_of = {q: data.blocks[q]["cbr"] for q in config.chain.qualities}
    q_main, q_gen = config.chain.q_main, config.chain.q_gen
    c_main = data.latent[q_main]
    sw = config.sweep
    points: dict[tuple, dict] = {}

    def add(scheme, channel, csi, snrs, q=None, c=None):
        cbr = cbr_of[q] if c is None else mimo_jscc_cbr(c, 2)
        if scheme == "proxynet":
            # one QPSK symbol per complex latent of c_main channels (links.proxynet),
            # conditioned on (and fed PPEN's output at) q
            cbr = mimo_jscc_cbr(c_main, 2)
        for snr in snrs:
            point = {"scheme": scheme, "channel": channel, "csi": csi, "snr_db": float(snr),
                     "cbr": float(cbr), "q": q, "num_latent": c}
            key = tuple(utils.format_value(point[k]) for k in KEY_COLUMNS)
            points.setdefault(key, point)

    for scheme in ("digital", "scsc", "proxynet"):
        add(scheme, "rayleigh", "perfect", sw.snr_db, q=q_main)
    for scheme in ABLATION_SCHEMES:
        add(scheme, "rayleigh", "perfect", sw.snr_db, q=config.chain.q_ablation)
    for scheme in JSCC_SCHEMES:
        add(scheme, "rayleigh", "perfect", sw.snr_db, c=c_main)
    add("proxynet", "rayleigh", "perfect", sw.snr_cbr, q=q_main)
    for q in config.chain.qualities:
        for scheme in ("digital", "scsc"):
            add(scheme, "rayleigh", "perfect", sw.snr_cbr, q=q)
    for c in data.latent_choices:
        for scheme in JSCC_SCHEMES:
            add(scheme, "rayleigh", "perfect", sw.snr_cbr, c=c)
    for channel in sw.channels:
        for csi in ("perfect", "imperfect"):
            if (channel, csi) != ("rayleigh", "perfect"):
                for scheme in ("digital", "scsc"):
                    add(scheme, channel, csi, sw.snr_channels, q=q_main)
    for codec in sw.gen_codecs:
        for scheme in (codec, f"scsc_{codec}"):
            add(scheme, "rayleigh", "perfect", sw.snr_channels, q=q_gen)
    # an axis a scheme does not have (q of JSCC, num_latent of the chain) is left out:
    # its CSV cell stays empty and per_image.npz conditions hold only real values
    points = [{k: v for k, v in p.items() if v is not None} for p in points.values()]
    return [{**p, "key": sweep.point_key(p)} for p in points]


def iou_counts(pred: np.ndarray, mask: np.ndarray, num_classes: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """Per-image intersection and union pixel counts ``[n, num_classes]`` (the runner's
    ``miou`` is their ratio of sums over images, averaged over classes present)."""
    pred, mask = np.asarray(pred), np.asarray(mask)
    inter = np.empty((len(pred), num_classes))
    union = np.empty((len(pred), num_classes))
    for c in range(num_classes):
        p, m = pred == c, mask == c
        inter[:, c] = np.sum(p & m, axis=(1, 2))
        union[:, c] = np.sum(p | m, axis=(1, 2))
    return inter, union


def _chain_extra(info: dict, q: int, coderate: float) -> dict:
    """The chain's per-image ``decoded`` flags, mean payload and the (Q, rate) it used."""
    return {"decoded": np.asarray(info["decoded"], np.float64),
            "payload_bytes": float(np.mean(info["payload_bytes"])), "q_sel": q,
            "coderate": coderate}


class SchemeEvaluator:
    """Reconstructions and metrics of the test images at a sweep point.

    Parameters
    ----------
    config : Config.
    data : SceneData.
    models : Models -- trained.
    seed : int -- the run seed (``--seed``).
    """

    def __init__(self, config: Config, data: SceneData, models: Models, seed: int):
        self.config = config
        self.data = data
        self.models = models
        self.seed = int(seed)
        self._preprocessors = {"ppen": models.ppen, "ppen_noqa": models.ppen_noqa}
        self._pair_links: dict = {}
        self._encoded: dict = {}
        self._chosen: dict = {}
        self.selections: list[dict] = []

    def segment(self, images) -> np.ndarray:
        """SegNet's class map ``[N, H, W]`` of ``images``."""
        segnet = self.models.segnet
        return utils.map_batches(lambda x: tf.argmax(segnet(x, training=False), -1), images,
                                 batch_size=_BATCH)

    def miou(self, images) -> float:
        """mIoU of SegNet on ``images`` (the test images or their reconstructions)."""
        return float(metrics.miou(self.segment(images), self.data.m_test,
                                  self.data.num_classes))

    def prepare(self, point: dict) -> dict:
        """State shared by the points of a group: the link and the encoded test images."""
        scheme, x_te = point["scheme"], self.data.x_test
        if scheme == "digital" and self.selects(point):
            return {}  # every digital point sends through the link of its chosen pair
        if scheme in CHAIN_SCHEMES:
            pre, use_pcen, codec = CHAIN_SCHEMES[scheme]
            channel = mimo_channel_config(point["channel"], point["csi"],
                                          self.config.sweep.csi_error_var)
            link = self.models.scsc.link(point["q"], channel, use_pcen, codec)
            x = x_te if pre is None else utils.map_batches(
                lambda im: self._preprocessors[pre](im, float(point["q"])), x_te,
                batch_size=_BATCH)
            return {"link": link, "encoded": link.encode(x)}
        if scheme == "proxynet":
            ppen = self.models.ppen
            return {"x": utils.map_batches(lambda im: ppen(im, float(point["q"])), x_te,
                                           batch_size=_BATCH)}
        return {}

    def reconstruct(self, point: dict, state: dict) -> tuple[np.ndarray, dict]:
        """``(x_hat [N, H, W, 3], extra metrics)`` of the test images at ``point``; a
        point of :meth:`selects` goes through the link of its chosen pair."""
        scheme, snr = point["scheme"], float(point["snr_db"])
        crn = utils.derive_seed(self.seed, "channel", point["channel"], point["csi"],
                                utils.format_value(snr))
        extra = {}
        if self.selects(point):
            pair = self.select(point)
            x_hat, info = self._run_pair(point, pair, self.data.x_test, "channel")
            extra = _chain_extra(info, *pair)
        elif scheme in CHAIN_SCHEMES:
            link, encoded = state["link"], state["encoded"]
            utils.reseed(link, crn)
            bits_hat, crc_ok = link.transmit(encoded["bits"], snr)
            x_hat, info = link.decode(encoded, bits_hat, crc_ok)
            extra = _chain_extra(info, point["q"], self.config.chain.coderate)
        elif scheme == "proxynet":
            net = self.models.proxynet
            utils.reseed(net, crn)
            x_hat = utils.map_batches(lambda x: net(x, snr, float(point["q"])), state["x"],
                                      batch_size=_BATCH)
        else:
            net = self.models.jscc[scheme]
            utils.reseed(net, crn)
            x_hat = utils.map_batches(
                lambda x: net(x, snr, num_latent=int(point["num_latent"])), self.data.x_test,
                batch_size=_BATCH)
        return np.asarray(x_hat, np.float32), extra

    # -- (Q, code rate) pairs of the CBR curves ----------------------------------------
    def selects(self, point: dict) -> bool:
        """Whether ``point`` picks its (Q, code rate) pair on the validation images.

        The digital baseline (``digital``: BPG + LDPC + QPSK + SVD) picks its pair at
        every point, as a real link would choose its MCS; ``scsc`` picks it on the
        CBR curves (``snr_cbr``, Rayleigh, perfect CSI), where the paper reports the best
        pair per point. SCSC and its ablations keep ``Q``'s block at the chain rate on
        the SNR curves, so Fig. 6 and Fig. 16 compare SCSC at a fixed pair with the
        best-pair baseline and with ablations at the same pair. No choice without a
        validation split or with a single code rate.
        """
        if (point["scheme"] not in ("digital", "scsc") or self.data.x_val is None
                or len(self.config.chain.coderates) < 2):
            return False
        return point["scheme"] == "digital" or (
            float(point["snr_db"]) in self.config.sweep.snr_cbr
            and (point["channel"], point["csi"]) == ("rayleigh", "perfect"))

    def _pair_link(self, point: dict, pair: tuple[int, float]) -> FixedQualityLink:
        _, use_pcen, codec = CHAIN_SCHEMES[point["scheme"]]
        n = self.data.blocks[point["q"]]["num_channel_uses"]
        key = (use_pcen, n, pair, point["channel"], point["csi"])
        if key not in self._pair_links:
            chain = self.config.chain
            channel = MIMOChannel.from_config({**mimo_channel_config(
                point["channel"], point["csi"], self.config.sweep.csi_error_var),
                "seed": self.seed})
            self._pair_links[key] = FixedQualityLink(
                codec, pair[0], n, chain.num_bits_per_symbol, pair[1], channel,
                pcen=self.models.pcen if use_pcen else None, fallback=self.data.fallback,
                seed=self.seed)
        return self._pair_links[key]

    def _run_pair(self, point: dict, pair, images, tag: str):
        """Send ``images`` (``tag`` ``"validation"``: the validation split, ``"channel"``:
        the test images) through the link of ``pair``; each split is encoded once per
        pre-processor, codec, block and pair."""
        pre, _, codec = CHAIN_SCHEMES[point["scheme"]]
        link = self._pair_link(point, pair)
        key = (tag, pre, codec, self.data.blocks[point["q"]]["num_channel_uses"], pair)
        if key not in self._encoded:
            x = images if pre is None else utils.map_batches(
                lambda im: self._preprocessors[pre](im, float(pair[0])), images,
                batch_size=_BATCH)
            self._encoded[key] = link.encode(x)
        encoded = self._encoded[key]
        utils.reseed(link, utils.derive_seed(self.seed, tag, point["channel"], point["csi"],
                                             utils.format_value(float(point["snr_db"]))))
        bits_hat, crc_ok = link.transmit(encoded["bits"], float(point["snr_db"]))
        return link.decode(encoded, bits_hat, crc_ok)

    def select(self, point: dict) -> tuple[int, float]:
        """The pair of ``point`` with the highest validation mIoU (test images unused);
        chosen once per point and recorded in :attr:`selections`."""
        key = tuple(utils.format_value(point[k]) for k in ("scheme", "channel", "csi", "q",
                                                           "snr_db"))
        if key not in self._chosen:
            self._chosen[key] = self._select(point)
        return self._chosen[key]

    def _select(self, point: dict) -> tuple[int, float]:
        budgets = {q: b["budget_bytes"] for q, b in self.data.blocks.items()}
        chain = self.config.chain
        candidates = pair_candidates(self.data.blocks[point["q"]]["num_channel_uses"],
                                     budgets, chain.coderates, chain.num_bits_per_symbol)

        def score(pair, images):
            x_hat, _ = self._run_pair(point, pair, images, "validation")
            return metrics.miou(self.segment(x_hat), self.data.m_val, self.data.num_classes)

        best, scores = select_pair(score, candidates, self.data.x_val)
        self.selections.append({"scheme": point["scheme"], "channel": point["channel"],
                                "csi": point["csi"],
                                "cbr": self.data.blocks[point["q"]]["cbr"],
                                "snr_db": point["snr_db"], "q_sel": best[0],
                                "coderate": best[1],
                                "val_miou": {f"{q}@{r:.3g}": v for (q, r), v in scores.items()}})
        return best

    def evaluate(self, point: dict, state: dict) -> dict:
        """Image metrics, per-image IoU counts of SegNet on the reconstructions, and the
        chain's extras (the points of :meth:`selects` with their chosen pair)."""
        x_te = self.data.x_test
        x_hat, extra = self.reconstruct(point, state)
        x_hat = np.asarray(x_hat, np.float32)
        if not np.all(np.isfinite(x_hat)):
            raise utils.NumericalError(f"non-finite reconstruction of {point['scheme']}")
        inter, union = iou_counts(self.segment(x_hat), self.data.m_test, self.data.num_classes)
        return {"psnr": metrics.psnr(x_te, x_hat).numpy(),
                "ms_ssim": metrics.ms_ssim(x_te, x_hat).numpy(), **extra,
                "iou_intersection": inter, "iou_union": union, "n_images": len(x_te)}


def run_sweep(evaluator: SchemeEvaluator, args, record, script=None) -> list[dict]:
    """Evaluate every point of :func:`sweep_points` into ``args.out/metrics.csv``.

    ``args.devices`` runs the sweep as one shard per device (children of ``script``).
    """
    grid = sweep_points(evaluator.config, evaluator.data)
    with record.stage("sweep"):
        runner = sweep.SweepRunner(args.out, COLUMNS, key_columns=KEY_COLUMNS,
                                   resume=args.resume, shard=args.shard, seed=evaluator.seed,
                                   record=record, desc="scsc_mimo", devices=args.devices,
                                   argv=args.argv, script=script)
        return runner.run(grid, evaluator.evaluate, prepare=evaluator.prepare,
                          group_by=("scheme", "channel", "csi", "cbr", "q", "num_latent"))
