"""Learned analog JSCC over SVD MIMO eigen-channels: S3's DeepJSCC-MIMO and ADJSCC baselines.

Both baselines send a CNN's complex latent straight over the 2x2 MIMO channel
(no codec, no channel code), one latent symbol per stream and channel use::

    x --conv/2--AF--conv/2--AF--conv--AF--conv--> latent [H/4, W/4, C] (complex, first c of C sent)
      --power norm--> streams s [ns, K] --SVDPrecoder--> MIMOChannel --SVDCombiner--> s_hat, no_eff
      --conv--AF--deconv/2--AF--deconv/2--AF--conv--> x_hat

* ``csi_aware=True`` -- **DeepJSCC-MIMO** (Wu et al., TWC 2024, as S3 uses it: SVD of the
  channel, the eigen-channel gains instead of the channel matrix): the attention modules
  see the SNR of every eigen-channel, and the power is normalised over all streams
  together, so the encoder learns the power split between the eigen-channels.
* ``csi_aware=False`` -- **ADJSCC** (Xu et al., TCSVT 2021): attention-feature (AF)
  modules (:class:`~sem_sionna.nets.SNRFeatureAttention`) conditioned on the channel SNR
  only; every stream gets the same power.

Latent channel ``j`` goes to stream ``j mod ns``. ``num_latent`` (``c``, even, at most
``max_latent_channels``) sets the bandwidth: the other channels are not sent (zero at
the decoder), so one model serves several CBRs when trained with random ``c``:
``CBR = (H/4)(W/4) c / ns / (3 H W) = c / (48 ns)`` (channel uses per stream / source reals).
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from sem_sionna.nets.feature_attention import SNRFeatureAttention
from sem_sionna.phy.mimo import MIMOChannel
from sem_sionna.phy.precoding import SVDCombiner, SVDPrecoder
from sem_sionna.phy.snr import no2snrdb, snrdb2no
from sem_sionna.utils.scalars import ScalarArgsLayer
from sem_sionna.utils.checks import check_positive_int, check_spatial_multiple

__all__ = ["MIMOJSCC", "mimo_jscc_cbr"]

_SNR_DB_CLIP = (-20.0, 40.0)


def mimo_jscc_cbr(num_latent: int, num_streams: int = 2) -> float:
    """CBR of :class:`MIMOJSCC` sending ``num_latent`` complex latent channels."""
    return check_positive_int(num_latent, "num_latent") / (48.0 * check_positive_int(
        num_streams, "num_streams"))


@keras.saving.register_keras_serializable(package="sem_sionna")
class MIMOJSCC(ScalarArgsLayer):
    """DeepJSCC-MIMO (``csi_aware=True``) or ADJSCC (``csi_aware=False``) over SVD eigen-channels.

    Parameters
    ----------
    channel : phy.MIMOChannel (or config dict) -- the MIMO channel (``nt = nr = ns``
        streams are used).
    max_latent_channels : int, default 16 -- complex latent channels ``C`` (even).
    num_filters : int, default 32 -- hidden channels.
    csi_aware : bool, default True -- DeepJSCC-MIMO; False: ADJSCC.
    snr_range : (float, float), default (2, 12) -- SNR range (dB) mapped to [-1, 1] for
        the side information.

    Input
    -----
    images : [b, H, W, 3], tf.float32 -- in [0, 1]; H, W multiples of 4.
    snr_db : scalar or [b], tf.float32 -- SNR in dB (``no = 10^(-snr_db/10)``).
    num_latent : int or scalar/[b] int tensor, default ``max_latent_channels`` -- latent
        channels sent, even.

    Output
    ------
    x_hat : [b, H, W, 3], tf.float32 -- reconstructions in [0, 1].
    """

    _scalar_args = ("snr_db",)

    def __init__(self, channel, max_latent_channels=16, num_filters=32, csi_aware=True,
                 snr_range=(2.0, 12.0), **kwargs):
        super().__init__(**kwargs)
        if isinstance(channel, dict):
            channel = keras.saving.deserialize_keras_object(channel)
        if not isinstance(channel, MIMOChannel):
            raise TypeError(f"`channel` must be a MIMOChannel, got {type(channel).__name__}")
        self.channel = channel
        self.num_streams = min(channel.num_tx_ant, channel.num_rx_ant)
        self.max_latent_channels = check_positive_int(max_latent_channels,
                                                      "max_latent_channels")
        if self.max_latent_channels % self.num_streams:
            raise ValueError(f"`max_latent_channels` must be a multiple of the number of "
                             f"streams ({self.num_streams}), got {max_latent_channels!r}")
        self.num_filters = check_positive_int(num_filters, "num_filters")
        if not isinstance(csi_aware, bool):
            raise TypeError(f"`csi_aware` must be a bool, got {csi_aware!r}")
        self.csi_aware = csi_aware
        low, high = (float(v) for v in snr_range)
        if not high > low:
            raise ValueError(f"`snr_range` must satisfy low < high, got {snr_range!r}")
        self.snr_range = (low, high)
        self.precoder = SVDPrecoder(self.num_streams, "equal")
        self.combiner = SVDCombiner(self.num_streams, "equal")
        f, c = self.num_filters, self.max_latent_channels
        conv, deconv = keras.layers.Conv2D, keras.layers.Conv2DTranspose
        self.enc = [conv(f, 5, strides=2, padding="same", name="enc_0"),
                    conv(f, 5, strides=2, padding="same", name="enc_1"),
                    conv(f, 3, padding="same", name="enc_2")]
        self.enc_act = [keras.layers.PReLU(shared_axes=[1, 2], name=f"enc_act_{i}")
                        for i in range(3)]
        self.enc_af = [self._attention(f"enc_af_{i}") for i in range(3)]
        self.enc_out = conv(2 * c, 3, padding="same", name="enc_out")
        self.dec = [conv(f, 3, padding="same", name="dec_0"),
                    deconv(f, 5, strides=2, padding="same", name="dec_1"),
                    deconv(f, 5, strides=2, padding="same", name="dec_2")]
        self.dec_act = [keras.layers.PReLU(shared_axes=[1, 2], name=f"dec_act_{i}")
                        for i in range(3)]
        self.dec_af = [self._attention(f"dec_af_{i}") for i in range(3)]
        self.dec_out = conv(3, 3, padding="same", name="dec_out")

    @staticmethod
    def _attention(name: str) -> SNRFeatureAttention:
        """An AF module on the side information as given (already normalised)."""
        return SNRFeatureAttention(hidden_units=16, side_scale=1.0, name=name)

    @property
    def side_dim(self) -> int:
        """Length of the side information: SNR, fraction sent (+ eigen-channel SNRs)."""
        return 2 + (self.num_streams if self.csi_aware else 0)

    def build(self, images_shape, snr_db_shape=None, num_latent_shape=None):
        if len(images_shape) != 4 or images_shape[-1] != 3:
            raise ValueError(f"`images` must have shape [b, H, W, 3], got {images_shape}")
        self.enc_out.build(self._build_stack(self.enc, self.enc_act, self.enc_af, 3))
        self.dec_out.build(self._build_stack(self.dec, self.dec_act, self.dec_af,
                                             2 * self.max_latent_channels))

    def _build_stack(self, layers, acts, afs, in_channels: int) -> tuple:
        """Build conv + activation + attention-feature layers; return the output shape."""
        shape = (None, None, None, in_channels)
        for layer, act, af in zip(layers, acts, afs):
            layer.build(shape)
            shape = (None, None, None, self.num_filters)
            act.build(shape)
            af.build(shape, (None, self.side_dim))
        return shape

    def _norm_db(self, value_db):
        low, high = self.snr_range
        value_db = tf.clip_by_value(value_db, *_SNR_DB_CLIP)
        return 2.0 * (value_db - low) / (high - low) - 1.0

    def call(self, images, snr_db, num_latent=None):
        check_spatial_multiple(images, 4)
        ns, c_max = self.num_streams, self.max_latent_channels
        batch = tf.shape(images)[0]
        snr_db = tf.broadcast_to(tf.reshape(tf.cast(snr_db, tf.float32), [-1]), [batch])
        no = snrdb2no(snr_db)
        if num_latent is None:
            num_latent = c_max
        if isinstance(num_latent, (int, np.integer)) and (
                num_latent % ns or not 0 < num_latent <= c_max):
            raise ValueError(f"`num_latent` must be a positive multiple of {ns} up to "
                             f"{c_max}, got {num_latent!r}")
        c = tf.broadcast_to(tf.reshape(tf.cast(num_latent, tf.float32), [-1]), [batch])
        h, h_hat = self.channel.generate(batch)
        # eigen-channel SNRs p_k sigma_k^2 / no under equal power, as the combiner sees them
        probe = tf.zeros(tf.stack([batch, self.channel.num_rx_ant, 1]), tf.complex64)
        _, no_eff = self.combiner(probe, h_hat, no)
        side = [self._norm_db(snr_db)[:, None], (c / c_max)[:, None]]
        if self.csi_aware:
            side.append(self._norm_db(no2snrdb(no_eff)))
        side = tf.concat(side, axis=-1)

        f = images
        for layer, act, af in zip(self.enc, self.enc_act, self.enc_af):
            f = af(act(layer(f)), side)
        f = self.enc_out(f)  # [b, h, w, 2C]
        shape = tf.shape(f)
        mask = tf.cast(tf.range(c_max, dtype=tf.float32)[None, :] < c[:, None], tf.float32)
        mask = mask[:, None, None, :]  # [b, 1, 1, C]
        latent = tf.complex(f[..., :c_max], f[..., c_max:]) * tf.complex(mask, 0.0 * mask)
        # latent channel j -> stream j mod ns
        sym = tf.reshape(latent, tf.stack([batch, -1, ns]))
        sym = tf.transpose(sym, [0, 2, 1])  # [b, ns, K/ns]
        energy = tf.math.real(sym) ** 2 + tf.math.imag(sym) ** 2
        count = tf.cast(shape[1] * shape[2], tf.float32) * c / ns  # sent symbols per stream
        if self.csi_aware:
            power = tf.reduce_sum(energy, axis=[1, 2]) / (count * ns)
            power = power[:, None, None]
        else:
            power = (tf.reduce_sum(energy, axis=2) / count[:, None])[:, :, None]
        s = sym / tf.complex(tf.sqrt(power + 1e-12), 0.0)
        y = self.channel.apply(self.precoder(s, h_hat, no), no, h)
        s_hat, no_eff = self.combiner(y, h_hat, no)
        # LMMSE scaling for unit-power symbols: weak eigen-channels give bounded inputs
        s_hat = s_hat * tf.complex(1.0 / (1.0 + no_eff), 0.0)[..., None]
        s_hat = tf.reshape(tf.transpose(s_hat, [0, 2, 1]),
                           tf.stack([batch, shape[1], shape[2], c_max]))
        g = tf.concat([tf.math.real(s_hat), tf.math.imag(s_hat)], axis=-1)
        g = g * tf.concat([mask, mask], axis=-1)
        for layer, act, af in zip(self.dec, self.dec_act, self.dec_af):
            g = af(act(layer(g)), side)
        return tf.sigmoid(self.dec_out(g))

    def compute_output_shape(self, images_shape, *args, **kwargs):
        return images_shape

    def get_config(self):
        return {**super().get_config(),
                "channel": keras.saving.serialize_keras_object(self.channel),
                "max_latent_channels": self.max_latent_channels,
                "num_filters": self.num_filters, "csi_aware": self.csi_aware,
                "snr_range": self.snr_range}
