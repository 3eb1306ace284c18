"""Shared argument checks: they raise naming the argument, and pass what is valid."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from sem_sionna.phy.mimo import MIMOChannel
from sem_sionna.utils.checks import check_spatial_multiple, layer_or_config


def test_check_spatial_multiple():
    check_spatial_multiple(tf.zeros([2, 8, 12, 3]), 4)
    check_spatial_multiple(tf.zeros([2, 6]), 4)  # not an image batch: nothing to check
    with pytest.raises(ValueError, match=r"`images` height and width must be multiples of 4"):
        check_spatial_multiple(tf.zeros([1, 8, 6, 3]), 4)
    with pytest.raises(ValueError, match=r"`x`.*multiples of 8"):
        check_spatial_multiple(np.zeros([1, 4, 8, 3]), 8, name="x")


def test_layer_or_config_round_trips_and_names_the_argument():
    channel = MIMOChannel(2, 2)
    assert layer_or_config(channel, MIMOChannel, "channel") is channel
    rebuilt = layer_or_config(keras.saving.serialize_keras_object(channel), MIMOChannel,
                              "channel")
    assert isinstance(rebuilt, MIMOChannel) and rebuilt is not channel
    assert rebuilt.get_config() == channel.get_config()
    with pytest.raises(TypeError, match=r"`channel` must be a MIMOChannel, got Dense"):
        layer_or_config(keras.layers.Dense(2), MIMOChannel, "channel")
