import numpy as np
import pytest
from hypothesis import given, strategies as st

import fastprims as fp
import _ref_norm as R

DTYPES = [np.float32, np.float64]


def _tol(dtype):
    return dict(rtol=2e-5, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-11)


def _stat_tol(dtype, spread=1.0):
    """Returned statistics (float64 arrays): float64 data to ~1e-12; float32
    data is reduced in float32 vector partials folded into double every few
    values, so to float32 rounding relative to the data's spread (far below
    what the float32 output can show)."""
    if dtype == np.float32:
        return dict(rtol=1e-6, atol=1e-6 * spread), dict(rtol=1e-5)
    return dict(rtol=1e-12, atol=1e-12 * spread), dict(rtol=1e-9)


bn_shapes = st.one_of(
    st.tuples(st.integers(2, 9), st.integers(1, 5)),
    st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(2, 20)),
    st.tuples(st.integers(1, 4), st.integers(1, 5), st.integers(1, 7), st.integers(1, 9)),
)


@pytest.mark.parametrize("dtype", DTYPES)
@given(shape=bn_shapes, seed=st.integers(0, 2**31), affine=st.booleans(), loc=st.sampled_from([0.0, 3.0, -50.0]))
def test_batch_norm_train_matches_reference(dtype, shape, seed, affine, loc):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 2 + loc).astype(dtype)
    if x.size // shape[1] < 2:
        x = np.concatenate([x, x + 1])
    C = shape[1]
    g = rng.standard_normal(C).astype(dtype) if affine else None
    b = rng.standard_normal(C).astype(dtype) if affine else None
    y, sm, si = fp.batch_norm(x, g, b, None, None, True, eps=1e-3)
    y_ref, m_ref, v_ref = R.batch_norm_train(x, g, b, 1e-3)
    np.testing.assert_allclose(y, y_ref, **_tol(dtype))
    assert sm.dtype == np.float64 and si.dtype == np.float64
    mtol, stol = _stat_tol(dtype, 2.0)
    np.testing.assert_allclose(sm, m_ref, **mtol)
    np.testing.assert_allclose(si, 1 / np.sqrt(v_ref + 1e-3), **stol)
    gy = rng.standard_normal(x.shape).astype(dtype)
    dx, dg, db = fp.batch_norm_backward(gy, x, g, sm, si, True)
    dx_ref, dg_ref, db_ref = R.batch_norm_backward_train(gy, x, g, 1e-3)
    np.testing.assert_allclose(dx, dx_ref, **_tol(dtype))
    np.testing.assert_allclose(dg, dg_ref, **_tol(dtype))
    np.testing.assert_allclose(db, db_ref, **_tol(dtype))
    assert dx.dtype == dtype and dg.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(64, 3), (16, 4, 9), (8, 3, 20, 20), (8, 40, 5, 5), (2, 1, 130, 140)])
def test_batch_norm_running_stats_over_steps(dtype, shape, rng):
    C = shape[1]
    rm = np.zeros(C, dtype)
    rv = np.ones(C, dtype)
    em, ev = np.zeros(C), np.ones(C)
    M = np.prod(shape) // C
    for step in range(4):
        x = (rng.standard_normal(shape) * (step + 1) + step).astype(dtype)
        y, sm, si = fp.batch_norm(x, None, None, rm, rv, True, momentum=0.2)
        _, m, v = R.batch_norm_train(x, None, None, 1e-5)
        em = 0.8 * em + 0.2 * m
        ev = 0.8 * ev + 0.2 * v * M / (M - 1)
        np.testing.assert_allclose(rm, em, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(rv, ev, rtol=1e-6)
    # eval: running statistics, one multiply-add per element
    g = rng.standard_normal(C).astype(dtype)
    b = rng.standard_normal(C).astype(dtype)
    x = rng.standard_normal(shape).astype(dtype)
    rm0, rv0 = rm.copy(), rv.copy()
    y, sm, si = fp.batch_norm(x, g, b, rm, rv, False)
    np.testing.assert_allclose(y, R.batch_norm_eval(x, g, b, rm, rv, 1e-5), **_tol(dtype))
    np.testing.assert_array_equal(rm, rm0)
    np.testing.assert_array_equal(rv, rv0)
    gy = rng.standard_normal(shape).astype(dtype)
    dx, dg, db = fp.batch_norm_backward(gy, x, g, sm, si, training=False)
    sh = (1, C) + (1,) * (len(shape) - 2)
    np.testing.assert_allclose(dx, gy * (g / np.sqrt(rv.astype(np.float64) + 1e-5)).reshape(sh), **_tol(dtype))
    axes = (0,) + tuple(range(2, len(shape)))
    xhat = (x - rm.reshape(sh)) / np.sqrt(rv.astype(np.float64) + 1e-5).reshape(sh)
    np.testing.assert_allclose(dg, (gy * xhat).sum(axis=axes), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(db, gy.sum(axis=axes), rtol=1e-4, atol=1e-4)


def test_batch_norm_float32_large_mean_accuracy(rng):
    x64 = rng.standard_normal((16, 3, 64, 64)) + 1e4
    x = x64.astype(np.float32)
    y, sm, si = fp.batch_norm(x, None, None, None, None, True)
    y_ref, m_ref, v_ref = R.batch_norm_train(x, None, None, 1e-5)
    # mean 1e4, std 1: statistics far more accurate than float32's 1e-3
    # resolution of the data itself (no cancellation around the large mean)
    np.testing.assert_allclose(sm, m_ref, rtol=1e-10)
    np.testing.assert_allclose(si, 1 / np.sqrt(v_ref + 1e-5), rtol=1e-5)
    assert np.max(np.abs(y - y_ref)) < 2e-6 * np.max(np.abs(y_ref)) + 1e-6
    gy = rng.standard_normal(x.shape).astype(np.float32)
    dx, dg, db = fp.batch_norm_backward(gy, x, None, sm, si)
    dx_ref, dg_ref, _ = R.batch_norm_backward_train(gy, x, None, 1e-5)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(dg, dg_ref, rtol=1e-5)
    for shape in [(4096, 3), (2, 1000, 7)]:  # column path, tiny planes
        x = (rng.standard_normal(shape) + 1e4).astype(np.float32)
        y, sm, si = fp.batch_norm(x, None, None, None, None, True)
        y_ref, m_ref, v_ref = R.batch_norm_train(x, None, None, 1e-5)
        np.testing.assert_allclose(si, 1 / np.sqrt(v_ref + 1e-5), rtol=1e-5)
        assert np.max(np.abs(y - y_ref)) < 1e-5
    z = (rng.standard_normal((4, 4096)) + 1e4).astype(np.float32)
    assert np.max(np.abs(fp.layer_norm(z, 4096)[0] - R.layer_norm(z, 1, None, None, 1e-5)[0])) < 1e-5
    z3 = z.reshape(4, 8, 512)
    assert np.max(np.abs(fp.group_norm(z3, 2)[0] - R.group_norm(z3, 2, None, None, 1e-5)[0])) < 1e-5


def _fd(f, arrays, grads, n_points=25, eps=1e-6, seed=0):
    rng = np.random.default_rng(seed)
    for a, gr in zip(arrays, grads):
        flat = a.reshape(-1)
        for i in rng.choice(flat.size, size=min(n_points, flat.size), replace=False):
            old = flat[i]
            flat[i] = old + eps
            fp_ = f()
            flat[i] = old - eps
            fm = f()
            flat[i] = old
            num = (fp_ - fm) / (2 * eps)
            assert abs(num - gr.reshape(-1)[i]) < 1e-6 * max(1.0, abs(num)), (num, gr.reshape(-1)[i])


@pytest.mark.parametrize("shape", [(6, 3), (3, 2, 5), (2, 3, 4, 5), (2, 2, 6, 6)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradient_finite_differences(shape, training, rng):
    C = shape[1]
    x, g, b = rng.standard_normal(shape), rng.standard_normal(C), rng.standard_normal(C)
    rm, rv = rng.standard_normal(C), rng.random(C) + 0.5
    G = rng.standard_normal(shape)

    def f():
        return float((fp.batch_norm(x, g, b, rm.copy(), rv.copy(), training)[0] * G).sum())

    _, sm, si = fp.batch_norm(x, g, b, rm.copy(), rv.copy(), training)
    dx, dg, db = fp.batch_norm_backward(G, x, g, sm, si, training=training)
    _fd(f, [x, g, b], [dx, dg, db])


@pytest.mark.parametrize("shape,k", [((5, 7), 1), ((3, 4, 6), 2), ((2, 3, 40), 1)])
def test_layer_norm_gradient_finite_differences(shape, k, rng):
    ns = shape[len(shape) - k:]
    x, w, b = rng.standard_normal(shape), rng.standard_normal(ns), rng.standard_normal(ns)
    G = rng.standard_normal(shape)
    y, m, r = fp.layer_norm(x, ns, w, b)
    dx, dw, db = fp.layer_norm_backward(G, x, ns, m, r, w)
    _fd(lambda: float((fp.layer_norm(x, ns, w, b)[0] * G).sum()), [x, w, b], [dx, dw, db])


@pytest.mark.parametrize("shape,G", [((2, 6, 5), 3), ((3, 4, 3, 3), 2), ((2, 4), 4), ((2, 8, 20), 1)])
def test_group_norm_gradient_finite_differences(shape, G, rng):
    C = shape[1]
    x, w, b = rng.standard_normal(shape), rng.standard_normal(C), rng.standard_normal(C)
    Gr = rng.standard_normal(shape)
    y, m, r = fp.group_norm(x, G, w, b)
    dx, dw, db = fp.group_norm_backward(Gr, x, G, m, r, w)
    _fd(lambda: float((fp.group_norm(x, G, w, b)[0] * Gr).sum()), [x, w, b], [dx, dw, db])


@pytest.mark.parametrize("dtype", DTYPES)
@given(lead=st.lists(st.integers(1, 4), min_size=0, max_size=2), ns=st.lists(st.integers(1, 40), min_size=1,
       max_size=2), seed=st.integers(0, 2**31), affine=st.booleans())
def test_layer_norm_matches_reference(dtype, lead, ns, seed, affine):
    rng = np.random.default_rng(seed)
    shape = tuple(lead) + tuple(ns)
    x = (rng.standard_normal(shape) + 5).astype(dtype)
    w = rng.standard_normal(ns).astype(dtype) if affine else None
    b = rng.standard_normal(ns).astype(dtype) if affine else None
    y, m, r = fp.layer_norm(x, tuple(ns), w, b, 1e-4)
    y_ref, m_ref, r_ref = R.layer_norm(x, len(ns), w, b, 1e-4)
    np.testing.assert_allclose(y, y_ref, **_tol(dtype))
    assert m.shape == m_ref.shape == r.shape
    mtol, stol = _stat_tol(dtype, 1.0)
    np.testing.assert_allclose(m, m_ref, **mtol)
    np.testing.assert_allclose(r, r_ref, **stol)


@pytest.mark.parametrize("dtype", DTYPES)
@given(N=st.integers(1, 3), G=st.integers(1, 4), cg=st.integers(1, 3), hw=st.lists(st.integers(1, 9), max_size=2),
       seed=st.integers(0, 2**31), affine=st.booleans())
def test_group_norm_matches_reference(dtype, N, G, cg, hw, seed, affine):
    rng = np.random.default_rng(seed)
    C = G * cg
    shape = (N, C) + tuple(hw)
    x = (rng.standard_normal(shape) - 7).astype(dtype)
    w = rng.standard_normal(C).astype(dtype) if affine else None
    b = rng.standard_normal(C).astype(dtype) if affine else None
    y, m, r = fp.group_norm(x, G, w, b, 1e-3)
    y_ref, m_ref, r_ref = R.group_norm(x, G, w, b, 1e-3)
    np.testing.assert_allclose(y, y_ref, **_tol(dtype))
    mtol, stol = _stat_tol(dtype, 1.0)
    np.testing.assert_allclose(m, m_ref, **mtol)
    np.testing.assert_allclose(r, r_ref, **stol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(8, 2, 50, 50), (8, 40, 30, 7), (40000, 3), (100, 64, 3)])
def test_results_identical_across_thread_counts(dtype, shape, rng):
    x = rng.standard_normal(shape).astype(dtype)
    gy = rng.standard_normal(shape).astype(dtype)
    C = shape[1]
    g = rng.standard_normal(C).astype(dtype)
    res = []
    for n in (1, 2):
        with fp.num_threads(n):
            rm, rv = np.zeros(C), np.ones(C)
            y, sm, si = fp.batch_norm(x, g, g, rm, rv, True)
            out = [y, sm, si, rm, rv, *fp.batch_norm_backward(gy, x, g, sm, si)]
            ns = shape[1:]
            yl, ml, rl = fp.layer_norm(x, ns)
            out += [yl, *fp.layer_norm_backward(gy, x, ns, ml, rl)]
            if C % 2 == 0:
                yg, mg, rg = fp.group_norm(x, 2, g, g)
                out += [yg, *fp.group_norm_backward(gy, x, 2, mg, rg, g)]
            res.append(out)
    for a, b in zip(*res):
        np.testing.assert_array_equal(a, b)
    y_ref, _, _ = R.batch_norm_train(x, g, g, 1e-5)
    np.testing.assert_allclose(res[0][0], y_ref, **_tol(dtype))
    dx_ref, dg_ref, db_ref = R.batch_norm_backward_train(gy, x, g, 1e-5)
    np.testing.assert_allclose(res[0][5], dx_ref, **_tol(dtype))


def test_nan_inf_propagation():
    x = np.random.default_rng(0).standard_normal((4, 3, 5)).astype(np.float32)
    x[1, 1, 2] = np.nan
    y, sm, si = fp.batch_norm(x, None, None, None, None, True)
    assert np.all(np.isnan(y[:, 1])) and np.all(np.isfinite(y[:, [0, 2]]))
    x[2, 2, 0] = np.inf
    y, sm, si = fp.batch_norm(x, None, None, None, None, True)
    assert np.all(np.isnan(y[:, 2]))
    yl = fp.layer_norm(x, 5)[0]
    assert np.all(np.isnan(yl[1, 1])) and np.all(np.isfinite(yl[0]))
    yg = fp.group_norm(x, 3)[0]
    assert np.all(np.isnan(yg[1, 1])) and np.all(np.isfinite(yg[1, 0]))


def test_empty_and_degenerate():
    y, sm, si = fp.batch_norm(np.empty((0, 3), np.float32), None, None, None, None, True)
    assert y.shape == (0, 3) and sm.shape == (3,)
    rm = np.zeros(3)
    fp.batch_norm(np.empty((0, 3, 4)), None, None, rm, np.ones(3), True)
    np.testing.assert_array_equal(rm, 0)
    assert fp.layer_norm(np.empty((0, 4)), 4)[0].shape == (0, 4)
    assert fp.group_norm(np.empty((0, 4, 2)), 2)[0].shape == (0, 4, 2)
    # eval with one value per channel is fine
    y, _, _ = fp.batch_norm(np.ones((1, 3)), None, None, np.zeros(3), np.ones(3), False)
    np.testing.assert_allclose(y, 1 / np.sqrt(1 + 1e-5))


def test_out_and_noncontiguous(rng):
    x = rng.standard_normal((6, 4, 10))[:, :, ::2]
    out = np.empty((6, 4, 5))
    y, _, _ = fp.batch_norm(x, None, None, None, None, True, out=out)
    assert y is out
    np.testing.assert_allclose(out, R.batch_norm_train(x, None, None, 1e-5)[0], rtol=1e-10, atol=1e-12)
    assert fp.layer_norm(x, 5, out=out)[0] is out
    assert fp.group_norm(x, 2, out=out)[0] is out
    with pytest.raises(ValueError, match="out must have shape"):
        fp.layer_norm(x, 5, out=np.empty((6, 4, 4)))


def test_bad_inputs():
    x = np.ones((2, 3, 4), np.float32)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        fp.batch_norm(np.ones((1, 3, 1), np.float32), None, None, None, None, True)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        fp.batch_norm(np.ones((1, 3)), None, None, np.zeros(3), np.ones(3), True)
    with pytest.raises(ValueError, match=r"gamma must have shape \(3,\)"):
        fp.batch_norm(x, np.ones(4, np.float32), None, None, None, True)
    with pytest.raises(TypeError, match="mixed dtypes"):
        fp.batch_norm(x, np.ones(3), None, None, None, True)
    with pytest.raises(ValueError, match="both be given or both be None"):
        fp.batch_norm(x, None, None, np.zeros(3), None, True)
    with pytest.raises(TypeError, match="running_mean must be a numpy.ndarray"):
        fp.batch_norm(x, None, None, [0, 0, 0], np.ones(3), True)
    with pytest.raises(ValueError, match=r"running_var must have shape \(3,\)"):
        fp.batch_norm(x, None, None, np.zeros(3), np.ones(2), True)
    with pytest.raises(ValueError, match="writeable"):
        ro = np.zeros(3)
        ro.flags.writeable = False
        fp.batch_norm(x, None, None, ro, np.ones(3), True)
    with pytest.raises(ValueError, match="x must be"):
        fp.batch_norm(np.ones(3, np.float32), None, None, None, None, True)
    with pytest.raises(TypeError, match="x must be a float32 or float64"):
        fp.batch_norm(np.ones((2, 3), np.int64), None, None, None, None, True)
    with pytest.raises(TypeError, match="momentum must be a real number"):
        fp.batch_norm(x, None, None, None, None, True, momentum=None)
    with pytest.raises(ValueError, match="eps must be >= 0"):
        fp.layer_norm(x, 4, eps=-1)
    with pytest.raises(ValueError, match="save_mean must have 3 values"):
        fp.batch_norm_backward(x, x, None, np.zeros(2), np.ones(3))
    with pytest.raises(ValueError, match="grad_out must have the shape of x"):
        fp.batch_norm_backward(x[:1], x, None, np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="normalized_shape"):
        fp.layer_norm(x, (3,))
    with pytest.raises(ValueError, match=r"weight must have shape \(3, 4\)"):
        fp.layer_norm(x, (3, 4), np.ones(4, np.float32))
    with pytest.raises(TypeError, match="normalized_shape must be an int or a tuple"):
        fp.layer_norm(x, 4.5)
    with pytest.raises(ValueError, match="num_groups=2 must be positive and divide"):
        fp.group_norm(x, 2)
    with pytest.raises(ValueError, match="num_groups=0"):
        fp.group_norm(x, 0)
    with pytest.raises(TypeError, match="num_groups must be an int"):
        fp.group_norm(x, 1.0)
    with pytest.raises(ValueError, match="rstd must have 6 values"):
        fp.group_norm_backward(x, x, 3, np.zeros(6), np.ones(5))


def test_large_outputs_streaming_path(rng):
    # ops touching >= 3/4 of the L3 (24 MB on the 32 MiB target) write their
    # output with non-temporal stores: 12.6 MB in + out takes that path
    x = (rng.standard_normal((4, 8, 384, 257)) * 3 + 1).astype(np.float32)
    gy = rng.standard_normal(x.shape).astype(np.float32)
    g = rng.standard_normal(8).astype(np.float32)
    y, sm, si = fp.batch_norm(x, g, g, None, None, True)
    np.testing.assert_allclose(y, R.batch_norm_train(x, g, g, 1e-5)[0], rtol=1e-4, atol=1e-4)
    dx, dg, db = fp.batch_norm_backward(gy, x, g, sm, si)
    np.testing.assert_allclose(dx, R.batch_norm_backward_train(gy, x, g, 1e-5)[0], rtol=1e-4, atol=1e-4)
    y2, m, r = fp.group_norm(x, 4, g, g)
    np.testing.assert_allclose(y2, R.group_norm(x, 4, g, g, 1e-5)[0], rtol=1e-4, atol=1e-4)
    dx2 = fp.group_norm_backward(gy, x, 4, m, r, g)[0]
    with fp.num_threads(1):
        np.testing.assert_array_equal(fp.group_norm_backward(gy, x, 4, m, r, g)[0], dx2)
        np.testing.assert_array_equal(fp.batch_norm(x, g, g, None, None, True)[0], y)
    xl = x.reshape(-1, 1028)
    np.testing.assert_allclose(fp.layer_norm(xl, 1028)[0], R.layer_norm(xl, 1, None, None, 1e-5)[0], rtol=1e-4,
                               atol=1e-4)


@pytest.mark.parametrize("hw", [(768, 1000), (1024, 1500)])
def test_batch_norm_cached_blocks_and_streaming_passes_agree(rng, hw):
    # batch norm keeps blocks of channels cached between its two passes when
    # a channel's data fits a share of the L3, and streams the tensor twice
    # otherwise; the share depends on the thread count (on a 32 MiB L3 16 MB
    # at 1 thread, 8 MB at 2: (768, 1000) planes cross it in the backward,
    # which reads 12.3 MB per channel, (1024, 1500) in the forward), and both
    # paths must give bitwise the same results, training and eval backward
    x = (rng.standard_normal((2, 2) + hw) * 2 + 100).astype(np.float32)
    gy = rng.standard_normal(x.shape).astype(np.float32)
    g = np.array([0.5, -2.0], np.float32)
    res = []
    for n in (1, 2):
        with fp.num_threads(n):
            y, sm, si = fp.batch_norm(x, g, g, None, None, True)
            res.append([y, sm, si, *fp.batch_norm_backward(gy, x, g, sm, si),
                        *fp.batch_norm_backward(gy, x, g, sm, si, training=False)])
    for a, b in zip(*res):
        np.testing.assert_array_equal(a, b)
    y_ref, m_ref, _ = R.batch_norm_train(x, g, g, 1e-5)
    np.testing.assert_allclose(res[0][0], y_ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(res[0][1], m_ref.reshape(-1), rtol=1e-10)
    dx_ref = R.batch_norm_backward_train(gy, x, g, 1e-5)[0]
    np.testing.assert_allclose(res[0][3], dx_ref, rtol=1e-3, atol=1e-4 * (np.abs(dx_ref).max() + 1))
    np.testing.assert_allclose(res[0][6], gy * (g * res[0][2]).astype(np.float32).reshape(1, 2, 1, 1),
                               rtol=1e-6)


@pytest.mark.parametrize("D", [1, 7, 15, 16, 17, 63, 65, 1023, 1025, 2047, 4001, 70001])
@pytest.mark.parametrize("loc", [0.0, 1e4])
def test_layer_norm_vector_tails_and_long_rows(D, loc):
    # rows that end in a partial vector, span several float32 accumulation
    # blocks (1024 values), or both; float32 at mean 0 and mean 1e4
    rng = np.random.default_rng(D)
    M = max(1, 20000 // D)
    x = (rng.standard_normal((M, D)) + loc).astype(np.float32)
    w = rng.standard_normal(D).astype(np.float32)
    b = rng.standard_normal(D).astype(np.float32)
    gy = rng.standard_normal((M, D)).astype(np.float32)
    eps = 1e-5
    y, m, r = fp.layer_norm(x, D, w, b, eps)
    y_ref, m_ref, r_ref = R.layer_norm(x, 1, w, b, eps)
    if D == 1:  # zero variance: y = b exactly, rstd = 1/sqrt(eps)
        np.testing.assert_allclose(y, y_ref, atol=1e-5)
    else:
        np.testing.assert_allclose(y, y_ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(m, m_ref.reshape(m.shape), rtol=1e-10, atol=1e-6)
    np.testing.assert_allclose(r, r_ref.reshape(r.shape), rtol=1e-5)
    dx, dw, db = fp.layer_norm_backward(gy, x, D, m, r, w)
    dx_ref, dw_ref, db_ref = R.layer_norm_backward(gy, x, 1, w, eps)
    scale = np.abs(dx_ref).max() + 1
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-3, atol=1e-4 * scale)
    np.testing.assert_allclose(dw, dw_ref, rtol=1e-4, atol=1e-4 * np.sqrt(M))
    np.testing.assert_allclose(db, db_ref, rtol=1e-4, atol=1e-4 * np.sqrt(M))


@pytest.mark.parametrize("hw", [(1, 1), (3, 5), (4, 4), (7, 9), (33, 33), (40, 41)])
@pytest.mark.parametrize("loc", [0.0, -1e4])
def test_group_norm_vector_tails(hw, loc):
    # planes that end in a partial vector (odd HW), groups longer than one
    # float32 accumulation block, large means; forward and backward
    rng = np.random.default_rng(hw[0] * 100 + hw[1])
    N, C, G = 3, 12, 4
    x = (rng.standard_normal((N, C) + hw) + loc).astype(np.float32)
    w = rng.standard_normal(C).astype(np.float32)
    b = rng.standard_normal(C).astype(np.float32)
    gy = rng.standard_normal(x.shape).astype(np.float32)
    y, m, r = fp.group_norm(x, G, w, b, 1e-5)
    y_ref, m_ref, r_ref = R.group_norm(x, G, w, b, 1e-5)
    np.testing.assert_allclose(y, y_ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(m, m_ref, rtol=1e-10, atol=1e-6)
    np.testing.assert_allclose(r, r_ref, rtol=1e-5)
    dx, dw, db = fp.group_norm_backward(gy, x, G, m, r, w)
    # group norm's backward is batch norm's over (N*G) "channels" of the grouped data
    xg, gg = x.reshape(N * G, -1).T, gy.reshape(N * G, -1).T
    wx = np.repeat(w.astype(np.float64).reshape(G, -1), hw[0] * hw[1], axis=1).reshape(-1)
    wfull = np.tile(wx, N).reshape(N * G, -1).T
    dx_ref = R.batch_norm_backward_train(gg * wfull, xg, None, 1e-5)[0].T.reshape(x.shape)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-3, atol=1e-4 * (np.abs(dx_ref).max() + 1))
    np.testing.assert_allclose(db, gy.astype(np.float64).sum(axis=(0, 2, 3)), rtol=1e-4, atol=1e-4)
    xhat = R.group_norm(x, G, None, None, 1e-5)[0]
    np.testing.assert_allclose(dw, (gy * xhat).sum(axis=(0, 2, 3)), rtol=1e-3, atol=1e-3)
