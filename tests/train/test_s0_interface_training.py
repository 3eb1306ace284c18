"""S0's source-stage loss on the reference code's scale, eps on a toy with planted bit
importance, and the papers' plateau schedule in the Trainer."""
import keras
import numpy as np
import tensorflow as tf

from sem_sionna.nets.interface import LearnedBSCInterface
from sem_sionna.train.loop import Trainer
from sem_sionna.train.split import train_source_stage

M = 16
#: per-bit weight of the toy decoder: flipping bit m costs (0.8 w_m)^2 / M of MSE
WEIGHTS = np.array([1.0] * (M // 2) + [1e-3] * (M // 2), np.float32)


class HardBits(keras.layers.Layer):
    """Toy source mapper: bit m = [x_m > 0.5] (no weights)."""

    def call(self, x):
        return tf.cast(tf.reshape(x, [-1, M]) > 0.5, tf.float32)


class WeightedBits(keras.layers.Layer):
    """Toy source demapper: x_m = 0.5 + 0.4 w_m (2 u_m - 1) (no weights)."""

    def call(self, u):
        return tf.reshape(0.5 + 0.4 * WEIGHTS * (2.0 * u - 1.0), [-1, 1, 1, M])


def _images(n=256, seed=0):
    bits = np.random.default_rng(seed).integers(0, 2, (n, M)).astype(np.float32)
    return (0.5 + 0.4 * WEIGHTS * (2 * bits - 1)).reshape(n, 1, 1, M)


def test_loss_is_the_reference_formula():
    """``255^2 MSE_[0,1] + mean (eps - 0.5)^2`` = the reference code's MSE of 0..255 pixels
    plus its regulariser (lambda = 1)."""
    images = _images(64)
    interface = LearnedBSCInterface(M, mu_init=-40.0)              # eps ~ 0: deterministic
    hist = train_source_stage(HardBits(), WeightedBits(), interface, images, epochs=1, lr=0.0,
                              batch_size=64, estimator="ste", mse_weight=255.0 ** 2, seed=0,
                              log=lambda line: None)
    x_hat = 0.5 + 0.4 * WEIGHTS * (2 * (images.reshape(-1, M) > 0.5) - 1)
    eps = interface.eps.numpy()
    reference = np.mean((255 * images.reshape(-1, M) - 255 * x_hat) ** 2) + np.mean(
        (eps - 0.5) ** 2)
    np.testing.assert_allclose(hist["loss"][0], reference, rtol=1e-5)
    np.testing.assert_allclose(hist["reg"][0], 0.25, rtol=1e-5)
    # the same step on the [0, 1] scale: the regulariser dominates
    hist1 = train_source_stage(HardBits(), WeightedBits(), LearnedBSCInterface(M, mu_init=-40.0),
                               images, epochs=1, lr=0.0, batch_size=64, estimator="ste",
                               seed=0, log=lambda line: None)
    np.testing.assert_allclose(hist1["loss"][0], hist1["mse"][0] + 0.25, rtol=1e-5)


def _train_eps(mse_weight):
    keras.utils.set_random_seed(0)
    interface = LearnedBSCInterface(M, mu_init=-4.0, mu_lr_scale=10.0, seed=1)
    train_source_stage(HardBits(), WeightedBits(), interface, _images(), epochs=6, lr=0.01,
                       batch_size=64, estimator="ste", mse_weight=mse_weight, seed=2,
                       log=lambda line: None)
    eps = interface.eps.numpy()
    return eps[:M // 2], eps[M // 2:]


def test_planted_importance_spreads_eps():
    """Costly bits (w = 1) get a lower eps than cheap ones (w = 1e-3) with S0's loss scale;
    on the [0, 1] scale the regulariser pulls both groups up together."""
    start = float(LearnedBSCInterface(M, mu_init=-4.0).eps.numpy()[0])
    important, cheap = _train_eps(255.0 ** 2)
    assert important.max() < start < cheap.min()
    assert cheap.mean() > 10 * important.mean()
    important1, cheap1 = _train_eps(1.0)
    assert important1.min() > start and cheap1.min() > start


def test_mu_lr_scale_moves_the_logit_faster():
    slow, fast = LearnedBSCInterface(4, mu_lr_scale=1.0), LearnedBSCInterface(4, mu_lr_scale=10.0)
    for layer in (slow, fast):
        layer(tf.zeros([1, 4]))
        np.testing.assert_allclose(layer.logit.numpy(), -4.0, rtol=1e-6)
        opt = keras.optimizers.Adam(0.01)
        for _ in range(10):
            with tf.GradientTape() as tape:
                loss = layer.regularization_loss()
            opt.apply_gradients(zip(tape.gradient(loss, [layer.mu]), [layer.mu]))
    moved = [float(layer.logit.numpy()[0]) + 4.0 for layer in (slow, fast)]
    np.testing.assert_allclose(moved[1], 10 * moved[0], rtol=0.05)  # Adam: ~lr per step
    assert LearnedBSCInterface.from_config(fast.get_config()).mu_lr_scale == 10.0


def test_plateau_schedule_lr_x08_after_two_epochs_stop_after_four():
    """S1's schedule: lr x 0.8 after 2 epochs without improvement, stop after 4."""
    losses = tf.constant([5.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0])
    step = tf.Variable(0)
    w = tf.Variable(1.0)

    def loss_fn(batch):
        loss = losses[step] + 0.0 * w
        step.assign_add(1)
        return loss, {"loss": loss}

    trainer = Trainer("toy", loss_fn, [w], lr=1.0, log=lambda line: None)
    data = tf.data.Dataset.from_tensor_slices(tf.zeros([1, 1])).batch(1)
    hist = trainer.fit(data, epochs=10, lr_patience=2, lr_factor=0.8, early_stopping_patience=4)
    # best at epoch 2; epochs 3-4 plateau -> lr x0.8 after epoch 4; epochs 3-6 -> stop
    assert len(hist["loss"]) == 6
    np.testing.assert_allclose(hist["lr"], [1.0, 1.0, 1.0, 1.0, 0.8, 0.8], rtol=1e-6)


def _restored_weight(val_sequence):
    calls = tf.Variable(0)
    values = tf.constant(val_sequence)
    w = tf.Variable(1.0)

    def loss_fn(batch):
        return w, {"loss": w}

    def eval_fn(batch):
        v = values[calls]
        calls.assign_add(1)
        return {"mse": v}

    trainer = Trainer("toy", loss_fn, [w], optimizer=keras.optimizers.SGD(0.1), eval_fn=eval_fn,
                      log=lambda line: None)
    data = tf.data.Dataset.from_tensor_slices(tf.zeros([1, 1])).batch(1)
    trainer.fit(data, epochs=len(val_sequence) - 1, val_dataset=data, restore_best=True)
    return float(w.numpy())


def test_restore_best_keeps_the_best_validation_epoch():
    """w = 1 - 0.1 k after epoch k; the weights of the best validation epoch come back,
    the starting weights (epoch 0) included."""
    np.testing.assert_allclose(_restored_weight([5.0, 3.0, 1.0, 2.0, 2.0]), 0.8, rtol=1e-6)
    np.testing.assert_allclose(_restored_weight([0.5, 3.0, 1.0, 2.0]), 1.0, rtol=1e-6)
