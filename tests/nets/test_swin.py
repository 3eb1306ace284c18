"""Swin-style source mapper/demapper (S0's paper backbone)."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from sem_sionna.nets.swin import SwinSourceDemapper, SwinSourceMapper, SwinStage

KW = dict(embed_dim=8, depth=2, window=4, num_heads=2)


def test_shapes_range_and_bits_layout():
    f = SwinSourceMapper(128, **KW)
    g = SwinSourceDemapper(128, image_size=(32, 32), **KW)
    x = tf.random.stateless_uniform([2, 32, 32, 3], [1, 2])
    p = f(x)
    assert p.shape == (2, 128) and np.all((p.numpy() > 0) & (p.numpy() < 1))
    y = g(tf.round(p))
    assert y.shape == (2, 32, 32, 3)


def test_shifted_windows_mix_across_window_borders():
    """A change inside one window reaches other windows through the shifted blocks."""
    stage = SwinStage(depth=2, window=4, num_heads=1)
    x = tf.zeros([1, 8, 8, 4])
    base = stage(x)
    bumped = stage(tf.tensor_scatter_nd_update(x, [[0, 3, 3, 0]], [5.0]))
    changed = np.any(np.abs((bumped - base).numpy()) > 1e-6, axis=-1)[0]
    assert changed[7, 7] or changed[4, 4]  # a position outside the bumped window


def test_gradients_and_save_load(tmp_path):
    f = SwinSourceMapper(128, **KW)
    g = SwinSourceDemapper(128, image_size=(32, 32), **KW)
    inp = keras.Input((32, 32, 3))
    model = keras.Model(inp, g(f(inp)))
    x = tf.random.stateless_uniform([2, 32, 32, 3], [3, 4])
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean((model(x) - x) ** 2)
    grads = tape.gradient(loss, model.trainable_variables)
    assert all(gr is not None and np.all(np.isfinite(gr.numpy())) for gr in grads)
    path = tmp_path / "swin.keras"
    model.save(path)
    np.testing.assert_allclose(keras.saving.load_model(path)(x), model(x), atol=1e-5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_bits"):
        SwinSourceMapper(100, **KW)(tf.zeros([1, 32, 32, 3]))
    with pytest.raises(ValueError, match="window"):
        SwinStage(window=3)(tf.zeros([1, 8, 8, 4]))
