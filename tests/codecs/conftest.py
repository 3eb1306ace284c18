"""Images shared by the codec tests: the astronaut's face at 32x32 and 64x64."""
import numpy as np
import pytest
from skimage import data, transform


@pytest.fixture(scope="session")
def astronaut():
    return data.astronaut().astype(np.float32) / 255.0


@pytest.fixture(scope="session", params=[32, 64], ids=["32x32", "64x64"])
def face(request, astronaut):
    """Face region (256x256) resized with anti-aliasing to ``S x S``, float32."""
    size = request.param
    return transform.resize(astronaut[30:286, 120:376], (size, size),
                            anti_aliasing=True).astype(np.float32)


@pytest.fixture(scope="session")
def face32(astronaut):
    return transform.resize(astronaut[30:286, 120:376], (32, 32),
                            anti_aliasing=True).astype(np.float32)


@pytest.fixture(scope="session")
def crop32(astronaut):
    """A 32x32 crop at full resolution (smoother than the resized face)."""
    return np.ascontiguousarray(astronaut[100:132, 180:212])
