"""Trainer: loss decreases, checkpoints resume, NaN detection, MirroredStrategy; WeightStore."""
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from sem_sionna.utils.errors import NumericalError
from sem_sionna.train import Trainer, WeightStore, config_hash


def regression_data():
    x = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5], [3.0]], np.float32)
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(16)


def make_trainer(model, ckpt_dir=None, lr=0.2):
    def loss_fn(batch):
        x, y = batch
        loss = tf.reduce_mean((model(x) - y) ** 2)
        return loss, {"mse": loss}
    return Trainer("regression", loss_fn, model.trainable_variables, lr=lr,
                   checkpoint={"model": model}, ckpt_dir=ckpt_dir)


def new_model():
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    return model


def test_loss_decreases_and_history_is_logged():
    model = new_model()
    history = make_trainer(model).fit(regression_data(), epochs=10)
    assert history["loss"][-1] < 0.2 * history["loss"][0]
    assert len(history["psnr"]) == 10 and len(history["lr"]) == 10


def test_killed_training_resumes_from_last_epoch(tmp_path):
    reference = new_model()
    make_trainer(reference).fit(regression_data(), epochs=5)

    first = new_model()
    make_trainer(first, tmp_path).fit(regression_data(), epochs=2)  # then "killed"
    resumed = new_model()  # fresh process: new weights, restored from the checkpoint
    calls = []
    trainer = make_trainer(resumed, tmp_path)
    trainer.log = calls.append
    history = trainer.fit(regression_data(), epochs=5)
    assert any("resumed" in line for line in calls)
    assert len(history["loss"]) == 5  # 2 restored + 3 new epochs
    for a, b in zip(resumed.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_non_finite_loss_raises_naming_the_stage():
    model = new_model()

    def loss_fn(batch):
        return tf.reduce_mean(model(batch[0])) * np.float32("nan"), {}
    with pytest.raises(NumericalError, match="regression.*epoch 1"):
        Trainer("regression", loss_fn, model.trainable_variables).fit(regression_data(), 2)


def test_empty_dataset_and_variables_are_errors():
    model = new_model()
    with pytest.raises(ValueError, match="variables"):
        Trainer("x", lambda b: (0.0, {}), [])
    empty = regression_data().take(0)
    with pytest.raises(ValueError, match="dataset"):
        make_trainer(model).fit(empty, 1)


def test_weight_store_trains_once_then_loads(tmp_path):
    store = WeightStore(tmp_path)
    config = {"epochs": 3, "lr": 0.05}
    calls = []

    def train(work_dir):
        calls.append(work_dir)
        return make_trainer(model, work_dir).fit(regression_data(), 3)

    model = new_model()
    loaded, summary = store.load_or_train("reg", config, {"model": model}, train)
    assert not loaded and len(calls) == 1 and len(summary["loss"]) == 3
    trained = model.get_weights()
    model = new_model()
    loaded, _ = store.load_or_train("reg", config, {"model": model}, train)
    assert loaded and len(calls) == 1
    for a, b in zip(model.get_weights(), trained):
        np.testing.assert_array_equal(a, b)
    assert store.entry("reg", config).name == f"reg-{config_hash(config)}"
    assert config_hash(config) != config_hash({**config, "epochs": 4})
    model = new_model()
    loaded, _ = WeightStore(tmp_path, retrain=True).load_or_train("reg", config,
                                                                  {"model": model}, train)
    assert not loaded and len(calls) == 2


MIRRORED = textwrap.dedent("""
    import json, sys
    import numpy as np, tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from sem_sionna.train import Trainer, strategy_scope

    def run(strategy):
        keras.utils.set_random_seed(3)
        with strategy_scope(strategy):
            model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
            def loss_fn(batch):
                x, y = batch
                loss = tf.reduce_mean((model(x) - y) ** 2)
                return loss, {}
            trainer = Trainer("m", loss_fn, model.trainable_variables, lr=0.05,
                              strategy=strategy, log=lambda s: None)
        x = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
        y = x @ np.array([[1.0], [-2.0], [0.5], [3.0]], np.float32)
        ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
        return trainer.fit(ds, 5)["loss"]

    devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    mirrored = run(tf.distribute.MirroredStrategy(devices))
    single = run(None)
    print(json.dumps({"n": len(devices), "mirrored": mirrored, "single": single}))
""")


def test_mirrored_strategy_on_two_virtual_cpus_matches_one_device():
    out = subprocess.run([sys.executable, "-c", MIRRORED], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    result = __import__("json").loads(out.stdout.strip().splitlines()[-1])
    assert result["n"] == 2
    np.testing.assert_allclose(result["mirrored"], result["single"], rtol=1e-4)


def test_per_example_validation_mse_gives_its_t_interval():
    """An ``eval_fn`` with one MSE per example: ``val_mse`` is their mean over the
    validation set and ``val_mse_ci95`` the closed-form t half-width; one MSE per batch
    gives the mean only."""
    from scipy import stats

    model = new_model()
    x, y = next(iter(regression_data().unbatch().batch(64)))

    def per_example(batch):
        bx, by = batch
        return {"mse": tf.reduce_mean((model(bx) - by) ** 2, axis=-1)}

    def loss_fn(batch):
        loss = tf.reduce_mean(per_example(batch)["mse"])
        return loss, {"mse": loss}

    val = tf.data.Dataset.from_tensor_slices((x, y)).batch(24)  # 24 + 24 + 16 examples
    history = Trainer("r", loss_fn, model.trainable_variables, lr=0.05,
                      eval_fn=per_example).fit(regression_data(), 1, val_dataset=val)
    errors = np.mean((model(x).numpy() - y.numpy()) ** 2, axis=-1)
    half = stats.t.ppf(0.975, 63) * errors.std(ddof=1) / np.sqrt(64)
    assert history["val_mse"][0] == pytest.approx(errors.mean(), rel=1e-5)
    assert history["val_mse_ci95"][0] == pytest.approx(half, rel=1e-4)
    scalar = Trainer("s", loss_fn, model.trainable_variables, lr=0.05,
                     eval_fn=lambda b: {"mse": tf.reduce_mean(per_example(b)["mse"])})
    history = scalar.fit(regression_data(), 1, val_dataset=val)
    assert "val_mse_ci95" not in history and np.isfinite(history["val_mse"][0])
