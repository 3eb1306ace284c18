"""split_vs_ldpc schemes: S0's Swin-style source mapper (paper profile), VIMCO batch size,
the multi-level interface's eps ladder, S0's ablation switches."""
import dataclasses

import numpy as np
from scenario_scripts import load_scenario

import sem_sionna.experiments.split_vs_ldpc_train as svl
from sem_sionna import nets
from sem_sionna.experiments.split_vs_ldpc import Schedule, SwinConfig
from sem_sionna.nets.swin import SwinSourceMapper
from sem_sionna.train import WeightStore

SMOKE = load_scenario("split_vs_ldpc").PROFILES["smoke"]


def _images():
    return np.random.default_rng(0).random((64, 32, 32, 3)).astype(np.float32)


def test_learned_interface_with_swin_source(tmp_path):
    # no ablations: they change only the channel pair (tested with the conv source below)
    cfg = dataclasses.replace(SMOKE, s0_source="swin", s0_ablations=(),
                              swin=SwinConfig(embed_dim=8, depth=2, window=4, heads=2))
    images = _images()
    links, hist = svl.train_learned_interface(cfg, images[:48], images[48:], WeightStore(tmp_path),
                                              seed=0, log=lambda line: None)
    # Rayleigh models: test_s0_rayleigh_models_are_trained_over_rayleigh_and_used_there
    assert set(links) == {"awgn"}
    links = links["awgn"]
    link = links["full"][1 / 24]
    assert isinstance(link.source_mapper, SwinSourceMapper)
    x_hat, info = link.reconstruct(link.encode(images[:4]), 10.0)
    assert x_hat.shape == (4, 32, 32, 3) and info["bits"].shape == (4, cfg.s0_bits)
    assert set(links) == {"full"} and "val_mse" in hist["s0_source"]
    assert any(p.name.startswith("s0_source-") for p in tmp_path.iterdir())


def test_vimco_stages_use_vimco_batch_size(tmp_path, monkeypatch):
    """S1's VIMCO stages train at ``vimco_batch_size``; straight-through stages do not."""
    seen = []
    for name in ("train_source_stage", "train_channel_stage"):
        real = getattr(svl, name)

        def recorder(*args, _real=real, _name=name, **kwargs):
            seen.append((_name, kwargs.get("estimator"), kwargs["batch_size"]))
            return _real(*args, **kwargs)
        monkeypatch.setattr(svl, name, recorder)
    images = _images()
    base = dataclasses.replace(SMOKE, batch_size=32)
    base = dataclasses.replace(base, stage2_warmup=None)
    val = images[:16]
    svl.train_split_jscc(dataclasses.replace(base, vimco_batch_size=8, stage2_estimator="ste"),
                         images, val, WeightStore(tmp_path / "a"), log=lambda line: None)
    svl.train_split_jscc(dataclasses.replace(base, vimco_batch_size=16,
                                             stage2_estimator="vimco"),
                         images, val, WeightStore(tmp_path / "b"), log=lambda line: None)
    svl.train_split_jscc(dataclasses.replace(base, stage2_estimator="vimco",
                                             stage2_warmup=SMOKE.stage2_warmup), images, val,
                         WeightStore(tmp_path / "c"), log=lambda line: None)
    assert seen == [("train_source_stage", "vimco", 8), ("train_channel_stage", "ste", 32),
                    ("train_source_stage", "vimco", 16), ("train_channel_stage", "vimco", 16),
                    ("train_source_stage", "vimco", 32), ("train_channel_stage", "ste", 32),
                    ("train_channel_stage", "vimco", 32)]
    # the batch size is part of the stored weights' key: a changed one retrains
    names = {p.name for d in ("a", "b") for p in (tmp_path / d).iterdir()
             if p.name.startswith("s1_source-")}
    assert len(names) == 2
    # ... and only S1's: S0 (straight-through) keeps its key, so it is not retrained
    assert (svl.source_key(dataclasses.replace(base, vimco_batch_size=8), "learned",
                           (32, 32, 3), 0)
            == svl.source_key(base, "learned", (32, 32, 3), 0))


def test_s0_rayleigh_models_are_trained_over_rayleigh_and_used_there(tmp_path, monkeypatch):
    """With ``s0_rayleigh_stage2`` every S0 variant gets a second channel pair trained over
    Rayleigh at ``s0_rayleigh_lr``; the Rayleigh points of the sweep use it."""
    from sem_sionna.experiments.split_vs_ldpc import Models, build_schemes, parameter_counts
    seen = []
    real = svl.train_channel_stage

    def recorder(*args, **kwargs):
        seen.append((kwargs["channel"], kwargs["lr"], kwargs["epochs"]))
        return real(*args, **kwargs)
    monkeypatch.setattr(svl, "train_channel_stage", recorder)
    cfg = dataclasses.replace(SMOKE, s0_ablations=("wo_ian",), s0_rayleigh_lr=5e-3,
                              s0_rayleigh_stage2=Schedule(2, steps=1))
    images = _images()
    links, hist = svl.train_learned_interface(cfg, images[:48], images[48:],
                                              WeightStore(tmp_path), log=lambda line: None)
    assert seen == [("awgn", cfg.lr, 1), ("awgn", cfg.lr, 1),
                    ("rayleigh", 5e-3, 2), ("rayleigh", 5e-3, 2)]
    assert set(links) == {"awgn", "rayleigh"} and set(links["rayleigh"]) == {"full", "wo_ian"}
    assert {"s0_channel_rayleigh_cbr128", "s0_channel_wo_ian_rayleigh_cbr128"} <= set(hist)
    a, r = links["awgn"]["full"][1 / 24], links["rayleigh"]["full"][1 / 24]
    assert a.source_mapper is r.source_mapper and a.interface is r.interface  # one source code
    assert a.channel_mapper is not r.channel_mapper
    assert not np.allclose(a.channel_mapper.get_weights()[0], r.channel_mapper.get_weights()[0])
    # run.json's parameters: a second channel pair of the same size per variant
    params = parameter_counts({}, links, {})
    assert params["learned_interface (trained over rayleigh)"] == params["learned_interface"]
    assert set(params) == {"split_jscc", "deepjscc", "learned_interface",
                           "learned_interface_wo_ian",
                           "learned_interface (trained over rayleigh)",
                           "learned_interface_wo_ian (trained over rayleigh)"}
    models = Models({1 / 24: object()}, links, {1 / 24: object()}, hist)
    schemes = build_schemes(cfg, models, (32, 32, 3),
                            images[0], images[:4], seed=0)
    assert schemes[("learned_interface", 1 / 24, "awgn")] is a
    assert schemes[("learned_interface", 1 / 24, "rayleigh")] is r
    assert schemes[("learned_interface_wo_ian", 1 / 24, "rayleigh")] is \
        links["rayleigh"]["wo_ian"][1 / 24]


def test_num_symbols_and_describe():
    assert svl.num_symbols((32, 32, 3), 1 / 24) == 128
    assert svl.num_symbols((32, 32, 3), 1 / 48) == 64
    assert svl.describe({}) == {}


def test_multilevel_interface_uses_the_configured_eps_ladder(tmp_path, monkeypatch):
    """S1's interface takes ``eps_max``/``eps_min`` from the config, and they key its weights."""
    from sem_sionna.nets import multilevel_eps
    seen = []
    real = svl.train_source_stage

    def recorder(f, g, interface, *args, **kwargs):
        seen.append(interface.level_eps)
        return real(f, g, interface, *args, **kwargs)
    monkeypatch.setattr(svl, "train_source_stage", recorder)
    cfg = dataclasses.replace(SMOKE, eps_max=0.3, eps_min=0.01, stage2_estimator="ste")
    _, hist = svl.train_split_jscc(cfg, _images(), _images()[:16], WeightStore(tmp_path),
                                   log=lambda line: None)
    # stage 2 logs the BER of every level per epoch
    main = hist[f"s1_channel_cbr{svl.num_symbols((32, 32, 3), 1 / 24)}"]["main"]
    assert all(f"ber_level_{i}" in main for i in range(1, cfg.num_levels + 1))
    np.testing.assert_allclose(seen[0], multilevel_eps(SMOKE.num_levels, 0.3, 0.01))
    assert (svl.source_key(cfg, "multilevel", (32, 32, 3), 0)
            != svl.source_key(SMOKE, "multilevel", (32, 32, 3), 0))
    assert (svl.source_key(cfg, "learned", (32, 32, 3), 0)
            == svl.source_key(SMOKE, "learned", (32, 32, 3), 0))


def test_ablation_switches_remove_their_modules():
    """w/o IA: no interface-attention trunk (SE kept); w/o IAN: neither; fewer parameters."""
    def build(**switches):
        h = nets.ImportanceChannelMapper(64, 16, num_tokens=8, embed_dim=16,
                                         num_transformer_blocks=0, **switches)
        q = nets.ImportanceChannelDemapper(16, 64, num_tokens=8, embed_dim=16,
                                           num_transformer_blocks=0, **switches)
        eps = np.full(64, 0.1, np.float32)
        q(h(np.zeros([1, 64], np.float32), eps, np.zeros([1], np.float32)), eps,
          np.zeros([1], np.float32))
        return h, q

    counts = {}
    for name, switches in {"full": {}, **svl.ABLATION_SWITCHES}.items():
        h, q = build(**switches)
        counts[name] = svl.describe({0: h, 1: q})
        assert (len(h.trunk) > 0) == (name == "full")
        assert (h.se is not None) == (name != "wo_ian") and (q.se is not None) == (
            name != "wo_ian")
    for part in ("0", "1"):
        assert counts["full"][part] > counts["wo_ia"][part] > counts["wo_ian"][part]
    # without interface attention the mapper ignores eps
    h, _ = build(**svl.ABLATION_SWITCHES["wo_ia"])
    bits = np.random.default_rng(0).integers(0, 2, (2, 64)).astype(np.float32)
    z1 = h(bits, np.full(64, 0.01, np.float32), np.zeros([2], np.float32))
    z2 = h(bits, np.full(64, 0.4, np.float32), np.zeros([2], np.float32))
    np.testing.assert_allclose(z1.numpy(), z2.numpy(), rtol=1e-6)
