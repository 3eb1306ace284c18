"""ProxyNet over MIMO with PCEN: S3's ProxyNet baseline (Han et al., Sec. IV-A).

S3 describes ProxyNet as "the proposed PPEN and PCEN modules only integrated with the
proxy network": the proxy's CNN takes the place of the codec and channel code, and
its latent goes through the same QPSK + SVD + PCEN physical layer as the chain::

    x --PPEN--> ProxyNetwork.encode --sigmoid--> bit probabilities
      --QAMMapper (QPSK, straight-through)--> streams s [ns, S]
      --SVDPrecoder--> x_p --PEN--> z --MIMOChannel--> y --CEN, P^+--> s_hat, no_var
      --LMMSE scaling, sqrt(2) [Re, Im]--> ProxyNetwork.decode --> x_hat

The paper gives no further detail. This reading keeps the chain's transmitter (QPSK,
water-filling SVD precoder, PEN with PCEN's learned combiner) and replaces BPG + LDPC by
the proxy's encoder, one latent real per QPSK bit: the latent ``[H/4, W/4, 2c]`` is
``(H/4)(W/4) c`` QPSK symbols, ``(H/4)(W/4) c / ns`` channel uses per stream, CBR
``c / (48 ns)`` (as :func:`~sem_sionna.links.mimo_jscc.mimo_jscc_cbr`); symbol ``k``
carries bits ``2k, 2k + 1`` and goes to stream ``k mod ns``. The receiver is CEN and the
standard ``P^+`` (:func:`~sem_sionna.links.pcen_phy.pcen_receive`); the decoder reads the
LMMSE estimate ``sqrt(2) s_hat / (1 + no_var)`` of every symbol's two reals, which is
``1 - 2 b`` without noise (Sionna's Gray QPSK).

Gradients: the mapper is straight-through (expected symbol of the bit probabilities);
PEN's hard finite-alphabet solution ``z`` is differentiated as the unconstrained
solution ``(U2 h_hat)^+ x_p`` of its least-squares problem (forward value ``z``
exactly), since the soft projection's gradient vanishes away from decision boundaries;
LLR-based soft bits would saturate the same way, hence the linear estimate.
"""
from __future__ import annotations

import math

import keras
import tensorflow as tf

from sem_sionna.links.pcen_phy import (check_combiner, pcen_precode, pcen_receive,
                                       regularised_pinv)
from sem_sionna.nets.pcen import PCEN
from sem_sionna.nets.proxy import ProxyNetwork
from sem_sionna.phy.mapping import QAMMapper
from sem_sionna.phy.mimo import MIMOChannel
from sem_sionna.phy.precoding import SVDPrecoder
from sem_sionna.phy.snr import snrdb2no
from sem_sionna.utils.checks import check_spatial_multiple, layer_or_config
from sem_sionna.utils.scalars import ScalarArgsLayer

__all__ = ["ProxyNetMIMO"]


def _pen_straight_through(z, x_p, u2, h_hat):
    """``z`` forward; backward as ``G x_p`` with ``G = (U2 h_hat)^+`` held constant (the
    unconstrained solution of PEN's ``min ||x_p - U2 h_hat z||``)."""
    g = regularised_pinv(tf.stop_gradient(tf.matmul(u2, h_hat)))  # [b, nt, nt]
    unconstrained = tf.matmul(g, x_p)
    return z + (unconstrained - tf.stop_gradient(unconstrained))


@keras.saving.register_keras_serializable(package="sem_sionna")
class ProxyNetMIMO(ScalarArgsLayer):
    """The proxy network's encoder/decoder over QPSK + SVD + PCEN on a MIMO channel.

    Parameters
    ----------
    proxy : nets.ProxyNetwork (or its config) -- encoder and decoder (trained here).
    pcen : nets.PCEN (or its config) -- the chain's PCEN (shared; not trained here).
    channel : phy.MIMOChannel (or its config) -- ``nt = nr = ns`` antennas (PCEN's).
    combiner : "learned" (default), "adaptive" or "fixed" -- CEN variant
        (:func:`~sem_sionna.links.pcen_phy.pcen_precode`).
    power_allocation : str, default "waterfilling" -- of the SVD precoder, as the chain.

    Input
    -----
    images : [b, H, W, 3], tf.float32 -- PPEN outputs in [0, 1]; H, W multiples of 4.
    snr_db : scalar or [b], tf.float32 -- SNR in dB (``no = 10^(-snr_db/10)``, total
        transmit power 1 per channel use).
    q : scalar or [b], tf.float32 -- the ``Q`` the proxy is conditioned on.

    Output
    ------
    x_hat : [b, H, W, 3], tf.float32 -- reconstructions in [0, 1].
    """

    _scalar_args = ("snr_db", "q")

    def __init__(self, proxy, pcen, channel, combiner="learned",
                 power_allocation="waterfilling", **kwargs):
        super().__init__(**kwargs)
        self.proxy = layer_or_config(proxy, ProxyNetwork, "proxy")
        self.pcen = layer_or_config(pcen, PCEN, "pcen")
        self.channel = layer_or_config(channel, MIMOChannel, "channel")
        if not (self.pcen.num_tx_ant == self.pcen.num_rx_ant == self.channel.num_tx_ant
                == self.channel.num_rx_ant):
            raise ValueError(f"`pcen` ({self.pcen.num_tx_ant}x{self.pcen.num_rx_ant}) and "
                             f"`channel` ({self.channel.num_tx_ant}x"
                             f"{self.channel.num_rx_ant}) must have equal antenna counts")
        self.combiner = check_combiner(combiner)
        self.power_allocation = power_allocation
        self.num_streams = self.pcen.num_tx_ant
        self.precoder = SVDPrecoder(self.num_streams, power_allocation)
        self.mapper = QAMMapper(2)

    def build(self, images_shape, snr_db_shape=None, q_shape=None):
        if not self.proxy.built:
            self.proxy.build(images_shape)
        if not self.pcen.built:
            self.pcen.build()
        self.built = True

    def call(self, images, snr_db, q):
        images = tf.convert_to_tensor(images, tf.float32)
        check_spatial_multiple(images, 4)
        batch, ns = tf.shape(images)[0], self.num_streams
        snr_db = tf.broadcast_to(tf.reshape(tf.cast(snr_db, tf.float32), [-1]), [batch])
        q = tf.broadcast_to(tf.reshape(tf.cast(q, tf.float32), [-1]), [batch])
        no = snrdb2no(snr_db)
        f = self.proxy.encode(images, snr_db, q)  # [b, h, w, 2c]
        shape = tf.shape(f)
        bits = tf.reshape(tf.sigmoid(f), [batch, -1])
        if f.shape[1] is not None and f.shape[1] * f.shape[2] * f.shape[3] % (2 * ns):
            raise ValueError(f"the latent {tuple(f.shape[1:])} must hold a multiple of "
                             f"{2 * ns} bits (QPSK on {ns} streams)")
        s = tf.transpose(tf.reshape(self.mapper(bits), [batch, -1, ns]), [0, 2, 1])
        h, h_hat = self.channel.generate(batch)
        x_p, p, u2, z = pcen_precode(self.pcen, self.precoder, s, h_hat, no, self.combiner)
        y = self.channel.apply(_pen_straight_through(z, x_p, u2, h_hat), no, h)
        s_hat, no_var = pcen_receive(y, x_p, p, u2, z, h_hat, no)
        est = s_hat / tf.complex(1.0 + no_var, 0.0)[..., None]  # LMMSE, unit-power QPSK
        est = tf.transpose(est, [0, 2, 1])  # [b, S, ns]: symbol k = S-index * ns + stream
        reals = tf.stack([tf.math.real(est), tf.math.imag(est)], axis=-1)  # bits 2k, 2k + 1
        return self.proxy.decode(math.sqrt(2.0) * tf.reshape(reals, shape), snr_db, q)

    @property
    def trainable_proxy_weights(self) -> list:
        """The weights ProxyNet trains: the proxy's (PCEN is the chain's, frozen)."""
        return self.proxy.trainable_weights

    def compute_output_shape(self, images_shape, *args, **kwargs):
        return images_shape

    def get_config(self):
        ser = keras.saving.serialize_keras_object
        return {**super().get_config(), "proxy": ser(self.proxy), "pcen": ser(self.pcen),
                "channel": ser(self.channel), "combiner": self.combiner,
                "power_allocation": self.power_allocation}
