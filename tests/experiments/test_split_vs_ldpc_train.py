"""split_vs_ldpc schemes: S0's Swin-style source mapper (paper profile), VIMCO batch size,
the multi-level interface's eps ladder."""
import dataclasses

import numpy as np
from scenario_scripts import load_scenario

import sem_sionna.experiments.split_vs_ldpc_train as svl
from sem_sionna.experiments.split_vs_ldpc import SwinConfig
from sem_sionna.nets.swin import SwinSourceMapper
from sem_sionna.train import WeightStore

SMOKE = load_scenario("split_vs_ldpc").PROFILES["smoke"]


def _images():
    return np.random.default_rng(0).random((64, 32, 32, 3)).astype(np.float32)


def test_learned_interface_with_swin_source(tmp_path):
    cfg = dataclasses.replace(SMOKE, s0_source="swin",
                              swin=SwinConfig(embed_dim=8, depth=2, window=4, heads=2))
    images = _images()
    links = svl.train_learned_interface(cfg, images, WeightStore(tmp_path), seed=0,
                                        log=lambda line: None)
    link = links[1 / 24]
    assert isinstance(link.source_mapper, SwinSourceMapper)
    x_hat, info = link.reconstruct(link.encode(images[:4]), 10.0)
    assert x_hat.shape == (4, 32, 32, 3) and info["bits"].shape == (4, cfg.num_bits)
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
    svl.train_split_jscc(dataclasses.replace(base, vimco_batch_size=8, stage2_estimator="ste"),
                         images, WeightStore(tmp_path / "a"), log=lambda line: None)
    svl.train_split_jscc(dataclasses.replace(base, vimco_batch_size=16,
                                             stage2_estimator="vimco"),
                         images, WeightStore(tmp_path / "b"), log=lambda line: None)
    svl.train_split_jscc(dataclasses.replace(base, stage2_estimator="vimco"), images,
                         WeightStore(tmp_path / "c"), log=lambda line: None)
    assert seen == [("train_source_stage", "vimco", 8), ("train_channel_stage", "ste", 32),
                    ("train_source_stage", "vimco", 16), ("train_channel_stage", "vimco", 16),
                    ("train_source_stage", "vimco", 32), ("train_channel_stage", "vimco", 32)]
    # the batch size is part of the stored weights' key: a changed one retrains
    names = {p.name for d in ("a", "b") for p in (tmp_path / d).iterdir()
             if p.name.startswith("s1_source-")}
    assert len(names) == 2
    # ... and only S1's: S0 (straight-through) keeps its key, so it is not retrained
    assert (svl.source_key(dataclasses.replace(base, vimco_batch_size=8), "learned",
                           (32, 32, 3), 0)
            == svl.source_key(base, "learned", (32, 32, 3), 0))


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
    svl.train_split_jscc(cfg, _images(), WeightStore(tmp_path), log=lambda line: None)
    np.testing.assert_allclose(seen[0], multilevel_eps(SMOKE.num_levels, 0.3, 0.01))
    assert (svl.source_key(cfg, "multilevel", (32, 32, 3), 0)
            != svl.source_key(SMOKE, "multilevel", (32, 32, 3), 0))
    assert (svl.source_key(cfg, "learned", (32, 32, 3), 0)
            == svl.source_key(SMOKE, "learned", (32, 32, 3), 0))
