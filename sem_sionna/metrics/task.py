"""Task metrics: mean intersection over union and classification accuracy."""
from __future__ import annotations

import numbers

import numpy as np
import tensorflow as tf

__all__ = ["miou", "accuracy"]


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
