"""Whole chains as Keras layers/models, composed from ``phy`` and ``nets`` layers."""
from sem_sionna.links.capacity import CAPACITY_CHANNELS, CapacityBound, capacity_bits
from sem_sionna.links.digital import DigitalLink
from sem_sionna.links.oracle import DEFAULT_MCS, ORACLE_METRICS, DigitalOracle
from sem_sionna.links.sdjscc import SDJSCCLink
from sem_sionna.links.split import DeepJSCC, LearnedInterfaceJSCC, SplitJSCC, interface_ber
from sem_sionna.links.transport_chain import CHANNELS, TransportChain

__all__ = [
    "CAPACITY_CHANNELS",
    "CHANNELS",
    "CapacityBound",
    "DEFAULT_MCS",
    "DeepJSCC",
    "DigitalLink",
    "DigitalOracle",
    "LearnedInterfaceJSCC",
    "ORACLE_METRICS",
    "SDJSCCLink",
    "SplitJSCC",
    "TransportChain",
    "capacity_bits",
    "interface_ber",
]
