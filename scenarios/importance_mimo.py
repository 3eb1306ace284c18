"""S4: CIBA importance + WMMSE power allocation for VAE features over SVD MIMO (Cao et al.).

A VAE is trained on one-object procedural scenes (no channel); a CIBA noise
predictor, trained with the information-bottleneck objective for each ``beta``,
scores the importance of every latent feature. The features are sent as analog
symbols over the eigen-channels of a 4x4 Rayleigh MIMO channel with EPA, MMSE or
WMMSE power allocation, each with and without subchannel matching, and the decoded
images are scored by PSNR, MS-SSIM and a separately trained classifier. Steps and
outputs: :mod:`sem_sionna.experiments.importance_mimo`.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from sem_sionna import sweep
from sem_sionna.experiments import importance_mimo
from sem_sionna.experiments.importance_mimo import (CIBAConfig, ClassificationConfig,
                                                    ClassifierConfig, Config, VAEConfig)

QUICK = Config(
    image_size=32, num_classes=6, num_tx_ant=4, num_rx_ant=4,
    n_train=4096, n_val=1024, n_test=8192, eval_batch_size=1024, channel_draws=2,
    classifier=ClassifierConfig(width=12, depth=3, epochs=6, batch_size=64, lr=2e-3),
    vae=VAEConfig(latent_dim=32, filters=32, num_stages=3, epochs=20, batch_size=64, lr=2e-3,
                  kl_weight=0.1),
    ciba=CIBAConfig(units=64, epochs=8, batch_size=64, lr=2e-3),
    betas=(1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1),
    alphas=(0.0, 0.5, 1.0, 2.0, 4.0),
    search_snr_db=(-10.0, -5.0, 0.0, 5.0, 10.0, 15.0),
    thresholds=(0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0),
    perturb_snr_db=0.0, perturb_images=2048,
    snr_db=(-10.0, -5.0, 0.0, 5.0, 10.0, 15.0),
    classification=ClassificationConfig(units=64, epochs=8, batch_size=64, lr=2e-3,
                                        ciba_epochs=10),
)

PROFILES = {
    "smoke": dataclasses.replace(
        QUICK, n_train=256, n_val=64, n_test=64, eval_batch_size=64,
        classifier=ClassifierConfig(width=8, depth=2, epochs=1, batch_size=64, lr=2e-3),
        vae=VAEConfig(latent_dim=16, filters=8, num_stages=3, epochs=2, batch_size=64, lr=2e-3,
                      kl_weight=0.1),
        ciba=CIBAConfig(units=16, epochs=1, batch_size=64, lr=2e-3),
        betas=(1e-4, 1e-3, 1e-2), alphas=(0.0, 2.0, 4.0), search_snr_db=(0.0, 10.0),
        thresholds=(0.0, 1.0, 2.0), snr_db=(0.0, 10.0), channel_draws=2, perturb_images=32,
        classification=ClassificationConfig(units=16, epochs=1, batch_size=64, lr=2e-3,
                                            ciba_epochs=1)),
    "quick": QUICK,
    "paper": dataclasses.replace(
        QUICK, n_train=50000, n_val=2000, n_test=10000,
        classifier=ClassifierConfig(width=32, depth=3, epochs=30, batch_size=128, lr=1e-3),
        vae=VAEConfig(latent_dim=32, filters=64, num_stages=3, epochs=100, batch_size=128,
                      lr=1e-3, kl_weight=0.1),
        ciba=CIBAConfig(units=128, epochs=30, batch_size=128, lr=1e-3),
        betas=(1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1),
        alphas=(0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0),
        snr_db=(-10.0, -7.5, -5.0, -2.5, 0.0, 2.5, 5.0, 7.5, 10.0, 12.5, 15.0),
        search_snr_db=(-10.0, -7.5, -5.0, -2.5, 0.0, 2.5, 5.0, 7.5, 10.0, 12.5, 15.0),
        channel_draws=4,
        classification=ClassificationConfig(units=128, epochs=30, batch_size=128, lr=1e-3,
                                            ciba_epochs=30)),
}


def main(argv=None):
    args = sweep.parse_args(argv, name=importance_mimo.NAME, description=__doc__)
    args.script = Path(__file__).resolve()  # rerun per device by --devices
    importance_mimo.run(PROFILES[args.profile], args)


if __name__ == "__main__":
    main()
