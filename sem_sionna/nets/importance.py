"""Importance-aware channel mapper and demapper of Kong & Zhang (S0, Sec. II-C, Fig. 4).

The learned interface (:class:`~sem_sionna.nets.interface.LearnedBSCInterface`) hands the
channel code one flip probability ``eps_n`` per bit; ``1 - 2 eps_n`` in (0, 1] is that
bit's importance (lower flip probability = more important). The Importance-Aware Net
(IAN) injects it into the features and the ChannelModNet of WITT (Yang et al.) adapts
them to the SNR::

    mapper:   bits --2b-1--> [T, D] tokens --IAN--> --Dense(E)+pos--> Transformer
              --SNRModulation(snr_db)--> flatten --Dense(2K)--> complex --power norm--> z
    demapper: y --(Re, Im)--> Dense(T*E) --> [T, E] --SNRModulation--> +pos --> Transformer
              --Dense(D)--> IAN --Dense(D)--> sigmoid --> P(bit = 1)

    IAN(x) = SE( x + trunk(x) * (1 - 2 eps) ),  trunk = residual units (interface attention)

The ``M`` bits are viewed as ``T = num_tokens`` tokens of ``D = M / T`` contiguous bits
(S0 lays its bits out as 8x8 positions x 96 channels; with the channel-major layout of
:class:`~sem_sionna.nets.split.SourceMapper`'s ``"conv"`` head and ``T`` = channels, a
token is one channel over all positions). ``interface_attention`` / ``se_block`` switch
the two halves of the IAN off for S0's ablation (Fig. 7).
"""
from __future__ import annotations

import keras
import tensorflow as tf

from sem_sionna.nets.blocks import ResidualUnit, SEBlock, TransformerBlock, _TracedBuild
from sem_sionna.nets.feature_attention import _snr_column
from sem_sionna.nets.transforms import (PowerNormalization, _check_vector_shape,
                                        complex_to_real, real_to_complex)
from sem_sionna.utils.checks import check_complex, check_positive_int, check_real

__all__ = ["SNRModulation", "ImportanceChannelMapper", "ImportanceChannelDemapper"]


@keras.saving.register_keras_serializable(package="sem_sionna")
class SNRModulation(_TracedBuild):
    """SNR-adaptive feature modulation (ChannelModNet of WITT, used by S0).

    ``t = Dense_1(x) * bm_1(snr)``; ``t = Dense_i(t) * bm_i(snr)`` for ``i = 2..L``;
    ``y = x * sigmoid(Dense_out(t))``, where each ``bm_i`` is an MLP
    ``snr_db/10 -> h -> h -> h`` (ReLU, ReLU, sigmoid) giving a per-channel scaling.

    Parameters
    ----------
    hidden_units : int or None -- width ``h`` (default ``1.5 x`` the feature width).
    num_layers : int, default 7 -- modulated layers ``L`` (WITT / S0 use 7).

    Input
    -----
    x : [batch, ..., C], tf.float32 -- features.
    snr_db : scalar, [batch] or [batch, 1], tf.float32 -- SNR in dB.

    Output
    ------
    y : [batch, ..., C], tf.float32 -- features scaled per channel by a factor in (0, 1).
    """

    def __init__(self, hidden_units: int | None = None, num_layers: int = 7, **kwargs):
        super().__init__(**kwargs)
        self.hidden_units = None if hidden_units is None else \
            check_positive_int(hidden_units, "hidden_units")
        self.num_layers = check_positive_int(num_layers, "num_layers")
        self.linears = []
        self.modulators = []
        self.out = None

    def build(self, x_shape, snr_db_shape=()):
        c = x_shape[-1]
        if c is None:
            raise ValueError(f"last dimension of `x` must be known, got shape {tuple(x_shape)}")
        h = self.hidden_units or int(round(1.5 * c))
        for _ in range(self.num_layers):
            self.linears.append(keras.layers.Dense(h))
            self.modulators.append([keras.layers.Dense(h, activation="relu"),
                                    keras.layers.Dense(h, activation="relu"),
                                    keras.layers.Dense(h, activation="sigmoid")])
        self.out = keras.layers.Dense(int(c), activation="sigmoid")
        self._trace(x_shape, snr_db_shape)
        self.built = True

    def call(self, x, snr_db):
        s = _snr_column(snr_db, x) / 10.0
        t = x
        for linear, mlp in zip(self.linears, self.modulators):
            m = s
            for dense in mlp:
                m = dense(m)
            for _ in range(len(x.shape) - 2):
                m = tf.expand_dims(m, 1)
            t = linear(t) * m
        return x * self.out(t)

    def get_config(self):
        return {**super().get_config(), "hidden_units": self.hidden_units,
                "num_layers": self.num_layers}


class _ImportanceBase(_TracedBuild):
    """Shared constructor arguments and the IAN of S0 Fig. 4b."""

    def _init_common(self, num_bits, num_symbols, num_tokens, embed_dim, num_transformer_blocks,
                     num_heads, num_res_units, modulation_layers, interface_attention,
                     se_block, se_reduction):
        self.num_bits = check_positive_int(num_bits, "num_bits")
        self.num_symbols = check_positive_int(num_symbols, "num_symbols")
        self.num_tokens = check_positive_int(num_tokens, "num_tokens")
        if self.num_bits % self.num_tokens:
            raise ValueError(f"`num_bits` ({self.num_bits}) must be a multiple of `num_tokens` "
                             f"({self.num_tokens})")
        self.embed_dim = check_positive_int(embed_dim, "embed_dim")
        self.num_transformer_blocks = check_positive_int(
            num_transformer_blocks, "num_transformer_blocks", minimum=0)
        self.num_heads = check_positive_int(num_heads, "num_heads")
        self.num_res_units = check_positive_int(num_res_units, "num_res_units")
        self.modulation_layers = check_positive_int(modulation_layers, "modulation_layers")
        self.interface_attention = bool(interface_attention)
        self.se_block = bool(se_block)
        self.se_reduction = check_positive_int(se_reduction, "se_reduction")
        self._d = self.num_bits // self.num_tokens
        self.trunk = [ResidualUnit(self._d, rank=1) for _ in range(self.num_res_units)] \
            if self.interface_attention else []
        self.se = SEBlock(self.se_reduction) if self.se_block else None
        self.transformer = [TransformerBlock(self.num_heads)
                            for _ in range(self.num_transformer_blocks)]
        self.modulation = SNRModulation(num_layers=self.modulation_layers)
        self.pos_embed = self.add_weight(
            name="pos_embed", shape=(self.num_tokens, self.embed_dim),
            initializer=keras.initializers.RandomNormal(stddev=0.02))

    def _importance_tokens(self, eps, like):
        imp = 1.0 - 2.0 * tf.cast(eps, tf.float32)
        imp = tf.broadcast_to(tf.reshape(imp, [-1, self.num_bits]), tf.shape(like))
        return tf.reshape(imp, [-1, self.num_tokens, self._d])

    def _ian(self, x, imp):
        if self.interface_attention:
            t = x
            for unit in self.trunk:
                t = unit(t)
            x = x + t * imp
        return self.se(x) if self.se is not None else x

    def _transform(self, x):
        x = x + self.pos_embed
        skip = x
        for block in self.transformer:
            x = block(x)
        return x + skip if self.transformer else x

    def _check_eps(self, eps):
        check_real(eps, "eps")
        if eps.shape[-1] is not None and eps.shape[-1] != self.num_bits:
            raise ValueError(f"last dimension of `eps` must be num_bits={self.num_bits}, "
                             f"got shape {tuple(eps.shape)}")

    def _common_config(self):
        return {"num_bits": self.num_bits, "num_symbols": self.num_symbols,
                "num_tokens": self.num_tokens, "embed_dim": self.embed_dim,
                "num_transformer_blocks": self.num_transformer_blocks,
                "num_heads": self.num_heads, "num_res_units": self.num_res_units,
                "modulation_layers": self.modulation_layers,
                "interface_attention": self.interface_attention, "se_block": self.se_block,
                "se_reduction": self.se_reduction}


@keras.saving.register_keras_serializable(package="sem_sionna")
class ImportanceChannelMapper(_ImportanceBase):
    """Importance-aware channel mapper of S0: ``M`` bits + importance + SNR -> ``K`` symbols.

    Parameters
    ----------
    num_bits : int -- ``M``.
    num_symbols : int -- ``K`` complex channel uses.
    num_tokens : int, default 64 -- ``T``; ``M`` must be a multiple (``D = M / T`` bits each).
    embed_dim : int, default 128 -- token width ``E`` of the Transformer.
    num_transformer_blocks : int, default 2 -- Transformer blocks (0 = none).
    num_heads : int, default 4 -- attention heads.
    num_res_units : int, default 3 -- residual units of the interface-attention trunk.
    modulation_layers : int, default 7 -- layers of the SNR modulation.
    interface_attention : bool, default True -- use ``1 - 2 eps`` (S0's IAttn).
    se_block : bool, default True -- squeeze-and-excitation after the interface attention.
    se_reduction : int, default 4 -- SE bottleneck ratio.
    power : float, default 1.0 -- average power per complex symbol.

    Input
    -----
    bits : [batch, M], tf.float32 -- bits in {0, 1}.
    eps : [M] or [batch, M], tf.float32 -- interface flip probabilities in [0, 0.5].
    snr_db : scalar or [batch], tf.float32 -- SNR in dB.

    Output
    ------
    z : [batch, K], tf.complex64 -- symbols with ``mean |z_k|^2 = power`` per example.
    """

    def __init__(self, num_bits: int, num_symbols: int, num_tokens: int = 64,
                 embed_dim: int = 128, num_transformer_blocks: int = 2, num_heads: int = 4,
                 num_res_units: int = 3, modulation_layers: int = 7,
                 interface_attention: bool = True, se_block: bool = True, se_reduction: int = 4,
                 power: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self._init_common(num_bits, num_symbols, num_tokens, embed_dim, num_transformer_blocks,
                          num_heads, num_res_units, modulation_layers, interface_attention,
                          se_block, se_reduction)
        self.power = float(power)
        self.embed = keras.layers.Dense(self.embed_dim)
        self.out = keras.layers.Dense(2 * self.num_symbols)
        self.norm = PowerNormalization(self.power)

    def build(self, bits_shape, eps_shape, snr_db_shape=()):
        _check_vector_shape(bits_shape, self.num_bits, "bits", "num_bits")
        self._trace(bits_shape, eps_shape, snr_db_shape)
        self.built = True

    def call(self, bits, eps, snr_db):
        check_real(bits, "bits")
        self._check_eps(eps)
        x = tf.reshape(2.0 * bits - 1.0, [-1, self.num_tokens, self._d])
        x = self._ian(x, self._importance_tokens(eps, bits))
        x = self._transform(self.embed(x))
        x = self.modulation(x, snr_db)
        x = tf.reshape(x, [-1, self.num_tokens * self.embed_dim])
        return self.norm(real_to_complex(self.out(x)))

    def get_config(self):
        return {**super().get_config(), **self._common_config(), "power": self.power}


@keras.saving.register_keras_serializable(package="sem_sionna")
class ImportanceChannelDemapper(_ImportanceBase):
    """Importance-aware channel demapper of S0: ``K`` symbols + importance + SNR -> ``M`` bit
    probabilities (Bernoulli parameters; round them for hard decisions).

    Parameters
    ----------
    num_symbols : int -- ``K`` complex channel uses.
    num_bits : int -- ``M``.
    num_tokens ... se_reduction -- the token, Transformer, IAN and SE arguments of
        :class:`ImportanceChannelMapper`, with its defaults; give both the same values.

    Input
    -----
    y : [batch, K], tf.complex64 -- received (equalised) symbols.
    eps : [M] or [batch, M], tf.float32 -- interface flip probabilities in [0, 0.5].
    snr_db : scalar or [batch], tf.float32 -- SNR in dB.

    Output
    ------
    probs : [batch, M], tf.float32 -- P(bit = 1) in (0, 1).
    """

    def __init__(self, num_symbols: int, num_bits: int, num_tokens: int = 64,
                 embed_dim: int = 128, num_transformer_blocks: int = 2, num_heads: int = 4,
                 num_res_units: int = 3, modulation_layers: int = 7,
                 interface_attention: bool = True, se_block: bool = True, se_reduction: int = 4,
                 **kwargs):
        super().__init__(**kwargs)
        self._init_common(num_bits, num_symbols, num_tokens, embed_dim, num_transformer_blocks,
                          num_heads, num_res_units, modulation_layers, interface_attention,
                          se_block, se_reduction)
        self.head = keras.layers.Dense(self.num_tokens * self.embed_dim)
        self.tail = keras.layers.Dense(self._d)
        self.logits = keras.layers.Dense(self._d)

    def build(self, y_shape, eps_shape, snr_db_shape=()):
        _check_vector_shape(y_shape, self.num_symbols, "y", "num_symbols")
        self._trace(y_shape, eps_shape, snr_db_shape, dtypes=("complex64", "float32", "float32"))
        self.built = True

    def call(self, y, eps, snr_db):
        check_complex(y, "y")
        self._check_eps(eps)
        x = tf.reshape(self.head(complex_to_real(y)), [-1, self.num_tokens, self.embed_dim])
        x = self._transform(self.modulation(x, snr_db))
        x = self.tail(x)
        like = tf.zeros(tf.stack([tf.shape(y)[0], self.num_bits]))
        x = self._ian(x, self._importance_tokens(eps, like))
        return tf.reshape(tf.sigmoid(self.logits(x)), [-1, self.num_bits])

    def get_config(self):
        return {**super().get_config(), **self._common_config()}
