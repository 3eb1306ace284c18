"""Tests for sem_sionna.metrics.task."""
import numpy as np
import pytest
import tensorflow as tf

from sem_sionna.metrics import accuracy, f1_counts, macro_f1, miou, ratio_ci95


def test_miou_hand_example():
    mask = np.array([[[0, 0, 1, 1],
                      [0, 0, 1, 1]]])
    pred = np.array([[[0, 1, 1, 1],
                      [0, 0, 1, 1]]])
    # class 0: TP 3, FP 0, FN 1 -> 3/4; class 1: TP 4, FP 1 -> 4/5; class 2 absent.
    assert float(miou(pred, mask, 3)) == pytest.approx((3 / 4 + 4 / 5) / 2)


def test_miou_accumulates_over_batch_and_counts_false_positive_classes():
    mask = np.zeros((2, 2, 2), np.int32)
    pred = mask.copy()
    pred[1, 0, 0] = 2  # class 2 only predicted: IoU 0, counted
    # class 0: TP 7, FN 1 -> 7/8; class 2: 0/1.
    assert float(miou(pred, mask, 3)) == pytest.approx((7 / 8 + 0.0) / 2)
    assert float(miou(mask, mask, 3)) == pytest.approx(1.0)


def test_miou_from_logits():
    mask = np.array([[[0, 1], [1, 2]]])
    logits = tf.one_hot(mask, 3) * 5.0
    assert float(miou(logits, mask, 3)) == pytest.approx(1.0)


def test_miou_bad_arguments():
    mask = np.zeros((1, 2, 2), np.int32)
    with pytest.raises(ValueError, match="mask"):
        miou(mask, mask + 3, 3)
    with pytest.raises(ValueError, match="num_classes"):
        miou(mask, mask, 0)
    with pytest.raises(ValueError, match="pred"):
        miou(np.zeros((1, 2, 3), np.int32), mask, 2)


def test_accuracy_labels_and_logits():
    labels = np.array([0, 2, 1, 1])
    assert float(accuracy(np.array([0, 2, 0, 1]), labels)) == pytest.approx(0.75)
    logits = np.array([[2.0, 0, 0], [0, 0, 1], [3, 0, 0], [1, 0, 0]])  # argmax 0, 2, 0, 0
    assert float(accuracy(logits, labels)) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="logits_or_labels"):
        accuracy(np.zeros(3), labels)


def test_macro_f1_hand_example_ignores_absent_classes():
    # class 0: F1 1; class 1: 2*1/(2+2) = 0.5; class 2: 2*2/(3+3); class 3 absent
    pred, labels = np.array([0, 1, 1, 2, 2, 2]), np.array([0, 1, 2, 2, 2, 1])
    assert macro_f1(pred, labels, 4) == pytest.approx((1.0 + 0.5 + 2 / 3) / 3)
    assert macro_f1(labels, labels, 4) == pytest.approx(1.0)


def test_f1_counts_are_per_example_samples_of_macro_f1():
    """Counts summed over the examples give macro F1; their bootstrap interval covers it."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, 400)
    pred = np.where(rng.random(400) < 0.7, labels, rng.integers(0, 5, 400))
    num, den = f1_counts(pred, labels, 5)
    assert num.shape == den.shape == (400, 5)
    assert np.all(num.sum(axis=1) <= 2) and np.all(den.sum(axis=1) == 2)
    f1, half = ratio_ci95(num, den, seed=1)
    assert f1 == pytest.approx(macro_f1(pred, labels, 5))
    assert 0.0 < half < 0.1
    with pytest.raises(ValueError, match="pred"):
        f1_counts(np.array([0, 7]), np.array([0, 1]), 5)
    with pytest.raises(ValueError, match="num_classes"):
        f1_counts(pred, labels, 0)
