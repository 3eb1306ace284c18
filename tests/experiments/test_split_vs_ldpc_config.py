"""split_vs_ldpc.Config: the profiles are configs, and bad fields raise naming the field."""
import dataclasses

import numpy as np
import pytest
from scenario_scripts import load_scenario

from sem_sionna.experiments import split_vs_ldpc
from sem_sionna.experiments.split_vs_ldpc import Config, Schedule, SwinConfig

SMOKE = load_scenario("split_vs_ldpc").PROFILES["smoke"]


def test_every_profile_is_a_frozen_config():
    profiles = load_scenario("split_vs_ldpc").PROFILES
    assert set(profiles) == {"smoke", "quick", "paper"}
    assert all(isinstance(cfg, Config) for cfg in profiles.values())
    with pytest.raises(dataclasses.FrozenInstanceError):
        SMOKE.num_bits = 1
    assert profiles["paper"].s0_source == "swin" and profiles["paper"].swin is not None


@pytest.mark.parametrize("field, value", [
    ("num_bits", 0), ("n_test", 2.5), ("n_train", -1), ("batch_size", True),
    ("s0_transformer_blocks", -1), ("vimco_batch_size", 0), ("dataset", "imagenet"),
    ("s0_source", "vit"), ("stage2_estimator", "reinforce"), ("snr_db", [0.0, 20.0]),
    ("snr_db", ()), ("cbrs", (0.0,)), ("channels", ("awgn", "cdl-a")), ("codecs", ()),
    ("mcs", ((1.5, 4),)), ("eps_max", 0.6), ("eps_min", 0.5), ("lr", 0.0),
    ("reg_weight", -1.0), ("s0_snr_range_db", (20.0, 5.0)), ("stage1", 3),
    ("train_snr_db", "high"), ("s0_rayleigh_stage2", 6), ("s0_rayleigh_lr", -1e-3),
])
def test_bad_field_raises_value_error_naming_it(field, value):
    with pytest.raises(ValueError, match=field):
        dataclasses.replace(SMOKE, **{field: value})


def test_swin_source_needs_its_sizes():
    with pytest.raises(ValueError, match="swin"):
        dataclasses.replace(SMOKE, s0_source="swin")
    cfg = dataclasses.replace(SMOKE, s0_source="swin", swin=SwinConfig(8, 2, 4, 2))
    assert cfg.swin.heads == 2
    with pytest.raises(ValueError, match="heads"):
        SwinConfig(heads=0)


def test_schedule_checks_its_fields():
    assert Schedule(3).steps is None
    with pytest.raises(ValueError, match="epochs"):
        Schedule(0)
    with pytest.raises(ValueError, match="steps"):
        Schedule(1, steps=0)


def test_flip_cost_set_extends_the_test_images_from_the_test_split():
    _, _, test = split_vs_ldpc.load_images(SMOKE, seed=3)
    assert np.array_equal(split_vs_ldpc.flip_cost_set(SMOKE, 3, test), test)  # None: all
    fewer = dataclasses.replace(SMOKE, flip_cost_images=len(test) // 2)
    assert np.array_equal(split_vs_ldpc.flip_cost_set(fewer, 3, test), test[:len(test) // 2])
    more = dataclasses.replace(SMOKE, flip_cost_images=3 * len(test))
    extended = split_vs_ldpc.flip_cost_set(more, 3, test)
    assert extended.shape == (3 * len(test), *test.shape[1:])
    assert np.array_equal(extended[:len(test)], test)                # the sweep's images first
    train = split_vs_ldpc.load_images(SMOKE, seed=3)[0]
    flat = train.reshape(len(train), -1)
    assert not any((flat == x.reshape(-1)).all(axis=1).any() for x in extended)  # test photos
