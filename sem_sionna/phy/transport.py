"""5G NR transport-block coding: CRC, code-block segmentation, LDPC, rate matching.

Keras wrappers of Sionna's ``nr.TBEncoder``/``nr.TBDecoder`` (TS 38.212 5.1-5.5,
TS 38.214 5.1.3.2). A payload of any size is carried as one transport block: a
CRC24A (CRC16 for small blocks) over the whole block, segmentation into LDPC code
blocks with CRC24B each when more than one, 5G LDPC encoding and rate matching
to ``num_coded_bits``, and scrambling. The decoder reports whether the
transport-block CRC passed, which is what a receiver can know.
"""
from __future__ import annotations

import contextlib
import io

import keras
import tensorflow as tf
from sionna.phy.nr import TBDecoder as _SionnaTBDecoder
from sionna.phy.nr import TBEncoder as _SionnaTBEncoder
from sionna.phy.nr.utils import calculate_tb_size

from sem_sionna.utils.checks import (check_last_dim, check_num_bits_per_symbol,
                                     check_positive_int, check_rank, check_real)

__all__ = ["TBEncoder", "TBDecoder", "transport_block_size"]


def transport_block_size(num_coded_bits: int, target_coderate: float,
                         num_bits_per_symbol: int) -> int:
    """Largest payload (bits) one 5G transport block carries in ``num_coded_bits``.

    TS 38.214 5.1.3.2 quantisation as computed by Sionna's ``calculate_tb_size``;
    the TB and code-block CRCs come on top of it.
    """
    num_coded_bits = check_positive_int(num_coded_bits, "num_coded_bits")
    num_bits_per_symbol = check_num_bits_per_symbol(num_bits_per_symbol)
    if not 0.0 < float(target_coderate) < 1.0:
        raise ValueError(f"`target_coderate` must lie in (0, 1), got {target_coderate!r}")
    tb_size = calculate_tb_size(modulation_order=num_bits_per_symbol,
                                target_coderate=float(target_coderate),
                                num_coded_bits=num_coded_bits, return_cw_length=False)[0]
    return int(tb_size.numpy())


@keras.saving.register_keras_serializable(package="sem_sionna")
class TBEncoder(keras.layers.Layer):
    """5G transport-block encoder; wraps Sionna's ``nr.TBEncoder``.

    Parameters
    ----------
    target_tb_size : int -- payload bits wanted per transport block.
    num_coded_bits : int -- coded bits per block after rate matching (multiple of
        ``num_bits_per_symbol``).
    target_coderate : float -- target code rate in (0, 1).
    num_bits_per_symbol : int -- QAM order used for rate matching (38.212 5.4.2.2).

    Input
    -----
    bits : [batch, ..., target_tb_size], tf.float32 -- payload bits in {0, 1}; the 38.214
        block (:attr:`tb_size`) may be slightly larger and is zero padded.

    Output
    ------
    codewords : [batch, ..., num_coded_bits], tf.float32 -- coded, scrambled bits.

    Note
    ----
    Works eagerly, in ``tf.function`` and with ``jit_compile=True``.
    """

    def __init__(self, target_tb_size: int, num_coded_bits: int, target_coderate: float,
                 num_bits_per_symbol: int, **kwargs):
        super().__init__(**kwargs)
        self.target_tb_size = check_positive_int(target_tb_size, "target_tb_size")
        self.num_coded_bits = check_positive_int(num_coded_bits, "num_coded_bits")
        self.num_bits_per_symbol = check_num_bits_per_symbol(num_bits_per_symbol)
        if not 0.0 < float(target_coderate) < 1.0:
            raise ValueError(f"`target_coderate` must lie in (0, 1), got {target_coderate!r}")
        self.target_coderate = float(target_coderate)
        if self.target_tb_size >= self.num_coded_bits:
            raise ValueError(f"`target_tb_size` must be smaller than `num_coded_bits`, got "
                             f"{target_tb_size} and {num_coded_bits}")
        if self.num_coded_bits % self.num_bits_per_symbol:
            raise ValueError("`num_coded_bits` must be a multiple of `num_bits_per_symbol`, got "
                             f"{num_coded_bits} and {num_bits_per_symbol}")
        try:
            # Sionna prints a note when 38.214 quantises the TB size; it is exposed as `tb_size`
            with contextlib.redirect_stdout(io.StringIO()):
                self._encoder = _SionnaTBEncoder(self.target_tb_size, self.num_coded_bits,
                                                 self.target_coderate, self.num_bits_per_symbol)
        except (AssertionError, ValueError, tf.errors.InvalidArgumentError) as err:
            raise ValueError("no 5G transport block for target_tb_size="
                             f"{target_tb_size}, num_coded_bits={num_coded_bits}, "
                             f"target_coderate={target_coderate}: {err}") from None
        if self._encoder.k_padding < 0:
            raise ValueError(f"`target_tb_size`={target_tb_size} exceeds the 38.214 transport "
                             f"block size {self._encoder.tb_size} that fits num_coded_bits="
                             f"{num_coded_bits} at target_coderate={target_coderate}")

    @property
    def tb_size(self) -> int:
        """38.214 transport-block size (>= ``target_tb_size``; the rest is zero padding)."""
        return int(self._encoder.tb_size)

    @property
    def num_cbs(self) -> int:
        """Number of LDPC code blocks per transport block."""
        return int(self._encoder.num_cbs)

    @property
    def crc_overhead(self) -> int:
        """CRC bits added per transport block: TB CRC plus, when segmented, one CRC24B per block."""
        enc = self._encoder
        cb_crc = int(enc._cb_crc_length) * self.num_cbs if self.num_cbs > 1 else 0
        return int(enc._tb_crc_length) + cb_crc

    @property
    def coderate(self) -> float:
        """Effective code rate ``target_tb_size / num_coded_bits`` (padding not counted)."""
        return self.target_tb_size / self.num_coded_bits

    @property
    def sionna_encoder(self) -> _SionnaTBEncoder:
        return self._encoder

    def build(self, bits_shape):
        # stateless wrapper: the Sionna block builds itself on its first call
        self.built = True

    def call(self, bits):
        check_real(bits, "bits")
        check_rank(bits, "bits", 2)
        check_last_dim(bits, self.target_tb_size, "bits")
        return self._encoder(tf.cast(bits, tf.float32))

    def compute_output_shape(self, bits_shape):
        return (*bits_shape[:-1], self.num_coded_bits)

    def get_config(self):
        return {**super().get_config(), "target_tb_size": self.target_tb_size,
                "num_coded_bits": self.num_coded_bits, "target_coderate": self.target_coderate,
                "num_bits_per_symbol": self.num_bits_per_symbol}


@keras.saving.register_keras_serializable(package="sem_sionna")
class TBDecoder(keras.layers.Layer):
    """5G transport-block decoder with CRC check; wraps Sionna's ``nr.TBDecoder``.

    Parameters
    ----------
    encoder : TBEncoder -- the matching encoder.
    num_iter : int, default 20 -- BP iterations per code block.

    Input
    -----
    llr : [batch, ..., num_coded_bits], tf.float32 -- channel LLRs (Sionna's convention).

    Output
    ------
    bits_hat : [batch, ..., target_tb_size], tf.float32 -- hard payload bits.
    crc_ok : [batch, ...], tf.bool -- transport-block CRC passed.
    """

    def __init__(self, encoder: TBEncoder, num_iter: int = 20, **kwargs):
        super().__init__(**kwargs)
        if isinstance(encoder, dict):  # from_config
            encoder = keras.saving.deserialize_keras_object(encoder)
        if not isinstance(encoder, TBEncoder):
            raise TypeError(f"`encoder` must be a TBEncoder, got {type(encoder).__name__}")
        self.encoder = encoder
        self.num_iter = check_positive_int(num_iter, "num_iter")
        self._decoder = _SionnaTBDecoder(encoder.sionna_encoder, num_bp_iter=self.num_iter)

    def build(self, llr_shape):
        # stateless wrapper: the Sionna block builds itself on its first call
        self.built = True

    def call(self, llr):
        check_real(llr, "llr")
        check_rank(llr, "llr", 2)
        check_last_dim(llr, self.encoder.num_coded_bits, "llr")
        bits_hat, crc_status = self._decoder(tf.cast(llr, tf.float32))
        return bits_hat, tf.cast(crc_status, tf.bool)

    def compute_output_spec(self, llr):
        # two outputs of different dtypes: Keras cannot infer them from one shape
        batch = tuple(llr.shape[:-1])
        return (keras.KerasTensor(batch + (self.encoder.target_tb_size,), dtype="float32"),
                keras.KerasTensor(batch, dtype="bool"))

    def get_config(self):
        return {**super().get_config(), "num_iter": self.num_iter,
                "encoder": keras.saving.serialize_keras_object(self.encoder)}
