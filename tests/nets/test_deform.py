"""Tests of sem_sionna.nets.deform (deformable convolution v1)."""
import numpy as np
import pytest
import keras
import tensorflow as tf

from sem_sionna.nets.deform import DeformableConv2D, bilinear_sample


def _conv_like(layer, x):
    """Plain Conv2D with the deformable layer's kernel and bias."""
    conv = keras.layers.Conv2D(layer.filters, layer.kernel_size, strides=layer.strides,
                               padding=layer.padding, dilation_rate=layer.dilation_rate)
    conv.build(x.shape)
    conv.set_weights([layer.kernel.numpy(), layer.bias.numpy()])
    return conv(x)


@pytest.mark.parametrize("strides,padding,dilation", [(1, "same", 1), (2, "same", 1),
                                                      (2, "valid", 1), (1, "same", 2),
                                                      (1, "valid", (2, 1))])
def test_zero_offsets_equal_conv2d(strides, padding, dilation):
    x = tf.random.normal([2, 9, 10, 3])
    layer = DeformableConv2D(4, 3, strides=strides, padding=padding, dilation_rate=dilation,
                             bias_initializer="random_normal")
    y = layer(x)
    ref = _conv_like(layer, x)
    assert y.shape == ref.shape
    assert tuple(layer.compute_output_shape(x.shape)) == tuple(ref.shape)
    np.testing.assert_allclose(y.numpy(), ref.numpy(), atol=1e-5)


def test_integer_offset_equals_conv_of_shifted_image():
    h, w = 10, 12
    x = tf.random.normal([2, h, w, 3])
    layer = DeformableConv2D(4, 3)
    layer.build(x.shape)
    # Every grid point reads one row down and two columns right.
    layer.offset_conv.bias.assign(np.tile([1.0, 2.0], 9).astype(np.float32))
    y = layer(x).numpy()
    shifted = _conv_like(layer, x[:, 1:, 2:]).numpy()
    # Interior: positions whose 3x3 window stays inside the shifted image.
    np.testing.assert_allclose(y[:, 1:h - 2, 1:w - 3], shifted[:, 1:h - 2, 1:w - 3],
                               atol=1e-5)


def test_half_pixel_offset_is_bilinear_average():
    x = tf.random.normal([1, 5, 6, 2])
    layer = DeformableConv2D(2, 1, use_bias=False)
    layer.build(x.shape)
    layer.kernel.assign(np.eye(2, dtype=np.float32)[None, None])
    layer.offset_conv.bias.assign(np.array([0.0, 0.5], np.float32))
    y = layer(x).numpy()
    ref = 0.5 * (x[:, :, :-1] + x[:, :, 1:]).numpy()
    np.testing.assert_allclose(y[:, :, :-1], ref, atol=1e-6)
    # The last column reads half a pixel outside: half of the border value.
    np.testing.assert_allclose(y[:, :, -1], 0.5 * x[:, :, -1].numpy(), atol=1e-6)


def test_bilinear_sample_outside_reads_zero():
    x = tf.ones([1, 3, 3, 1])
    py = tf.constant([[-2.0, 1.0, 0.5]])
    px = tf.constant([[1.0, 5.0, -0.25]])
    out = bilinear_sample(x, py, px).numpy()[0, :, 0]
    np.testing.assert_allclose(out, [0.0, 0.0, 0.75], atol=1e-6)


def test_gradients_reach_offsets():
    x = tf.random.normal([2, 8, 8, 3])
    layer = DeformableConv2D(4, 3)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(layer(x) - 1.0))
    grads = tape.gradient(loss, [layer.offset_conv.kernel, layer.offset_conv.bias,
                                 layer.kernel])
    for g in grads:
        assert g is not None and np.all(np.isfinite(g.numpy()))
        assert np.abs(g.numpy()).max() > 0


def test_eager_graph_xla_agree():
    x = tf.random.normal([2, 8, 9, 3])
    layer = DeformableConv2D(4, 3, strides=2)
    layer.build(x.shape)
    layer.offset_conv.kernel.assign(0.1 * tf.random.normal(layer.offset_conv.kernel.shape))
    eager = layer(x)
    graph = tf.function(layer)(x)
    xla = tf.function(layer, jit_compile=True)(x)
    np.testing.assert_allclose(graph.numpy(), eager.numpy(), atol=1e-5)
    np.testing.assert_allclose(xla.numpy(), eager.numpy(), atol=1e-4)


def test_keras_round_trip(tmp_path):
    inp = keras.Input((8, 8, 3))
    model = keras.Model(inp, DeformableConv2D(4, (3, 3), strides=2, name="dcn")(inp))
    dcn = model.get_layer("dcn")
    dcn.offset_conv.kernel.assign(0.1 * tf.random.normal(dcn.offset_conv.kernel.shape))
    x = tf.random.normal([2, 8, 8, 3])
    path = str(tmp_path / "dcn.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())
    assert loaded.get_layer("dcn").get_config()["strides"] == (2, 2)


@pytest.mark.parametrize("kwargs,name", [(dict(filters=0, kernel_size=3), "filters"),
                                         (dict(filters=2, kernel_size=(3,)), "kernel_size"),
                                         (dict(filters=2, kernel_size=3, padding="full"),
                                          "padding"),
                                         (dict(filters=2, kernel_size=3, strides=0), "strides")])
def test_bad_arguments_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        DeformableConv2D(**kwargs)


def test_unknown_channels_raise():
    with pytest.raises(ValueError, match="inputs"):
        DeformableConv2D(2, 3).build((None, 8, 8))
