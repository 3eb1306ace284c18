"""Analog DeepJSCC baseline (Bourtsoulatze et al. 2019) with the Split DeepJSCC backbone.

S1 compares Split DeepJSCC with DeepJSCC using "the same architecture ... as the source
mapper and demapper depicted in Fig. 4, with adjustments made to the number of channels
in the last convolutional layer of the encoder to maintain consistency in the number of
channel uses". The encoder is therefore :class:`~sem_sionna.nets.split.SourceMapper`'s
backbone and head sized to ``2K`` reals, paired into ``K`` complex symbols and power
normalised (S1 eq. (13)); the decoder mirrors :class:`~sem_sionna.nets.split.SourceDemapper`::

    x --AnalysisTransform--> head (2K reals) --pairs--> complex --power norm--> z in C^K
    y --(Re, Im)--> inverse head --> SynthesisTransform --> x_hat in (0, 1)

With ``snr_adaptive=True`` both sides take ``snr_db`` and insert ADJSCC attention-feature
modules (:class:`~sem_sionna.nets.feature_attention.SNRFeatureAttention`, Xu et al. 2021) after every
stage, so one model serves a range of SNRs.
"""
from __future__ import annotations

import keras

from sem_sionna.nets.transforms import PowerNormalization, complex_to_real, real_to_complex
from sem_sionna.nets.split import _ImageToVector, _SymbolsIn, _VectorToImage
from sem_sionna.utils.checks import check_complex, check_positive_int, check_real

__all__ = ["DeepJSCCEncoder", "DeepJSCCDecoder"]


@keras.saving.register_keras_serializable(package="sem_sionna")
class DeepJSCCEncoder(_ImageToVector):
    """DeepJSCC encoder: image -> ``K`` complex channel symbols with unit average power.

    Parameters
    ----------
    num_symbols : int -- ``K`` complex channel uses (CBR = K / (H W 3); 128 for 1/24 at 32x32).
    filters : int, default 64 -- backbone channels.
    num_downsamples : int, default 2 -- stride-2 stages.
    head : "dense" or "conv", default "conv" -- "conv" needs ``2K`` to be a multiple of
        the number of latent positions (64 at 32x32); "dense" works for any ``K``.
    latent_filters : int, default 16 -- feature maps flattened by the dense head.
    use_gdn : bool, default True -- GDN in the strided residual blocks.
    snr_adaptive : bool, default False -- ADJSCC conditioning on ``snr_db``.
    power : float, default 1.0 -- average power per complex symbol.

    Input
    -----
    images : [batch, H, W, 3], tf.float32 -- images in [0, 1].
    snr_db : scalar or [batch], tf.float32, only when ``snr_adaptive`` -- SNR in dB.

    Output
    ------
    z : [batch, K], tf.complex64 -- ``mean |z_k|^2 = power`` per example.
    """

    def __init__(self, num_symbols: int, filters: int = 64, num_downsamples: int = 2,
                 head: str = "conv", latent_filters: int = 16, use_gdn: bool = True,
                 snr_adaptive: bool = False, power: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.num_symbols = check_positive_int(num_symbols, "num_symbols")
        self._init_encoder(2 * self.num_symbols, filters, num_downsamples, head,
                           latent_filters, use_gdn, snr_adaptive)
        self.power = float(power)
        self.norm = PowerNormalization(self.power)

    def build(self, images_shape, snr_db_shape=None):
        self._build_head(images_shape, "2 * num_symbols")
        self._trace(images_shape, snr_db_shape)
        self.built = True

    def call(self, images, snr_db=None):
        check_real(images, "images")
        return self.norm(real_to_complex(self._encode(images, snr_db)))

    def get_config(self):
        return {**super().get_config(), "num_symbols": self.num_symbols, "filters": self.filters,
                "num_downsamples": self.num_downsamples, "head": self.head,
                "latent_filters": self.latent_filters, "use_gdn": self.use_gdn,
                "snr_adaptive": self.snr_adaptive, "power": self.power}


@keras.saving.register_keras_serializable(package="sem_sionna")
class DeepJSCCDecoder(_SymbolsIn, _VectorToImage):
    """DeepJSCC decoder: ``K`` received complex symbols -> image.

    Parameters
    ----------
    num_symbols : int -- ``K``.
    image_size : int or (H, W), default (32, 32) -- output size.
    filters : int, default 64 -- backbone channels.
    num_upsamples : int, default 2 -- x2 up-samplings.
    head : "dense" or "conv", default "conv" -- as for :class:`DeepJSCCEncoder`.
    latent_filters : int, default 16 -- feature maps produced by the dense head.
    use_gdn : bool, default True -- inverse GDN in the up-sampling blocks.
    snr_adaptive : bool, default False -- ADJSCC conditioning on ``snr_db``.

    Input
    -----
    y : [batch, K], tf.complex64 -- received symbols.
    snr_db : scalar or [batch], tf.float32, only when ``snr_adaptive`` -- SNR in dB.

    Output
    ------
    images : [batch, H, W, 3], tf.float32 -- reconstruction in (0, 1).
    """

    def __init__(self, num_symbols: int, image_size=(32, 32), filters: int = 64,
                 num_upsamples: int = 2, head: str = "conv", latent_filters: int = 16,
                 use_gdn: bool = True, snr_adaptive: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.num_symbols = check_positive_int(num_symbols, "num_symbols")
        self._init_decoder(2 * self.num_symbols, image_size, filters, num_upsamples, head,
                           latent_filters, use_gdn, snr_adaptive)

    def call(self, y, snr_db=None):
        check_complex(y, "y")
        return self._decode(complex_to_real(y), snr_db)

    def get_config(self):
        return {**super().get_config(), "num_symbols": self.num_symbols,
                "image_size": list(self.image_size), "filters": self.filters,
                "num_upsamples": self.num_upsamples, "head": self.head,
                "latent_filters": self.latent_filters, "use_gdn": self.use_gdn,
                "snr_adaptive": self.snr_adaptive}
