"""Tests of sem_sionna.nets.segnet (compact ERF-PSPNet)."""
import numpy as np
import pytest
import keras
import tensorflow as tf
from layer_checks import first_and_last_loss

from sem_sionna.nets.segnet import DownsamplerBlock, NonBottleneck1D, SegNet, adaptive_avg_pool


@pytest.mark.parametrize("size", [(32, 32), (30, 26)])
def test_logits_shape(size):
    net = SegNet(num_classes=5)
    logits = net(tf.random.uniform([2, *size, 3]), training=False)
    assert logits.shape == (2, *size, 5) and logits.dtype == tf.float32


def test_build_creates_all_weights():
    net = SegNet(num_classes=3)
    net.build((None, None, None, 3))
    count = len(net.weights)
    net(tf.random.uniform([1, 16, 16, 3]))
    assert len(net.weights) == count


def test_adaptive_avg_pool_matches_block_means(rng):
    x = rng.standard_normal((2, 8, 12, 3)).astype(np.float32)
    out = adaptive_avg_pool(tf.constant(x), 4).numpy()
    ref = x.reshape(2, 4, 2, 4, 3, 3).mean(axis=(2, 4))
    np.testing.assert_allclose(out, ref, atol=1e-5)
    np.testing.assert_allclose(adaptive_avg_pool(tf.constant(x), 1).numpy()[:, 0, 0],
                               x.mean(axis=(1, 2)), atol=1e-5)
    # Uneven sizes: overlapping segments as in adaptive pooling, 5 rows -> bins of 0..1 and 2..4.
    y = np.arange(5, dtype=np.float32).reshape(1, 5, 1, 1)
    np.testing.assert_allclose(adaptive_avg_pool(tf.constant(y), 2).numpy()[0, :, 0, 0],
                               [1.0, 3.0])


def test_training_reduces_loss_on_synthetic_masks(rng):
    """Class 1 is a reddish rectangle on a greyish background."""
    masks = np.zeros((8, 32, 32), np.int32)
    for m in masks:
        top, left = rng.integers(0, 16, size=2)
        m[top:top + 16, left:left + 16] = 1
    colour = np.where(masks[..., None] == 1, [0.8, 0.2, 0.2], [0.4, 0.5, 0.5])
    images = (colour + 0.1 * rng.standard_normal(colour.shape)).astype(np.float32)
    net = SegNet(num_classes=2)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    first, last = first_and_last_loss(lambda: loss_fn(masks, net(images, training=True)),
                                      lambda: net.trainable_weights,
                                      keras.optimizers.Adam(1e-2), 25)
    assert last < 0.8 * first


def test_blocks_shapes_and_errors():
    x = tf.random.normal([2, 9, 9, 4])
    assert DownsamplerBlock(8)(x).shape == (2, 5, 5, 8)
    assert NonBottleneck1D(4, dilation_rate=2)(x).shape == x.shape
    with pytest.raises(ValueError, match="filters"):
        DownsamplerBlock(4)(x)
    with pytest.raises(ValueError, match="filters"):
        NonBottleneck1D(5)(x)


def test_eager_graph_xla_agree():
    net = SegNet(num_classes=3)
    x = tf.random.uniform([2, 16, 16, 3])
    eager = net(x, training=False)
    graph = tf.function(lambda v: net(v, training=False))(x)
    xla = tf.function(lambda v: net(v, training=False), jit_compile=True)(x)
    np.testing.assert_allclose(graph.numpy(), eager.numpy(), atol=1e-5)
    np.testing.assert_allclose(xla.numpy(), eager.numpy(), atol=1e-4)


def test_keras_round_trip(tmp_path):
    inp = keras.Input((16, 16, 3))
    model = keras.Model(inp, SegNet(num_classes=3, bins=(1, 2))(inp))
    x = tf.random.uniform([2, 16, 16, 3])
    path = str(tmp_path / "segnet.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(loaded(x, training=False).numpy(),
                                  model(x, training=False).numpy())


@pytest.mark.parametrize("kwargs,name", [(dict(num_classes=1), "num_classes"),
                                         (dict(num_classes=3, widths=(8, 8, 16)), "widths"),
                                         (dict(num_classes=3, num_blocks=(1,)), "num_blocks"),
                                         (dict(num_classes=3, bins=()), "bins")])
def test_bad_arguments_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        SegNet(**kwargs)
