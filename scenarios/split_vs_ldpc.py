"""S1 + S0: Split DeepJSCC and the learned bit-importance interface vs HEVC-intra/JPEG2000 + 5G LDPC.

Tung et al. (Split DeepJSCC, multi-level reliability interface) and Kong & Zhang (learned
interface with bit importance), compared with DeepJSCC and separate source-channel coding
(real BPG files and JPEG2000 over a 5G transport block, the (code rate, QAM) per SNR and
CBR chosen on validation images; plus BPG at the ideal capacity) on the same 32x32 images,
over AWGN and Rayleigh block fading, at CBR 1/24 and 1/48.

    python scenarios/split_vs_ldpc.py [--profile smoke|quick|paper] [--out DIR] [--seed N]
                                      [--resume] [--retrain] [--shard i/n] [--devices LIST]
"""
from __future__ import annotations

from sem_sionna import links, sweep
from sem_sionna.experiments import split_vs_ldpc
from sem_sionna.experiments.split_vs_ldpc import Config, Schedule, SwinConfig

PROFILES = {
    # smoke: every scheme and output on 2-step stages; S0's Rayleigh models (3 more
    # channel stages) are left to quick/paper and to tests/experiments (the Rayleigh points
    # use the AWGN-trained S0 here)
    "smoke": Config(n_train=128, n_val=16, n_test=8, num_bits=256, filters=8, units=32,
                    batch_size=32, lr=1e-3, vimco_samples=4, stage2_estimator="vimco",
                    stage1=Schedule(1, steps=2), stage2=Schedule(1, steps=2),
                    stage2_warmup=Schedule(1, steps=2),
                    s0_stage2=Schedule(1, steps=2), deepjscc=Schedule(1, steps=2),
                    s0_tokens=16, s0_embed_dim=16,
                    s0_transformer_blocks=0,
                    cbrs=(1 / 24,), snr_db=(0.0, 20.0), codecs=("bpg",),
                    mcs=((1 / 2, 4), (3 / 4, 6))),
    # S1 at M = 2048, N = 8: interface capacity sum (M/N)(1 - H2(eps_i)) ~ 1440 bits, above
    # BPG's payload and the AWGN capacity of K = 128 at 20 dB (852 bits); stage 2 warm
    # started with the straight-through estimator, then S1's VIMCO (lr 1e-4: its gradient is
    # noisy at J = 8). S0 at M = 512 with mu moving 10x faster than the other weights
    # (384 steps instead of S0's ~98 k); S0's Rayleigh models (its Fig. 6 and the Rayleigh
    # half of Fig. 7) get 6 epochs at the same lr (S0's 5x lr over Rayleigh is for its 1e-4);
    # bit flip costs over 512 test patches (one bit's cost, ~2e-5 MSE, is about its own 95 %
    # half-width at the sweep's 64)
    "quick": Config(n_train=2048, n_val=64, n_test=64, num_bits=2048, s0_num_bits=512,
                    filters=32, units=256, batch_size=32, lr=1e-3, vimco_samples=8,
                    stage2_estimator="vimco", vimco_lr=1e-4, stage1=Schedule(6),
                    stage2_warmup=Schedule(12), stage2=Schedule(3), s0_stage2=Schedule(12),
                    deepjscc=Schedule(8), s0_tokens=32, s0_embed_dim=64,
                    s0_transformer_blocks=1, mu_lr_scale=10.0, cbrs=(1 / 24, 1 / 48),
                    s0_rayleigh_stage2=Schedule(6), flip_cost_images=512,
                    snr_db=(0.0, 3.0, 6.0, 9.0, 12.0, 15.0, 20.0)),
    # S1: M = 10000, N = 10, J = 100, lr 1e-5 (x0.8 on plateau), CIFAR-10 when cached;
    # VIMCO stages at batch 32 (J x 128 samples would need ~28 GiB, bench/paper_profile.py);
    # S0's Swin-style source mapper/demapper (nets.swin)
    "paper": Config(dataset="cifar10", n_train=None, n_test=1000, num_bits=10240,
                    num_levels=10, filters=128, units=1024, batch_size=128, lr=1e-4,
                    vimco_samples=100, vimco_batch_size=32, stage2_estimator="vimco",
                    stage1=Schedule(250), stage2=Schedule(80), s0_stage2=Schedule(80),
                    s0_rayleigh_stage2=Schedule(80), s0_rayleigh_lr=5e-4,
                    deepjscc=Schedule(250), s0_tokens=64, s0_embed_dim=128,
                    s0_transformer_blocks=2, s0_source="swin",
                    swin=SwinConfig(embed_dim=96, depth=2, window=4, heads=4),
                    mcs=tuple(links.DEFAULT_MCS), cbrs=(1 / 24, 1 / 48),
                    snr_db=(-2.0, 0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 18.0,
                            20.0)),
}


def main(argv=None) -> None:
    args = sweep.parse_args(argv, name=split_vs_ldpc.NAME,
                            description=__doc__.splitlines()[0])
    split_vs_ldpc.run(PROFILES[args.profile], args)


if __name__ == "__main__":
    main()
