"""Tests for sem_sionna.metrics.task."""
import numpy as np
import pytest
import tensorflow as tf

from sem_sionna.metrics import accuracy, miou


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
