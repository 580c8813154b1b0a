import os

import numpy as np
import pytest
from hypothesis import given, strategies as st

import fastprims as fp
from fastprims import data as D
import _ref_data as R

DTYPES = [np.float32, np.float64]


def _tol(dtype):
    return dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-11)


shapes = st.tuples(st.integers(0, 4), st.integers(1, 3), st.integers(1, 9), st.integers(1, 9))


# ---------------------------------------------------------------- kernels

@pytest.mark.parametrize("dtype", DTYPES)
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_flip_matches_reference(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    mask = rng.random(shape[0]) < 0.5
    y = D.flip_horizontal(x, mask)
    np.testing.assert_array_equal(y, R.flip(x, mask).astype(dtype))
    np.testing.assert_array_equal(D.flip_horizontal(x), x[..., ::-1])


@pytest.mark.parametrize("mode", ["zero", "edge"])
@pytest.mark.parametrize("dtype", DTYPES)
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_translate_matches_reference(dtype, mode, shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    shifts = rng.integers(-12, 13, size=(shape[0], 2))
    y = D.translate(x, shifts, mode)
    np.testing.assert_array_equal(y, R.translate(x, shifts, mode).astype(dtype))


@pytest.mark.parametrize("mode", ["zero", "edge"])
@pytest.mark.parametrize("dtype", DTYPES)
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_affine_matches_scipy(dtype, mode, shape, seed):
    pytest.importorskip("scipy")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    n, _, h, w = shape
    mats = D.affine_matrices(h, w, rng.uniform(-180, 180, n), rng.uniform(-3, 3, (n, 2)),
                             rng.uniform(0.5, 2.0, n))
    y = D.affine_transform(x, mats, mode)
    np.testing.assert_allclose(y, R.affine(x, mats, mode), **_tol(dtype))


@pytest.mark.parametrize("mode", ["zero", "edge"])
def test_affine_arbitrary_matrices_match_scipy(mode, rng):
    pytest.importorskip("scipy")
    x = rng.standard_normal((6, 2, 11, 7))
    mats = rng.uniform(-2, 2, (6, 2, 3))
    mats[:, :, 2] *= 5
    np.testing.assert_allclose(D.affine_transform(x, mats, mode), R.affine(x, mats, mode), rtol=1e-11,
                               atol=1e-11)


@pytest.mark.parametrize("mode", ["zero", "edge"])
@pytest.mark.parametrize("dtype", DTYPES)
@given(shape=shapes, oh=st.integers(0, 12), ow=st.integers(0, 12), seed=st.integers(0, 2**16))
def test_crop_matches_reference(dtype, mode, shape, oh, ow, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    offsets = rng.integers(-15, 15, size=(shape[0], 2))
    y = D.crop(x, offsets, (oh, ow), mode)
    assert y.shape == shape[:2] + (oh, ow)
    # a crop at (top, left) is a translation by (-top, -left) cut to (oh, ow), on an image
    # extended right/bottom (by zeros or its edge) so that the window fits
    for i in range(shape[0]):
        big = np.pad(x[i:i + 1].astype(np.float64), ((0, 0), (0, 0), (0, 40), (0, 40)),
                     mode="constant" if mode == "zero" else "edge")
        ref = R.translate(big, [(-offsets[i, 0], -offsets[i, 1])], mode)[:, :, :oh, :ow]
        np.testing.assert_array_equal(y[i:i + 1], ref.astype(dtype))


def test_random_crop_sizes(rng):
    x = rng.standard_normal((20, 2, 8, 10)).astype(np.float32)
    y = D.random_crop(x, 2, size=(6, 12), seed=0)
    assert y.shape == (20, 2, 6, 12)
    # every window lies inside the padded image: compare with explicit padded slices
    padded = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))
    for i in range(20):
        found = any(np.array_equal(y[i], padded[i, :, t:t + 6, l:l + 12])
                    for t in range(0, 12 - 6 + 1) for l in range(0, 14 - 12 + 1))
        assert found
    np.testing.assert_array_equal(y, D.random_crop(x, 2, size=(6, 12), seed=0))
    with pytest.raises(ValueError, match="larger than the padded image"):
        D.random_crop(x, 1, size=(11, 10))
    ld = D.DataLoader(x, np.arange(20), batch_size=8, transform=D.RandomCrop(2, size=6))
    assert [b[0].shape for b in ld] == [(8, 2, 6, 6), (8, 2, 6, 6), (4, 2, 6, 6)]


def test_affine_conventions(rng):
    x = rng.standard_normal((2, 3, 8, 8))
    # identity is an exact copy; 90 degrees counter-clockwise is np.rot90
    np.testing.assert_array_equal(D.affine_transform(x, D.affine_matrices(8, 8)), x)
    np.testing.assert_allclose(D.affine_transform(x, D.affine_matrices(8, 8, 90.0)), np.rot90(x, 1, axes=(2, 3)),
                               atol=1e-12)
    # an integer translation equals the translate kernel
    m = D.affine_matrices(8, 8, 0.0, [[2, -3]])
    np.testing.assert_allclose(D.affine_transform(x, m), D.translate(x, [[2, -3]] * 2), atol=1e-12)


def test_augmentation_threads_agree(rng):
    # above the kernels' parallel threshold (2**20 elements, 2**22 bytes for the gather)
    x = rng.standard_normal((360, 3, 32, 32)).astype(np.float32)
    idx = rng.permutation(360)
    outs = []
    for nt in (1, 2):
        with fp.num_threads(nt):
            outs.append([D.random_affine(x, 30, (0.1, 0.1), (0.8, 1.2), seed=3),
                         D.random_translate(x, 5, "edge", seed=3), D.random_horizontal_flip(x, seed=3),
                         D.standardize(x, 0.5, 2.0), D.random_crop(x, 3, size=30, seed=1),
                         _gather(x, idx)])
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a, b)


def _gather(x, idx):
    from fastprims import _data
    return _data.gather_rows(x, idx, np.empty_like(x))


def test_random_transforms_seeded(rng):
    x = rng.standard_normal((16, 1, 5, 5))
    a = D.random_crop(x, 2, seed=7)
    np.testing.assert_array_equal(a, D.random_crop(x, 2, seed=7))
    assert not np.array_equal(a, D.random_crop(x, 2, seed=8))
    # every crop is one of the 25 possible shifts of its sample
    for i in range(16):
        cands = [R.translate(x[i:i + 1], [(dy, dx)], "zero") for dy in range(-2, 3) for dx in range(-2, 3)]
        assert any(np.array_equal(a[i:i + 1], c) for c in cands)
    f = D.random_horizontal_flip(x, p=1.0, seed=0)
    np.testing.assert_array_equal(f, x[..., ::-1])
    np.testing.assert_array_equal(D.random_horizontal_flip(x, p=0.0, seed=0), x)


def test_in_place_and_out(rng):
    x = rng.standard_normal((3, 2, 4, 5))
    ref = x[..., ::-1].copy()
    assert D.flip_horizontal(x, out=x) is x
    np.testing.assert_array_equal(x, ref)
    out = np.empty_like(x)
    assert D.translate(x, np.zeros((3, 2), int), out=out) is out
    np.testing.assert_array_equal(out, x)
    with pytest.raises(ValueError, match="out must have shape"):
        D.translate(x, np.zeros((3, 2), int), out=np.empty((3, 2, 4, 4)))


def test_noncontiguous_input_and_nan(rng):
    x = rng.standard_normal((4, 3, 6, 10))[:, :, :, ::2]
    np.testing.assert_array_equal(D.flip_horizontal(x), x[..., ::-1])
    x = np.ascontiguousarray(x)
    x[0, 0, 2, 2] = np.nan
    y = D.translate(x, [[1, 1]] * 4)
    assert np.isnan(y[0, 0, 3, 3]) and np.isnan(y).sum() == 1
    assert np.isnan(D.standardize(x, 0.0, 1.0)[0, 0, 2, 2])


def test_empty_batch():
    x = np.empty((0, 3, 4, 4), np.float32)
    assert D.random_affine(x, 10, seed=0).shape == x.shape
    assert D.random_translate(x, 2, seed=0).shape == x.shape
    assert D.standardize(x, 0.0, 1.0).shape == x.shape


def test_bad_inputs(rng):
    x = rng.standard_normal((2, 1, 4, 4))
    with pytest.raises(ValueError, match="4-dimensional"):
        D.flip_horizontal(x[0])
    with pytest.raises(TypeError, match="float32 or float64"):
        D.flip_horizontal(x.astype(np.int32))
    with pytest.raises(ValueError, match="padding_mode"):
        D.translate(x, [[0, 0]] * 2, "reflect")
    with pytest.raises(ValueError, match="shifts must have shape"):
        D.translate(x, [[0, 0]])
    with pytest.raises(TypeError, match="shifts must be integers"):
        D.translate(x, [[0.5, 0]] * 2)
    with pytest.raises(ValueError, match="matrices must have shape"):
        D.affine_transform(x, np.eye(3))
    with pytest.raises(ValueError, match="finite"):
        D.affine_transform(x, np.full((2, 3), np.nan))
    with pytest.raises(ValueError, match="mask must have shape"):
        D.flip_horizontal(x, [True])
    with pytest.raises(ValueError, match="std must have 1 values|std must be a scalar"):
        D.standardize(x, 0.0, [1.0, 2.0])
    with pytest.raises(ValueError, match="std must be non-zero"):
        D.standardize(x, 0.0, 0.0)
    with pytest.raises(ValueError, match="feature_range"):
        D.min_max_scale(x, (1, 0))
    with pytest.raises(ValueError, match="scale must be a range"):
        D.RandomAffine(scale=(0, 1))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(5, 3, 4, 4), (7, 4), (6,)])
def test_standardize_and_min_max(dtype, shape, rng):
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    c = shape[1] if len(shape) > 1 else 1
    mean, std = rng.uniform(-1, 1, c), rng.uniform(0.5, 2, c)
    np.testing.assert_allclose(D.standardize(x, mean, std), R.standardize(x, mean, std), **_tol(dtype))
    axes = (0,) + tuple(range(2, x.ndim))
    xd = x.astype(np.float64)
    if x.ndim == 1:
        xd = xd[:, None]
        axes = (0,)
    m_ref, s_ref = xd.mean(axis=axes), xd.std(axis=axes)
    np.testing.assert_allclose(D.standardize(x), R.standardize(x if x.ndim > 1 else x[:, None], m_ref, s_ref)
                               .reshape(x.shape), **_tol(dtype))
    np.testing.assert_allclose(D.min_max_scale(x, (-1, 2)),
                               R.min_max(x if x.ndim > 1 else x[:, None], -1, 2).reshape(x.shape), **_tol(dtype))
    const = np.ones(shape, dtype)
    np.testing.assert_array_equal(D.min_max_scale(const), np.zeros(shape, dtype))


# ---------------------------------------------------------------- samplers and splits

def test_class_weights():
    y = np.array([0, 0, 0, 1, 2, 2, 4])
    w = D.class_weights(y)
    counts = np.array([3, 1, 2, 0, 1])
    expected = np.where(counts > 0, 7 / (4 * np.maximum(counts, 1)), 0.0)
    np.testing.assert_allclose(w, expected)
    with pytest.raises(TypeError, match="integer"):
        D.class_weights(np.array([0.5, 1.0]))


@pytest.mark.parametrize("kind", ["balanced", "oversample", "undersample"])
def test_sampler_class_frequencies(kind):
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], [900, 90, 10])
    idx = D.sampler_indices(y, kind, rng)
    counts = np.bincount(y[idx], minlength=3)
    if kind == "balanced":
        assert idx.size == y.size
        np.testing.assert_allclose(counts / idx.size, 1 / 3, atol=0.05)
    elif kind == "oversample":
        np.testing.assert_array_equal(counts, [900, 900, 900])
        for c in range(3):  # every sample of every class appears
            assert set(np.flatnonzero(y == c)) <= set(idx[y[idx] == c])
    else:
        np.testing.assert_array_equal(counts, [10, 10, 10])
        assert np.unique(idx).size == idx.size


def test_kfold_indices():
    folds = D.kfold_indices(10, 3)
    assert [t.tolist() for _, t in folds] == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]
    for train, test in folds:
        assert sorted(np.concatenate([train, test]).tolist()) == list(range(10))
    sh = D.kfold_indices(10, 3, shuffle=True, seed=1)
    assert sorted(np.concatenate([t for _, t in sh]).tolist()) == list(range(10))
    assert sh[0][1].tolist() == D.kfold_indices(10, 3, shuffle=True, seed=1)[0][1].tolist()
    with pytest.raises(ValueError, match="k="):
        D.kfold_indices(2, 3)
    with pytest.raises(ValueError, match="k must be"):
        D.kfold_indices(10, 1)


@pytest.mark.parametrize("shuffle", [False, True])
def test_stratified_kfold(shuffle):
    y = np.repeat([0, 1, 2], [20, 7, 3])
    folds = D.stratified_kfold_indices(y, 4, shuffle=shuffle, seed=0)
    tests = np.concatenate([t for _, t in folds])
    assert sorted(tests.tolist()) == list(range(30))
    sizes = [t.size for _, t in folds]
    assert max(sizes) - min(sizes) <= 1
    for c in range(3):
        per_fold = [np.sum(y[t] == c) for _, t in folds]
        assert max(per_fold) - min(per_fold) <= 1
    for train, test in folds:
        assert np.intersect1d(train, test).size == 0 and train.size + test.size == 30


def test_train_test_split():
    X = np.arange(40).reshape(20, 2)
    y = np.repeat([0, 1], [15, 5])
    Xtr, Xte, ytr, yte = D.train_test_split(X, y, test_size=0.25, seed=0)
    assert Xte.shape == (5, 2) and Xtr.shape == (15, 2)
    np.testing.assert_array_equal(Xtr[:, 0] // 2, np.arange(20)[Xtr[:, 0] // 2])
    assert sorted(np.concatenate([Xtr[:, 0], Xte[:, 0]]).tolist()) == list(range(0, 40, 2))
    Xtr, Xte, ytr, yte = D.train_test_split(X, y, test_size=0.2, seed=0, stratify=y)
    assert np.bincount(yte).tolist() == [3, 1]
    Xtr, Xte = D.train_test_split(X, test_size=3, shuffle=False)
    np.testing.assert_array_equal(Xte, X[17:])
    with pytest.raises(ValueError, match="same length"):
        D.train_test_split(X, y[:5])
    with pytest.raises(ValueError, match="test_size"):
        D.train_test_split(X, test_size=1.5)


# ---------------------------------------------------------------- DataLoader

def _epoch(loader):
    return [tuple(np.array(a) for a in b) for b in loader]


def _images(n=100, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3, 8, 8)).astype(np.float32)
    return X, np.arange(n)


AUG = D.Compose([D.RandomHorizontalFlip(), D.RandomTranslate(2), D.RandomAffine(10, scale=(0.9, 1.1)),
                 D.Standardize([0.1, 0.2, 0.3], [1.0, 2.0, 3.0])])


def test_loader_deterministic_across_thread_counts():
    X, y = _images()
    runs = []
    for nt in (0, 1, 2, 3):
        ld = D.DataLoader(X, y, batch_size=16, seed=5, transform=AUG, num_threads=nt, prefetch=2)
        runs.append(_epoch(ld) + _epoch(ld))  # two epochs
        ld.close()
    for r in runs[1:]:
        for (xa, ya), (xb, yb) in zip(runs[0], r):
            np.testing.assert_array_equal(xa, xb)
            np.testing.assert_array_equal(ya, yb)
    with fp.num_threads(1):
        ld = D.DataLoader(X, y, batch_size=16, seed=5, transform=AUG, num_threads=0)
        for (xa, ya), (xb, yb) in zip(runs[0], _epoch(ld)):
            np.testing.assert_array_equal(xa, xb)


def test_loader_epochs_cover_and_reshuffle():
    X, y = _images(50)
    ld = D.DataLoader(X, y, batch_size=8, seed=1)
    assert len(ld) == 7
    e0 = _epoch(ld)
    e1 = _epoch(ld)
    ys0 = np.concatenate([b[1] for b in e0])
    ys1 = np.concatenate([b[1] for b in e1])
    assert sorted(ys0.tolist()) == list(range(50)) and sorted(ys1.tolist()) == list(range(50))
    assert not np.array_equal(ys0, ys1)
    for xb, yb in e0:  # rows stay aligned with their labels
        np.testing.assert_array_equal(xb, X[yb])
    ld.set_epoch(0)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in _epoch(ld)]), ys0)
    assert [b[1].size for b in e0][-1] == 2
    ld2 = D.DataLoader(X, y, batch_size=8, drop_last=True, shuffle=False)
    assert len(ld2) == 6
    np.testing.assert_array_equal(np.concatenate([b[1] for b in _epoch(ld2)]), np.arange(48))


def test_loader_kept_batches_are_not_overwritten():
    X, y = _images(64)
    ld = D.DataLoader(X, y, batch_size=4, seed=0, num_threads=2, prefetch=1)
    kept = list(ld)  # no copies: buffers still referenced must not be reused
    for xb, yb in kept:
        np.testing.assert_array_equal(xb, X[yb])
    # views keep their buffer alive too
    views = [xb[:1] for xb, _ in ld]
    ys = [yb for _, yb in D.DataLoader(X, y, batch_size=4, seed=0).__iter__()]
    assert len(views) == len(ys)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_loader_used_again_in_a_forked_child():
    X, y = _images(32)
    ld = D.DataLoader(X, y, batch_size=8, seed=0, num_threads=2)
    before = _epoch(ld)
    ld.set_epoch(0)
    pid = os.fork()
    if pid == 0:  # child: the parent's loader threads are gone; a new pool must serve it
        ok = 0
        try:
            got = _epoch(ld)
            ok = int(all(np.array_equal(a[1], b[1]) for a, b in zip(got, before)))
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0


def test_loader_break_and_restart():
    X, y = _images(64)
    ld = D.DataLoader(X, y, batch_size=4, seed=0, transform=AUG, num_threads=2, prefetch=3)
    for i, _ in enumerate(ld):
        if i == 2:
            break
    full = _epoch(ld)
    assert len(full) == 16
    ld.set_epoch(1)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in _epoch(ld)]),
                                  np.concatenate([b[1] for b in full]))


def test_loader_samplers_and_no_labels():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 4)).astype(np.float32)
    y = np.repeat([0, 1, 2], [200, 80, 20])
    ld = D.DataLoader(X, y, batch_size=32, sampler="oversample", seed=0)
    assert len(ld) == -(-600 // 32)
    ys = np.concatenate([b[1] for b in _epoch(ld)])
    np.testing.assert_array_equal(np.bincount(ys), [200, 200, 200])
    ld = D.DataLoader(X, y, batch_size=10, sampler="undersample")
    assert len(ld) == 6
    ld = D.DataLoader(X, y, batch_size=50, sampler="balanced", seed=3)
    ys = np.concatenate([b[1] for b in _epoch(ld)])
    np.testing.assert_allclose(np.bincount(ys) / ys.size, 1 / 3, atol=0.08)
    only_x = D.DataLoader(X, batch_size=100, shuffle=False, num_threads=1)
    batches = list(only_x)
    np.testing.assert_array_equal(np.concatenate(batches), X)


def test_loader_transform_forms_and_errors():
    X, y = _images(20)
    ld = D.DataLoader(X, y, batch_size=5, shuffle=False, transform=lambda xb: xb * 2)
    xb, yb = next(iter(ld))
    np.testing.assert_array_equal(xb, X[:5] * 2)

    def boom(xb, rng):
        raise RuntimeError("transform failed")
    with pytest.raises(RuntimeError, match="transform failed"):
        list(D.DataLoader(X, y, batch_size=5, transform=boom))
    u8 = (np.arange(20 * 3).reshape(20, 3) % 256).astype(np.uint8)
    got = np.concatenate([b for b in D.DataLoader(u8, batch_size=6, shuffle=False)])
    np.testing.assert_array_equal(got, u8)


def test_loader_bad_arguments():
    X, y = _images(10)
    with pytest.raises(ValueError, match="batch_size"):
        D.DataLoader(X, y, batch_size=0)
    with pytest.raises(ValueError, match="y must have 10 rows"):
        D.DataLoader(X, y[:5])
    with pytest.raises(ValueError, match="needs the labels"):
        D.DataLoader(X, sampler="balanced")
    with pytest.raises(ValueError, match="sampler must be"):
        D.DataLoader(X, y, sampler="smote")
    with pytest.raises(TypeError, match="transform must be callable"):
        D.DataLoader(X, y, transform=3)
    with pytest.raises(ValueError, match="at least one sample"):
        D.DataLoader(X[:0])
    with pytest.raises(ValueError, match="index 10 is out of range"):
        from fastprims import _data
        _data.gather_rows(X, np.array([1, 10]), np.empty((2, 3, 8, 8), np.float32))


def test_loader_finalizer_never_blocks_on_its_threads():
    # Regression: __del__ used to join the worker threads; run by a garbage
    # collection inside threading's start-up of another thread, that deadlocked.
    import gc
    import threading
    X, y = _images(200)
    old = gc.get_threshold()
    gc.set_threshold(1)  # collect at nearly every allocation, thread start-up included
    try:
        for _ in range(20):
            ld = D.DataLoader(X, y, batch_size=8, seed=1, num_threads=2, prefetch=4)
            it = iter(ld)
            next(it)
            ld._cycle = ld  # reachable only through a cycle: freed by the collector
            del ld, it
        t = threading.Thread(target=lambda: None)
        t.start()
        t.join(timeout=30)
        assert not t.is_alive()
    finally:
        gc.set_threshold(*old)
        gc.collect()
    # close(wait=False) returns while batches are in flight; the loader still works after
    ld = D.DataLoader(X, y, batch_size=8, seed=1, num_threads=2, prefetch=4)
    it = iter(ld)
    next(it)
    ld.close(wait=False)
    assert len(_epoch(ld)) == len(ld)
    ld.close()
