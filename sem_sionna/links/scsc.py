"""SCSC: standards-compatible semantic communication over MIMO (Han et al., S3).

A learned pre-processor (PPEN) and a learned precoder/combiner pair (PCEN) wrapped
around an unmodified digital chain; a proxy network supplies the gradient of the
chain, which has none; a frozen segmentation network is the task at the receiver::

    x_o --PPEN(Q)--> x --HEVC at QP Q--> bytes --CRC+LDPC+QPSK--> s --SVD precoder--> x_p
        --PEN--> z --H (2x2 block fading)--(+n)--> y --CEN--> x_p_hat --P^+--> s_hat
        --demap+BP+CRC--> bytes --HEVC decoder--> x_hat --SegNet--> logits
    backward: d x_hat / d x := d ProxyNetwork(x, SNR, Q) / d x       (Alg. 2, step 8)

* :class:`FixedQualityLink` is the standard chain at a fixed codec quality (a
  :class:`~sem_sionna.links.DigitalLink` whose encoder uses QP ``Q`` instead of the best
  quality within the budget), with SVD precoding (water-filling) or PCEN.
* :class:`PCENTransport` is the transport chain with PCEN between the SVD precoder
  and the channel (Alg. 1, Eqs. (9)-(17)).
* :class:`SCSC` holds PPEN, the proxy network, the segmentation network and PCEN;
  its ``call`` returns the real chain's output with the proxy's gradient.

Combiner (CEN). ``combiner="learned"`` (default) is CEN conditioned on the channel
estimate (:class:`~sem_sionna.nets.cen.ChannelCEN`, Remark 1): a regularised Eq. (12)
plus a learned fully connected residual, so that ``U2 h_hat`` is not ``sqrt(nt) P`` and
PEN's finite-alphabet search matters. ``"adaptive"`` is the zero-forcing combiner
``U2 = C sqrt(nt) P h_hat^+`` (then ``z = s / sqrt(nt)`` solves PEN's problem exactly,
whatever its parameters); ``"fixed"`` is one ``U2`` for every channel (Eq. (11)
literally), which cannot invert channels that change per block.
"""
from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from sem_sionna import codecs
from sem_sionna.links.digital import DigitalLink
from sem_sionna.links.framing import LENGTH_BYTES, frame_payloads
from sem_sionna.links.transport_chain import TransportChain
from sem_sionna.links.pcen_phy import check_combiner, pcen_precode, pcen_receive
from sem_sionna.nets.pcen import PCEN
from sem_sionna.nets.ppen import PPEN, SCSC_Q_VALUES
from sem_sionna.nets.proxy import ProxyNetwork, straight_through_chain
from sem_sionna.nets.segnet import SegNet
from sem_sionna.phy.mimo import MIMOChannel
from sem_sionna.utils.checks import (check_num_bits_per_symbol, check_positive_int,
                                     layer_or_config)

__all__ = ["encode_at_quality", "channel_uses_for_payload", "PCENTransport",
           "FixedQualityLink", "SCSC"]



# ----------------------------------------------------------------------------- helpers
def encode_at_quality(codec, image, quality: int, max_bytes: int) -> tuple[bytes, int | None]:
    """Encode at ``quality``; if the payload exceeds ``max_bytes``, at the next lower one that fits.

    The SCSC chain runs the codec at a fixed quality (BPG ``Q``); its transport block
    is sized for that quality, so an image whose payload would not fit (e.g. one that
    PPEN made more detailed) is coded at the first coarser quality that fits.

    Input
    -----
    codec : str or codecs.ImageCodec.
    image : [H, W, 3], float32 -- in [0, 1].
    quality : int -- one of ``codec.qualities``.
    max_bytes : int -- byte budget of the payload.

    Output
    ------
    (payload, quality) : (bytes, int) -- or ``(b"", None)`` when no coarser quality fits.
    """
    codec = codecs.get(codec) if isinstance(codec, str) else codec
    qualities = list(codec.qualities)
    if quality not in qualities:
        raise ValueError(f"`quality` must be one of {codec.name}'s qualities "
                         f"[{min(qualities)}, {max(qualities)}], got {quality!r}")
    if int(max_bytes) <= 0:
        return b"", None
    for index in range(qualities.index(quality), -1, -1):
        payload = codec.encode(image, qualities[index])
        if len(payload) <= max_bytes:
            return payload, qualities[index]
    return b"", None


def channel_uses_for_payload(payload_bytes: int, num_bits_per_symbol: int, coderate: float,
                             num_streams: int = 1) -> int:
    """Block length (channel uses per stream) whose transport block carries ``payload_bytes``.

    The block carries the payload plus the 2-byte length field of
    :mod:`~sem_sionna.links.framing`; sizes follow :class:`TransportChain` (TS 38.214
    quantisation, CRCs on top). The search starts from the ideal length
    ``(payload + length field + 24-bit CRC) / (coderate * m * ns)`` and grows until the
    block fits, so the result is at most a few channel uses above the smallest one.

    Parameters
    ----------
    payload_bytes : int -- codec payload to carry, positive.
    num_bits_per_symbol : int -- QAM order ``m``.
    coderate : float -- LDPC code rate.
    num_streams : int, default 1 -- MIMO streams ``ns``.

    Output
    ------
    num_channel_uses : int -- ``n`` with ``TransportChain(n * ns, m, coderate).payload_bits
        // 8 - 2 >= payload_bytes`` (an ``ns``-stream chain of ``n`` uses has those bits).
    """
    payload_bytes = check_positive_int(payload_bytes, "payload_bytes")
    m = check_num_bits_per_symbol(num_bits_per_symbol)
    ns = check_positive_int(num_streams, "num_streams")
    need = (payload_bytes + LENGTH_BYTES) * 8
    per_use = coderate * m * ns
    # estimate with a 24-bit CRC, then grow until the 38.214 block fits; an AWGN chain
    # of n * ns channel uses has the coded bits (hence the block) of n uses on ns streams
    n = max(1, math.ceil((need + 24) / per_use))
    for _ in range(32):
        try:
            have = TransportChain(n * ns, m, coderate, "awgn").payload_bits
        except ValueError:
            # some ranges of block lengths have no consistent 38.214 size after the CRC
            # correction of TransportChain (e.g. 8208-8380 coded bits at rate 1/2):
            # step over them
            n += max(1, n // 256)
            continue
        if have // 8 - LENGTH_BYTES >= payload_bytes:
            return n
        n += max(1, math.ceil((need - have + 8) / per_use))
    raise RuntimeError(f"no transport block found for {payload_bytes} bytes")


def _map(func, items, workers=None):
    workers = workers or max(1, min(len(items), os.cpu_count() or 1))
    if workers == 1 or len(items) <= 1:
        return [func(i) for i in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(func, items))


# ------------------------------------------------------------------------- transport
@keras.saving.register_keras_serializable(package="sem_sionna")
class PCENTransport(TransportChain):
    """:class:`TransportChain` over MIMO with PCEN after the SVD precoder::

        bits -> TBEncoder -> QAMMapper -> streams s -> SVDPrecoder -> x_p -> PEN -> z
             -> MIMOChannel -> y -> CEN (U2) -> x_p_hat -> P^+ -> s_hat, no_eff
             -> QAMDemapper -> TBDecoder -> bits_hat, crc_ok

    Block sizes are those of :class:`TransportChain` with the same arguments. The
    demapper's noise variance per stream is that of :func:`~sem_sionna.links.pcen_phy.pcen_receive`.

    Parameters
    ----------
    num_channel_uses, num_bits_per_symbol, coderate, num_streams, power_allocation,
    num_iter, seed -- as :class:`TransportChain`.
    channel : phy.MIMOChannel (or its config dict) -- the MIMO channel.
    pcen : nets.PCEN (or its config dict) -- PEN + CEN; may be shared between chains.
    combiner : "learned" (default), "adaptive" or "fixed" -- CEN variant.

    Input
    -----
    bits : [batch, payload_bits], tf.float32 -- in {0, 1}.
    no : scalar or [batch], tf.float32 -- complex noise variance per receive antenna.

    Output
    ------
    bits_hat : [batch, payload_bits], tf.float32 -- decoded bits.
    crc_ok : [batch], tf.bool -- transport-block CRC passed.
    """

    def __init__(self, num_channel_uses, num_bits_per_symbol, coderate, channel, pcen,
                 combiner="learned", num_streams=None, power_allocation="waterfilling",
                 num_iter=20, seed=None, **kwargs):
        super().__init__(num_channel_uses, num_bits_per_symbol, coderate, channel, num_streams,
                         power_allocation, num_iter, seed=seed, **kwargs)
        if self._mimo is None:
            raise ValueError(f"`channel` must be a MIMOChannel for PCEN, got {channel!r}")
        if isinstance(pcen, dict):
            pcen = keras.saving.deserialize_keras_object(pcen)
        if not isinstance(pcen, PCEN):
            raise TypeError(f"`pcen` must be a nets.PCEN, got {type(pcen).__name__}")
        if (pcen.num_tx_ant, pcen.num_rx_ant) != (self._mimo.num_tx_ant, self._mimo.num_rx_ant):
            raise ValueError(f"`pcen` is for {pcen.num_tx_ant}x{pcen.num_rx_ant} antennas, the "
                             f"channel has {self._mimo.num_tx_ant}x{self._mimo.num_rx_ant}")
        self.combiner = check_combiner(combiner)
        if self.combiner == "adaptive" and pcen.num_tx_ant != pcen.num_rx_ant:
            raise ValueError("combiner='adaptive' needs num_tx_ant == num_rx_ant")
        if self.num_streams != pcen.num_tx_ant:
            raise ValueError(f"PCEN needs num_streams == num_tx_ant ({pcen.num_tx_ant}), "
                             f"got {self.num_streams}")
        self.pcen = pcen

    def build(self, bits_shape, no_shape=None):
        if not self.pcen.built:
            self.pcen.build()
        self.built = True

    def modulate(self, bits) -> tf.Tensor:
        """The streams ``s`` [batch, ns, S] of ``bits`` (CRC + LDPC + QAM, as sent)."""
        x = self._mapper(self._tb_encoder(bits))
        return tf.reshape(x, [-1, self.num_streams, self.num_channel_uses])

    def call(self, bits, no):
        no = tf.cast(no, tf.float32)
        s = self.modulate(bits)
        h, h_hat = self._mimo.generate(tf.shape(s)[0])
        x_p, p, u2, z = pcen_precode(self.pcen, self._precoder, s, h_hat, no, self.combiner)
        y = self._mimo.apply(z, no, h)
        s_hat, no_var = pcen_receive(y, x_p, p, u2, z, h_hat, no)
        llr = self._demapper(s_hat, no_var[..., tf.newaxis])
        llr = tf.reshape(llr, [-1, self.num_coded_bits])
        return self._tb_decoder(llr)

    def get_config(self):
        return {**super().get_config(), "pcen": keras.saving.serialize_keras_object(self.pcen),
                "combiner": self.combiner}


# ------------------------------------------------------------------------------ link
@keras.saving.register_keras_serializable(package="sem_sionna")
class FixedQualityLink(DigitalLink):
    """Digital chain at a fixed codec quality, with SVD precoding or PCEN (SCSC's chain)::

        image -> codec at quality Q (coarser only if the payload exceeds the block)
              -> framing -> TransportChain (SVD) | PCENTransport -> CRC ok and decodes ?
              decoded image : fallback image

    A :class:`~sem_sionna.links.DigitalLink` whose :meth:`encode` uses ``quality``
    (:func:`encode_at_quality`) instead of the best quality within the budget; with
    ``quality=None`` it is the budget mode of ``DigitalLink`` (used to run other codecs
    through a block sized for HEVC). The sweep API (``encode`` once, ``transmit`` +
    ``decode`` per SNR) and the failure handling are ``DigitalLink``'s.

    Parameters
    ----------
    codec : str or codecs.ImageCodec.
    quality : int or None -- fixed codec quality (HEVC: QP), or None for best-in-budget.
    num_channel_uses : int -- channel uses per stream (block length).
    num_bits_per_symbol, coderate -- QAM order and LDPC rate.
    channel : phy.MIMOChannel (or config dict).
    pcen : nets.PCEN or None -- None: SVD precoding and combining (:class:`TransportChain`).
    combiner : "learned", "adaptive" or "fixed" -- CEN variant, with ``pcen``.
    fallback, num_streams, power_allocation, num_iter, jit_compile, seed -- as
        ``DigitalLink`` (``jit_compile`` defaults to False: on CPU XLA compiles for
        ~10 s and runs no faster).

    Input
    -----
    images, snr_db : as :class:`~sem_sionna.links.DigitalLink`.

    Output
    ------
    x_hat : [batch, H, W, 3], tf.float32 -- reconstructions (the fallback image where a
        block failed).
    info : dict, only with ``return_info=True`` -- as :class:`~sem_sionna.links.DigitalLink`
        (``decoded``, ``payload_bytes``, ``crc_ok``, ``quality``, each ``[batch]``).
    """

    def __init__(self, codec, quality, num_channel_uses, num_bits_per_symbol, coderate, channel,
                 pcen=None, combiner="learned", fallback=None, num_streams=None,
                 power_allocation="waterfilling", num_iter=20, jit_compile=False, seed=None,
                 **kwargs):
        if isinstance(channel, dict):
            channel = keras.saving.deserialize_keras_object(channel)
        if not isinstance(channel, MIMOChannel):
            raise TypeError(f"`channel` must be a MIMOChannel, got {type(channel).__name__}")
        super().__init__(codec, num_channel_uses, num_bits_per_symbol, coderate, channel,
                         fallback=fallback, num_streams=num_streams,
                         power_allocation=power_allocation, num_iter=num_iter,
                         jit_compile=jit_compile, seed=seed, **kwargs)
        if quality is not None:
            if quality not in self.codec.qualities:
                raise ValueError(f"`quality` must be one of {self.codec.name}'s qualities, "
                                 f"got {quality!r}")
            quality = int(quality)
        self.quality = quality
        self.combiner = check_combiner(combiner)
        if isinstance(pcen, dict):
            pcen = keras.saving.deserialize_keras_object(pcen)
        self.pcen = pcen
        if pcen is not None:
            self.chain = PCENTransport(self.num_channel_uses, self.num_bits_per_symbol,
                                       self.coderate, channel, pcen, combiner, num_streams,
                                       power_allocation, num_iter, seed=seed)
            self._transmit = tf.function(self.chain, jit_compile=self.jit_compile)

    def encode(self, images) -> dict:
        if self.quality is None:
            return super().encode(images)
        images = np.asarray(images, np.float32)
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"`images` must have shape [batch, H, W, 3], got {images.shape}")
        encoded = _map(lambda i: encode_at_quality(self.codec, images[i], self.quality,
                                                   self.max_payload_bytes), range(len(images)))
        payloads = [p for p, _ in encoded]
        return {"bits": frame_payloads(payloads, self.chain.payload_bits),
                "payloads": payloads,
                "quality": np.array([-1 if q is None else q for _, q in encoded], np.int32),
                "shape": images.shape[1:]}

    def get_config(self):
        return {**super().get_config(), "quality": self.quality, "combiner": self.combiner,
                "pcen": None if self.pcen is None else
                keras.saving.serialize_keras_object(self.pcen)}


# ------------------------------------------------------------------------------ model
class _Cache:
    """Plain container: keeps the links out of Keras' layer tracking (and saving)."""

    def __init__(self):
        self.items = {}


@keras.saving.register_keras_serializable(package="sem_sionna")
class SCSC(keras.Model):
    """SCSC model (Han et al., Fig. 1(b), Alg. 2): PPEN -> real chain (proxy gradient) -> SegNet.

    ::

        images --PPEN(Q)--> x --+--> FixedQualityLink(Q) with PCEN (NumPy + TF) --> x_hat_chain
                                +--> ProxyNetwork(x, snr_db, Q) -------------------> x_hat_proxy
        x_hat = x_hat_chain + x_hat_proxy - stop_gradient(x_hat_proxy) --SegNet--> logits

    Parameters
    ----------
    ppen : nets.PPEN -- pre-processor (trained).
    proxy : nets.ProxyNetwork -- stands in for the chain's gradient (frozen in SCSC training).
    segnet : nets.SegNet -- downstream task network (frozen).
    pcen : nets.PCEN -- precoder/combiner enhancement (trained).
    num_channel_uses : sequence of int -- block length per stream for each entry of
        ``qualities`` (e.g. from :func:`channel_uses_for_payload`).
    qualities : sequence of int, default (28, 31, 34, 37, 41) -- codec qualities ``Q``.
    codec : str, default "hevc" -- BPG stand-in.
    num_bits_per_symbol : int, default 2 (QPSK).
    coderate : float, default 0.5 -- LDPC rate.
    channel : dict or phy.MIMOChannel or None -- channel of :meth:`link` by default
        (None: 2x2 Rayleigh, perfect CSI).
    fallback : [H, W, 3] or None -- receiver output after a failed decode.
    combiner : "learned", "adaptive" or "fixed" -- CEN variant.
    power_allocation : str, default "waterfilling" -- of the SVD precoder.
    num_iter : int, default 20 -- BP iterations.
    seed : int or None -- seed of the channels the links create.

    Input
    -----
    images : [batch, H, W, 3], tf.float32 -- in [0, 1]; H, W multiples of 4.
    snr_db : scalar or [batch], tf.float32 -- SNR in dB.
    q : scalar or [batch], tf.float32 -- codec quality, each one of ``qualities``.

    Output
    ------
    dict -- ``x`` (PPEN output), ``x_hat`` (chain output with the proxy gradient),
    ``x_hat_proxy``, ``logits`` ([batch, H, W, num_classes], SegNet on ``x_hat``), all
    tf.float32. Runs eagerly and in ``tf.function`` (the chain is a
    ``tf.numpy_function``), not under XLA.
    """

    def __init__(self, ppen, proxy, segnet, pcen, num_channel_uses: Sequence[int],
                 qualities: Sequence[int] = SCSC_Q_VALUES, codec: str = "hevc",
                 num_bits_per_symbol: int = 2, coderate: float = 0.5, channel=None,
                 fallback=None, combiner: str = "learned",
                 power_allocation: str = "waterfilling", num_iter: int = 20,
                 seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.ppen = layer_or_config(ppen, PPEN, "ppen")
        self.proxy = layer_or_config(proxy, ProxyNetwork, "proxy")
        self.segnet = layer_or_config(segnet, SegNet, "segnet")
        self.pcen = layer_or_config(pcen, PCEN, "pcen")
        self.qualities = tuple(int(q) for q in qualities)
        if not self.qualities or len(set(self.qualities)) != len(self.qualities):
            raise ValueError(f"`qualities` must be distinct integers, got {qualities!r}")
        self.num_channel_uses = tuple(check_positive_int(n, "num_channel_uses")
                                      for n in num_channel_uses)
        if len(self.num_channel_uses) != len(self.qualities):
            raise ValueError(f"`num_channel_uses` needs one entry per quality "
                             f"({len(self.qualities)}), got {num_channel_uses!r}")
        self.codec = str(codec)
        codecs.get(self.codec)
        self.num_bits_per_symbol = check_num_bits_per_symbol(num_bits_per_symbol)
        self.coderate = float(coderate)
        if isinstance(channel, MIMOChannel):
            channel = channel.get_config()
        self.channel = dict(channel) if channel is not None else \
            MIMOChannel(2, 2, "rayleigh").get_config()
        self.fallback = None if fallback is None else np.asarray(fallback, np.float32)
        self.combiner = check_combiner(combiner)
        self.power_allocation = power_allocation
        self.num_iter = check_positive_int(num_iter, "num_iter")
        self.seed = seed
        self._links = _Cache()
        self._last_info = _Cache()

    # -- chain -------------------------------------------------------------------------
    def num_channel_uses_for(self, quality: int) -> int:
        """Block length per stream of ``quality``."""
        if int(quality) not in self.qualities:
            raise ValueError(f"`quality` must be one of {self.qualities}, got {quality!r}")
        return self.num_channel_uses[self.qualities.index(int(quality))]

    def cbr(self, quality: int, image_shape: Sequence[int]) -> float:
        """CBR of ``quality``: channel uses (per stream, i.e. time slots) / source reals."""
        return self.num_channel_uses_for(quality) / float(np.prod(image_shape))

    def link(self, quality: int, channel=None, use_pcen: bool = True,
             codec: str | None = None) -> FixedQualityLink:
        """The chain for ``quality`` (cached): HEVC at QP ``quality`` (or ``codec`` within
        the same block, best quality in budget), SVD or PCEN, over ``channel``
        (a MIMOChannel config dict or instance; default the model's)."""
        n = self.num_channel_uses_for(quality)
        if isinstance(channel, MIMOChannel):
            channel = channel.get_config()
        channel = dict(self.channel if channel is None else channel)
        if self.seed is not None:
            channel["seed"] = self.seed
        codec = self.codec if codec is None else str(codec)
        key = (int(quality), tuple(sorted((k, str(v)) for k, v in channel.items()
                                          if k not in ("name", "trainable", "dtype"))),
               bool(use_pcen), codec)
        if key not in self._links.items:
            self._links.items[key] = FixedQualityLink(
                codec, int(quality) if codec == self.codec else None, n,
                self.num_bits_per_symbol, self.coderate,
                MIMOChannel.from_config(channel),
                pcen=self.pcen if use_pcen else None, combiner=self.combiner,
                fallback=self.fallback, power_allocation=self.power_allocation,
                num_iter=self.num_iter, seed=self.seed)
        return self._links.items[key]

    def share_links(self, other: "SCSC") -> None:
        """Use ``other``'s links (and their compiled transports) from now on.

        For models that differ only in their pre-processor (e.g. the "w/o QA"
        ablation): the chains must be configured identically and share PCEN.
        """
        mine = {k: v for k, v in self.get_config().items()
                if k not in ("ppen", "proxy", "segnet", "name", "trainable", "dtype")}
        theirs = {k: v for k, v in other.get_config().items()
                  if k not in ("ppen", "proxy", "segnet", "name", "trainable", "dtype")}
        if mine != theirs or other.pcen is not self.pcen:
            raise ValueError("`other` must have the same chain configuration and PCEN layer")
        self._links = other._links

    @property
    def links(self) -> list[FixedQualityLink]:
        """Links created so far (e.g. to reseed their channels)."""
        return list(self._links.items.values())

    @property
    def last_chain_info(self) -> dict:
        """Of the last chain run: ``decoded`` (rate), ``decoded_mask`` ([b] bool) and mean
        ``payload_bytes``."""
        return dict(self._last_info.items)

    def run_chain(self, x, snr_db, q) -> np.ndarray:
        """The real chain in NumPy: ``x`` [b, H, W, 3] at per-example ``snr_db`` and ``q``."""
        x = np.asarray(x, np.float32)
        b = len(x)
        snr_db = np.broadcast_to(np.asarray(snr_db, np.float32).reshape(-1), (b,))
        q = np.broadcast_to(np.asarray(q).reshape(-1), (b,)).round().astype(int)
        x_hat = np.empty_like(x)
        decoded = np.zeros(b, bool)
        nbytes = np.zeros(b)
        for quality in np.unique(q):
            idx = np.flatnonzero(q == quality)
            x_hat[idx], info = self.link(int(quality)).run(x[idx], snr_db[idx])
            decoded[idx] = info["decoded"]
            nbytes[idx] = info["payload_bytes"]
        self._last_info.items = {"decoded": float(decoded.mean()), "decoded_mask": decoded,
                                 "payload_bytes": float(nbytes.mean())}
        return x_hat

    # -- Keras API ---------------------------------------------------------------------
    def __call__(self, images, snr_db, q, **kwargs):
        if not keras.ops.is_tensor(snr_db):
            snr_db = tf.constant(np.asarray(snr_db, np.float32))
        if not keras.ops.is_tensor(q):
            q = tf.constant(np.asarray(q, np.float32))
        return super().__call__(images, snr_db, q, **kwargs)

    def build(self, images_shape, snr_db_shape=None, q_shape=None):
        images_shape = tuple(images_shape)
        # sublayers may be shared with another SCSC model (ablations) and built already
        for layer, args in ((self.ppen, (images_shape, (None,))), (self.proxy, (images_shape,)),
                            (self.segnet, (images_shape,)), (self.pcen, ())):
            if not layer.built:
                layer.build(*args)
        self.built = True

    def preprocess(self, images, q) -> tf.Tensor:
        """PPEN output ``x`` ([b, H, W, 3] in [0, 1])."""
        return self.ppen(images, q)

    def call(self, images, snr_db, q, training=False):
        batch = tf.shape(images)[0]
        snr_db = tf.broadcast_to(tf.reshape(tf.cast(snr_db, tf.float32), [-1]), [batch])
        q = tf.broadcast_to(tf.reshape(tf.cast(q, tf.float32), [-1]), [batch])
        x = self.ppen(images, q)
        x_hat_proxy = self.proxy(x, snr_db, q)
        x_hat = straight_through_chain(x, x_hat_proxy, self.run_chain, [snr_db, q])
        logits = self.segnet(x_hat, training=False)
        return {"x": x, "x_hat": x_hat, "x_hat_proxy": x_hat_proxy, "logits": logits}

    def compute_output_shape(self, images_shape, *args):
        return {"x": images_shape, "x_hat": images_shape, "x_hat_proxy": images_shape,
                "logits": (*images_shape[:3], self.segnet.num_classes)}

    def get_config(self):
        ser = keras.saving.serialize_keras_object
        return {**super().get_config(), "ppen": ser(self.ppen), "proxy": ser(self.proxy),
                "segnet": ser(self.segnet), "pcen": ser(self.pcen),
                "num_channel_uses": list(self.num_channel_uses),
                "qualities": list(self.qualities), "codec": self.codec,
                "num_bits_per_symbol": self.num_bits_per_symbol, "coderate": self.coderate,
                "channel": self.channel,
                "fallback": None if self.fallback is None else self.fallback.tolist(),
                "combiner": self.combiner, "power_allocation": self.power_allocation,
                "num_iter": self.num_iter, "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
