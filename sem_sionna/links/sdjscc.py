"""SD-JSCC over a 5G-coded digital link, and the S2 evaluation (Sun et al.).

Q. Sun et al., "Deep joint source-channel coding for wireless image transmission
with semantic importance". The binary JSCC latent is sent as the payload of one
5G transport block per image, as the codec baselines are::

    x -> SDJSCCEncoder -> BinaryQuantizer -> q [h, w, c] bits -> zero pad to the TB payload
      -> TransportChain (CRC + 5G LDPC + 16-QAM -> AWGN | Rayleigh -> demap -> BP)
      -> q_hat (first h w c decoded bits, used whatever the CRC says) -> SDJSCCDecoder -> x'

    x -> codec (JPEG | WebP | JPEG2000 | HEVC-intra as BPG) within the same payload
      -> the same TransportChain -> CRC ok and decodable ? codec image : fallback image

S2 uses the (1944, 1458) WiFi LDPC code. Here every image is one 5G transport
block (38.212 CRC + LDPC, rate 3/4, 16-QAM) of ``num_channel_uses * 4`` coded bits:
1388 coded bits for a 64x64 image at 0.25 bpp (1024 latent bits + CRC), the 5G
codeword closest to S2's length that keeps one codeword per image. Rayleigh is
block fading with one coefficient per image, known at the receiver.
The JSCC decoder uses the decoded bits even when the CRC fails (it was trained
over a bit-flipping channel), which is what gives JSCC its graceful degradation;
a codec cannot use a corrupted stream and shows the fallback image.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from pathlib import Path
from typing import Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf

from sem_sionna import metrics as sm
from sem_sionna.links.digital import DigitalLink
from sem_sionna.links.transport_chain import TransportChain
from sem_sionna.nets.sdjscc import BinaryQuantizer, semantic_map
from sem_sionna.utils.checks import check_num_bits_per_symbol, check_positive_int
from sem_sionna.phy.snr import snrdb2no
from sem_sionna.plot import image_grid
from sem_sionna.plot.figure import save_figure
from sem_sionna.sweep import SweepRunner, grid
from sem_sionna.utils.log import logger

__all__ = ["SDJSCCLink", "num_channel_uses_for", "coded_ber", "evaluate_sdjscc",
           "plot_semantic_weights", "plot_examples", "classifier_accuracy",
           "SDJSCC_COLUMNS", "CODEC_SCHEMES"]

SDJSCC_COLUMNS = ("scheme", "channel", "snr_db", "cbr", "bpp", "psnr", "ms_ssim",
                  "accuracy", "n_images", "fail_rate", "ber")
"""Columns of the S2 ``metrics.csv``: ``bpp`` is source bits per pixel (the JSCC latent
bits; the codecs get the same channel uses), ``fail_rate`` the fraction of images whose
transport-block CRC failed (codecs: not decoded), ``ber`` the payload bit error rate."""

CODEC_SCHEMES = {"jpeg+ldpc": "jpeg", "webp+ldpc": "webp", "jpeg2000+ldpc": "jpeg2000",
                 "bpg+ldpc": "hevc"}
"""Separate source-channel baselines: scheme name -> :func:`sem_sionna.codecs.get` name."""


def num_channel_uses_for(num_bits: int, num_bits_per_symbol: int, coderate: float) -> int:
    """Fewest channel uses whose :class:`TransportChain` payload holds ``num_bits`` bits."""
    num_bits = check_positive_int(num_bits, "num_bits")
    m = check_num_bits_per_symbol(num_bits_per_symbol)
    ncu = max(1, math.ceil(num_bits / (m * float(coderate))))
    for _ in range(64):
        try:
            if TransportChain(ncu, m, coderate).payload_bits >= num_bits:
                return ncu
        except ValueError:
            pass  # too short to carry any payload yet
        ncu += 1
    raise ValueError(f"no transport block carries `num_bits`={num_bits} bits at "
                     f"coderate={coderate}")


def coded_ber(num_channel_uses: int, num_bits_per_symbol: int, coderate: float,
              snr_db: float, channel: str = "awgn", num_blocks: int = 64,
              seed: int = 0) -> float:
    """Bit error rate after LDPC decoding of random payloads (hard decisions).

    Scenarios train the JSCC decoder over a BSC with this flip probability at the
    training SNR: it is what the decoder sees behind the digital link.
    """
    chain = TransportChain(num_channel_uses, num_bits_per_symbol, coderate, channel,
                           seed=seed)
    rng = np.random.default_rng(seed)
    bits = tf.constant(rng.integers(0, 2, (num_blocks, chain.payload_bits)), tf.float32)
    bits_hat, _ = chain(bits, tf.fill([num_blocks], snrdb2no(float(snr_db))))
    return float(tf.reduce_mean(tf.abs(bits_hat - bits)))


@keras.saving.register_keras_serializable(package="sem_sionna")
class SDJSCCLink(keras.layers.Layer):
    """Binary JSCC codec over one 5G transport block per image (diagram in the module doc).

    Parameters
    ----------
    encoder : SDJSCCEncoder -- image -> values in (0, 1) (quantised here at 0.5).
    decoder : SDJSCCDecoder -- bits -> image.
    num_channel_uses : int -- complex channel uses per image; the TB payload must hold
        the latent bits (:func:`num_channel_uses_for`).
    num_bits_per_symbol : int, default 4 -- QAM order (16-QAM).
    coderate : float, default 0.75 -- LDPC code rate.
    channel : "awgn" or "rayleigh" (SISO block fading, perfect CSI), default "awgn".
    num_iter : int, default 20 -- BP iterations.
    jit_compile : bool, default True -- compile the transport chain with XLA.
    seed : int or None.

    Input
    -----
    images : [batch, H, W, 3], tf.float32 -- in [0, 1].
    snr_db : scalar or [batch], tf.float32 -- SNR in dB.

    Output
    ------
    x_hat : [batch, H, W, 3], tf.float32 -- reconstructions. With ``return_info=True``
        also ``info``: ``crc_ok`` [batch] bool, ``bit_errors`` [batch] int32 (latent
        bits in error).
    """

    def __init__(self, encoder, decoder, num_channel_uses: int, num_bits_per_symbol: int = 4,
                 coderate: float = 0.75, channel: str = "awgn", num_iter: int = 20,
                 jit_compile: bool = True, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(encoder, dict):
            encoder = keras.saving.deserialize_keras_object(encoder)
        if isinstance(decoder, dict):
            decoder = keras.saving.deserialize_keras_object(decoder)
        for arg, value in (("encoder", encoder), ("decoder", decoder)):
            if not isinstance(value, keras.layers.Layer):
                raise TypeError(f"`{arg}` must be a Keras layer, got {type(value).__name__}")
        if not isinstance(channel, str):
            raise TypeError(f"`channel` must be 'awgn' or 'rayleigh', got {channel!r}")
        self.encoder = encoder
        self.decoder = decoder
        self.quantizer = BinaryQuantizer(name="quantizer")
        self.chain = TransportChain(num_channel_uses, num_bits_per_symbol, coderate, channel,
                                    num_iter=num_iter, seed=seed)
        self.num_channel_uses = self.chain.num_channel_uses
        self.num_bits_per_symbol = self.chain.num_bits_per_symbol
        self.coderate = self.chain.coderate
        self.channel = channel
        self.num_iter = self.chain.num_iter
        self.jit_compile = bool(jit_compile)
        self.seed = seed
        self._transmit = tf.function(self.chain, jit_compile=self.jit_compile)

    def _latent_shape(self, images_shape) -> tuple[int, ...]:
        shape = tuple(self.encoder.compute_output_shape((None, *images_shape[1:])))[1:]
        bits = int(np.prod(shape))
        if bits > self.chain.payload_bits:
            raise ValueError(f"the latent of {bits} bits for images {tuple(images_shape)} "
                             f"exceeds the transport-block payload of "
                             f"{self.chain.payload_bits} bits; raise `num_channel_uses` "
                             f"(num_channel_uses_for({bits}, ...))")
        return shape

    # -- sweep API ----------------------------------------------------------------
    def encode(self, images) -> dict:
        """Quantised latents: ``bits`` [b, payload_bits] (zero padded), ``shape``, ``num_bits``."""
        images = tf.convert_to_tensor(np.asarray(images, np.float32))
        shape = self._latent_shape(images.shape)
        q = self.quantizer(self.encoder(images))
        flat = tf.reshape(q, [tf.shape(q)[0], -1])
        pad = self.chain.payload_bits - flat.shape[-1]
        bits = tf.pad(flat, [[0, 0], [0, pad]])
        return {"bits": bits.numpy(), "shape": shape, "num_bits": int(flat.shape[-1])}

    def transmit(self, bits, snr_db):
        """Coded link: ``(bits_hat [b, payload_bits], crc_ok [b])`` as NumPy."""
        bits = tf.convert_to_tensor(bits, tf.float32)
        no = tf.broadcast_to(snrdb2no(tf.cast(snr_db, tf.float32)), tf.shape(bits)[:1])
        bits_hat, crc_ok = self._transmit(bits, no)
        return bits_hat.numpy(), crc_ok.numpy()

    def decode(self, encoded: dict, bits_hat) -> np.ndarray:
        """Decoder output ``[b, H, W, 3]`` from the decoded payload bits (NumPy)."""
        n = encoded["num_bits"]
        q_hat = np.asarray(bits_hat, np.float32)[:, :n].reshape((-1, *encoded["shape"]))
        return np.asarray(self.decoder(tf.constant(q_hat)), np.float32)

    def run(self, images, snr_db):
        """Encode, transmit and decode: ``(x_hat, info)`` as NumPy."""
        encoded = self.encode(images)
        bits_hat, crc_ok = self.transmit(encoded["bits"], snr_db)
        n = encoded["num_bits"]
        errors = np.sum(bits_hat[:, :n] != encoded["bits"][:, :n], axis=1).astype(np.int32)
        return self.decode(encoded, bits_hat), {"crc_ok": crc_ok, "bit_errors": errors}

    # -- Keras API ----------------------------------------------------------------
    def __call__(self, images, snr_db, **kwargs):
        if not keras.ops.is_tensor(snr_db):
            snr_db = tf.constant(snr_db, tf.float32)
        return super().__call__(images, snr_db, **kwargs)

    def build(self, images_shape, snr_db_shape=None):
        if not self.encoder.built:
            self.encoder.build(images_shape)
        latent = self.encoder.compute_output_shape(images_shape)
        if not self.decoder.built:
            self.decoder.build(latent)
        self._latent_shape(images_shape)
        self.built = True

    def call(self, images, snr_db, return_info: bool = False):
        shape = self._latent_shape(images.shape)
        q = self.quantizer(self.encoder(images))
        flat = tf.reshape(q, [tf.shape(q)[0], -1])
        bits = tf.pad(flat, [[0, 0], [0, self.chain.payload_bits - flat.shape[-1]]])
        no = tf.broadcast_to(snrdb2no(tf.cast(snr_db, tf.float32)), tf.shape(bits)[:1])
        bits_hat, crc_ok = self.chain(bits, no)
        q_hat = tf.reshape(bits_hat[:, :flat.shape[-1]], tf.concat([[-1], shape], 0))
        x_hat = self.decoder(q_hat)
        if not return_info:
            return x_hat
        errors = tf.reduce_sum(tf.cast(bits_hat[:, :flat.shape[-1]] != flat, tf.int32), -1)
        return x_hat, {"crc_ok": crc_ok, "bit_errors": errors}

    def compute_output_shape(self, images_shape, snr_db_shape=None):
        return images_shape

    def get_config(self):
        return {**super().get_config(),
                "encoder": keras.saving.serialize_keras_object(self.encoder),
                "decoder": keras.saving.serialize_keras_object(self.decoder),
                "num_channel_uses": self.num_channel_uses,
                "num_bits_per_symbol": self.num_bits_per_symbol, "coderate": self.coderate,
                "channel": self.channel, "num_iter": self.num_iter,
                "jit_compile": self.jit_compile, "seed": self.seed}


# -- S2 evaluation ------------------------------------------------------------------------

def _predict(classifier, images, batch_size: int = 128) -> np.ndarray:
    out = [np.argmax(np.asarray(classifier(tf.constant(images[i:i + batch_size]),
                                           training=False)), -1)
           for i in range(0, len(images), batch_size)]
    return np.concatenate(out).astype(np.int32)


def classifier_accuracy(classifier, images, labels, batch_size: int = 128) -> float:
    """Accuracy of ``classifier`` on ``images [N, H, W, 3]`` against ``labels [N]``."""
    pred = _predict(classifier, np.asarray(images, np.float32), batch_size)
    return float(np.mean(pred == np.asarray(labels)))


def evaluate_sdjscc(out_dir, images, labels, classifier,
                    jscc: Mapping[float, Mapping[str, keras.Model]],
                    codec_schemes: Sequence[str], channels: Sequence[str],
                    snr_db: Sequence[float], num_channel_uses: Mapping[float, int],
                    num_bits_per_symbol: int = 4, coderate: float = 0.75, fallback=None,
                    num_iter: int = 20, seed: int = 0, resume: bool = False, shard=None,
                    record=None, example_snr_db: Sequence[float] = (),
                    example_count: int = 2) -> tuple[list[dict], dict]:
    """Accuracy, PSNR and MS-SSIM of every scheme over rates, channels and SNRs.

    At each rate point (``bpp``: the JSCC latent bits per pixel) every scheme sends
    each test image as one transport block of ``num_channel_uses[bpp]`` 16-QAM symbols
    (rate-``coderate`` 5G LDPC): the JSCC codecs through :class:`SDJSCCLink`, the
    image codecs through :class:`DigitalLink` (best quality that fits the same
    payload). The sweep runs through :class:`SweepRunner` (``metrics.csv`` with
    :data:`SDJSCC_COLUMNS`; encode once per scheme and rate, one row per point,
    resume, NaN points recorded).

    Parameters
    ----------
    out_dir : path -- where ``metrics.csv`` goes.
    images : [N, H, W, 3] float32, labels : [N] int -- test set.
    classifier : SceneClassifier -- the frozen task network.
    jscc : dict ``{bpp: {scheme: codec}}`` -- :func:`sem_sionna.train.sdjscc.jscc_codec`
        models per rate point.
    codec_schemes : names from :data:`CODEC_SCHEMES`.
    channels : "awgn" and/or "rayleigh".
    snr_db : SNRs in dB.
    num_channel_uses : dict ``{bpp: int}`` -- channel uses per image at each rate point
        (the same for every scheme).
    fallback : [H, W, 3] or None -- codec receiver's image after a failure (the
        training-set mean image in the scenario).
    example_snr_db : SNRs whose first ``example_count`` reconstructions (first channel,
        first rate point) are kept for :func:`plot_examples`.

    Output
    ------
    rows : list of dict -- the CSV rows.
    examples : dict ``{(scheme, snr_db): [count, H, W, 3]}``.
    """
    images = np.asarray(images, np.float32)
    labels = np.asarray(labels, np.int32)
    unknown = [s for s in codec_schemes if s not in CODEC_SCHEMES]
    if unknown:
        raise ValueError(f"`codec_schemes` {unknown} unknown; valid: {sorted(CODEC_SCHEMES)}")
    if set(jscc) != set(num_channel_uses):
        raise ValueError(f"`jscc` and `num_channel_uses` must have the same rate points, "
                         f"got {sorted(jscc)} and {sorted(num_channel_uses)}")
    channels = list(channels)
    rates = list(jscc)
    n_values = images.shape[1] * images.shape[2] * images.shape[3]
    jscc_links, codec_links, chains, compiled = {}, {}, {}, {}
    for bpp in rates:
        ncu = num_channel_uses[bpp]
        for ch in channels:
            for name, codec in jscc[bpp].items():
                jscc_links[(name, ch, bpp)] = SDJSCCLink(
                    codec.layers[0], codec.layers[2], ncu, num_bits_per_symbol, coderate, ch,
                    num_iter, seed=seed)
            for name in codec_schemes:
                codec_links[(name, ch, bpp)] = DigitalLink(
                    CODEC_SCHEMES[name], ncu, num_bits_per_symbol, coderate, ch,
                    fallback=fallback, num_iter=num_iter, seed=seed)
            # one compiled transport chain per channel and rate serves every scheme
            chains[(ch, bpp)] = TransportChain(ncu, num_bits_per_symbol, coderate, ch,
                                               num_iter=num_iter, seed=seed)
            compiled[(ch, bpp)] = tf.function(chains[(ch, bpp)], jit_compile=True)

    def transmit(key, bits, snr):
        bits = tf.convert_to_tensor(bits, tf.float32)
        no = tf.fill(tf.shape(bits)[:1], snrdb2no(float(snr)))
        bits_hat, crc_ok = compiled[key](bits, no)
        return bits_hat.numpy(), crc_ok.numpy()

    codec_cache: dict = {}
    examples: dict = OrderedDict()
    example_snr = {float(s) for s in example_snr_db}

    def prepare(group):
        key = (group["scheme"], group["channel"], group["bpp"])
        if key in jscc_links:
            return ("jscc", jscc_links[key].encode(images))
        cache_key = (group["scheme"], group["bpp"])  # channel independent: encode once
        if cache_key not in codec_cache:
            codec_cache[cache_key] = codec_links[key].encode(images)
        return ("codec", codec_cache[cache_key])

    def evaluate(point, state):
        kind, encoded = state
        name, ch, bpp, snr = point["scheme"], point["channel"], point["bpp"], point["snr_db"]
        bits_hat, crc_ok = transmit((ch, bpp), encoded["bits"], snr)
        if kind == "jscc":
            x_hat = jscc_links[(name, ch, bpp)].decode(encoded, bits_hat)
            n = encoded["num_bits"]
            ber = float(np.mean(bits_hat[:, :n] != encoded["bits"][:, :n]))
            fail = 1.0 - float(np.mean(crc_ok))
        else:
            x_hat, info = codec_links[(name, ch, bpp)].decode(encoded, bits_hat, crc_ok)
            ber = float(np.mean(bits_hat != encoded["bits"]))
            fail = 1.0 - float(np.mean(info["decoded"]))
        x_hat = np.clip(x_hat, 0.0, 1.0)
        pred = _predict(classifier, x_hat)
        if ch == channels[0] and bpp == rates[0] and float(snr) in example_snr:
            examples[(name, float(snr))] = x_hat[:example_count]
        return {**sm.image_metrics(images, x_hat), "accuracy": float(np.mean(pred == labels)),
                "n_images": int(len(images)), "fail_rate": fail, "ber": ber}

    points = []
    for bpp in rates:
        points += grid(scheme=list(jscc[bpp]) + list(codec_schemes), channel=channels,
                       bpp=[float(bpp)], cbr=[num_channel_uses[bpp] / n_values],
                       snr_db=[float(s) for s in snr_db])
    runner = SweepRunner(out_dir, SDJSCC_COLUMNS, resume=resume, shard=shard, seed=seed,
                         record=record, desc="semantic_jscc")
    rows = runner.run(points, evaluate, prepare=prepare,
                      group_by=("scheme", "channel", "bpp", "cbr"),
                      reseed=list(chains.values()))
    logger.info("[semantic_jscc] %d rows; channel uses per image: %s", len(rows),
                dict(num_channel_uses))
    return rows, examples


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
    return image_grid(rows, labels, [f"{snr:g} dB" for snr in snrs], path,
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
