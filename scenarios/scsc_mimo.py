"""S3: SCSC (Han et al.) -- PPEN + HEVC (BPG) + 5G LDPC + QPSK + SVD/PCEN over 2x2 MIMO.

Standards-compatible semantic communication: a learned pre-processor (PPEN) before an
unmodified BPG (HEVC intra) + LDPC + QPSK chain, a learned precoder/combiner pair (PCEN)
around the SVD precoder, a proxy network for the gradient of the chain, and a frozen
segmentation network at the receiver (mIoU). Baselines: the digital chain, ProxyNet,
DeepJSCC-MIMO and ADJSCC; ablations w/o PPEN, w/o PCEN, w/o QA; PPEN with JPEG and
JPEG2000; Rayleigh and CDL-A channels with perfect and imperfect CSI.

    python scenarios/scsc_mimo.py --profile quick --out results/scsc_mimo
"""
from sem_sionna import sweep
from sem_sionna.experiments import scsc_mimo
from sem_sionna.experiments.scsc_mimo import (ChainConfig, Config, JSCCConfig, PCENConfig,
                                              ProxyConfig, SCSCConfig, SegNetConfig,
                                              SweepConfig)
from sem_sionna.experiments.scsc_mimo_pairs import LDPC_RATES

PROFILES = {
    "smoke": Config(
        size=32, n_train=32, n_test=8, batch_size=8, n_val=8,
        chain=ChainConfig(qualities=(37, 41), q_main=41, q_gen=41, n_budget=16,
                          coderates=(1 / 3, 0.5), q_ablation=37),
        segnet=SegNetConfig(widths=(4, 8, 16), blocks=(0, 1), epochs=1),
        pcen=PCENConfig(steps=2, symbol_images=4, link_blocks=8),
        proxy=ProxyConfig(filters=8, epochs=1, proxynet_epochs=1),
        scsc=SCSCConfig(ppen_filters=4, ppen_stages=1, epochs=1, noqa_epochs=1,
                        proxy_refresh=8, patience=1),
        jscc=JSCCConfig(filters=8, epochs=1),
        sweep=SweepConfig(snr_db=(2.0, 12.0), snr_cbr=(10.0,), snr_channels=(12.0,),
                          snr_example=12.0, channels=("rayleigh",), gen_codecs=(),
                          num_examples=2)),
    # quick: the JPEG / JPEG2000 runs (Fig. 12(a)) use Q = 28's block (631 bytes, the
    # largest), where a 64x64 JPEG fits at quality ~20; at quality 1 it is still ~320
    # bytes, more than Q = 37's 290-byte block. 64 validation images for the (Q, rate)
    # choices
    "quick": Config(
        size=64, n_train=512, n_test=200, batch_size=16, n_val=64,
        chain=ChainConfig(qualities=(28, 31, 34, 37, 41), q_main=41, q_gen=28, n_budget=64,
                          coderates=LDPC_RATES, q_ablation=37),
        segnet=SegNetConfig(widths=(8, 16, 32), blocks=(1, 2), epochs=10),
        pcen=PCENConfig(steps=150, link_blocks=192),
        proxy=ProxyConfig(filters=32, epochs=8, proxynet_epochs=16),
        scsc=SCSCConfig(ppen_filters=16, ppen_stages=2, epochs=4, noqa_epochs=4,
                        proxy_refresh=64, patience=2),
        jscc=JSCCConfig(filters=32, epochs=16),
        sweep=SweepConfig(snr_db=(2.0, 5.0, 8.0, 11.0), snr_cbr=(10.0,),
                          snr_channels=(2.0, 7.0, 12.0), snr_example=8.0,
                          channels=("rayleigh", "cdl-a"), gen_codecs=("jpeg", "jpeg2000"),
                          num_examples=4)),
    "paper": Config(
        size=256, n_train=2975, n_test=500, batch_size=16,
        chain=ChainConfig(qualities=(28, 31, 34, 37, 41), q_main=41, q_gen=37, n_budget=512,
                          coderates=LDPC_RATES, q_ablation=37),
        segnet=SegNetConfig(widths=(16, 64, 128), blocks=(5, 8), epochs=100),
        pcen=PCENConfig(steps=5000, link_blocks=512),
        proxy=ProxyConfig(filters=64, epochs=50, draws=8, proxynet_epochs=200),
        scsc=SCSCConfig(ppen_filters=64, ppen_stages=3, epochs=100, noqa_epochs=50),
        jscc=JSCCConfig(filters=128, epochs=200, batch_size=16),
        sweep=SweepConfig(snr_db=(2.0, 4.0, 6.0, 8.0, 10.0, 12.0), snr_cbr=(6.0, 10.0),
                          snr_channels=(2.0, 4.0, 6.0, 8.0, 10.0, 12.0), snr_example=6.0,
                          channels=("rayleigh", "cdl-a"), gen_codecs=("jpeg", "jpeg2000"),
                          num_examples=6)),
}


def main(argv=None):
    args = sweep.parse_args(argv, name="scsc_mimo", description=__doc__.splitlines()[0])
    scsc_mimo.run(PROFILES[args.profile], args, script=__file__)


if __name__ == "__main__":
    main()
