"""Learned image links of S1 (Split DeepJSCC), S0 (learned bit-importance interface) and DeepJSCC.

Each link holds its ``nets`` layers and wires them in ``call``; the sweep API splits
the source part, computed once per image batch (:meth:`encode`), from the channel part,
run per SNR (:meth:`reconstruct`)::

    SplitJSCC (Tung et al.):
      x -f-> p -round-> u -h-> z -SISOChannel-> z_hat -q-> round -> v -g-> x_hat
    LearnedInterfaceJSCC (Kong & Zhang):
      x -f-> p -round-> u -h(u, eps, snr)-> z -SISOChannel-> z_hat -q(., eps, snr)-> v -g-> x_hat
    DeepJSCC (Bourtsoulatze et al.):
      x -E-> z -SISOChannel-> z_hat -D-> x_hat
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from sem_sionna.links.analog import SISOChannel
from sem_sionna.phy.snr import no2snrdb, snrdb2no

__all__ = ["SplitJSCC", "LearnedInterfaceJSCC", "DeepJSCC", "interface_ber"]


def _snr_eff_db(no_eff):
    return no2snrdb(tf.maximum(no_eff, 1e-12))


def _layer(obj):
    """A layer, or one deserialised from its config (``from_config``)."""
    return keras.saving.deserialize_keras_object(obj) if isinstance(obj, dict) else obj


class _ImageLink(keras.Model):
    """Shared sweep plumbing: channels by name, compiled per-SNR reconstruction.

    Sub-layers are constructor arguments; ``get_config`` serialises them, so a link
    saves to ``.keras`` and loads back with its weights.
    """

    _parts: tuple[str, ...] = ()

    def __init__(self, seed: int | None = None, jit_compile: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.jit_compile = bool(jit_compile)
        self.channels = {m: SISOChannel(m, seed=seed) for m in ("awgn", "rayleigh")}
        self._compiled = {}

    def _channel_fn(self, channel: str):
        if channel not in self._compiled:
            if channel not in self.channels:
                raise ValueError(f"`channel` must be one of {tuple(self.channels)}, got "
                                 f"{channel!r}")
            self._compiled[channel] = tf.function(
                lambda state, no: self._transmit(state, no, self.channels[channel]),
                jit_compile=self.jit_compile)
        return self._compiled[channel]

    def reconstruct(self, state: dict, snr_db: float, channel: str = "awgn"):
        """Channel part for one SNR: ``(x_hat [b,H,W,3] np, info dict of np arrays)``."""
        no = tf.fill([state["n"]], float(snrdb2no(float(snr_db))))
        tensors = {k: v for k, v in state.items() if k != "n"}
        out = self._channel_fn(channel)(tensors, no)
        out = {k: v.numpy() for k, v in out.items()}
        return out.pop("x_hat"), out

    def __call__(self, images, snr_db, **kwargs):
        if not keras.ops.is_tensor(snr_db):
            snr_db = tf.constant(snr_db, tf.float32)
        return super().__call__(images, snr_db, **kwargs)

    def call(self, images, snr_db, channel: str = "awgn"):
        state = self._encode(images)
        no = snrdb2no(tf.cast(snr_db, tf.float32))
        no = tf.broadcast_to(no, tf.shape(images)[:1])
        return self._transmit(state, no, self.channels[channel])["x_hat"]

    def get_config(self):
        parts = {name: keras.saving.serialize_keras_object(getattr(self, name))
                 for name in self._parts}
        return {**super().get_config(), **parts, "seed": self.seed,
                "jit_compile": self.jit_compile}

    def build(self, images_shape, snr_db_shape=None):
        # parts are built when called; a reload builds them by running one batch
        self.call(tf.zeros([1, *images_shape[1:]]), tf.zeros([1]))
        self.built = True

    def encode(self, images) -> dict:
        """Source part, once per image batch (NumPy in, tensors out)."""
        images = tf.convert_to_tensor(images, tf.float32)
        state = self._encode(images)
        state["n"] = int(images.shape[0])
        return state


class _BitLink(_ImageLink):
    """Source bits ``u = round(f(x))`` once; channel mapper/demapper per SNR."""

    _parts = ("source_mapper", "source_demapper", "channel_mapper", "channel_demapper")

    def __init__(self, source_mapper, source_demapper, channel_mapper, channel_demapper,
                 **kwargs):
        super().__init__(**kwargs)
        self.source_mapper = _layer(source_mapper)
        self.source_demapper = _layer(source_demapper)
        self.channel_mapper = _layer(channel_mapper)
        self.channel_demapper = _layer(channel_demapper)

    def _encode(self, images):
        return {"bits": tf.round(self.source_mapper(images))}

    def _transmit(self, state, no, channel):
        u = state["bits"]
        z = self._map(u, no)
        z_hat, no_eff = channel(z, no)
        v = tf.round(self._demap(z_hat, no_eff))
        return {"x_hat": self.source_demapper(v), "bits": u, "bits_hat": v}

    def source_only(self, images):
        """Reconstruction from error-free source bits (the interface-free upper bound)."""
        return self.source_demapper(tf.round(self.source_mapper(images)))


@keras.saving.register_keras_serializable(package="sem_sionna")
class SplitJSCC(_BitLink):
    """Split DeepJSCC (S1): source code over a multi-level interface, learned channel code.

    Parameters
    ----------
    source_mapper, source_demapper : nets.SourceMapper / nets.SourceDemapper (stage 1).
    channel_mapper, channel_demapper : nets.ChannelMapper / nets.ChannelDemapper (stage 2);
        SNR-adaptive ones get the effective SNR after equalisation.
    seed : int or None -- channel noise and fading.
    jit_compile : bool -- compile the per-SNR channel part with XLA.

    Input
    -----
    images : [batch, H, W, 3], tf.float32 -- in [0, 1].
    snr_db : scalar or [batch], tf.float32 -- SNR in dB (``no = 10^(-snr_db/10)``).
    channel : "awgn" or "rayleigh", default "awgn" -- Rayleigh: block fading, one
        coefficient per image, perfect CSI at the receiver.

    Output
    ------
    x_hat : [batch, H, W, 3], tf.float32 -- reconstructions.

    Note
    ----
    Sweep API: ``encode(images)`` once per image batch, then
    ``reconstruct(state, snr_db, channel)`` per SNR returns ``(x_hat, info)`` as NumPy,
    ``info["bits"]`` / ``info["bits_hat"]`` the sent and received bits ``[batch, M]``.
    """

    def _map(self, u, no):
        if self.channel_mapper.snr_adaptive:
            return self.channel_mapper(u, _snr_eff_db(no))
        return self.channel_mapper(u)

    def _demap(self, z_hat, no_eff):
        if self.channel_demapper.snr_adaptive:
            return self.channel_demapper(z_hat, _snr_eff_db(no_eff))
        return self.channel_demapper(z_hat)


@keras.saving.register_keras_serializable(package="sem_sionna")
class LearnedInterfaceJSCC(_BitLink):
    """Learned bit-importance interface (S0): importance-aware channel mapper and demapper.

    Parameters
    ----------
    source_mapper, source_demapper : trained over ``interface`` (stage 1).
    interface : nets.LearnedBSCInterface -- its learned ``eps`` (bit importance ``1-2 eps``)
        conditions the channel mapper and demapper.
    channel_mapper, channel_demapper : nets.ImportanceChannelMapper / ...Demapper (stage 2).

    Input
    -----
    images, snr_db, channel : as :class:`SplitJSCC`.

    Output
    ------
    x_hat : [batch, H, W, 3], tf.float32 -- reconstructions; the sweep API is
    :class:`SplitJSCC`'s.
    """

    def __init__(self, source_mapper, source_demapper, interface, channel_mapper,
                 channel_demapper, **kwargs):
        super().__init__(source_mapper, source_demapper, channel_mapper, channel_demapper,
                         **kwargs)
        self.interface = _layer(interface)

    _parts = _BitLink._parts + ("interface",)

    def _map(self, u, no):
        return self.channel_mapper(u, self.interface.eps, _snr_eff_db(no))

    def _demap(self, z_hat, no_eff):
        return self.channel_demapper(z_hat, self.interface.eps, _snr_eff_db(no_eff))


@keras.saving.register_keras_serializable(package="sem_sionna")
class DeepJSCC(_ImageLink):
    """Analog DeepJSCC baseline: encoder -> K complex symbols -> channel -> decoder.

    Parameters
    ----------
    encoder, decoder : nets.DeepJSCCEncoder / nets.DeepJSCCDecoder (SNR-adaptive ones get
        the SNR at the transmitter and the effective SNR at the receiver).

    Input
    -----
    images, snr_db, channel : as :class:`SplitJSCC`.

    Output
    ------
    x_hat : [batch, H, W, 3], tf.float32 -- reconstructions.
    """

    _parts = ("encoder", "decoder")

    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder = _layer(encoder)
        self.decoder = _layer(decoder)

    def _encode(self, images):
        # the analog encoder depends on the SNR only when SNR-adaptive: keep images
        return {"images": images}

    def _transmit(self, state, no, channel):
        images = state["images"]
        snr = _snr_eff_db(no)
        z = self.encoder(images, snr) if self.encoder.snr_adaptive else self.encoder(images)
        z_hat, no_eff = channel(z, no)
        x_hat = (self.decoder(z_hat, _snr_eff_db(no_eff)) if self.decoder.snr_adaptive
                 else self.decoder(z_hat))
        return {"x_hat": x_hat}


def interface_ber(link: _BitLink, images, snr_db, num_levels: int, channel: str = "awgn"):
    """Empirical BER between ``u`` and ``v`` per reliability level (S1 Fig. 9).

    Input
    -----
    images : [n, H, W, 3] -- test images.
    snr_db : sequence of float -- SNRs in dB.

    Output
    ------
    ber : [len(snr_db), num_levels], np.float64 -- level 0 = the first ``M/N`` bits.
    """
    from sem_sionna.metrics import per_level_ber

    state = link.encode(images)
    rows = []
    for snr in snr_db:
        _, info = link.reconstruct(state, snr, channel)
        rows.append(np.asarray(per_level_ber(info["bits"], info["bits_hat"], num_levels)))
    return np.stack(rows)
