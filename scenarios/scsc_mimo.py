"""S3: SCSC (Han et al.) -- PPEN + HEVC (BPG) + 5G LDPC + QPSK + SVD/PCEN over 2x2 MIMO.

Standards-compatible semantic communication: a learned pre-processor (PPEN) before an
unmodified HEVC-intra (BPG) + LDPC + QPSK chain, a learned precoder/combiner pair (PCEN)
around the SVD precoder, a proxy network for the gradient of the chain, and a frozen
segmentation network at the receiver (mIoU). Baselines: the digital chain, ProxyNet,
DeepJSCC-MIMO and ADJSCC; ablations w/o PPEN, w/o PCEN, w/o QA; PPEN with JPEG and
JPEG2000; Rayleigh and CDL-A channels with perfect and imperfect CSI.

    python scenarios/scsc_mimo.py --profile quick --out results/scsc_mimo
"""
from sem_sionna import sweep
from sem_sionna.train import scsc

PROFILES = {
    "smoke": dict(size=32, n_train=32, n_test=8, n_budget=16, qualities=[34, 41], q_main=41,
                  q_gen=41, snr_db=[2.0, 12.0], snr_cbr=[10.0], snr_channels=[12.0],
                  snr_example=12.0, channels=["rayleigh"], gen_codecs=[], batch_size=8,
                  seg_widths=[4, 8, 16], seg_blocks=[0, 1], seg_epochs=1, pcen_steps=2,
                  proxy_filters=8, proxy_epochs=1, ppen_filters=4, ppen_stages=1,
                  scsc_epochs=1, noqa_epochs=1, jscc_filters=8, jscc_epochs=1, num_examples=2),
    "quick": dict(),
    "paper": dict(size=256, n_train=2975, n_test=500, n_budget=512,
                  snr_db=[2.0, 4.0, 6.0, 8.0, 10.0, 12.0], snr_cbr=[6.0, 10.0],
                  snr_channels=[2.0, 4.0, 6.0, 8.0, 10.0, 12.0], snr_example=6.0,
                  seg_widths=[16, 64, 128], seg_blocks=[5, 8], seg_epochs=100,
                  pcen_steps=5000, proxy_filters=64, proxy_draws=8, proxy_epochs=50,
                  ppen_filters=64, ppen_stages=3, scsc_epochs=100, scsc_lr=5e-4,
                  noqa_epochs=50, jscc_filters=128, jscc_epochs=200, jscc_batch_size=16,
                  num_examples=6),
}


def main(argv=None):
    args = sweep.parse_args(argv, name="scsc_mimo", description=__doc__.splitlines()[0])
    return scsc.run_experiment(PROFILES[args.profile], args)


if __name__ == "__main__":
    main()
