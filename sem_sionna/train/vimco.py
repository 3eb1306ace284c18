"""VIMCO gradient estimator for layers of independent Bernoulli units.

Split DeepJSCC (S1, Tung et al., eqs. (7)-(11), (15)) trains its binary mappers by
maximising the multi-sample bound (Burda et al.; Mnih & Rezende 2016)

    L^J(x) = E_{u^1..u^J ~ q(u|x)} [ log (1/J) sum_j p(x|u^j) ],   log p(x|u) = -loss(u),

whose gradient w.r.t. the parameters of ``q`` is estimated with VIMCO's leave-one-out
learning signals

    L(u^j | u^-j) = L_hat - log (1/J) ( sum_{i != j} p(x|u^i) + p_hat_{-j} ),
    p_hat_{-j} = exp( 1/(J-1) sum_{i != j} log p(x|u^i) )   (geometric mean of the others),

    grad ~= sum_j L(u^j|u^-j) grad log q(u^j|x)  +  sum_j c_j grad log p(x|u^j),
    c_j = p(x|u^j) / sum_i p(x|u^i)                                       (S1 eq. (11)).

(S1 prints the baseline as ``- log (1/J) sum_{i != j} p(x|u^i) + m``; we follow Mnih &
Rezende's eq. (11), where the geometric mean replaces the j-th term inside the log-sum --
the estimator is unbiased for either baseline since it does not depend on ``u^j``.)

:func:`vimco_loss` returns a scalar *surrogate* whose automatic gradient is exactly this
estimator (averaged over the batch), together with the reported objective ``-L_hat``.
"""
from __future__ import annotations

from typing import Callable

import keras
import tensorflow as tf

from sem_sionna.utils.checks import check_positive_int

__all__ = ["vimco_loss", "vimco_learning_signals", "bernoulli_log_prob"]

_EPS = 1e-6


def bernoulli_log_prob(samples: tf.Tensor, probs: tf.Tensor,
                       from_logits: bool = False) -> tf.Tensor:
    """Log-probability of independent Bernoulli bits, summed over the last axis.

    Input
    -----
    samples : [..., M], tf.float32 -- bits in {0, 1}.
    probs : [..., M], tf.float32 -- P(bit = 1) (clipped to [1e-6, 1 - 1e-6]), or logits
        when ``from_logits``.

    Output
    ------
    log_q : [...], tf.float32 -- ``sum_m log Bernoulli(samples_m; probs_m)``, nats.
    """
    if from_logits:
        ll = -samples * tf.nn.softplus(-probs) - (1.0 - samples) * tf.nn.softplus(probs)
    else:
        p = tf.clip_by_value(probs, _EPS, 1.0 - _EPS)
        ll = samples * tf.math.log(p) + (1.0 - samples) * tf.math.log1p(-p)
    return tf.reduce_sum(ll, axis=-1)


def _log_mean_exp(x, axis):
    n = tf.cast(tf.shape(x)[axis], x.dtype)
    return tf.reduce_logsumexp(x, axis=axis) - tf.math.log(n)


def vimco_learning_signals(log_weights: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Multi-sample bound and VIMCO leave-one-out learning signals.

    Input
    -----
    log_weights : [J, batch], tf.float32 -- ``log p(x|u^j)`` for ``J >= 2`` samples.

    Output
    ------
    bound : [batch], tf.float32 -- ``L_hat = log (1/J) sum_j exp(log_weights_j)``.
    signals : [J, batch], tf.float32 -- ``L(u^j | u^-j)`` (geometric-mean baseline).
    """
    j = tf.shape(log_weights)[0]
    jf = tf.cast(j, log_weights.dtype)
    bound = _log_mean_exp(log_weights, axis=0)
    # geometric mean of the other J-1 samples, in the log domain
    loo_mean = (tf.reduce_sum(log_weights, axis=0, keepdims=True) - log_weights) / (jf - 1.0)
    eye = tf.eye(j, dtype=tf.bool)[:, :, None]                                 # [J, J, 1]
    # row j: log-weights with the j-th replaced by the geometric mean of the others
    replaced = tf.where(eye, loo_mean[:, None, :], log_weights[None, :, :])   # [J, J, b]
    baseline = _log_mean_exp(replaced, axis=1)                                # [J, b]
    return bound, bound[None, :] - baseline


def vimco_loss(probs: tf.Tensor, loss_fn: Callable[[tf.Tensor], tf.Tensor], num_samples: int,
               seed=None, from_logits: bool = False) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Surrogate loss whose gradient is the VIMCO estimator for Bernoulli(``probs``) samples.

    Draws ``J = num_samples`` samples ``u^j ~ Bernoulli(probs)``, evaluates the per-sample
    loss ``loss_j = loss_fn(u)`` (the negative log-likelihood ``-log p(x|u^j)``, e.g. a
    scaled squared error of a decoder, S1 Lemma 1 / eq. (19)), and returns

    ``surrogate = -mean_b [ L_hat + sum_j stop_gradient(L(u^j|u^-j)) log q(u^j) ]``

    Minimising ``surrogate`` with gradient descent ascends ``L^J``: its gradient w.r.t. the
    parameters producing ``probs`` is the VIMCO score-function term and w.r.t. the
    parameters inside ``loss_fn`` it is ``-sum_j c_j grad log p(x|u^j)`` (S1 eq. (11)).
    Samples are hard (no gradient flows through them).

    Parameters
    ----------
    probs : [batch, M] or [J, batch, M], tf.float32 -- Bernoulli parameters (P(bit=1)),
        shared by all samples or one set per sample (e.g. one channel-noise draw each);
        logits when ``from_logits``.
    loss_fn : callable -- ``[J, batch, M]`` bits -> ``[J, batch]`` per-sample loss
        ``-log p(x|u)`` (nats); gradients may flow into its parameters.
    num_samples : int -- ``J >= 2``.
    seed : keras ``SeedGenerator``, int or None -- randomness of the samples (use a
        ``SeedGenerator`` inside ``tf.function``, an int gives the same draw every call).
    from_logits : bool, default False -- interpret ``probs`` as logits.

    Output
    ------
    surrogate : [], tf.float32 -- minimise this.
    objective : [], tf.float32 -- ``-mean_b L_hat``, the multi-sample loss (report this).
    losses : [J, batch], tf.float32 -- the per-sample losses ``loss_fn(u)``.
    """
    j = check_positive_int(num_samples, "num_samples", minimum=2)
    probs = tf.convert_to_tensor(probs, tf.float32)
    if len(probs.shape) == 2:
        probs = tf.broadcast_to(probs[None], tf.concat([[j], tf.shape(probs)], 0))
    elif len(probs.shape) == 3:
        if probs.shape[0] is not None and probs.shape[0] != j:
            raise ValueError(f"first dimension of `probs` must be num_samples={j} when it has "
                             f"rank 3, got shape {tuple(probs.shape)}")
    else:
        raise ValueError(f"`probs` must be [batch, M] or [num_samples, batch, M], "
                         f"got shape {tuple(probs.shape)}")
    p1 = tf.sigmoid(probs) if from_logits else probs
    u = tf.cast(keras.random.uniform(tf.shape(p1), seed=seed) < tf.stop_gradient(p1), tf.float32)
    log_q = bernoulli_log_prob(u, probs, from_logits)                     # [J, b]
    losses = loss_fn(u)
    log_w = -tf.convert_to_tensor(losses, tf.float32)
    bound, signals = vimco_learning_signals(log_w)
    surrogate = -tf.reduce_mean(bound + tf.reduce_sum(tf.stop_gradient(signals) * log_q, 0))
    return surrogate, -tf.reduce_mean(bound), losses
