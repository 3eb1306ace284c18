"""SNR-adaptive channel attention (ADJSCC's attention-feature module)."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from layer_checks import assert_modes_agree, roundtrip
from sem_sionna.nets import SNRFeatureAttention


def _features(shape=(2, 4, 4, 8), seed=0):
    return tf.random.stateless_uniform(shape, seed=[seed, 3])


def test_gates_are_the_documented_mlp_of_means_and_scaled_side():
    af = SNRFeatureAttention(reduction=2)
    x = _features()
    y = af(x, 6.0)
    assert y.shape == x.shape and af.fc1.units == 4
    ctx = tf.concat([tf.reduce_mean(x, [1, 2]), tf.fill([2, 1], 0.6)], -1)
    gate = af.fc2(af.fc1(ctx))
    np.testing.assert_allclose(y, x * gate[:, None, None, :], rtol=1e-6)


def test_vector_side_information_with_fixed_width_and_no_scaling():
    af = SNRFeatureAttention(hidden_units=16, side_scale=1.0)
    x, side = _features(), tf.constant([[0.5, -1.0, 0.2], [0.0, 1.0, -0.3]])
    y = af(x, side)
    assert af.fc1.kernel.shape == (8 + 3, 16) and af.fc2.kernel.shape == (16, 8)
    gate = af.fc2(af.fc1(tf.concat([tf.reduce_mean(x, [1, 2]), side], -1)))
    np.testing.assert_allclose(y, x * gate[:, None, None, :], rtol=1e-6)
    # each example's gates follow its own side information
    swapped = af(x, side[::-1])
    assert not np.allclose(swapped, y)


@pytest.mark.parametrize("snr_db", [5.0, [5.0, 5.0], [[5.0], [5.0]]])
def test_scalar_and_per_example_snr_agree(snr_db):
    af = SNRFeatureAttention()
    x = _features((2, 6, 8))
    ref = af(x, 5.0)
    np.testing.assert_allclose(af(x, tf.constant(snr_db)), ref, rtol=1e-6)


def test_modes_and_keras_round_trip(tmp_path):
    x = _features()
    inputs = keras.Input((4, 4, 8))
    side = keras.Input((2,))
    model = keras.Model([inputs, side], SNRFeatureAttention(hidden_units=8, side_scale=1.0)(
        inputs, side))
    s = tf.constant([[1.0, 0.5], [-1.0, 0.25]])
    assert_modes_agree(lambda a, b: model([a, b]), x, s)
    clone = roundtrip(model, tmp_path)
    np.testing.assert_array_equal(clone([x, s]), model([x, s]))


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="reduction"):
        SNRFeatureAttention(reduction=0)
    with pytest.raises(ValueError, match="hidden_units"):
        SNRFeatureAttention(hidden_units=0)
    with pytest.raises(ValueError, match="side_scale"):
        SNRFeatureAttention(side_scale=0.0)
