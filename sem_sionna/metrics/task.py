"""Task metrics: mean intersection over union, classification accuracy, macro F1."""
from __future__ import annotations

import numbers

import numpy as np
import tensorflow as tf

from .uncertainty import ratio_of_sums

__all__ = ["miou", "accuracy", "f1_counts", "macro_f1"]


def _round_ids(values) -> tf.Tensor:
    """int32 ids; floating values are rounded first."""
    values = tf.convert_to_tensor(values)
    if values.dtype.is_floating:
        values = tf.round(values)
    return tf.cast(values, tf.int32)


def _to_ids(values, ref_rank: int, name: str) -> tf.Tensor:
    """Integer ids from ids (rank ``ref_rank``) or scores (rank ``ref_rank + 1``: argmax)."""
    values = tf.convert_to_tensor(values)
    if values.shape.rank == ref_rank + 1:
        return tf.argmax(values, axis=-1, output_type=tf.int32)
    if values.shape.rank != ref_rank:
        raise ValueError(f"`{name}` must have rank {ref_rank} (ids) or {ref_rank + 1} "
                         f"(scores over classes), got shape {values.shape}")
    return _round_ids(values)


def _check_range(ids: tf.Tensor, num_classes: int, name: str) -> None:
    # Only checkable when values exist (eager); confusion_matrix would assert otherwise.
    if tf.executing_eagerly() and tf.size(ids) > 0:
        lo, hi = int(tf.reduce_min(ids)), int(tf.reduce_max(ids))
        if lo < 0 or hi >= num_classes:
            raise ValueError(f"`{name}` must hold class ids in [0, {num_classes}), got values "
                             f"in [{lo}, {hi}]")


def miou(pred, mask, num_classes: int) -> tf.Tensor:
    """Mean intersection over union over the classes present.

    Intersections and unions are accumulated over all pixels of the batch (not per
    image), then ``IoU_c = TP_c / (TP_c + FP_c + FN_c)`` is averaged over the classes
    that occur in ``pred`` or ``mask``; classes absent from both are ignored. The
    background (class 0) counts as a class like any other.

    Input
    -----
    pred : [batch, H, W], int -- predicted class ids; or [batch, H, W, num_classes]
        scores/logits (argmax is taken).
    mask : [batch, H, W], int -- true class ids in ``[0, num_classes)``.
    num_classes : int -- number of classes including the background.

    Output
    ------
    miou : [], tf.float32 -- in [0, 1].
    """
    if isinstance(num_classes, (bool, np.bool_)) or not isinstance(num_classes, numbers.Integral) \
            or num_classes < 1:
        raise ValueError(f"`num_classes` must be a positive integer, got {num_classes!r}")
    mask = _round_ids(mask)
    pred = _to_ids(pred, mask.shape.rank, "pred")
    if not pred.shape.is_compatible_with(mask.shape):
        raise ValueError(f"`pred` must have the shape of `mask` {mask.shape}, got {pred.shape}")
    if mask.shape.num_elements() == 0:
        raise ValueError("`mask` is empty")
    _check_range(mask, num_classes, "mask")
    _check_range(pred, num_classes, "pred")
    cm = tf.math.confusion_matrix(tf.reshape(mask, [-1]), tf.reshape(pred, [-1]),
                                  num_classes=num_classes, dtype=tf.float64)
    inter = tf.linalg.diag_part(cm)
    union = tf.reduce_sum(cm, axis=0) + tf.reduce_sum(cm, axis=1) - inter
    present = union > 0
    iou = tf.boolean_mask(inter, present) / tf.boolean_mask(union, present)
    return tf.cast(tf.reduce_mean(iou), tf.float32)


def accuracy(logits_or_labels, labels) -> tf.Tensor:
    """Fraction of correctly classified examples.

    Input
    -----
    logits_or_labels : [batch, ..., num_classes], float -- scores (argmax over the last
        axis), or [batch, ...], int -- predicted labels (same shape as ``labels``).
    labels : [batch, ...], int -- true labels.

    Output
    ------
    accuracy : [], tf.float32 -- in [0, 1].
    """
    labels = _round_ids(labels)
    pred = _to_ids(logits_or_labels, labels.shape.rank, "logits_or_labels")
    if not pred.shape.is_compatible_with(labels.shape):
        raise ValueError(f"`logits_or_labels` must match `labels` {labels.shape} (plus a class "
                         f"axis for scores), got predictions of shape {pred.shape}")
    return tf.reduce_mean(tf.cast(tf.equal(pred, labels), tf.float32))


def f1_counts(pred, labels, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-example F1 counts: ``F1_c = sum_i num[i, c] / sum_i den[i, c]``.

    ``num[i, c] = 2 [pred_i = c = labels_i]`` and ``den[i, c] = [pred_i = c] + [labels_i = c]``,
    so ``2 TP_c / (2 TP_c + FP_c + FN_c)`` accumulates over any subset of examples: the
    per-example samples of macro F1 that a bootstrap over examples resamples (as
    intersection and union counts are for mIoU).

    Input
    -----
    pred, labels : [n], int -- predicted and true class ids in ``[0, num_classes)``.
    num_classes : int.

    Output
    ------
    (num, den) : ([n, num_classes], [n, num_classes]), float64.
    """
    if isinstance(num_classes, (bool, np.bool_)) or not isinstance(num_classes, numbers.Integral) \
            or num_classes < 1:
        raise ValueError(f"`num_classes` must be a positive integer, got {num_classes!r}")
    pred, labels = np.asarray(pred).ravel(), np.asarray(labels).ravel()
    if pred.shape != labels.shape:
        raise ValueError(f"`pred` {pred.shape} and `labels` {labels.shape} must have the same "
                         "number of examples")
    for name, ids in (("pred", pred), ("labels", labels)):
        if ids.size and (ids.min() < 0 or ids.max() >= num_classes):
            raise ValueError(f"`{name}` must hold class ids in [0, {num_classes}), got "
                             f"[{ids.min()}, {ids.max()}]")
    p = pred[:, None] == np.arange(num_classes)
    t = labels[:, None] == np.arange(num_classes)
    return 2.0 * (p & t), p.astype(np.float64) + t


def macro_f1(pred, labels, num_classes: int) -> float:
    """Macro-averaged F1 over the classes that occur in ``pred`` or ``labels`` (classes
    absent from both are ignored, as scikit-learn's ``f1_score(average="macro")``).

    Input as :func:`f1_counts`. Output: float in [0, 1].
    """
    num, den = f1_counts(pred, labels, num_classes)
    return float(ratio_of_sums(np.stack([num, den], axis=1)))
