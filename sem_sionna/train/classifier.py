"""Pre-training of the frozen task classifiers (S2, S4) with cross-entropy."""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from sem_sionna.data import as_dataset
from sem_sionna.nets.classifier import SceneClassifier, predict_labels
from sem_sionna.train.loop import Trainer
from sem_sionna.utils.checks import check_positive_int

__all__ = ["train_classifier"]


def train_classifier(classifier: SceneClassifier, images, labels, epochs: int,
                     batch_size: int = 32, lr: float = 1e-3, ckpt_dir=None, seed: int = 0,
                     augment: bool = True, val_data=None) -> dict[str, list]:
    """Pre-train ``classifier`` with cross-entropy through :class:`sem_sionna.train.Trainer`.

    Parameters
    ----------
    classifier : SceneClassifier -- built or not; trained in place.
    images : [N, H, W, 3], float32 -- training images in [0, 1].
    labels : [N], int -- class indices in ``[0, num_classes)``.
    epochs : int -- passes over the data.
    batch_size : int, default 32.
    lr : float, default 1e-3 -- Adam learning rate.
    ckpt_dir : path or None -- per-epoch checkpoints; a killed training resumes.
    seed : int, default 0 -- shuffling and augmentation seed.
    augment : bool, default True -- random horizontal flips.
    val_data : (images, labels) or None -- accuracy on this set is logged per epoch
        as ``val_accuracy``.

    Output
    ------
    history : dict -- per-epoch ``loss``, ``accuracy`` (training batches), ``lr``,
        ``epoch_time_s`` and, with ``val_data``, ``val_accuracy``.
    """
    images = np.asarray(images, np.float32)
    labels = np.asarray(labels, np.int32)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"`images` must have shape [N, H, W, 3], got {images.shape}")
    if labels.shape != images.shape[:1]:
        raise ValueError(f"`labels` must have shape [{images.shape[0]}], got {labels.shape}")
    if labels.min() < 0 or labels.max() >= classifier.num_classes:
        raise ValueError(f"`labels` must lie in [0, {classifier.num_classes}), "
                         f"got range [{labels.min()}, {labels.max()}]")
    batch_size = check_positive_int(batch_size, "batch_size")
    if not classifier.built:
        classifier.build((None, *images.shape[1:]))
    gen = keras.random.SeedGenerator(seed)

    def loss_fn(batch):
        x, y = batch
        if augment:
            flip = keras.random.uniform((tf.shape(x)[0], 1, 1, 1), seed=gen) < 0.5
            x = tf.where(flip, x[:, :, ::-1], x)
        logits = classifier(x, training=True)
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        acc = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), y),
                                     tf.float32))
        return loss, {"accuracy": acc}

    extra = None
    if val_data is not None:
        val_x = np.asarray(val_data[0], np.float32)
        val_y = np.asarray(val_data[1], np.int32)

        def val_accuracy():
            pred = predict_labels(classifier, val_x, batch_size=max(batch_size, 64))
            return {"val_accuracy": float(np.mean(pred == val_y))}

        extra = val_accuracy

    trainer = Trainer("classifier", loss_fn, classifier.trainable_variables, lr=lr,
                      checkpoint={"classifier": classifier}, ckpt_dir=ckpt_dir)
    data = as_dataset(images, labels, batch_size=batch_size, shuffle=True, seed=seed,
                      drop_remainder=images.shape[0] >= batch_size)
    return trainer.fit(data, epochs, extra=extra)
