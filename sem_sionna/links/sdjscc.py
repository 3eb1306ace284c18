"""SD-JSCC over a 5G-coded digital link (Sun et al.).

Q. Sun et al., "Deep joint source-channel coding for wireless image transmission
with semantic importance". The binary JSCC latent is sent as the payload of one
5G transport block per image, as the codec baselines are::

    x -> SDJSCCEncoder -> BinaryQuantizer -> q [h, w, c] bits -> zero pad to the TB payload
      -> TransportChain (CRC + 5G LDPC + 16-QAM -> AWGN | Rayleigh -> demap -> BP)
      -> q_hat (first h w c decoded bits, used whatever the CRC says) -> SDJSCCDecoder -> x'

    x -> codec (JPEG | WebP | JPEG2000 | BPG) within the same channel uses
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

import keras
import numpy as np
import tensorflow as tf

from sem_sionna.links.transport_chain import TransportChain
from sem_sionna.nets.sdjscc import BinaryQuantizer
from sem_sionna.phy.snr import snrdb2no
from sem_sionna.utils.checks import check_num_bits_per_symbol, check_positive_int

__all__ = ["SDJSCCLink", "num_channel_uses_for", "coded_ber"]


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

    def reconstruct(self, state: dict, snr_db, channel=None):
        """The sweep protocol (:mod:`sem_sionna.sweep.protocol`): transmit and decode.

        Input
        -----
        state : dict -- from :meth:`encode`.
        snr_db : float -- SNR in dB.
        channel : str or None -- must be this link's channel when given.

        Output
        ------
        x_hat : [b, H, W, 3], np.float32.
        info : dict -- ``decoded`` [b] bool (the transport block's CRC passed; the decoder
            uses the bits either way), ``crc_ok`` (the same), ``bit_errors`` [b] int32
            (latent bits in error) and ``num_bits`` (latent bits per image).
        """
        if channel is not None and channel != self.channel:
            raise ValueError(f"`channel` {channel!r}: this link was built for "
                             f"{self.channel!r}")
        bits_hat, crc_ok = self.transmit(state["bits"], snr_db)
        n = state["num_bits"]
        errors = np.sum(bits_hat[:, :n] != state["bits"][:, :n], axis=1).astype(np.int32)
        return self.decode(state, bits_hat), {"decoded": crc_ok, "crc_ok": crc_ok,
                                              "bit_errors": errors, "num_bits": n}

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
