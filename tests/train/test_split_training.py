"""Two-stage Split DeepJSCC / learned-interface training (S1 Sec. III, S0 Sec. II) and the
DeepJSCC baseline."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from sem_sionna.nets.deepjscc import DeepJSCCDecoder, DeepJSCCEncoder
from sem_sionna.nets.importance import ImportanceChannelDemapper, ImportanceChannelMapper
from sem_sionna.nets.interface import LearnedBSCInterface, MultiLevelBSC
from sem_sionna.nets.split import ChannelDemapper, ChannelMapper, SourceDemapper, SourceMapper
from sem_sionna.train.split import (train_channel_stage, train_deepjscc_stage,
                                    train_source_stage)

M, K = 128, 16
NET = dict(filters=8, head="conv")


@pytest.fixture(scope="module")
def images():
    """Smooth random 32x32 patches: a few low-frequency sinusoids per colour channel."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:32, 0:32] / 32.0
    out = np.empty([64, 32, 32, 3], np.float32)
    for i in range(64):
        f = rng.uniform(0.2, 1.5, (3, 2))
        ph = rng.uniform(0, 2 * np.pi, 3)
        for c in range(3):
            out[i, ..., c] = 0.5 + 0.4 * np.sin(2 * np.pi * (f[c, 0] * xx + f[c, 1] * yy) + ph[c])
    return out


def _source_pair():
    return SourceMapper(M, **NET), SourceDemapper(M, **NET)


class ToyMapper(keras.layers.Layer):
    """Flatten + dense sigmoid: a cheap stand-in to test the loops' bookkeeping."""

    def build(self, shape):
        self.dense = keras.layers.Dense(M, activation="sigmoid")
        self.dense.build((None, int(np.prod(shape[1:]))))

    def call(self, x):
        return self.dense(tf.reshape(x, [-1, 32 * 32 * 3]))


class ToyDemapper(keras.layers.Layer):
    def build(self, shape):
        self.dense = keras.layers.Dense(32 * 32 * 3, activation="sigmoid")
        self.dense.build(shape)

    def call(self, u):
        return tf.reshape(self.dense(u), [-1, 32, 32, 3])


@pytest.fixture(scope="module")
def trained_source(images):
    """Split DeepJSCC stage 1 (multi-level BSC, VIMCO) on the smooth patches."""
    keras.utils.set_random_seed(0)
    f, g = _source_pair()
    lines = []
    hist = train_source_stage(f, g, MultiLevelBSC(4, seed=1), images, epochs=4, lr=3e-3,
                              num_samples=4, batch_size=16, seed=2, log=lines.append)
    return f, g, hist, lines


def test_source_stage_vimco_reduces_loss(trained_source):
    _, _, hist, lines = trained_source
    assert len(hist["loss"]) == 4 and len(lines) == 4 and "ETA" in lines[-1]
    assert hist["loss"][-1] < hist["loss"][0]
    assert hist["mse"][-1] < hist["mse"][0]
    assert np.all(np.isfinite(hist["loss"]))


def test_source_stage_learned_interface_ste_reduces_loss(images):
    f, g = ToyMapper(), ToyDemapper()
    interface = LearnedBSCInterface(M, seed=1)
    seen = []

    def probe():  # epoch_metrics sees each epoch's weights; its values join the history
        seen.append(interface.eps.numpy().copy())
        return {"eps_max": np.max(seen[-1])}

    hist = train_source_stage(f, g, interface, images, epochs=4, lr=3e-3, batch_size=16,
                              seed=2, log=lambda s: None, epoch_metrics=probe)
    assert len(seen) == 4 and not np.array_equal(seen[0], seen[-1])
    np.testing.assert_allclose(hist["eps_max"], [e.max() for e in seen], rtol=1e-6)
    np.testing.assert_allclose(hist["eps_mean"], [e.mean() for e in seen], rtol=1e-5)
    assert hist["loss"][-1] < hist["loss"][0]
    assert hist["mse"][-1] < hist["mse"][0]
    # mu is trained with the straight-through estimator: eps moved from its initial value
    assert hist["eps_mean"][-1] != pytest.approx(1 / (1 + np.exp(4.0)) / 2, rel=1e-4)


def test_channel_stage_trains_only_channel_pair(images, trained_source):
    f, g, _, _ = trained_source
    h, q = ChannelMapper(M, K, units=32), ChannelDemapper(K, M, units=32)
    h(tf.zeros([1, M]))
    q(tf.zeros([1, K], tf.complex64))
    frozen = [w.numpy().copy() for w in f.weights + g.weights]
    chan = [w.numpy().copy() for w in h.trainable_weights + q.trainable_weights]
    hist = train_channel_stage(h, q, g, images, snr_db=10.0, source_mapper=f, epochs=3,
                               lr=3e-3, num_samples=4, batch_size=16, seed=4,
                               log=lambda s: None)
    for before, w in zip(frozen, f.weights + g.weights):
        np.testing.assert_array_equal(before, w.numpy())
    assert any(not np.array_equal(b, w.numpy())
               for b, w in zip(chan, h.trainable_weights + q.trainable_weights))
    assert set(hist) >= {"loss", "mse", "psnr", "ber", "lr", "epoch_time_s"}
    assert hist["loss"][-1] < hist["loss"][0]
    assert 0.0 <= hist["ber"][-1] <= 1.0


def test_importance_channel_stage_with_snr_range_and_precomputed_bits(images):
    g = ToyDemapper()
    interface = LearnedBSCInterface(M, seed=0)
    bits = np.random.default_rng(1).integers(0, 2, (len(images), M)).astype(np.float32)
    small = dict(num_tokens=8, embed_dim=8, num_transformer_blocks=1, num_heads=2,
                 num_res_units=1, modulation_layers=1)
    h = ImportanceChannelMapper(M, K, **small)
    q = ImportanceChannelDemapper(K, M, **small)
    mu = interface.mu.numpy().copy()
    hist = train_channel_stage(h, q, g, (bits, images), snr_db=(5.0, 20.0), interface=interface,
                               estimator="ste", epochs=2, lr=3e-3, batch_size=32, seed=5,
                               log=lambda s: None)
    np.testing.assert_array_equal(mu, interface.mu.numpy())
    assert len(hist["mse"]) == 2 and np.all(np.isfinite(hist["mse"]))


class SpyDemapper(ChannelDemapper):
    """An SNR-adaptive demapper that keeps the SNRs of its last batch (dB)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen = tf.Variable(tf.zeros([0]), shape=tf.TensorShape(None), trainable=False)

    def call(self, y, snr_db=None):
        self.seen.assign(tf.reshape(snr_db, [-1]))
        return super().call(y, snr_db)


@pytest.mark.parametrize("channel", ["awgn", "rayleigh"])
def test_channel_stage_over_rayleigh_feeds_the_demapper_the_effective_snr(images, channel):
    f, g = ToyMapper(), ToyDemapper()
    h = ChannelMapper(M, K, units=16)
    q = SpyDemapper(K, M, units=16, snr_adaptive=True)
    hist = train_channel_stage(h, q, g, images[:32], snr_db=10.0, source_mapper=f,
                               estimator="ste", epochs=1, batch_size=16, seed=1,
                               channel=channel, log=lambda s: None)
    seen = q.seen.numpy()
    assert np.all(np.isfinite(hist["loss"]))
    if channel == "awgn":
        np.testing.assert_allclose(seen, 10.0, atol=1e-5)
    else:  # 10 dB + 10 log10 |h|^2, |h|^2 ~ Exp(1): spread over several dB
        assert np.std(seen) > 2.0 and np.all(seen != 10.0)


def test_training_with_a_distribution_strategy(images):
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():
        f, g = ToyMapper(), ToyDemapper()
        interface = LearnedBSCInterface(M, seed=1)
        h, q = ChannelMapper(M, K, units=16), ChannelDemapper(K, M, units=16)
    hist = train_source_stage(f, g, interface, images[:32], epochs=1, lr=1e-3, batch_size=16,
                              strategy=strategy, seed=1, log=lambda s: None)
    assert np.isfinite(hist["loss"][0])
    hist = train_channel_stage(h, q, g, images[:32], snr_db=5.0, source_mapper=f, epochs=1,
                               num_samples=2, batch_size=16, strategy=strategy, seed=1,
                               log=lambda s: None)
    assert np.isfinite(hist["loss"][0])


def test_xla_compiled_steps(images):
    f, g = ToyMapper(), ToyDemapper()
    h, q = ChannelMapper(M, K, units=16), ChannelDemapper(K, M, units=16, snr_adaptive=True)
    hist = train_source_stage(f, g, MultiLevelBSC(4), images[:32], epochs=2, lr=1e-2,
                              estimator="vimco", num_samples=3, batch_size=16,
                              jit_compile=True, seed=1, log=lambda s: None)
    assert hist["loss"][-1] < hist["loss"][0]
    hist = train_channel_stage(h, q, g, images[:32], snr_db=(0.0, 10.0), source_mapper=f,
                               estimator="ste", epochs=2, batch_size=16,
                               jit_compile=True, seed=1, log=lambda s: None)
    assert np.all(np.isfinite(hist["loss"]))


def test_validation_lr_schedule_and_early_stopping(images):
    f, g = ToyMapper(), ToyDemapper()
    lines = []
    hist = train_source_stage(f, g, MultiLevelBSC(4), images[:32], epochs=6, lr=0.0,
                              num_samples=2, batch_size=16, val_dataset=images[32:48],
                              lr_patience=1, lr_factor=0.5, early_stopping_patience=2, seed=1,
                              log=lines.append)
    # lr = 0: nothing improves after the first epoch -> stop after epoch 3
    assert len(hist["val_mse"]) == 3
    assert "early stop" in lines[-1]
    assert hist["lr"] == [0.0, 0.0, 0.0]


def test_training_argument_errors(images):
    f, g = ToyMapper(), ToyDemapper()
    with pytest.raises(ValueError, match="estimator"):
        train_source_stage(f, g, MultiLevelBSC(4), images, estimator="reinforce")
    with pytest.raises(ValueError, match="num_samples"):
        train_source_stage(f, g, MultiLevelBSC(4), images, estimator="vimco", num_samples=1)
    with pytest.raises(TypeError, match="dataset"):
        train_source_stage(f, g, MultiLevelBSC(4), [1, 2, 3])
    h, q = ChannelMapper(M, K), ChannelDemapper(K, M)
    with pytest.raises(ValueError, match="source_mapper"):
        train_channel_stage(h, q, g, images, snr_db=10.0)
    with pytest.raises(ValueError, match="snr_db"):
        train_channel_stage(h, q, g, images, snr_db=(10.0, 5.0), source_mapper=f)
    with pytest.raises(ValueError, match="`channel`"):
        train_channel_stage(h, q, g, images, snr_db=10.0, source_mapper=f, channel="rician")
    hi = ImportanceChannelMapper(M, K, num_tokens=8)
    with pytest.raises(TypeError, match="importance"):
        train_channel_stage(hi, q, g, images, snr_db=10.0, source_mapper=f)


def test_deepjscc_stage_reduces_mse_and_resumes_from_its_checkpoint(images, tmp_path):
    enc = DeepJSCCEncoder(K, filters=8, head="dense")
    dec = DeepJSCCDecoder(K, image_size=(32, 32), filters=8, head="dense")
    dec(enc(tf.zeros([1, 32, 32, 3])))
    lines = []
    hist = train_deepjscc_stage(enc, dec, images, snr_db=10.0, epochs=3, lr=3e-3,
                                batch_size=16, seed=1, name="deepjscc K=16",
                                ckpt_dir=tmp_path, log=lines.append)
    assert len(hist["mse"]) == 3 and hist["mse"][-1] < hist["mse"][0]
    assert lines[0].startswith("deepjscc K=16")
    # a rerun into the same directory finds every epoch done
    again = train_deepjscc_stage(enc, dec, images, snr_db=10.0, epochs=3, lr=3e-3,
                                 batch_size=16, seed=1, ckpt_dir=tmp_path, log=lines.append)
    assert again["mse"] == hist["mse"]
