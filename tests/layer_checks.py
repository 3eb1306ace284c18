"""Checks every sem_sionna layer must pass: modes agree, .keras round trip; a training loop."""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


def run_modes(fn, *args):
    """Return fn(*args) eagerly, in tf.function and under XLA, as NumPy arrays."""
    eager = fn(*args)
    graph = tf.function(fn)(*args)
    xla = tf.function(fn, jit_compile=True)(*args)
    return [tf.nest.map_structure(np.asarray, out) for out in (eager, graph, xla)]


def assert_modes_agree(fn, *args, atol=1e-5):
    """Eager, graph and XLA outputs are equal."""
    eager, graph, xla = run_modes(fn, *args)
    for other in (graph, xla):
        tf.nest.map_structure(lambda a, b: np.testing.assert_allclose(a, b, atol=atol),
                              eager, other)


def roundtrip(model: keras.Model, tmp_path, name="model.keras") -> keras.Model:
    """Save ``model`` to .keras and load it back."""
    path = tmp_path / name
    model.save(path)
    return keras.saving.load_model(path)


def first_and_last_loss(loss_fn, weights_fn, optimizer, steps: int) -> tuple[float, float]:
    """Loss of the first and of the last of ``steps + 1`` compiled steps minimising
    ``loss_fn()`` over ``weights_fn()`` (read after the first call builds the layers)."""
    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = loss_fn()
        weights = weights_fn()
        optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
        return loss

    first = float(step())
    for _ in range(steps):
        last = float(step())
    return first, last
