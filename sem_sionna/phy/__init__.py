"""Keras 3 layers around Sionna's physical-layer blocks (the ``sem_sionna.phy`` contract)."""
from sem_sionna.phy.utils import ebnodb2no, snrdb2no

__all__ = ["ebnodb2no", "snrdb2no"]
