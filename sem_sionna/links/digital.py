"""Separate source-channel coding: a real image codec over a 5G-coded digital link."""
from __future__ import annotations

from collections import OrderedDict

import keras
import numpy as np
import tensorflow as tf

from sem_sionna import codecs
from sem_sionna.links.base import CodecChain, channel_config
from sem_sionna.links.framing import LENGTH_BYTES, deframe_payloads, frame_payloads
from sem_sionna.links.transport_chain import TransportChain
from sem_sionna.phy.snr import snrdb2no

__all__ = ["DigitalLink"]


@keras.saving.register_keras_serializable(package="sem_sionna")
class DigitalLink(CodecChain):
    """Image codec + 5G transport block + QAM over AWGN, Rayleigh or SVD-MIMO.

    The separate source-channel baseline of S1-S3::

        image -> codec at the best quality whose payload fits the budget -> framing
              -> TransportChain (CRC + LDPC + QAM -> channel -> demap -> BP -> CRC)
              -> CRC ok and codec decodes ? decoded image : fallback image

    Budget: ``payload_bits`` of one 38.214 transport block in
    ``num_channel_uses * num_streams * num_bits_per_symbol`` coded bits at
    ``coderate`` (about ``floor(N m R / 8)`` bytes), minus the TB CRC (inside the
    38.214 size) and a 2-byte length field; every codec byte (headers included)
    counts. When no codec quality fits, nothing is sent and the receiver shows the
    fallback. When the CRC fails or the codec cannot decode, the receiver shows
    the fallback: ``fallback`` if given (scenarios pass the training-set mean
    image, as S1 does), else a mid-grey image (0.5). Failures are counted in
    ``info["decoded"]``; they never raise.

    The codec runs in NumPy on a thread pool (inside graphs through
    ``tf.numpy_function``); the transport chain runs as one compiled graph
    (XLA where ``jit_compile=True``) for the whole batch. For sweeps,
    :meth:`encode` once and :meth:`transmit` + :meth:`decode` per SNR.

    Parameters
    ----------
    codec : str or codecs.ImageCodec -- ``"jpeg"``, ``"jpeg2000"``, ``"webp"``, ``"hevc"``.
    num_channel_uses : int -- complex channel uses per image (per stream).
    num_bits_per_symbol : int -- QAM order (2 = QPSK, 4 = 16-QAM).
    coderate : float -- LDPC code rate.
    channel : "awgn", "rayleigh" or phy.MIMOChannel -- as :class:`TransportChain`.
    fallback : [H, W, 3] array or None -- reconstruction after a failure.
    num_streams : int or None -- MIMO streams (default ``min(nt, nr)``).
    power_allocation : str, default "waterfilling".
    num_iter : int, default 20 -- BP iterations.
    jit_compile : bool or None -- compile the transport chain with XLA; None (default):
        when TensorFlow sees a GPU. On a CPU, XLA compiles for ~5 s per chain for a
        ~3x faster call, which a sweep of a few SNR points does not repay.
    seed : int or None.

    Input
    -----
    images : [batch, H, W, 3], tf.float32 -- in [0, 1].
    snr_db : scalar or [batch], tf.float32 -- SNR in dB (``no = 10^(-snr_db/10)``).

    Output
    ------
    x_hat : [batch, H, W, 3], tf.float32 -- reconstructions.
    info : dict, only with ``return_info=True`` -- ``decoded`` [batch] bool (payload
        sent, CRC passed, codec decoded), ``payload_bytes`` [batch] int32 (codec bytes
        sent), ``crc_ok`` [batch] bool, ``quality`` [batch] int32 (-1 if nothing sent).
    """

    def __init__(self, codec, num_channel_uses: int, num_bits_per_symbol: int,
                 coderate: float, channel="awgn", fallback=None, num_streams=None,
                 power_allocation: str = "waterfilling", num_iter: int = 20,
                 jit_compile: bool | None = None, seed: int | None = None, **kwargs):
        super().__init__(codec, fallback, **kwargs)
        self.chain = TransportChain(num_channel_uses, num_bits_per_symbol, coderate, channel,
                                    num_streams, power_allocation, num_iter, seed=seed)
        self.num_channel_uses = self.chain.num_channel_uses
        self.num_bits_per_symbol = self.chain.num_bits_per_symbol
        self.coderate = self.chain.coderate
        self.channel = self.chain.channel
        self.num_streams = self.chain.num_streams
        self.power_allocation = power_allocation
        self.num_iter = self.chain.num_iter
        self.jit_compile = (bool(tf.config.list_physical_devices("GPU")) if jit_compile is None
                            else bool(jit_compile))
        self.seed = seed
        self.max_payload_bytes = self.chain.payload_bits // 8 - LENGTH_BYTES
        self._transmit = tf.function(self.chain, jit_compile=self.jit_compile)
        self._decode_cache: OrderedDict[bytes, np.ndarray | None] = OrderedDict()

    # -- sweep API ----------------------------------------------------------------
    def encode(self, images) -> dict:
        """Source-encode a batch once: ``bits`` [b, payload_bits], ``payloads``, ``quality``."""
        images = np.asarray(images, np.float32)
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"`images` must have shape [batch, H, W, 3], got {images.shape}")
        if self.max_payload_bytes <= 0:
            encoded = [(b"", None)] * len(images)
        else:
            encoded = codecs.encode_batch_to_budget(self.codec, images, self.max_payload_bytes)
        payloads = [p for p, _ in encoded]
        return {"bits": frame_payloads(payloads, self.chain.payload_bits),
                "payloads": payloads,
                "quality": np.array([-1 if q is None else q for _, q in encoded], np.int32),
                "shape": images.shape[1:]}

    def reconstruct(self, state: dict, snr_db, channel=None):
        """The sweep protocol (:mod:`sem_sionna.sweep.protocol`): transmit the bits of
        :meth:`encode` at ``snr_db`` and decode: ``(x_hat [b,H,W,3], info)`` as NumPy."""
        self._check_channel(channel)
        return self.decode(state, *self.transmit(state["bits"], snr_db))

    def transmit(self, bits, snr_db):
        """Run the coded link: ``(bits_hat [b, payload_bits], crc_ok [b])`` as NumPy."""
        bits = tf.convert_to_tensor(bits, tf.float32)
        no = snrdb2no(tf.cast(snr_db, tf.float32))
        no = tf.broadcast_to(no, tf.shape(bits)[:1])
        bits_hat, crc_ok = self._transmit(bits, no)
        return bits_hat.numpy(), crc_ok.numpy()

    def decode(self, encoded: dict, bits_hat, crc_ok):
        """Codec-decode where the CRC passed: ``(x_hat [b,H,W,3], info dict)`` as NumPy."""
        shape = tuple(encoded["shape"])
        fallback = self._fallback(shape)
        sent = np.array([len(p) > 0 for p in encoded["payloads"]])
        received = deframe_payloads(bits_hat)
        payloads = [r if (ok and s) else b"" for r, ok, s in zip(received, crc_ok, sent)]
        x_hat = np.empty((len(payloads),) + shape, np.float32)
        decoded = np.zeros(len(payloads), bool)
        todo = [p for p in set(payloads) if p and p not in self._decode_cache]
        if todo:
            images, ok = codecs.decode_batch(self.codec, todo, shape, fallback)
            for p, image, good in zip(todo, images, ok):
                self._remember(p, image if good else None)
        for i, p in enumerate(payloads):
            image = self._decode_cache.get(p) if p else None
            decoded[i] = image is not None
            x_hat[i] = image if image is not None else fallback
        info = {"decoded": decoded, "crc_ok": np.asarray(crc_ok, bool) & sent,
                "payload_bytes": np.array([len(p) for p in encoded["payloads"]], np.int32),
                "quality": encoded["quality"]}
        return x_hat, info

    info_spec = (("decoded", tf.bool), ("payload_bytes", tf.int32), ("crc_ok", tf.bool),
                 ("quality", tf.int32))

    def _remember(self, payload: bytes, image):
        self._decode_cache[payload] = image
        while len(self._decode_cache) > 4096:
            self._decode_cache.popitem(last=False)

    def run(self, images, snr_db):
        """Encode, transmit and decode a batch in NumPy: ``(x_hat, info)``."""
        return self.reconstruct(self.encode(images), snr_db)

    def get_config(self):
        return {**super().get_config(), "num_channel_uses": self.num_channel_uses,
                "num_bits_per_symbol": self.num_bits_per_symbol, "coderate": self.coderate,
                "channel": channel_config(self.channel), "num_streams": self.num_streams,
                "power_allocation": self.power_allocation, "num_iter": self.num_iter,
                "jit_compile": self.jit_compile, "seed": self.seed}
