"""Keras 3 layers around Sionna's physical-layer blocks (the ``sem_sionna.phy`` contract)."""
from sem_sionna.phy.channel import AWGN, BSC
from sem_sionna.phy.ldpc import LDPCDecoder, LDPCEncoder
from sem_sionna.phy.mapping import QAMDemapper, QAMMapper
from sem_sionna.phy.transport import TBDecoder, TBEncoder, transport_block_size
from sem_sionna.phy.utils import ebnodb2no, snrdb2no

__all__ = [
    "AWGN",
    "BSC",
    "LDPCDecoder",
    "LDPCEncoder",
    "QAMDemapper",
    "QAMMapper",
    "TBDecoder",
    "TBEncoder",
    "ebnodb2no",
    "snrdb2no",
    "transport_block_size",
]
