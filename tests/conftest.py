"""Shared pytest fixtures."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same global seed."""
    keras.utils.set_random_seed(1234)
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def caplog(caplog):
    """pytest's caplog, also attached to the ``sem_sionna`` logger: that logger does not
    propagate to the root once :func:`sem_sionna.utils.configure_logging` ran (it prints
    through tqdm instead), so caplog's root handler alone would see nothing."""
    import logging

    logger = logging.getLogger("sem_sionna")
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)
