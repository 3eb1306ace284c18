"""Deterministic seeds derived from a run seed and a point key.

A sweep seeds every ``prepare``/``evaluate`` call from ``(seed, tag, key)`` through a
cryptographic hash (Python's ``hash`` is salted per process), so a point gets the same
random numbers whatever ran before it: interrupted and resumed runs, shards and a single
run give the same results.
"""
from __future__ import annotations

import hashlib
import random
import sys
from typing import Any

import numpy as np

__all__ = ["derive_seed", "set_global_seed", "reseed"]

_MAX_SEED = 2**31 - 1


def derive_seed(seed: int, *parts: Any) -> int:
    """Return an integer in ``[0, 2**31 - 1)`` derived from ``seed`` and ``parts``.

    Parameters
    ----------
    seed : int -- the run seed (``--seed``).
    *parts : str-able -- e.g. ``"evaluate"`` and the point key.
    """
    text = "\x1f".join([str(int(seed))] + [str(p) for p in parts])
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % _MAX_SEED


def set_global_seed(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and, when loaded, Keras/TF
    (``keras.utils.set_random_seed``) and Sionna (``sionna.phy.config.seed``).

    Keras, TensorFlow and Sionna are only seeded when already imported, so a sweep
    that uses neither does not pay for importing them. Scenario scripts import them
    before the sweep starts.
    """
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    if "keras" in sys.modules:
        import keras

        keras.utils.set_random_seed(seed)
    elif "tensorflow" in sys.modules:
        import tensorflow as tf

        tf.random.set_seed(seed)
    sionna_phy = sys.modules.get("sionna.phy")
    if sionna_phy is not None and hasattr(sionna_phy, "config"):
        sionna_phy.config.seed = seed


def reseed(obj: Any, seed: int) -> int:
    """Reset every ``keras.random.SeedGenerator`` inside ``obj`` to a state derived
    from ``seed``.

    ``keras.utils.set_random_seed`` does not touch the generators that layers own
    (their state advances with every call), so a layer evaluated at several sweep
    points would otherwise draw different noise depending on which points ran before.

    Parameters
    ----------
    obj : keras.layers.Layer, keras.random.SeedGenerator or a list/tuple/dict of them
    seed : int -- e.g. the seed the runner derived for the point.

    Output
    ------
    count : int -- number of generators reset (in a fixed, structural order).
    """
    import keras

    states = []

    def collect(o):
        if isinstance(o, keras.random.SeedGenerator):
            states.append(o.state)
        elif isinstance(o, keras.layers.Layer):
            # `variables` lists each SeedGenerator's state variable, in a structural
            # order that does not depend on auto-generated layer names.
            states.extend(v for v in o.variables
                          if v.name == "seed_generator_state")
        elif isinstance(o, dict):
            for v in o.values():
                collect(v)
        elif isinstance(o, (list, tuple)):
            for v in o:
                collect(v)

    collect(obj)
    seen = set()
    count = 0
    for state in states:
        if id(state) in seen:
            continue
        seen.add(id(state))
        value = np.array([derive_seed(seed, "seed_generator", count), 0])
        state.assign(keras.ops.convert_to_tensor(value, dtype=state.dtype))
        count += 1
    return count
