"""5G NR LDPC coding (TS 38.212); Keras wrappers of Sionna's ``LDPC5GEncoder``/``LDPC5GDecoder``."""
from __future__ import annotations

import keras
import tensorflow as tf
from sionna.phy.fec.ldpc import LDPC5GDecoder, LDPC5GEncoder

from sem_sionna.utils.checks import check_last_dim, check_positive_int, check_rank, check_real

__all__ = ["LDPCEncoder", "LDPCDecoder"]


@keras.saving.register_keras_serializable(package="sem_sionna")
class LDPCEncoder(keras.layers.Layer):
    """5G LDPC encoder with rate matching; wraps Sionna's ``LDPC5GEncoder``.

    Parameters
    ----------
    k : int -- information bits per codeword, ``1 <= k <= 8448`` (base graph limits, 38.212 5.2.2).
    n : int -- codeword length after rate matching, ``n > k``.

    Input
    -----
    bits : [batch, ..., k], tf.float32 -- information bits in {0, 1}.

    Output
    ------
    codewords : [batch, ..., n], tf.float32 -- coded bits in {0, 1}.

    Note
    ----
    Works eagerly, in ``tf.function`` and with ``jit_compile=True``.
    """

    def __init__(self, k: int, n: int, **kwargs):
        super().__init__(**kwargs)
        self.k = check_positive_int(k, "k")
        self.n = check_positive_int(n, "n")
        if self.k >= self.n:
            raise ValueError(f"`k` must be smaller than `n` (code rate < 1), got k={k}, n={n}")
        try:
            self._encoder = LDPC5GEncoder(self.k, self.n)
        except (AssertionError, ValueError) as err:
            raise ValueError(f"5G LDPC does not support (k, n) = ({k}, {n}): {err}") from None

    @property
    def coderate(self) -> float:
        """Design code rate ``k / n``."""
        return self.k / self.n

    @property
    def pcm(self):
        """Parity-check matrix of the (lifted, un-punctured) 5G code, as Sionna returns it."""
        return self._encoder.pcm

    @property
    def sionna_encoder(self) -> LDPC5GEncoder:
        """The wrapped Sionna block (needed by Sionna's decoder)."""
        return self._encoder

    def build(self, bits_shape):
        # stateless wrapper: the Sionna block builds itself on its first call
        self.built = True

    def call(self, bits):
        check_real(bits, "bits")
        check_rank(bits, "bits", 1)
        check_last_dim(bits, self.k, "bits")
        return self._encoder(tf.cast(bits, tf.float32))

    def compute_output_shape(self, bits_shape):
        return (*bits_shape[:-1], self.n)

    def get_config(self):
        return {**super().get_config(), "k": self.k, "n": self.n}


@keras.saving.register_keras_serializable(package="sem_sionna")
class LDPCDecoder(keras.layers.Layer):
    """Belief-propagation decoder for :class:`LDPCEncoder`; wraps Sionna's ``LDPC5GDecoder``.

    Parameters
    ----------
    encoder : LDPCEncoder -- the encoder whose code is decoded.
    num_iter : int, default 20 -- BP iterations (flooding schedule, boxplus-phi check nodes).
    hard_out : bool, default True -- hard bits in {0, 1}; ``False`` returns LLRs and is
        differentiable w.r.t. the input LLRs.

    Input
    -----
    llr : [batch, ..., n], tf.float32 -- channel LLRs in Sionna's convention (logit of P(b=1)),
        as :class:`QAMDemapper` outputs them.

    Output
    ------
    bits_hat : [batch, ..., k], tf.float32 -- hard information bits, or their LLRs.

    Note
    ----
    Works eagerly, in ``tf.function`` and with ``jit_compile=True``.
    """

    def __init__(self, encoder: LDPCEncoder, num_iter: int = 20, hard_out: bool = True,
                 **kwargs):
        super().__init__(**kwargs)
        if isinstance(encoder, dict):  # from_config
            encoder = keras.saving.deserialize_keras_object(encoder)
        if not isinstance(encoder, LDPCEncoder):
            raise TypeError(f"`encoder` must be an LDPCEncoder, got {type(encoder).__name__}")
        self.encoder = encoder
        self.num_iter = check_positive_int(num_iter, "num_iter")
        self.hard_out = bool(hard_out)
        self._decoder = LDPC5GDecoder(encoder.sionna_encoder, num_iter=self.num_iter,
                                      hard_out=self.hard_out, return_infobits=True)

    def build(self, llr_shape):
        # stateless wrapper: the Sionna block builds itself on its first call
        self.built = True

    def call(self, llr):
        check_real(llr, "llr")
        check_rank(llr, "llr", 1)
        check_last_dim(llr, self.encoder.n, "llr")
        return self._decoder(tf.cast(llr, tf.float32))

    def compute_output_shape(self, llr_shape):
        return (*llr_shape[:-1], self.encoder.k)

    def get_config(self):
        return {**super().get_config(), "num_iter": self.num_iter, "hard_out": self.hard_out,
                "encoder": keras.saving.serialize_keras_object(self.encoder)}
