"""Generic epoch loop: compiled steps, optional ``tf.distribute`` strategy, checkpoints, logs.

Every training stage of every scenario runs through :class:`Trainer`: the caller
supplies a loss function of one batch, the trainable variables and the dataset;
the trainer compiles the step (``tf.function``, XLA on request), distributes it
over a strategy's replicas, logs one line per epoch with an ETA, detects
non-finite losses, schedules the learning rate, stops early, and checkpoints
after every epoch so that a killed run resumes from its last finished epoch.
"""
from __future__ import annotations

import contextlib
import json
import math
import time
from pathlib import Path
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from sem_sionna.metrics import mean_ci95
from sem_sionna.utils.checks import check_positive_int
from sem_sionna.utils.errors import NumericalError
from sem_sionna.utils.io import atomic_write_json
from sem_sionna.utils.log import logger

__all__ = ["Trainer", "strategy_scope", "format_eta"]

LossFn = Callable[[object], "tuple[tf.Tensor, dict[str, tf.Tensor]]"]


def format_eta(seconds: float) -> str:
    """``h:mm:ss``."""
    seconds = int(round(seconds))
    return f"{seconds // 3600:d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def strategy_scope(strategy: tf.distribute.Strategy | None):
    """A fresh ``strategy.scope()``, or a null context without a strategy."""
    return strategy.scope() if strategy is not None else contextlib.nullcontext()


def _reduce(strategy, metrics):
    return {k: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None)
            for k, v in metrics.items()}


class Trainer:
    """Train ``variables`` by minimising ``loss_fn(batch)`` over epochs.

    Parameters
    ----------
    name : str -- stage name for logs, checkpoints and errors.
    loss_fn : callable -- ``batch -> (loss scalar, metrics dict of scalars)``; ``metrics``
        should contain ``"loss"``. Runs inside ``tf.function``.
    variables : list of tf.Variable -- what the optimiser updates (frozen parts are
        simply not listed).
    optimizer : keras.optimizers.Optimizer or None -- default Adam(``lr``).
    lr : float, default 1e-3.
    jit_compile : bool, default False -- XLA-compile the step (faster on GPU; on CPU
        convolutional models are often faster without).
    strategy : tf.distribute.Strategy or None -- replicate the step (MirroredStrategy,
        MultiWorkerMirroredStrategy); models, variables and optimiser must be created
        under ``strategy_scope(strategy)``. Gradients are summed over replicas of a
        loss divided by the number of replicas, i.e. the global-batch mean.
    eval_fn : callable or None -- ``batch -> metrics dict`` on validation data; its
        ``"mse"`` is one value per batch, or one per example (``[batch]``), which adds the
        95 % t half-width over the validation examples to the history (``val_mse_ci95``).
    checkpoint : dict or None -- trackables (models, layers) to checkpoint with the
        optimiser after each epoch; with ``ckpt_dir`` a killed run resumes.
    ckpt_dir : path or None -- where checkpoints and ``history.json`` go.
    """

    def __init__(self, name: str, loss_fn: LossFn, variables, optimizer=None, lr: float = 1e-3,
                 jit_compile: bool = False, strategy=None, eval_fn=None, checkpoint=None,
                 ckpt_dir=None, log: Callable[[str], None] | None = None):
        self.name = name
        self.strategy = strategy
        self.log = log or logger.info
        self.variables = list(variables)
        if not self.variables:
            raise ValueError(f"`variables` of training stage {name!r} is empty")
        with strategy_scope(strategy):
            self.optimizer = optimizer or keras.optimizers.Adam(learning_rate=lr)
            # slots created now, not lazily inside a replica context (or before a restore)
            if not self.optimizer.built:
                self.optimizer.build(self.variables)
        replicas = strategy.num_replicas_in_sync if strategy is not None else 1

        def train_step(batch):
            with tf.GradientTape() as tape:
                loss, metrics = loss_fn(batch)
                scaled = loss / replicas
            grads = tape.gradient(scaled, self.variables)
            self.optimizer.apply_gradients(
                [(g, v) for g, v in zip(grads, self.variables) if g is not None])
            return {"loss": loss, **metrics}

        if strategy is None:
            self.step = tf.function(train_step, jit_compile=jit_compile)
            self.eval = tf.function(eval_fn, jit_compile=jit_compile) if eval_fn else None
        else:
            # the replica function is traced inside the outer graph: a nested tf.function
            # would hide the optimiser's cross-replica merge from the strategy
            self.step = tf.function(
                lambda b: _reduce(strategy, strategy.run(train_step, args=(b,))),
                jit_compile=False)
            self.eval = None if eval_fn is None else tf.function(
                lambda b: _reduce(strategy, strategy.run(eval_fn, args=(b,))))
        self.ckpt_dir = Path(ckpt_dir) if ckpt_dir is not None else None
        self._epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self._ckpt = None
        if self.ckpt_dir is not None:
            self.ckpt_dir.mkdir(parents=True, exist_ok=True)
            self._ckpt = tf.train.Checkpoint(optimizer=self.optimizer, epoch=self._epoch,
                                             **(checkpoint or {}))
            self._manager = tf.train.CheckpointManager(self._ckpt, str(self.ckpt_dir),
                                                       max_to_keep=1)

    def _validate(self, val_dataset) -> tuple[float, float]:
        """Mean validation MSE and its 95 % t half-width over the examples; the
        half-width is NaN when ``eval_fn`` gives one MSE per batch, or under a strategy
        (whose replicas' per-example values are averaged)."""
        values = [np.asarray(keras.ops.convert_to_numpy(self.eval(b)["mse"]), np.float64)
                  for b in self._distribute(val_dataset)]
        if self.strategy is None and values and all(v.ndim == 1 for v in values):
            return mean_ci95(np.concatenate(values))
        return float(np.mean([np.mean(v) for v in values])), math.nan

    def _distribute(self, dataset):
        if self.strategy is None:
            return dataset
        return self.strategy.experimental_distribute_dataset(dataset)

    @property
    def _history_path(self) -> Path:
        return self.ckpt_dir / "history.json"

    def _restore(self) -> dict:
        if self._ckpt is None or self._manager.latest_checkpoint is None:
            return {}
        self._ckpt.restore(self._manager.latest_checkpoint)
        history = {}
        if self._history_path.exists():
            history = json.loads(self._history_path.read_text())
        self.log(f"{self.name}: resumed from {self._manager.latest_checkpoint} "
                 f"(epoch {int(self._epoch.numpy())})")
        return history

    def fit(self, dataset, epochs: int, steps_per_epoch: int | None = None, val_dataset=None,
            lr_patience: int | None = None, lr_factor: float = 0.5,
            early_stopping_patience: int | None = None,
            extra: Callable[[], dict] | None = None,
            restore_best: bool = False) -> dict[str, list]:
        """Run the epochs not yet done; return the history ``{metric: [per epoch]}``.

        ``restore_best``: at the end, set the variables to their values after the epoch
        with the best monitored value (validation MSE, else training loss) of this call;
        with a validation set the starting weights count as epoch 0 (a warm start that
        no epoch improves on is kept).

        Raises :class:`sem_sionna.utils.NumericalError` naming the stage and epoch
        when the training loss is NaN or infinite.
        """
        epochs = check_positive_int(epochs, "epochs")
        history: dict[str, list] = self._restore()
        best = min(history.get("val_mse", history.get("loss", [math.inf])) or [math.inf])
        since_best = since_lr = 0
        best_values = None
        if restore_best and val_dataset is not None and self.eval is not None:
            start, _ = self._validate(val_dataset)
            if start < best:
                best, best_values = start, [v.numpy() for v in self.variables]
        durations: list[float] = []
        for epoch in range(int(self._epoch.numpy()), epochs):
            t0 = time.perf_counter()
            sums: dict[str, float] = {}
            count = 0
            for i, batch in enumerate(self._distribute(dataset)):
                if steps_per_epoch is not None and i >= steps_per_epoch:
                    break
                for k, v in self.step(batch).items():
                    sums[k] = sums.get(k, 0.0) + float(v)
                count += 1
            if count == 0:
                raise ValueError(f"{self.name}: `dataset` yielded no batch "
                                 "(fewer examples than the batch size?)")
            record = {k: v / count for k, v in sums.items()}
            if not np.isfinite(record["loss"]):
                raise NumericalError(f"{self.name}: non-finite training loss "
                                     f"{record['loss']} in epoch {epoch + 1}")
            if "mse" in record:
                record["psnr"] = float(10.0 * np.log10(1.0 / max(record["mse"], 1e-12)))
            if val_dataset is not None and self.eval is not None:
                record["val_mse"], half = self._validate(val_dataset)
                if math.isfinite(half):
                    record["val_mse_ci95"] = half
            if extra is not None:
                record.update(extra())
            record["lr"] = float(keras.ops.convert_to_numpy(self.optimizer.learning_rate))
            durations.append(time.perf_counter() - t0)
            record["epoch_time_s"] = durations[-1]
            for k, v in record.items():
                history.setdefault(k, []).append(v)
            eta = np.mean(durations) * (epochs - epoch - 1)
            shown = ", ".join(f"{k}={v:.5g}" for k, v in record.items() if k != "epoch_time_s")
            self.log(f"{self.name} epoch {epoch + 1}/{epochs}: {shown} "
                     f"({durations[-1]:.1f} s, {count} steps, ETA {format_eta(eta)})")
            self._epoch.assign(epoch + 1)
            if self._ckpt is not None:
                self._manager.save()
                atomic_write_json(self._history_path, history)
            monitor = record.get("val_mse", record["loss"])
            if monitor < best:
                best, since_best, since_lr = monitor, 0, 0
                if restore_best:
                    best_values = [v.numpy() for v in self.variables]
            else:
                since_best += 1
                since_lr += 1
            if lr_patience is not None and since_lr >= lr_patience:
                self.optimizer.learning_rate.assign(record["lr"] * lr_factor)
                since_lr = 0
            if early_stopping_patience is not None and since_best >= early_stopping_patience:
                self.log(f"{self.name}: early stop after epoch {epoch + 1} "
                         f"(no improvement for {since_best} epochs)")
                break
        if restore_best and best_values is not None:
            for var, value in zip(self.variables, best_values):
                var.assign(value)
        return history
