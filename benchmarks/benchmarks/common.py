"""Seeded, cached inputs shared by the asv suites (built once per process)."""
import functools

import numpy as np


@functools.lru_cache(maxsize=None)
def randn(shape, dtype="float32", seed=0):
    a = np.random.default_rng(seed).standard_normal(shape, dtype=np.float64).astype(dtype)
    a.flags.writeable = False
    return a


@functools.lru_cache(maxsize=None)
def labels(n, num_classes, seed=0):
    a = np.random.default_rng(seed).integers(0, num_classes, size=n, dtype=np.int64)
    a.flags.writeable = False
    return a


@functools.lru_cache(maxsize=None)
def uniform(shape, dtype="float32", seed=0):
    """Uniform [0, 1) values (probabilities, soft or thresholded targets)."""
    a = np.random.default_rng(seed).random(shape, dtype=np.float64).astype(dtype)
    a.flags.writeable = False
    return a
