"""Data loading, augmentation, class balancing and dataset splitting.

Design:
- Randomness is drawn in Python with NumPy's PCG64 from a SeedSequence of
  (seed, epoch, batch index) and handed to the C kernels as explicit
  per-sample parameters (flip mask, shifts, affine matrices). A batch
  therefore depends only on (seed, epoch, batch index) - not on the number of
  loader threads, not on which thread built it, not on timing.
- DataLoader: background threads gather each batch (C memcpy of rows, GIL
  released) into preallocated contiguous buffers and run the transform on
  them in place (C kernels, GIL released), `prefetch` batches ahead of the
  consumer. A buffer is reused only after the consumer has moved past its
  batch AND nothing still references it (its refcount is back to the
  loader's own): a batch you keep (e.g. list(loader)) is never overwritten -
  its slot gets a fresh buffer instead.
- Augmentations operate on float32/float64 NCHW batches. Coordinates are
  pixel indices (row, col); affine warps sample the input bilinearly at
  A @ (row, col) + b for every output pixel; padding "zero" reads 0 outside
  the image (scipy.ndimage mode "grid-constant"), "edge" repeats the border
  (scipy mode "nearest"). A random crop of an image padded by p equals a
  translation by a uniform integer shift in [-p, p] (torchvision RandomCrop
  with padding), and is implemented as one.
- standardize/min_max_scale act per channel (axis 1) like torchvision
  Normalize ((x - mean) / std) and scikit-learn MinMaxScaler (x * scale + min,
  a zero data range counts as 1).
"""
import inspect
import math
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from fastprims import _data as K
from fastprims import _validate as V

__all__ = [
    "DataLoader", "flip_horizontal", "translate", "crop", "affine_transform", "affine_matrices",
    "random_horizontal_flip", "random_translate", "random_crop", "random_affine",
    "standardize", "min_max_scale",
    "RandomHorizontalFlip", "RandomTranslate", "RandomCrop", "RandomAffine", "Standardize", "MinMaxScale",
    "Compose", "class_weights", "sampler_indices", "kfold_indices", "stratified_kfold_indices",
    "train_test_split",
]

_PAD_MODES = {"zero": 0, "constant": 0, "edge": 1}


def _pad_mode(padding_mode):
    if padding_mode not in _PAD_MODES:
        raise ValueError(f"padding_mode must be 'zero' or 'edge', got {padding_mode!r}")
    return _PAD_MODES[padding_mode]


def _rng(seed):
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def _batch_out(x, out):
    """A C-contiguous float NCHW working copy of x (or x itself when out is x)."""
    if out is not None and out is x:
        return K.check_batch(x)
    a = V.float_array(x, "x", ndim=4)
    y = V.output(out, a.shape, a.dtype)
    if y is not a:
        np.copyto(y, a)
    return y


# ---------------------------------------------------------------- deterministic kernels

def flip_horizontal(x, mask=None, *, out=None):
    """Mirror the width axis of the samples where mask is true (all when None).
    x: (N, C, H, W) float32/float64. out=x works in place."""
    y = _batch_out(x, out)
    m = np.ones(y.shape[0], np.uint8) if mask is None else np.asarray(mask)
    if m.shape != (y.shape[0],):
        raise ValueError(f"mask must have shape ({y.shape[0]},), got {m.shape}")
    return K.hflip_(y, m.astype(np.uint8))


def translate(x, shifts, padding_mode="zero", *, out=None):
    """Shift sample i's content by shifts[i] = (dy, dx) whole pixels
    (out[r, c] = x[r - dy, c - dx]), padding with zeros or the edge."""
    y = _batch_out(x, out)
    s = np.asarray(shifts)
    if s.dtype.kind not in "iu":
        raise TypeError(f"shifts must be integers, got dtype {s.dtype}")
    if s.shape != (y.shape[0], 2):
        raise ValueError(f"shifts must have shape ({y.shape[0]}, 2), got {s.shape}")
    return K.translate_(y, s.astype(np.int64), _pad_mode(padding_mode))


def crop(x, offsets, size, padding_mode="zero", *, out=None):
    """Window of size (oh, ow) of sample i starting at offsets[i] = (top, left)
    (out[r, c] = x[top + r, left + c]); offsets may leave the image, which is
    then padded with zeros or the edge. Returns (N, C, oh, ow)."""
    a = V.float_array(x, "x", ndim=4)
    oh, ow = (int(v) for v in _pair(size, "size"))
    if oh < 0 or ow < 0:
        raise ValueError(f"size must be non-negative, got {size!r}")
    o = np.asarray(offsets)
    if o.dtype.kind not in "iu":
        raise TypeError(f"offsets must be integers, got dtype {o.dtype}")
    if o.shape != (a.shape[0], 2):
        raise ValueError(f"offsets must have shape ({a.shape[0]}, 2), got {o.shape}")
    y = V.output(out, a.shape[:2] + (oh, ow), a.dtype)
    if a.size == 0 or y.size == 0:
        if y.size:
            y.fill(0)
        return y
    return K.crop(a, y, o.astype(np.int64), _pad_mode(padding_mode))


def affine_transform(x, matrices, padding_mode="zero", *, out=None):
    """Bilinear affine warp: output pixel (r, c) of sample i samples the input
    at A_i @ (r, c) + b_i, matrices[i] = [[a00, a01, b0], [a10, a11, b1]]
    (shape (N, 2, 3), or (2, 3) / (1, 2, 3) for all). Same mapping and bilinear weights as
    scipy.ndimage.affine_transform(order=1, mode="grid-constant"/"nearest")."""
    y = _batch_out(x, out)
    m = np.asarray(matrices, dtype=np.float64)
    if m.shape in ((2, 3), (1, 2, 3)):
        m = np.broadcast_to(m.reshape(2, 3), (y.shape[0], 2, 3))
    if m.shape != (y.shape[0], 2, 3):
        raise ValueError(f"matrices must have shape ({y.shape[0]}, 2, 3) or (2, 3), got {m.shape}")
    return K.affine_(y, m.reshape(-1, 6), _pad_mode(padding_mode))


def affine_matrices(h, w, angles=0.0, translations=None, scales=1.0):
    """Inverse (output -> input) matrices of rotations by `angles` degrees
    counter-clockwise about the image center, scaling by `scales` and then
    translating by (dy, dx) pixels, for images of size (h, w); one per sample
    (arrays broadcast to a common length N). Returns (N, 2, 3)."""
    ang = np.atleast_1d(np.asarray(angles, np.float64))
    sc = np.atleast_1d(np.asarray(scales, np.float64))
    tr = np.zeros((1, 2)) if translations is None else np.asarray(translations, np.float64).reshape(-1, 2)
    n = max(len(ang), len(sc), len(tr))
    ang, sc = np.broadcast_to(ang, (n,)), np.broadcast_to(sc, (n,))
    tr = np.broadcast_to(tr, (n, 2))
    if np.any(sc == 0) or not np.isfinite(sc).all():
        raise ValueError("scales must be finite and non-zero")
    theta = np.deg2rad(ang)
    cos, sin = np.cos(theta), np.sin(theta)
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    # forward (about the center, y down): x' = s(x cos + y sin), y' = s(-x sin + y cos), then + t;
    # inverse: (x, y) = R^-1 ((x', y') - t) / s
    m = np.empty((n, 2, 3))
    m[:, 0, 0] = cos / sc          # src_row from dst_row
    m[:, 0, 1] = sin / sc          # src_row from dst_col
    m[:, 1, 0] = -sin / sc         # src_col from dst_row
    m[:, 1, 1] = cos / sc          # src_col from dst_col
    oy, ox = cy + tr[:, 0], cx + tr[:, 1]
    m[:, 0, 2] = cy - m[:, 0, 0] * oy - m[:, 0, 1] * ox
    m[:, 1, 2] = cx - m[:, 1, 0] * oy - m[:, 1, 1] * ox
    return m


# ---------------------------------------------------------------- random transforms

def _pair(v, name):
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{name} must be a number or a pair, got {v!r}")
        return tuple(v)
    return (v, v)


class RandomHorizontalFlip:
    """Flip each sample with probability p."""

    def __init__(self, p=0.5):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {p}")
        self.p = p

    def __call__(self, x, rng):
        x = K.check_batch(x)
        return K.hflip_(x, (rng.random(x.shape[0]) < self.p).astype(np.uint8))


class RandomTranslate:
    """Shift each sample by uniform integers dy in [-max_dy, max_dy], dx in
    [-max_dx, max_dx] (max_shift: int or (max_dy, max_dx))."""

    def __init__(self, max_shift, padding_mode="zero"):
        self.max_shift = tuple(int(v) for v in _pair(max_shift, "max_shift"))
        if min(self.max_shift) < 0:
            raise ValueError(f"max_shift must be >= 0, got {max_shift!r}")
        self.mode = _pad_mode(padding_mode)

    def __call__(self, x, rng):
        x = K.check_batch(x)
        n = x.shape[0]
        shifts = np.stack([rng.integers(-m, m, size=n, endpoint=True) for m in self.max_shift], axis=1)
        return K.translate_(x, shifts, self.mode)


class RandomCrop(RandomTranslate):
    """torchvision RandomCrop(size, padding): a (size) window of the image
    padded by `padding` at a uniform offset. size None keeps the image size:
    then it is a uniform shift in [-padding, padding], done in place."""

    def __init__(self, padding, size=None, padding_mode="zero"):
        super().__init__(padding, padding_mode)
        self.size = None if size is None else tuple(int(v) for v in _pair(size, "size"))
        if self.size is not None and min(self.size) < 1:
            raise ValueError(f"size must be positive, got {size!r}")

    def __call__(self, x, rng):
        if self.size is None or self.size == tuple(np.shape(x)[2:]):
            return super().__call__(x, rng)
        return self._crop(V.float_array(x, "x", ndim=4), rng, None)

    def _crop(self, x, rng, out):
        n, _, h, w = x.shape
        (oh, ow), (py, px) = self.size, self.max_shift
        if oh > h + 2 * py or ow > w + 2 * px:
            raise ValueError(f"crop size {self.size} is larger than the padded image "
                             f"({h + 2 * py}, {w + 2 * px})")
        offsets = np.stack([rng.integers(0, h + 2 * py - oh, size=n, endpoint=True) - py,
                            rng.integers(0, w + 2 * px - ow, size=n, endpoint=True) - px], axis=1)
        return crop(x, offsets, self.size, ("zero", "edge")[self.mode], out=out)


class RandomAffine:
    """Per sample: rotation by a uniform angle in [-degrees, degrees] (or the
    given range), scaling by a uniform factor in `scale` (min, max), and a
    translation by uniform fractions of the size in [-translate[i], translate[i]]
    (torchvision RandomAffine's parameters), one bilinear warp."""

    def __init__(self, degrees=0.0, translate=None, scale=None, padding_mode="zero"):
        d = _pair(degrees, "degrees")
        self.degrees = (-abs(d[0]), abs(d[0])) if not isinstance(degrees, (tuple, list)) else tuple(d)
        self.translate = None if translate is None else tuple(float(t) for t in _pair(translate, "translate"))
        if self.translate is not None and not all(0.0 <= t <= 1.0 for t in self.translate):
            raise ValueError(f"translate fractions must be in [0, 1], got {translate!r}")
        self.scale = None if scale is None else tuple(float(s) for s in _pair(scale, "scale"))
        if self.scale is not None and not (0 < self.scale[0] <= self.scale[1]):
            raise ValueError(f"scale must be a range 0 < min <= max, got {scale!r}")
        self.mode = _pad_mode(padding_mode)

    def matrices(self, n, h, w, rng):
        ang = rng.uniform(self.degrees[0], self.degrees[1], n)
        tr = np.zeros((n, 2))
        if self.translate is not None:
            tr[:, 0] = rng.uniform(-1, 1, n) * self.translate[1] * h
            tr[:, 1] = rng.uniform(-1, 1, n) * self.translate[0] * w
        sc = np.ones(n) if self.scale is None else rng.uniform(self.scale[0], self.scale[1], n)
        return affine_matrices(h, w, ang, tr, sc)

    def __call__(self, x, rng):
        x = K.check_batch(x)
        n, _, h, w = x.shape
        return K.affine_(x, self.matrices(n, h, w, rng).reshape(n, 6), self.mode)


class Standardize:
    """(x - mean[c]) / std[c] in place (torchvision Normalize)."""

    def __init__(self, mean, std):
        self.mean, self.std = mean, std

    def __call__(self, x, rng=None):
        return standardize(x, self.mean, self.std, out=x)


class MinMaxScale:
    """min_max_scale with fixed data_min/data_max, in place."""

    def __init__(self, data_min, data_max, feature_range=(0.0, 1.0)):
        self.data_min, self.data_max, self.feature_range = data_min, data_max, feature_range

    def __call__(self, x, rng=None):
        return min_max_scale(x, self.feature_range, data_min=self.data_min, data_max=self.data_max, out=x)


class Compose:
    """Apply transforms in order; each is called as t(x, rng) and may work in place."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x, rng):
        for t in self.transforms:
            x = t(x, rng)
        return x


def random_horizontal_flip(x, p=0.5, seed=None, *, out=None):
    """Flip each sample with probability p (seed: int, None or a numpy Generator)."""
    return RandomHorizontalFlip(p)(_batch_out(x, out), _rng(seed))


def random_translate(x, max_shift, padding_mode="zero", seed=None, *, out=None):
    """Shift each sample by uniform integer (dy, dx) in [-max_shift, max_shift]."""
    return RandomTranslate(max_shift, padding_mode)(_batch_out(x, out), _rng(seed))


def random_crop(x, padding, size=None, padding_mode="zero", seed=None, *, out=None):
    """Random (size) crop (default: the image size) of the image padded by `padding`."""
    t = RandomCrop(padding, size, padding_mode)
    a = V.float_array(x, "x", ndim=4)
    if t.size is None or t.size == a.shape[2:]:
        return t(_batch_out(a, out), _rng(seed))
    return t._crop(a, _rng(seed), out)


def random_affine(x, degrees=0.0, translate=None, scale=None, padding_mode="zero", seed=None, *, out=None):
    """Random rotation/scaling/translation per sample (see RandomAffine)."""
    return RandomAffine(degrees, translate, scale, padding_mode)(_batch_out(x, out), _rng(seed))


# ---------------------------------------------------------------- normalization

def _per_channel(v, c, name):
    a = np.asarray(v, np.float64)
    if a.ndim == 0:
        a = np.full(c, float(a))
    if a.shape != (c,):
        raise ValueError(f"{name} must be a scalar or have {c} values (one per channel), got shape {a.shape}")
    return a


def _channels_in(a):
    if a.ndim < 1:
        raise ValueError(f"x must have at least 1 dimension, got shape {a.shape}")
    return a.shape[1] if a.ndim > 1 else 1


def standardize(x, mean=None, std=None, *, out=None):
    """(x - mean[c]) / std[c] over the channel axis 1 of x (N, C, ...);
    mean/std default to x's per-channel mean and population std (a zero std
    counts as 1, as scikit-learn's StandardScaler)."""
    a = V.float_array(x, "x")
    c = _channels_in(a)
    if a.size == 0:
        return V.output(out, a.shape, a.dtype)
    if mean is None or std is None:
        a2 = a.reshape(a.shape[0], c, -1) if a.ndim != 1 else a.reshape(-1, 1, 1)
        if mean is None:
            mean = a2.mean(axis=(0, 2), dtype=np.float64)
        if std is None:
            s = a2.std(axis=(0, 2), dtype=np.float64)
            std = np.where(s == 0, 1.0, s)
    m = _per_channel(mean, c, "mean")
    s = _per_channel(std, c, "std")
    if np.any(s == 0):
        raise ValueError("std must be non-zero")
    return K.channel_affine(a, V.output(out, a.shape, a.dtype), m, s, 0)


def min_max_scale(x, feature_range=(0.0, 1.0), *, data_min=None, data_max=None, out=None):
    """Scale each channel (axis 1) to feature_range: x * scale + min with
    scale = (hi - lo) / (data_max - data_min) (scikit-learn MinMaxScaler; the
    data range defaults to x's per-channel min/max, a zero range counts as 1)."""
    a = V.float_array(x, "x")
    c = _channels_in(a)
    lo, hi = (float(v) for v in feature_range)
    if not lo < hi:
        raise ValueError(f"feature_range must be (min, max) with min < max, got {feature_range!r}")
    if a.size == 0:
        return V.output(out, a.shape, a.dtype)
    a2 = a.reshape(a.shape[0], c, -1) if a.ndim != 1 else a.reshape(-1, 1, 1)
    dmin = _per_channel(a2.min(axis=(0, 2)) if data_min is None else data_min, c, "data_min")
    dmax = _per_channel(a2.max(axis=(0, 2)) if data_max is None else data_max, c, "data_max")
    rng = dmax - dmin
    rng = np.where(rng == 0, 1.0, rng)
    scale = (hi - lo) / rng
    shift = lo - dmin * scale
    y = V.output(out, a.shape, a.dtype)
    return K.channel_affine(a, y, scale, shift, 1)


# ---------------------------------------------------------------- class balance and splits

def _labels(y, name="y"):
    a = np.asarray(y)
    if a.dtype.kind not in "iu" or a.ndim != 1:
        raise TypeError(f"{name} must be a 1-D integer array of class labels, got dtype {a.dtype} "
                        f"and shape {a.shape}")
    if a.size and a.min() < 0:
        raise ValueError(f"{name} must hold non-negative class labels, got {int(a.min())}")
    return a.astype(np.int64, copy=False)


def class_weights(y, n_classes=None):
    """scikit-learn's "balanced" weights n_samples / (n_present_classes * count[c])
    for c in range(n_classes) (default max(y) + 1); absent classes get 0."""
    y = _labels(y)
    if y.size == 0:
        raise ValueError("y is empty")
    k = int(y.max()) + 1 if n_classes is None else int(n_classes)
    if y.max() >= k:
        raise ValueError(f"label {int(y.max())} is out of range for n_classes={k}")
    counts = np.bincount(y, minlength=k).astype(np.float64)
    present = np.count_nonzero(counts)
    with np.errstate(divide="ignore"):
        w = np.where(counts > 0, y.size / (present * counts), 0.0)
    return w


def sampler_indices(y, kind, rng):
    """One epoch of sample indices for a class-balancing sampler:
    "oversample" - every class drawn up to the largest class count (its own
    samples once, the rest drawn with replacement); "undersample" - every class
    drawn down to the smallest count without replacement; "balanced" -
    len(y) draws with replacement, probability proportional to 1/count[class]
    (torch WeightedRandomSampler with class-balanced weights). Random order."""
    y = _labels(y)
    rng = _rng(rng)
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    if kind == "balanced":
        p = 1.0 / counts[inverse]
        return rng.choice(y.size, size=y.size, replace=True, p=p / p.sum())
    order = np.argsort(inverse, kind="stable")
    groups = np.split(order, np.cumsum(counts)[:-1])
    if kind == "oversample":
        m = counts.max()
        parts = [np.concatenate([g, rng.choice(g, m - g.size, replace=True)]) for g in groups]
    elif kind == "undersample":
        m = counts.min()
        parts = [rng.choice(g, m, replace=False) for g in groups]
    else:
        raise ValueError(f"sampler must be None, 'balanced', 'oversample' or 'undersample', got {kind!r}")
    return rng.permutation(np.concatenate(parts))


def _check_k(n, k):
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise ValueError(f"k must be an int >= 2, got {k!r}")
    if k > n:
        raise ValueError(f"k={k} folds cannot be greater than the number of samples n={n}")


def kfold_indices(n, k, shuffle=False, seed=None):
    """scikit-learn KFold: k (train, test) index pairs; the first n % k folds
    have n // k + 1 samples. Train indices ascending, test in fold order."""
    n = int(n)
    _check_k(n, k)
    idx = _rng(seed).permutation(n) if shuffle else np.arange(n)
    sizes = np.full(k, n // k)
    sizes[: n % k] += 1
    folds, start = [], 0
    for s in sizes:
        test = idx[start:start + s]
        mask = np.ones(n, bool)
        mask[test] = False
        folds.append((np.flatnonzero(mask), test))
        start += s
    return folds


def stratified_kfold_indices(y, k, shuffle=False, seed=None):
    """k (train, test) pairs whose class proportions follow y's: each class's
    samples (shuffled when asked) are dealt to the folds in turn, continuing
    the turn across classes so fold sizes differ by at most one."""
    y = _labels(y)
    n = y.size
    _check_k(n, k)
    rng = _rng(seed)
    fold_of = np.empty(n, np.int64)
    pos = 0
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        if shuffle:
            members = rng.permutation(members)
        fold_of[members] = (pos + np.arange(members.size)) % k
        pos = (pos + members.size) % k
    return [(np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)) for f in range(k)]


def train_test_split(*arrays, test_size=None, train_size=None, shuffle=True, seed=None, stratify=None):
    """scikit-learn train_test_split: [a_train, a_test, b_train, b_test, ...].
    test_size: fraction (n_test = ceil(f * n)) or count; default 0.25 of the
    rest when train_size is also None. stratify: labels whose proportions both
    parts keep (largest-remainder allocation per class)."""
    if not arrays:
        raise ValueError("at least one array is required")
    arrays = [np.asarray(a) for a in arrays]
    n = len(arrays[0])
    for a in arrays:
        if len(a) != n:
            raise ValueError(f"all arrays must have the same length, got {[len(a) for a in arrays]}")

    def count(size, name):
        if size is None:
            return None
        if isinstance(size, float):
            if not 0.0 < size < 1.0:
                raise ValueError(f"{name}={size} should be a float in (0, 1) or an int")
            return math.ceil(size * n) if name == "test_size" else math.floor(size * n)
        if not 0 < size < n:
            raise ValueError(f"{name}={size} should be in (0, {n})")
        return int(size)

    n_test, n_train = count(test_size, "test_size"), count(train_size, "train_size")
    if n_test is None and n_train is None:
        n_test = math.ceil(0.25 * n)
    if n_test is None:
        n_test = n - n_train
    if n_train is None:
        n_train = n - n_test
    if n_train + n_test > n or n_train <= 0 or n_test <= 0:
        raise ValueError(f"train/test sizes {n_train}/{n_test} do not fit {n} samples")
    rng = _rng(seed)
    if stratify is not None:
        if not shuffle:
            raise ValueError("stratified splitting requires shuffle=True")
        y = _labels(stratify, "stratify")
        if y.size != n:
            raise ValueError(f"stratify must have {n} labels, got {y.size}")
        classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
        exact = counts * (n_test / n)
        take = np.floor(exact).astype(np.int64)
        short = n_test - take.sum()
        take[np.argsort(-(exact - take), kind="stable")[:short]] += 1
        test, train = [], []
        for ci in range(classes.size):
            members = rng.permutation(np.flatnonzero(inverse == ci))
            test.append(members[:take[ci]])
            train.append(members[take[ci]:])
        test = rng.permutation(np.concatenate(test))
        train = rng.permutation(np.concatenate(train))[:n_train]
    elif shuffle:
        perm = rng.permutation(n)
        test, train = perm[:n_test], perm[n_test:n_test + n_train]
    else:
        train, test = np.arange(n_train), np.arange(n_train, n_train + n_test)
    out = []
    for a in arrays:
        out += [a[train], a[test]]
    return out


# ---------------------------------------------------------------- DataLoader

def _refcount_baseline():
    holder = [np.empty(1)]
    return sys.getrefcount(holder[0])


class DataLoader:
    """Mini-batches of (X, y) with shuffling, class balancing, augmentation and
    background prefetch.

    X: (N, ...) array of any dtype (e.g. float32 NCHW images); y: (N, ...)
    labels or None. Each iteration over the loader is one epoch (epoch 0, 1,
    ...; set_epoch(e) to choose); its order is drawn from (seed, epoch), so
    epochs reshuffle and a run is reproducible. sampler: None (every sample
    once, shuffled if shuffle), "balanced", "oversample", "undersample" (see
    sampler_indices). transform(x_batch, rng) (or transform(x_batch)) runs on
    each gathered batch, in place or returning a new array; rng is a NumPy
    Generator seeded by (seed, epoch, batch index). Yields (x_batch, y_batch),
    or x_batch alone when y is None; the last batch is smaller unless drop_last.

    num_threads background threads build batches up to `prefetch` ahead
    (num_threads=0: synchronously on iteration); their C kernels run with one
    OpenMP thread each (the parallelism is across batches) and release the
    GIL. Results do not depend on num_threads.
    """

    def __init__(self, X, y=None, batch_size=32, shuffle=True, drop_last=False, seed=0, sampler=None,
                 transform=None, num_threads=2, prefetch=2):
        X = np.asarray(X)
        if X.ndim < 1 or X.shape[0] == 0:
            raise ValueError(f"X must have at least one sample, got shape {X.shape}")
        self.X = np.ascontiguousarray(X if X.dtype.isnative else X.astype(X.dtype.newbyteorder("=")))
        if y is not None:
            y = np.asarray(y)
            if y.ndim < 1 or y.shape[0] != X.shape[0]:
                raise ValueError(f"y must have {X.shape[0]} rows like X, got shape {y.shape}")
            y = np.ascontiguousarray(y if y.dtype.isnative else y.astype(y.dtype.newbyteorder("=")))
        self.y = y
        for name, v, lo in (("batch_size", batch_size, 1), ("num_threads", num_threads, 0),
                            ("prefetch", prefetch, 1)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise ValueError(f"{name} must be an int >= {lo}, got {v!r}")
        if sampler not in (None, "balanced", "oversample", "undersample"):
            raise ValueError(f"sampler must be None, 'balanced', 'oversample' or 'undersample', got {sampler!r}")
        if sampler is not None:
            if y is None:
                raise ValueError(f"sampler={sampler!r} needs the labels y")
            _labels(y)
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable, got {type(transform).__name__}")
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        self.sampler = sampler
        self.transform = transform
        self._transform_takes_rng = transform is not None and _accepts_two_args(transform)
        self.num_threads = int(num_threads)
        self.prefetch = int(prefetch)
        self.epoch = 0
        self._pool = None
        self._pool_pid = None
        self._ring = []
        self._rc_base = _refcount_baseline()
        self._active = None
        if sampler is None:
            self._epoch_size = X.shape[0]
        else:
            counts = np.unique(self.y, return_counts=True)[1]
            self._epoch_size = {"balanced": X.shape[0], "oversample": counts.size * counts.max(),
                                "undersample": counts.size * counts.min()}[sampler]

    def __len__(self):
        n, b = self._epoch_size, self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def set_epoch(self, epoch):
        self.epoch = int(epoch)

    def epoch_indices(self, epoch):
        """The sample order of an epoch (deterministic in (seed, epoch))."""
        rng = np.random.default_rng([_seed_int(self.seed), int(epoch)])
        if self.sampler is not None:
            return sampler_indices(self.y, self.sampler, rng)
        n = self.X.shape[0]
        return rng.permutation(n) if self.shuffle else np.arange(n)

    def __iter__(self):
        if self._active is not None:
            self._active.close()
        it = _EpochIterator(self, self.epoch)
        self._active = it
        self.epoch += 1
        return it

    # a slot holds one batch's buffers; reused only when nothing else references them
    def _slot_buffers(self, k):
        while len(self._ring) <= k:
            self._ring.append(None)
        if self._ring[k] is not None and not self._slot_free(k):
            self._ring[k] = None
        if self._ring[k] is None:
            bx = V.empty((self.batch_size,) + self.X.shape[1:], self.X.dtype)
            by = None if self.y is None else V.empty((self.batch_size,) + self.y.shape[1:], self.y.dtype)
            self._ring[k] = [bx, by]
        return self._ring[k]

    def _slot_free(self, k):
        bx, by = self._ring[k]
        return (sys.getrefcount(self._ring[k][0]) <= self._rc_base
                and (by is None or sys.getrefcount(self._ring[k][1]) <= self._rc_base))

    def _build(self, epoch, b, idx, bufs):
        if self.num_threads > 0:
            K.set_thread_omp(1)
        bx, by = bufs
        n = idx.size
        xb = K.gather_rows(self.X, idx, bx[:n])
        yb = None if self.y is None else K.gather_rows(self.y, idx, by[:n])
        if self.transform is not None:
            if self._transform_takes_rng:
                rng = np.random.default_rng([_seed_int(self.seed), int(epoch), int(b)])
                xb = self.transform(xb, rng)
            else:
                xb = self.transform(xb)
        return xb if yb is None else (xb, yb)

    def _executor(self):
        # threads do not survive fork(): a loader first used in a parent process
        # gets a fresh pool in the child instead of waiting on threads that are gone
        if self._pool is None or self._pool_pid != os.getpid():
            self._pool = ThreadPoolExecutor(max_workers=self.num_threads, thread_name_prefix="fastprims-loader")
            self._pool_pid = os.getpid()
        return self._pool

    def close(self, wait=True):
        """Stop the background threads; with wait=False, do not block on them."""
        if self._active is not None:
            self._active.close(wait)
            self._active = None
        if self._pool is not None and self._pool_pid == os.getpid():
            self._pool.shutdown(wait=wait, cancel_futures=True)
        self._pool = None

    def __del__(self):
        # A finalizer may run inside a garbage collection triggered anywhere,
        # even inside threading's own start-up of a new thread: joining threads
        # from there deadlocks. In-flight batches keep their own references to
        # the buffers they write, so not waiting for them is safe.
        try:
            self.close(wait=False)
        except Exception:
            pass


def _seed_int(seed):
    if seed is None:
        return 0
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    return int(seed)


def _accepts_two_args(fn):
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return True
    params = list(sig.parameters.values())
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2


class _EpochIterator:
    def __init__(self, loader, epoch):
        self.loader = loader
        self.epoch = epoch
        idx = loader.epoch_indices(epoch)
        b = loader.batch_size
        nb = len(loader)
        self.batches = [idx[i * b:(i + 1) * b] for i in range(nb)]
        self.next = 0
        self.futures = {}
        self.closed = False
        # slots: `prefetch` in flight + the one the consumer holds + one being released
        self.nslots = loader.prefetch + 2
        if loader.num_threads > 0:
            for i in range(min(loader.prefetch, nb)):
                self._submit(i)

    def _submit(self, i):
        ld = self.loader
        bufs = ld._slot_buffers(i % self.nslots)
        self.futures[i] = ld._executor().submit(ld._build, self.epoch, i, self.batches[i], bufs)

    def __iter__(self):
        return self

    def __len__(self):
        return len(self.batches) - self.next

    def __next__(self):
        if self.closed or self.next >= len(self.batches):
            self.closed = True
            raise StopIteration
        i = self.next
        ld = self.loader
        if ld.num_threads == 0:
            out = ld._build(self.epoch, i, self.batches[i], ld._slot_buffers(i % self.nslots))
        else:
            j = i + ld.prefetch
            if j < len(self.batches):
                self._submit(j)
            fut = self.futures.pop(i)
            out = fut.result()
        self.next += 1
        return out

    def close(self, wait=True):
        """Cancel pending batches; with wait, wait for in-flight ones (they
        write into the loader's buffers, which the caller may reuse)."""
        self.closed = True
        for f in self.futures.values():
            f.cancel()
        for f in self.futures.values():
            if wait and not f.cancelled():
                try:
                    f.result()
                except Exception:
                    pass
        self.futures.clear()
