"""Learned blocks: mappers, interfaces, importance networks, PPEN, PCEN, proxy, task networks."""
from sem_sionna.nets.blocks import (GDN, AttentionBlock, DenseResidualBlock, ResidualBlock,
                                    ResidualBlockUpsample, ResidualBlockWithStride,
                                    ResidualUnit, SEBlock, SubpixelConv, TransformerBlock)
from sem_sionna.nets.feature_attention import SNRFeatureAttention
from sem_sionna.nets.transforms import (AnalysisTransform, PowerNormalization,
                                        SynthesisTransform, complex_to_real, real_to_complex)
from sem_sionna.nets.ciba import (PERTURBATION_MODES, LatentClassifier, NoisePredictor, ciba_loss,
                                  ciba_task_loss, importance_score,
                                  perturb_features)
from sem_sionna.nets.classifier import SceneClassifier, predict_labels
from sem_sionna.nets.deepjscc import DeepJSCCDecoder, DeepJSCCEncoder
from sem_sionna.nets.deform import DeformableConv2D, bilinear_sample
from sem_sionna.nets.importance import (ImportanceChannelDemapper, ImportanceChannelMapper,
                                        SNRModulation)
from sem_sionna.nets.interface import LearnedBSCInterface, MultiLevelBSC, multilevel_eps
from sem_sionna.nets.pcen import (CEN, PCEN, PEN, constellation_points, optimal_combiner,
                                  pcen_loss, precoding_matrix, project_to_constellation,
                                  soft_project_to_constellation, unprecode)
from sem_sionna.nets.ppen import PPEN, SCSC_Q_VALUES, DACBlock, QuantizationAdaptive, StripPooling
from sem_sionna.nets.proxy import ProxyNetwork, proxy_loss, straight_through_chain
from sem_sionna.nets.sdjscc import (BinaryQuantizer, SDJSCCDecoder, SDJSCCEncoder,
                                    gradient_importance, semantic_loss, semantic_map,
                                    semantic_weights, uniform_weights)
from sem_sionna.nets.segnet import SegNet
from sem_sionna.nets.split import ChannelDemapper, ChannelMapper, SourceDemapper, SourceMapper
from sem_sionna.nets.swin import SwinSourceDemapper, SwinSourceMapper, SwinStage
from sem_sionna.nets.vae import VAE, VAEDecoder, VAEEncoder, kl_divergence

__all__ = [
    "AnalysisTransform",
    "AttentionBlock",
    "BinaryQuantizer",
    "CEN",
    "ChannelDemapper",
    "ChannelMapper",
    "DACBlock",
    "DeepJSCCDecoder",
    "DeepJSCCEncoder",
    "DeformableConv2D",
    "DenseResidualBlock",
    "GDN",
    "ImportanceChannelDemapper",
    "ImportanceChannelMapper",
    "LearnedBSCInterface",
    "MultiLevelBSC",
    "LatentClassifier",
    "NoisePredictor",
    "PCEN",
    "PEN",
    "PERTURBATION_MODES",
    "PPEN",
    "PowerNormalization",
    "ProxyNetwork",
    "QuantizationAdaptive",
    "ResidualBlock",
    "ResidualBlockUpsample",
    "ResidualBlockWithStride",
    "ResidualUnit",
    "SCSC_Q_VALUES",
    "SDJSCCDecoder",
    "SDJSCCEncoder",
    "SEBlock",
    "SNRFeatureAttention",
    "SNRModulation",
    "SceneClassifier",
    "SegNet",
    "SourceDemapper",
    "SourceMapper",
    "StripPooling",
    "SubpixelConv",
    "SwinSourceDemapper",
    "SwinSourceMapper",
    "SwinStage",
    "SynthesisTransform",
    "TransformerBlock",
    "VAE",
    "VAEDecoder",
    "VAEEncoder",
    "bilinear_sample",
    "ciba_loss",
    "ciba_task_loss",
    "complex_to_real",
    "constellation_points",
    "gradient_importance",
    "importance_score",
    "kl_divergence",
    "multilevel_eps",
    "optimal_combiner",
    "pcen_loss",
    "perturb_features",
    "precoding_matrix",
    "predict_labels",
    "project_to_constellation",
    "proxy_loss",
    "real_to_complex",
    "semantic_loss",
    "semantic_map",
    "semantic_weights",
    "soft_project_to_constellation",
    "straight_through_chain",
    "uniform_weights",
    "unprecode",
]
