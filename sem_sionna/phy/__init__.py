"""Keras 3 layers around Sionna's physical-layer blocks (the ``sem_sionna.phy`` contract)."""
from sem_sionna.phy.allocation import (ALLOCATION_SCHEMES, allocate_features, apply_assignment,
                                       eigen_gains, importance_weights, invert_assignment,
                                       mmse_power, subchannel_matching, weighted_mse,
                                       wmmse_power)
from sem_sionna.phy.channel import AWGN, BSC
from sem_sionna.phy.ldpc import LDPCDecoder, LDPCEncoder
from sem_sionna.phy.mapping import QAMDemapper, QAMMapper
from sem_sionna.phy.mimo import MIMO_MODELS, MIMOChannel
from sem_sionna.phy.power import (POWER_ALLOCATIONS, equal_power, get_power_allocation,
                                  water_filling)
from sem_sionna.phy.precoding import NO_EFF_MAX, SVDCombiner, SVDPrecoder
from sem_sionna.phy.transport import TBDecoder, TBEncoder, transport_block_size
from sem_sionna.phy.snr import ebnodb2no, no2snrdb, snrdb2no

__all__ = [
    "ALLOCATION_SCHEMES",
    "AWGN",
    "BSC",
    "LDPCDecoder",
    "LDPCEncoder",
    "MIMOChannel",
    "MIMO_MODELS",
    "NO_EFF_MAX",
    "POWER_ALLOCATIONS",
    "SVDCombiner",
    "SVDPrecoder",
    "QAMDemapper",
    "QAMMapper",
    "TBDecoder",
    "TBEncoder",
    "allocate_features",
    "apply_assignment",
    "ebnodb2no",
    "eigen_gains",
    "equal_power",
    "get_power_allocation",
    "importance_weights",
    "invert_assignment",
    "mmse_power",
    "subchannel_matching",
    "snrdb2no",
    "no2snrdb",
    "transport_block_size",
    "water_filling",
    "weighted_mse",
    "wmmse_power",
]
