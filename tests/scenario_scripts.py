"""Load a script of ``scenarios/`` as a module (the scripts are not a package)."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def load_scenario(name: str) -> ModuleType:
    """``scenarios/<name>.py``, executed as a fresh module (its ``main`` and ``PROFILES``)."""
    spec = importlib.util.spec_from_file_location(f"scenario_{name}", SCENARIOS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
