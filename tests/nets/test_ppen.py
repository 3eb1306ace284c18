"""Tests of sem_sionna.nets.ppen (SCSC pre-processing network)."""
import numpy as np
import pytest
import keras
import tensorflow as tf

from sem_sionna.nets.ppen import PPEN, DACBlock, QuantizationAdaptive, StripPooling


def _perturb_outputs(model, scale=0.1):
    """Give the zero-initialised output convolutions non-zero weights."""
    for layer in (model.pixel_out, model.tail):
        layer.kernel.assign(scale * tf.random.normal(layer.kernel.shape))


@pytest.fixture
def images():
    return tf.random.uniform([2, 16, 16, 3], 0.1, 0.9)


def test_untrained_ppen_is_identity(images):
    model = PPEN(num_filters=4)
    out = model(images, 34.0)
    assert out.shape == images.shape and out.dtype == tf.float32
    np.testing.assert_array_equal(out.numpy(), images.numpy())


def test_output_in_unit_interval(images):
    model = PPEN(num_filters=4)
    model(images, 34.0)
    _perturb_outputs(model, scale=3.0)
    out = model(images, 34.0).numpy()
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert np.abs(out - images.numpy()).max() > 1e-2


def test_qa_layers_change_output_with_q(images):
    model = PPEN(num_filters=4)
    model(images, 34.0)
    _perturb_outputs(model)
    out = {q: model(images, q).numpy() for q in (28.0, 34.0, 41.0)}
    assert np.abs(out[28.0] - out[41.0]).mean() > 1e-4
    assert np.abs(out[28.0] - out[34.0]).mean() > 1e-4
    # Per-example q equals the broadcast scalar.
    per_example = model(images, tf.constant([28.0, 41.0])).numpy()
    np.testing.assert_allclose(per_example[0], out[28.0][0], atol=1e-6)
    np.testing.assert_allclose(per_example[1], out[41.0][1], atol=1e-6)


def test_quantization_adaptive_scales_features():
    qa = QuantizationAdaptive(hidden_units=8, q_range=(28.0, 41.0))
    f = tf.random.normal([3, 4, 4, 5])
    centre = qa(f, 34.5)
    np.testing.assert_allclose(centre.numpy(), f.numpy(), rtol=1e-6)  # v = 1 at the centre
    v = qa.scale_vector(tf.constant([28.0, 41.0, 34.5]), 3).numpy()
    out = qa(f, tf.constant([28.0, 41.0, 34.5])).numpy()
    np.testing.assert_allclose(out, f.numpy() * v[:, None, None, :], rtol=1e-5, atol=1e-6)
    assert np.abs(v[0] - v[1]).max() > 1e-3


def test_without_qa_ignores_q(images):
    model = PPEN(num_filters=4, use_qa=False)
    model(images)
    _perturb_outputs(model)
    assert not any("qa" in w.path for w in model.weights)
    np.testing.assert_array_equal(model(images, 28.0).numpy(), model(images).numpy())
    with_qa = PPEN(num_filters=4)
    with_qa(images, 30.0)
    assert model.count_params() < with_qa.count_params()


def test_qa_requires_q(images):
    with pytest.raises(ValueError, match="q"):
        PPEN(num_filters=4)(images)


def test_strip_pooling_gates_features():
    x = tf.random.normal([2, 6, 7, 4])
    out = StripPooling()(x).numpy()
    assert out.shape == x.shape
    ratio = out / np.where(x.numpy() == 0, 1.0, x.numpy())
    assert ratio.min() > 0.0 and ratio.max() < 1.0


def test_dac_block_shape_and_channels():
    x = tf.random.normal([2, 8, 8, 6])
    block = DACBlock(6)
    assert block(x).shape == x.shape
    with pytest.raises(ValueError, match="filters"):
        DACBlock(5)(x)


def test_gradients_reach_output_layers_and_deform(images):
    model = PPEN(num_filters=4)
    model(images, 31.0)
    _perturb_outputs(model)
    target = tf.random.uniform(images.shape)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(images, 31.0) - target))
    grads = dict(zip([w.path for w in model.trainable_weights],
                     tape.gradient(loss, model.trainable_weights)))
    for key in ("pixel_out/kernel", "tail/kernel", "deform/offset_conv/kernel",
                "pixel_qa_0/scale/kernel"):
        match = [g for p, g in grads.items() if p.endswith(key)]
        assert match and np.abs(match[0].numpy()).max() > 0, key


def test_eager_graph_xla_agree(images):
    model = PPEN(num_filters=4)
    model(images, 34.0)
    _perturb_outputs(model)
    q = tf.constant([28.0, 37.0])
    eager = model(images, q)
    graph = tf.function(model)(images, q)
    xla = tf.function(model, jit_compile=True)(images, q)
    np.testing.assert_allclose(graph.numpy(), eager.numpy(), atol=1e-5)
    np.testing.assert_allclose(xla.numpy(), eager.numpy(), atol=1e-4)


def test_keras_round_trip(tmp_path, images):
    img = keras.Input((16, 16, 3))
    q = keras.Input(())
    model = keras.Model([img, q], PPEN(num_filters=4, name="ppen")(img, q))
    _perturb_outputs(model.get_layer("ppen"))
    qv = tf.constant([28.0, 41.0])
    path = str(tmp_path / "ppen.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(loaded([images, qv]).numpy(), model([images, qv]).numpy())


@pytest.mark.parametrize("kwargs,exc,name", [(dict(num_filters=0), ValueError, "num_filters"),
                                             (dict(num_dac_blocks=0), ValueError,
                                              "num_dac_blocks"),
                                             (dict(q_range=(41, 28)), ValueError, "q_range"),
                                             (dict(use_qa="yes"), TypeError, "use_qa")])
def test_bad_arguments_raise(kwargs, exc, name):
    with pytest.raises(exc, match=name):
        PPEN(**kwargs)


def test_wrong_image_channels_raise():
    with pytest.raises(ValueError, match="images"):
        PPEN(num_filters=4)(tf.zeros([1, 8, 8, 1]), 30.0)


def test_build_creates_all_weights(images):
    model = PPEN(num_filters=4)
    model.build(images.shape, (None,))
    count = len(model.weights)
    model(images, 34.0)
    assert len(model.weights) == count
