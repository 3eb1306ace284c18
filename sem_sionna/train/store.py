"""Trained weights keyed by a hash of the configuration that produced them.

A scenario trains its models once per configuration; a later run with the same
configuration (same profile, seed, sizes, epochs, ...) loads the weights instead
of training again, and ``--retrain`` forces training. Weights are written to a
temporary file and renamed, with a ``done.json`` marker last, so a killed run
never leaves a half-written entry that would be loaded.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Callable

import keras
import numpy as np

from sem_sionna.utils.io import atomic_write_json, to_jsonable
from sem_sionna.utils.log import logger

__all__ = ["config_hash", "WeightStore"]


def config_hash(config: dict) -> str:
    """12 hex digits of the SHA-256 of the JSON of ``config`` (sorted keys)."""
    text = json.dumps(to_jsonable(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class WeightStore:
    """Directory of trained weights: ``root/<name>-<hash>/<key>.weights.npz`` + ``done.json``.

    Works for any Keras layer or model (``get_weights``/``set_weights``), which must be
    built (called once) before loading.

    Parameters
    ----------
    root : path -- e.g. ``results/<scenario>/ckpt``.
    retrain : bool -- ignore stored weights and train again.
    """

    def __init__(self, root, retrain: bool = False):
        self.root = Path(root)
        self.retrain = bool(retrain)

    def entry(self, name: str, config: dict) -> Path:
        """Directory of the ``name`` stage trained with ``config``."""
        return self.root / f"{name}-{config_hash(config)}"

    def load_or_train(self, name: str, config: dict, models: dict[str, keras.Model],
                      train_fn: Callable[[Path], dict | None]) -> tuple[bool, dict]:
        """Load ``models`` from the entry if complete, else ``train_fn(work_dir)`` and store.

        ``models`` must be built (called once) before loading. ``train_fn`` gets a
        directory for its checkpoints (kept until the entry is complete, so a killed
        training resumes) and may return a JSON-able summary (e.g. the history).

        Returns ``(loaded, summary)``.
        """
        entry = self.entry(name, config)
        done = entry / "done.json"
        if done.exists() and not self.retrain:
            for key, model in models.items():
                with np.load(entry / f"{key}.weights.npz") as arrays:
                    model.set_weights([arrays[f"w{i}"] for i in range(len(arrays.files))])
            logger.info(f"[{name}] loaded trained weights from {entry}")
            return True, json.loads(done.read_text()).get("summary", {})
        if self.retrain and entry.exists():
            shutil.rmtree(entry)
        work = entry / "train_ckpt"
        work.mkdir(parents=True, exist_ok=True)
        atomic_write_json(entry / "config.json", config)
        summary = train_fn(work) or {}
        for key, model in models.items():
            final = entry / f"{key}.weights.npz"
            tmp = entry / f".{key}.tmp.npz"
            np.savez(tmp, **{f"w{i}": w for i, w in enumerate(model.get_weights())})
            os.replace(tmp, final)
        atomic_write_json(done, {"config": config, "summary": summary})
        shutil.rmtree(work, ignore_errors=True)
        return False, summary
