"""S4: CIBA importance + WMMSE power allocation for VAE features over SVD MIMO (Cao et al.).

A VAE is trained on one-object procedural scenes (no channel); a CIBA noise
predictor, trained with the information-bottleneck objective for each ``beta``,
scores the importance of every latent feature (the AWGN capacity it needs). The
features are sent as analog symbols over the eigen-channels of a 4x4 Rayleigh
MIMO channel with EPA, MMSE or WMMSE power allocation, each with and without
subchannel matching (EPA-M, MMSE-M, WMMSE-M), and the decoded images are scored
by PSNR and by a separately trained classifier (the "evaluation model").

Steps: train (classifier, VAE, one predictor per beta) -> beta search on EPA-M
(validation) -> alpha search on WMMSE-M (validation) -> PHIF/PLIF validation
(test) -> the six schemes vs SNR (test). Outputs in ``--out``: ``metrics.csv``,
``run.json``, ``accuracy_vs_snr.png``, ``psnr_vs_snr.png``, ``ms_ssim_vs_snr.png``,
``beta_search.{csv,png}``, ``alpha_search.{csv,png}``, ``phif_plif.{csv,png}``,
``phif_plif_examples.png``.
"""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from sem_sionna import sweep
from sem_sionna.links import importance_mimo as s4

# quick is the reference; smoke and paper list only what differs from it
PROFILES = {
    "quick": {
        "image_size": 32, "num_classes": 6, "num_tx_ant": 4, "num_rx_ant": 4,
        "n_train": 4096, "n_val": 512, "n_test": 1024, "eval_batch_size": 256,
        "classifier": {"width": 16, "depth": 3, "epochs": 6, "batch_size": 64, "lr": 2e-3},
        "vae": {"latent_dim": 32, "filters": 32, "num_stages": 3, "epochs": 20,
                "batch_size": 64, "lr": 2e-3, "kl_weight": 0.1},
        "ciba": {"units": 64, "epochs": 6, "batch_size": 64, "lr": 2e-3},
        "betas": [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1],
        "alphas": [0.0, 0.5, 1.0, 2.0, 4.0],
        "search_snr_db": [-5.0, 5.0],
        "thresholds": [0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0],
        "perturb_snr_db": 0.0,
        "snr_db": [-10.0, -5.0, 0.0, 5.0, 10.0, 15.0],
    },
    "smoke": {
        "n_train": 256, "n_val": 64, "n_test": 64, "eval_batch_size": 64,
        "classifier": {"width": 8, "depth": 2, "epochs": 1, "batch_size": 64, "lr": 2e-3},
        "vae": {"latent_dim": 16, "filters": 8, "num_stages": 3, "epochs": 2,
                "batch_size": 64, "lr": 2e-3, "kl_weight": 0.1},
        "ciba": {"units": 16, "epochs": 1, "batch_size": 64, "lr": 2e-3},
        "betas": [1e-4, 1e-2], "alphas": [0.0, 2.0], "search_snr_db": [0.0],
        "thresholds": [0.0, 1.0, 2.0], "snr_db": [0.0, 10.0],
    },
    "paper": {
        "n_train": 50000, "n_val": 2000, "n_test": 10000,
        "classifier": {"width": 32, "depth": 3, "epochs": 30, "batch_size": 128, "lr": 1e-3},
        "vae": {"latent_dim": 32, "filters": 64, "num_stages": 3, "epochs": 100,
                "batch_size": 128, "lr": 1e-3, "kl_weight": 0.1},
        "ciba": {"units": 128, "epochs": 30, "batch_size": 128, "lr": 1e-3},
        "betas": [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1],
        "alphas": [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0],
        "snr_db": [-10.0, -7.5, -5.0, -2.5, 0.0, 2.5, 5.0, 7.5, 10.0, 12.5, 15.0],
    },
}


def main(argv=None):
    args = sweep.parse_args(argv, name="importance_mimo", description=__doc__)
    cfg = {**PROFILES["quick"], **PROFILES[args.profile]}
    with sweep.RunRecord(args.out, "importance_mimo", args, cfg) as record:
        data = s4.load_s4_data(cfg, args.seed)
        models = s4.train_s4_models(cfg, data, args.out / "ckpt", args.retrain, args.seed,
                                    record)
        with record.stage("beta_search"):
            beta, _ = s4.beta_search(models, data["val"], cfg, args.out, args.seed)
        with record.stage("alpha_search"):
            alpha, _ = s4.alpha_search(models, beta, data["val"], cfg, args.out, args.seed)
        record.set("selected", {"beta": beta, "alpha": alpha})
        with record.stage("phif_plif"):
            s4.phif_plif(models, beta, data["test"], cfg, args.out, args.seed)
        with record.stage("sweep"):
            s4.scheme_sweep(models, beta, alpha, data["test"], cfg, args.out, args.seed,
                            args.resume, args.shard, record)
        record.set("train_summaries", models.summaries)


if __name__ == "__main__":
    main()
