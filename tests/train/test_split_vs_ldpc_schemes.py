"""The learned interface trains with S0's Swin-style source mapper (paper profile backbone)."""
import importlib.util
from pathlib import Path

import numpy as np

from sem_sionna.nets.swin import SwinSourceMapper
from sem_sionna.train import WeightStore
from sem_sionna.train.split_vs_ldpc import train_learned_interface

ROOT = Path(__file__).resolve().parents[2]


def test_learned_interface_with_swin_source(tmp_path):
    spec = importlib.util.spec_from_file_location("svl", ROOT / "scenarios" / "split_vs_ldpc.py")
    scenario = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scenario)
    cfg = dict(scenario.PROFILES["smoke"], s0_source="swin", swin_embed_dim=8, swin_depth=2,
               swin_window=4, swin_heads=2)
    images = np.random.default_rng(0).random((64, 32, 32, 3)).astype(np.float32)
    links = train_learned_interface(cfg, images, [1 / 24], WeightStore(tmp_path), seed=0,
                                    log=lambda line: None)
    link = links[1 / 24]
    assert isinstance(link.source_mapper, SwinSourceMapper)
    x_hat, info = link.reconstruct(link.encode(images[:4]), 10.0)
    assert x_hat.shape == (4, 32, 32, 3) and info["bits"].shape == (4, cfg["num_bits"])
    assert any(p.name.startswith("s0_source-") for p in tmp_path.iterdir())
