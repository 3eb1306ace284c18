"""sem_sionna: a differentiable link-level simulator for semantic communication.

Standard blocks (5G LDPC, QAM, AWGN, MIMO Rayleigh/3GPP channels, SVD precoding) are
Keras 3 layers built on Sionna 1.x that mix with learned blocks in one ``keras.Model``.
"""
import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
