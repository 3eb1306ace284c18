"""Whole chains as Keras layers/models, composed from ``phy`` and ``nets`` layers."""
from sem_sionna.links.capacity import CAPACITY_CHANNELS, CapacityBound, capacity_bits
from sem_sionna.links.digital import DigitalLink
from sem_sionna.links.mimo_jscc import MIMOJSCC, mimo_jscc_cbr
from sem_sionna.links.proxynet import ProxyNetMIMO
from sem_sionna.links.oracle import DEFAULT_MCS, ORACLE_METRICS, DigitalOracle
from sem_sionna.links.pcen_phy import COMBINERS, pcen_precode, pcen_receive
from sem_sionna.links.scsc import (SCSC, FixedQualityLink, PCENTransport,
                                   channel_uses_for_payload, encode_at_quality)
from sem_sionna.links.sdjscc import SDJSCCLink
from sem_sionna.links.split import DeepJSCC, LearnedInterfaceJSCC, SplitJSCC, interface_ber
from sem_sionna.links.transport_chain import CHANNELS, TransportChain

__all__ = [
    "CAPACITY_CHANNELS",
    "CHANNELS",
    "COMBINERS",
    "CapacityBound",
    "DEFAULT_MCS",
    "DeepJSCC",
    "DigitalLink",
    "DigitalOracle",
    "FixedQualityLink",
    "LearnedInterfaceJSCC",
    "MIMOJSCC",
    "ORACLE_METRICS",
    "PCENTransport",
    "ProxyNetMIMO",
    "SCSC",
    "SDJSCCLink",
    "SplitJSCC",
    "TransportChain",
    "capacity_bits",
    "channel_uses_for_payload",
    "encode_at_quality",
    "interface_ber",
    "mimo_jscc_cbr",
    "pcen_precode",
    "pcen_receive",
]
