"""Learned blocks: mappers, interfaces, importance networks, PPEN, PCEN, proxy, task networks."""
from sem_sionna.nets.deform import DeformableConv2D, bilinear_sample
from sem_sionna.nets.pcen import (CEN, PCEN, PEN, constellation_points, optimal_combiner,
                                  pcen_loss, precoding_matrix, project_to_constellation,
                                  soft_project_to_constellation, unprecode)
from sem_sionna.nets.ppen import PPEN, SCSC_Q_VALUES, DACBlock, QuantizationAdaptive, StripPooling
from sem_sionna.nets.proxy import ProxyNetwork, proxy_loss, straight_through_chain
from sem_sionna.nets.segnet import SegNet

__all__ = [
    "CEN",
    "DACBlock",
    "DeformableConv2D",
    "PCEN",
    "PEN",
    "PPEN",
    "ProxyNetwork",
    "QuantizationAdaptive",
    "SCSC_Q_VALUES",
    "SegNet",
    "StripPooling",
    "bilinear_sample",
    "constellation_points",
    "optimal_combiner",
    "pcen_loss",
    "precoding_matrix",
    "project_to_constellation",
    "proxy_loss",
    "soft_project_to_constellation",
    "straight_through_chain",
    "unprecode",
]
