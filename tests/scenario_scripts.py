"""Load a script of ``scenarios/`` as a module (the scripts are not a package)."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"

TRAINED_RTOL = 2e-3
"""Relative tolerance of a smoke golden whose every row depends on trained weights.

A smoke run is deterministic on one machine, but TensorFlow's CPU kernels (oneDNN) take
other code paths on other instruction sets (AVX2, AVX-512, AMX), and a few training steps
carry those last-bit differences into the metrics: measured 3.7e-5 (S2) and 4.7e-5 (S3)
between two machines of this project, up to 5.8e-4 (S2) between two others. A change of
the code under test (loss, schedule, seed, data) moves them by far more.
"""


def load_scenario(name: str) -> ModuleType:
    """``scenarios/<name>.py``, executed as a fresh module (its ``main`` and ``PROFILES``)."""
    spec = importlib.util.spec_from_file_location(f"scenario_{name}", SCENARIOS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
