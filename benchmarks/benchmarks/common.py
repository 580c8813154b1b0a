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


# ---- detection: boxes as (x1, y1, x2, y2) in a 1000x1000 image, uniform scores

@functools.lru_cache(maxsize=None)
def boxes_random(n, dtype="float32", seed=0):
    """Random centers, sides uniform in 10..100; returns (boxes, scores)."""
    rng = np.random.default_rng(seed)
    c = rng.uniform(0, 1000, (n, 2))
    s = rng.uniform(10, 100, (n, 2))
    b = np.concatenate([c - s / 2, c + s / 2], 1).astype(dtype)
    sc = rng.uniform(0, 1, n).astype(dtype)
    b.flags.writeable = False
    sc.flags.writeable = False
    return b, sc


@functools.lru_cache(maxsize=None)
def boxes_clustered(n, n_objects=200, dtype="float32", seed=0):
    """Detections jittered around n_objects objects (centers +-10% of the
    object size, sides +-20%), as a detector's raw output; (boxes, scores)."""
    rng = np.random.default_rng(seed)
    objc = rng.uniform(50, 950, (n_objects, 2))
    objs = rng.uniform(20, 100, (n_objects, 2))
    o = rng.integers(0, n_objects, n)
    c = objc[o] + rng.normal(0, 1, (n, 2)) * objs[o] * 0.1
    s = objs[o] * rng.uniform(0.8, 1.2, (n, 2))
    b = np.concatenate([c - s / 2, c + s / 2], 1).astype(dtype)
    sc = rng.uniform(0, 1, n).astype(dtype)
    b.flags.writeable = False
    sc.flags.writeable = False
    return b, sc
