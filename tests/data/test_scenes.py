"""Tests for sem_sionna.data.scenes."""
import numpy as np
import pytest

from sem_sionna.data import SCENE_CLASSES, scenes


@pytest.fixture(scope="module")
def scene_set():
    return scenes(200, size=32, seed=0)


def test_shapes_dtypes_ranges(scene_set):
    images, masks, labels = scene_set
    assert images.shape == (200, 32, 32, 3) and images.dtype == np.float32
    assert masks.shape == (200, 32, 32) and masks.dtype == np.int32
    assert labels.shape == (200,) and labels.dtype == np.int32
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert masks.min() >= 0 and masks.max() <= len(SCENE_CLASSES)


def test_label_is_class_with_most_mask_pixels(scene_set):
    _, masks, labels = scene_set
    for m, lab in zip(masks, labels):
        counts = np.bincount(m.ravel(), minlength=len(SCENE_CLASSES) + 1)[1:]
        assert counts.sum() > 0
        assert lab == np.argmax(counts)


def test_every_class_appears(scene_set):
    _, masks, labels = scene_set
    assert set(np.unique(labels)) == set(range(len(SCENE_CLASSES)))
    assert set(np.unique(masks)) == set(range(len(SCENE_CLASSES) + 1))


def test_objects_differ_from_background(scene_set):
    images, masks, _ = scene_set
    fg = images[masks > 0].mean(axis=0)
    bg = images[masks == 0].mean(axis=0)
    # Objects are saturated/bright, backgrounds darkened and desaturated.
    assert fg.max() > bg.max() + 0.1


def test_deterministic_and_prefix_stable():
    a = scenes(6, size=32, seed=5)
    b = scenes(12, size=32, seed=5)
    c = scenes(6, size=32, seed=6)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y[:6])
    assert not np.array_equal(a[0], c[0])


def test_split_changes_the_stream():
    a = scenes(4, size=32, split="train")
    b = scenes(4, size=32, split="test")
    assert not np.array_equal(a[0], b[0])


def test_num_classes_and_single_object():
    images, masks, labels = scenes(40, size=48, num_classes=2, max_objects=1)
    assert images.shape == (40, 48, 48, 3)
    assert set(np.unique(masks)) <= {0, 1, 2} and set(np.unique(labels)) == {0, 1}
    # One object per scene: the mask holds exactly the label's class.
    for m, lab in zip(masks, labels):
        assert set(np.unique(m)) == {0, lab + 1}


def test_small_size_still_has_objects():
    _, masks, _ = scenes(20, size=8)
    assert np.all((masks.reshape(20, -1) > 0).any(axis=1))


@pytest.mark.parametrize("kwargs,arg", [(dict(n=0), "n"), (dict(n=2, size=4), "size"),
                                        (dict(n=2, num_classes=7), "num_classes"),
                                        (dict(n=2, num_classes=0), "num_classes"),
                                        (dict(n=2, split="val"), "split"),
                                        (dict(n=2, max_objects=0), "max_objects"),
                                        (dict(n=2, object_scale=0.0), "object_scale"),
                                        (dict(n=2, object_scale=1.5), "object_scale")])
def test_bad_arguments(kwargs, arg):
    with pytest.raises(ValueError, match=arg):
        scenes(**kwargs)


def test_object_scale_shrinks_the_main_object_only_when_asked():
    kwargs = dict(n=40, size=32, seed=3, max_objects=1)
    _, m_default, _ = scenes(**kwargs)
    _, m_one, _ = scenes(**kwargs, object_scale=1.0)
    np.testing.assert_array_equal(m_one, m_default)  # the default is unchanged
    _, m_small, labels = scenes(**kwargs, object_scale=0.5)
    area = lambda m: (m > 0).reshape(len(m), -1).sum(1)
    # radius halved: about a quarter of the pixels, every scene still has its object
    ratio = area(m_small).mean() / area(m_default).mean()
    assert 0.15 < ratio < 0.4 and np.all(area(m_small) > 0)
    np.testing.assert_array_equal(labels, m_small.reshape(40, -1).max(1) - 1)
