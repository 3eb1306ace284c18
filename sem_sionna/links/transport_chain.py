"""Coded digital transmission of bit blocks: 5G TB + QAM over AWGN, Rayleigh or SVD-MIMO."""
from __future__ import annotations

import keras
import tensorflow as tf

from sem_sionna.phy import (AWGN, QAMDemapper, QAMMapper, TBDecoder, TBEncoder,
                            transport_block_size)
from sem_sionna.links.base import CHANNELS, channel_config, check_num_streams, resolve_channel
from sem_sionna.phy.precoding import SVDCombiner, SVDPrecoder
from sem_sionna.utils.scalars import ScalarArgsLayer
from sem_sionna.utils.checks import (check_noise_variance, check_num_bits_per_symbol,
                                     check_positive_int)

__all__ = ["TransportChain", "CHANNELS"]


@keras.saving.register_keras_serializable(package="sem_sionna")
class TransportChain(ScalarArgsLayer):
    """One 5G transport block per example over ``num_channel_uses`` channel uses::

        bits -> TBEncoder (CRC, LDPC, rate matching) -> QAMMapper -> [SVDPrecoder]
             -> channel (AWGN | Rayleigh block fading | MIMOChannel) -> [SVDCombiner]
             -> QAMDemapper -> TBDecoder -> bits_hat, crc_ok

    ``"rayleigh"`` is a SISO ``MIMOChannel(1, 1)``, one coefficient per example
    held over its block, perfectly known at the receiver (coherent equalisation).
    A ``MIMOChannel`` instance carries ``num_streams`` streams with SVD precoding
    and combining computed from its ``h_hat`` (imperfect CSI if ``csi_error_var > 0``).

    Parameters
    ----------
    num_channel_uses : int -- complex channel uses per example (per stream).
    num_bits_per_symbol : int -- QAM order ``m`` (even).
    coderate : float -- target LDPC code rate in (0, 1).
    channel : "awgn", "rayleigh" or MIMOChannel.
    num_streams : int or None -- MIMO streams; default ``min(nt, nr)``; 1 otherwise.
    power_allocation : str, default "waterfilling" -- over the MIMO eigen-channels.
    num_iter : int, default 20 -- BP iterations.
    seed : int or None -- seed of the noise/channel draws.

    Attributes
    ----------
    payload_bits : int -- bits per block: the 38.214 TB size for ``N m`` coded bits at rate ``R``, minus
        the CRC bits, so payload + CRC fit ``num_coded_bits * coderate``.

    Input
    -----
    bits : [batch, payload_bits], tf.float32 -- in {0, 1} (:attr:`payload_bits`).
    no : scalar or [batch], tf.float32 -- complex noise variance per receive antenna, linear.

    Output
    ------
    bits_hat : [batch, payload_bits], tf.float32 -- decoded bits.
    crc_ok : [batch], tf.bool -- transport-block CRC passed.
    """

    _scalar_args = ("no",)

    def __init__(self, num_channel_uses: int, num_bits_per_symbol: int, coderate: float,
                 channel="awgn", num_streams: int | None = None,
                 power_allocation: str = "waterfilling", num_iter: int = 20,
                 seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.num_channel_uses = check_positive_int(num_channel_uses, "num_channel_uses")
        self.num_bits_per_symbol = check_num_bits_per_symbol(num_bits_per_symbol)
        self.coderate = float(coderate)
        self.power_allocation = power_allocation
        self.num_iter = check_positive_int(num_iter, "num_iter")
        self.seed = seed
        self.channel, self._mimo = resolve_channel(channel, seed)
        self.num_streams = check_num_streams(num_streams, self._mimo)
        self.num_coded_bits = self.num_channel_uses * self.num_streams * self.num_bits_per_symbol
        if not 0.0 < self.coderate < 1.0:
            raise ValueError(f"`coderate` must lie in (0, 1), got {coderate!r}")
        # 38.214 sizes the TB without its CRCs; carry fewer payload bits so that payload
        # plus CRCs is N m R (the contract's budget), the TB being zero padded
        tb_size = transport_block_size(self.num_coded_bits, self.coderate,
                                       self.num_bits_per_symbol)
        probe = TBEncoder(tb_size, self.num_coded_bits, self.coderate, self.num_bits_per_symbol)
        # never above the contract's floor(N m R / 8) bytes (38.214 may round up)
        budget_bits = 8 * int(self.num_coded_bits * self.coderate // 8)
        self.payload_bits = min(tb_size, budget_bits) - probe.crc_overhead
        self._tb_encoder = None
        while self._tb_encoder is None:
            if self.payload_bits < 8:
                raise ValueError(f"`num_channel_uses`={num_channel_uses} carries no payload at "
                                 f"coderate={coderate} and num_bits_per_symbol="
                                 f"{num_bits_per_symbol}")
            try:
                self._tb_encoder = TBEncoder(self.payload_bits, self.num_coded_bits,
                                             self.coderate, self.num_bits_per_symbol)
            except ValueError:
                # 38.214 quantises a slightly smaller target to a TB that no longer
                # covers it (another segmentation): step down a byte until one does
                self.payload_bits -= 8
        self._tb_decoder = TBDecoder(self._tb_encoder, num_iter=self.num_iter)
        self._mapper = QAMMapper(self.num_bits_per_symbol)
        self._demapper = QAMDemapper(self.num_bits_per_symbol)
        if self._mimo is None:
            self._awgn = AWGN(seed=seed)
        else:
            self._precoder = SVDPrecoder(self.num_streams, power_allocation)
            self._combiner = SVDCombiner(self.num_streams, power_allocation)

    def build(self, bits_shape, no_shape=None):
        # sublayers are stateless wrappers; Sionna blocks build on first call
        self.built = True

    def call(self, bits, no):
        check_noise_variance(no)
        no = tf.cast(no, tf.float32)
        x = self._mapper(self._tb_encoder(bits))  # [b, ns * ncu]
        if self._mimo is None:
            llr = self._demapper(self._awgn(x, no), no)
        else:
            s = tf.reshape(x, [-1, self.num_streams, self.num_channel_uses])
            h, h_hat = self._mimo.generate(tf.shape(s)[0])
            y = self._mimo.apply(self._precoder(s, h_hat, no), no, h)
            s_hat, no_eff = self._combiner(y, h_hat, no)
            llr = self._demapper(s_hat, no_eff[..., tf.newaxis])
            llr = tf.reshape(llr, [-1, self.num_coded_bits])
        return self._tb_decoder(llr)

    def get_config(self):
        channel = channel_config(self.channel)
        return {**super().get_config(), "num_channel_uses": self.num_channel_uses,
                "num_bits_per_symbol": self.num_bits_per_symbol, "coderate": self.coderate,
                "channel": channel, "num_streams": self.num_streams,
                "power_allocation": self.power_allocation, "num_iter": self.num_iter,
                "seed": self.seed}
