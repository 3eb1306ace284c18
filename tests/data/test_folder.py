"""Tests for sem_sionna.data.folder (and load("folder"))."""
import numpy as np
import pytest
from PIL import Image

from sem_sionna.data import image_folder, load


def _save(path, array, **kw):
    Image.fromarray(array).save(path, **kw)


@pytest.fixture
def folder(tmp_path, rng):
    imgs = tmp_path / "images"
    masks = tmp_path / "masks"
    imgs.mkdir()
    masks.mkdir()
    arrays = {}
    for name, (h, w) in {"a": (16, 16), "b": (12, 20), "c": (20, 12)}.items():
        arr = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        arrays[name] = arr
        _save(imgs / f"{name}.png", arr)
        mask = (np.arange(h * w).reshape(h, w) % 3).astype(np.uint8)
        _save(masks / f"{name}.png", mask)
    (imgs / "notes.txt").write_text("not an image")
    return imgs, masks, arrays


def test_reads_exact_pixels_at_native_size(folder):
    imgs, _, arrays = folder
    x = image_folder(imgs, 16, limit=1)
    assert x.shape == (1, 16, 16, 3) and x.dtype == np.float32
    np.testing.assert_allclose(x[0], arrays["a"] / 255.0, atol=1e-6)


def test_center_crop_then_resize(folder):
    imgs, _, arrays = folder
    x = image_folder(imgs, 12)
    assert x.shape == (3, 12, 12, 3)
    # b is 12x20 (h x w): centre crop of width 12 starting at column 4, no resize needed.
    np.testing.assert_allclose(x[1], arrays["b"][:, 4:16] / 255.0, atol=1e-6)
    # c is 20x12: centre crop of height 12 starting at row 4.
    np.testing.assert_allclose(x[2], arrays["c"][4:16] / 255.0, atol=1e-6)
    assert 0.0 <= x.min() and x.max() <= 1.0


def test_masks_follow_the_same_geometry(folder):
    imgs, masks, _ = folder
    x, m = image_folder(imgs, 12, masks_dir=masks)
    assert m.shape == (3, 12, 12) and m.dtype == np.int32
    b_mask = (np.arange(12 * 20).reshape(12, 20) % 3)[:, 4:16]
    np.testing.assert_array_equal(m[1], b_mask)
    x, m = image_folder(imgs, 6, masks_dir=masks)  # nearest resize keeps ids
    assert set(np.unique(m)) <= {0, 1, 2}


def test_grayscale_is_replicated_to_rgb(tmp_path):
    grey = np.arange(64, dtype=np.uint8).reshape(8, 8) * 4
    _save(tmp_path / "g.png", grey)
    x = image_folder(tmp_path, 8)
    assert x.shape == (1, 8, 8, 3)
    for c in range(3):
        np.testing.assert_allclose(x[0, ..., c], grey / 255.0, atol=1e-6)


def test_jpeg_and_rgba_are_read(tmp_path, rng):
    arr = rng.integers(0, 256, size=(8, 8, 4), dtype=np.uint8)
    _save(tmp_path / "x.png", arr)
    _save(tmp_path / "y.JPG", arr[..., :3], quality=95)
    x = image_folder(tmp_path, 8)
    assert x.shape == (2, 8, 8, 3)
    np.testing.assert_allclose(x[0], arr[..., :3] / 255.0, atol=1e-6)  # alpha dropped


def test_native_size_requires_equal_shapes(folder):
    imgs, _, _ = folder
    with pytest.raises(ValueError, match="b.png"):
        image_folder(imgs, None)


def test_missing_path(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match="nowhere"):
        image_folder(missing, 8)


def test_empty_folder(tmp_path):
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(ValueError, match="no image files"):
        image_folder(tmp_path, 8)


def test_corrupt_and_truncated_files_name_the_file(tmp_path, rng):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(ValueError, match="bad.png"):
        image_folder(tmp_path, 8)
    (tmp_path / "bad.png").unlink()
    arr = rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
    _save(tmp_path / "cut.jpg", arr, quality=90)
    data = (tmp_path / "cut.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="cut.jpg"):
        image_folder(tmp_path, 8)


def test_mask_errors(folder, tmp_path):
    imgs, masks, _ = folder
    (masks / "c.png").unlink()
    with pytest.raises(ValueError, match="c.png"):
        image_folder(imgs, 8, masks_dir=masks)
    _save(masks / "c.png", np.zeros((20, 12, 3), np.uint8))
    with pytest.raises(ValueError, match="single-channel"):
        image_folder(imgs, 8, masks_dir=masks)
    _save(masks / "c.png", np.zeros((5, 5), np.uint8))
    with pytest.raises(ValueError, match="c.png"):
        image_folder(imgs, 8, masks_dir=masks)
    with pytest.raises(FileNotFoundError, match="masks_dir"):
        image_folder(imgs, 8, masks_dir=tmp_path / "nomasks")


def test_load_dispatch(folder):
    imgs, masks, _ = folder
    x = load("folder", n=2, size=8, path=imgs)
    assert x.shape == (2, 8, 8, 3)
    x, m = load("folder", size=8, path=imgs, masks_dir=masks)
    assert x.shape == (3, 8, 8, 3) and m.shape == (3, 8, 8)
    with pytest.raises(ValueError, match="path"):
        load("folder")


def test_load_unknown_name_lists_names():
    with pytest.raises(ValueError, match="embedded.*scenes.*folder.*cifar10"):
        load("imagenet")


def test_load_generated_sets():
    assert load("embedded", split="test", n=3, size=32).shape == (3, 32, 32, 3)
    images, masks, labels = load("scenes", n=3, size=16, num_classes=3)
    assert images.shape == (3, 16, 16, 3) and masks.shape == (3, 16, 16) and labels.max() < 3
