"""VIMCO estimator (S1 eqs. (8)-(11)) against the exact gradient of the multi-sample bound."""
import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from sem_sionna.train.vimco import bernoulli_log_prob, vimco_learning_signals, vimco_loss

TARGET = tf.constant([0.7, -0.4, 0.2])


def _loss(u, w):
    """-log p(x|u): a tiny 'decoder' u -> w * u compared with a fixed target."""
    return tf.reduce_sum(tf.square(TARGET - w * u), axis=-1)


def _exact_bound(logits, w, num_samples):
    """E_{u^1..J}[log mean_j exp(-loss(u^j))] by enumerating every outcome."""
    m = logits.shape[-1]
    outcomes = np.array(list(itertools.product([0.0, 1.0], repeat=m)), np.float32)  # [2^M, M]
    combos = np.array(list(itertools.product(range(len(outcomes)), repeat=num_samples)))
    u = tf.constant(outcomes[combos])                                   # [C, J, M]
    log_q = tf.reduce_sum(bernoulli_log_prob(u, logits, from_logits=True), axis=-1)  # [C]
    log_w = -_loss(u, w)                                                # [C, J]
    bound = tf.reduce_logsumexp(log_w, axis=-1) - np.log(num_samples)
    return tf.reduce_sum(tf.exp(log_q) * bound)


@pytest.mark.parametrize("num_samples", [2, 3])
def test_vimco_matches_exact_gradient(num_samples):
    logits = tf.constant([0.3, -0.8, 1.1])
    w = tf.constant([0.5, 1.5, -0.3])
    with tf.GradientTape() as tape:
        tape.watch([logits, w])
        exact = _exact_bound(logits, w, num_samples)
    g_logits, g_w = tape.gradient(exact, [logits, w])

    reps = 40000
    logits_b = tf.tile(logits[None], [reps, 1])
    w_b = tf.tile(w[None], [reps, 1])
    seed = keras.random.SeedGenerator(7)
    with tf.GradientTape() as tape:
        tape.watch([logits_b, w_b])
        surrogate, objective, losses = vimco_loss(
            logits_b, lambda u: _loss(u, w_b[None]), num_samples, seed=seed, from_logits=True)
        total = surrogate * reps          # per-replica gradients of -(bound estimate)
    est_logits, est_w = tape.gradient(total, [logits_b, w_b])
    assert losses.shape == (num_samples, reps)
    for est, ref in ((est_logits, g_logits), (est_w, g_w)):
        est = -est.numpy()
        mean = est.mean(0)
        se = est.std(0) / np.sqrt(reps)
        np.testing.assert_array_less(np.abs(mean - ref.numpy()), 4.5 * se + 1e-4)
    # the reported objective is an unbiased estimate of -L^J
    assert abs(float(objective) + float(exact)) < 0.02


def test_learning_signals_closed_form():
    log_w = tf.constant([[-1.0], [-2.0], [-4.0]])
    bound, signals = vimco_learning_signals(log_w)
    w = np.exp(log_w.numpy()[:, 0])
    assert np.isclose(bound.numpy()[0], np.log(w.mean()), atol=1e-6)
    for j in range(3):
        others = np.delete(log_w.numpy()[:, 0], j)
        replaced = np.exp(others).sum() + np.exp(others.mean())
        assert np.isclose(signals.numpy()[j, 0], np.log(w.mean()) - np.log(replaced / 3),
                          atol=1e-5)


def test_vimco_rejects_single_sample_and_bad_rank():
    probs = tf.fill([2, 3], 0.5)
    with pytest.raises(ValueError, match="num_samples"):
        vimco_loss(probs, lambda u: tf.reduce_sum(u, -1), 1)
    with pytest.raises(ValueError, match="probs"):
        vimco_loss(tf.fill([3], 0.5), lambda u: tf.reduce_sum(u, -1), 2)
    with pytest.raises(ValueError, match="num_samples=4"):
        vimco_loss(tf.fill([3, 2, 3], 0.5), lambda u: tf.reduce_sum(u, -1), 4)


def test_vimco_in_xla_function():
    seed = keras.random.SeedGenerator(3)
    w = tf.Variable([0.5, 1.5, -0.3])

    @tf.function(jit_compile=True)
    def step(p):
        with tf.GradientTape() as tape:
            s, obj, _ = vimco_loss(p, lambda u: _loss(u, w), 4, seed=seed)
        return obj, tape.gradient(s, w)

    obj, grad = step(tf.fill([8, 3], 0.4))
    assert np.isfinite(obj.numpy()) and np.all(np.isfinite(grad.numpy()))
    obj2, _ = step(tf.fill([8, 3], 0.4))
    assert obj.numpy() != obj2.numpy()   # the seed generator advances between calls
