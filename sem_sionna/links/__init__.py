"""Whole chains as Keras layers/models, composed from ``phy`` and ``nets`` layers."""
from sem_sionna.links.digital import DigitalLink
from sem_sionna.links.transport_chain import CHANNELS, TransportChain

__all__ = ["CHANNELS", "DigitalLink", "TransportChain"]
