import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# Sanitizer builds run ~5-10x slower: fewer examples there, same properties.
settings.register_profile("default", max_examples=40, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("sanitize", max_examples=8, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("FASTPRIMS_HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def tol(dtype):
    """(rtol, atol) for comparing a kernel against a float64 reference."""
    return (2e-5, 1e-6) if np.dtype(dtype) == np.float32 else (1e-12, 1e-13)
