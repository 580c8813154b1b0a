import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

import fastprims as fp
import _ref_pool as R

DTYPES = [np.float32, np.float64]


def _tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)


@st.composite
def pool_geometry(draw, dilation=True, wide=False):
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 3)), draw(st.integers(1, 3))) if dilation else (1, 1)
    p = tuple(draw(st.integers(0, ((k[i] - 1) * d[i] + 1) // 2)) for i in range(2))
    ceil_mode = draw(st.booleans())
    if wide:  # rows of several vectors plus a partial one (separable passes' interior + tails)
        H, W = draw(st.integers(1, 7)), draw(st.integers(13, 75))
        N, C = 1, draw(st.integers(1, 2))
    else:
        H, W = draw(st.integers(1, 12)), draw(st.integers(1, 12))
        N, C = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    assume(R.out_size(H, k[0], p[0], s[0], d[0], ceil_mode) >= 1)
    assume(R.out_size(W, k[1], p[1], s[1], d[1], ceil_mode) >= 1)
    return (N, C, H, W), k, s, p, d, ceil_mode


@pytest.mark.parametrize("dtype", DTYPES)
@given(geo=pool_geometry(), seed=st.integers(0, 2**31), ties=st.booleans(), nans=st.booleans())
def test_max_pool2d_matches_reference(dtype, geo, seed, ties, nans):
    shape, k, s, p, d, ceil_mode = geo
    rng = np.random.default_rng(seed)
    x = (rng.integers(-2, 3, shape) if ties else rng.standard_normal(shape)).astype(dtype)
    if nans:
        x[rng.random(shape) < 0.1] = np.nan
    y_ref, i_ref = R.max_pool2d(x, k, s, p, d, ceil_mode)
    y, ind = fp.max_pool2d(x, k, s, p, d, ceil_mode, return_indices=True)
    np.testing.assert_array_equal(y, y_ref.astype(dtype))
    np.testing.assert_array_equal(ind, i_ref)
    np.testing.assert_array_equal(fp.max_pool2d(x, k, s, p, d, ceil_mode), y_ref.astype(dtype))
    g = rng.standard_normal(y.shape).astype(dtype)
    if np.all(ind < shape[2] * shape[3]):
        np.testing.assert_allclose(fp.max_pool2d_backward(g, ind, shape), R.max_pool2d_backward(g, ind, shape),
                                   **_tol(dtype))
    else:  # a window holding no input element (torch's index points past the plane)
        with pytest.raises(ValueError, match="indices must lie in"):
            fp.max_pool2d_backward(g, ind, shape)


@pytest.mark.parametrize("dtype", DTYPES)
@given(geo=pool_geometry(dilation=False), seed=st.integers(0, 2**31), cip=st.booleans(),
       div=st.sampled_from([None, 1, 3, -2]))
def test_avg_pool2d_matches_reference(dtype, geo, seed, cip, div):
    shape, k, s, p, _, ceil_mode = geo
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    y = fp.avg_pool2d(x, k, s, p, ceil_mode, cip, div)
    np.testing.assert_allclose(y, R.avg_pool2d(x, k, s, p, ceil_mode, cip, div), **_tol(dtype))
    g = rng.standard_normal(y.shape).astype(dtype)
    np.testing.assert_allclose(fp.avg_pool2d_backward(g, shape, k, s, p, ceil_mode, cip, div),
                               R.avg_pool2d_backward(g, shape, k, s, p, ceil_mode, cip, div), **_tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@given(H=st.integers(1, 13), W=st.integers(1, 13), OH=st.integers(1, 15), OW=st.integers(1, 15),
       seed=st.integers(0, 2**31))
def test_adaptive_avg_pool2d_matches_reference(dtype, H, W, OH, OW, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 3, H, W)).astype(dtype)
    y = fp.adaptive_avg_pool2d(x, (OH, OW))
    np.testing.assert_allclose(y, R.adaptive_avg_pool2d(x, OH, OW), **_tol(dtype))
    g = rng.standard_normal(y.shape).astype(dtype)
    np.testing.assert_allclose(fp.adaptive_avg_pool2d_backward(g, x.shape),
                               R.adaptive_avg_pool2d_backward(g, x.shape), **_tol(dtype))


def _fd_check(f, x, grad, n_points=40, eps=1e-6, seed=0):
    """Central differences of the scalar f at random coordinates of x (float64)."""
    rng = np.random.default_rng(seed)
    flat = x.reshape(-1)
    for i in rng.choice(flat.size, size=min(n_points, flat.size), replace=False):
        old = flat[i]
        flat[i] = old + eps
        fp_ = f(x)
        flat[i] = old - eps
        fm = f(x)
        flat[i] = old
        assert abs((fp_ - fm) / (2 * eps) - grad.reshape(-1)[i]) < 1e-6 * max(1.0, abs(grad.reshape(-1)[i]))


@pytest.mark.parametrize("args", [(3, 2, 1, 1, False), ((2, 3), (1, 2), (1, 1), (2, 1), True), (2, 2, 0, 1, True)])
def test_max_pool2d_gradient_finite_differences(args, rng):
    k, s, p, d, c = args
    x = rng.standard_normal((2, 3, 7, 9))  # continuous values: no ties, argmax stable under eps
    G = rng.standard_normal(fp.max_pool2d(x, k, s, p, d, c).shape)
    y, ind = fp.max_pool2d(x, k, s, p, d, c, return_indices=True)
    grad = fp.max_pool2d_backward(G, ind, x.shape)
    _fd_check(lambda z: float((fp.max_pool2d(z, k, s, p, d, c) * G).sum()), x, grad)


@pytest.mark.parametrize("args", [(3, 2, 1, False, True, None), ((2, 3), (1, 2), (1, 1), True, False, None),
                                  (2, 2, 0, True, True, 3)])
def test_avg_pool2d_gradient_finite_differences(args, rng):
    k, s, p, c, cip, div = args
    x = rng.standard_normal((2, 3, 7, 9))
    G = rng.standard_normal(fp.avg_pool2d(x, k, s, p, c, cip, div).shape)
    grad = fp.avg_pool2d_backward(G, x.shape, k, s, p, c, cip, div)
    _fd_check(lambda z: float((fp.avg_pool2d(z, k, s, p, c, cip, div) * G).sum()), x, grad)


@pytest.mark.parametrize("osz", [(3, 4), 1, (9, 5)])
def test_adaptive_and_global_gradient_finite_differences(osz, rng):
    x = rng.standard_normal((2, 3, 7, 9))
    G = rng.standard_normal(fp.adaptive_avg_pool2d(x, osz).shape)
    grad = fp.adaptive_avg_pool2d_backward(G, x.shape)
    _fd_check(lambda z: float((fp.adaptive_avg_pool2d(z, osz) * G).sum()), x, grad)
    G1 = rng.standard_normal((2, 3, 1, 1))
    grad = fp.global_avg_pool2d_backward(G1, x.shape)
    _fd_check(lambda z: float((fp.global_avg_pool2d(z) * G1).sum()), x, grad)


@pytest.mark.parametrize("dtype", DTYPES)
def test_global_avg_pool2d(dtype, rng):
    x = (rng.standard_normal((3, 4, 17, 19)) + 100).astype(dtype)
    np.testing.assert_allclose(fp.global_avg_pool2d(x), x.astype(np.float64).mean(axis=(2, 3), keepdims=True),
                               rtol=1e-6 if dtype == np.float32 else 1e-13)
    g = rng.standard_normal((3, 4, 1, 1)).astype(dtype)
    np.testing.assert_allclose(fp.global_avg_pool2d_backward(g, x.shape),
                               np.broadcast_to(g / (17 * 19), x.shape), rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_large_inputs_agree_across_thread_counts(dtype, rng):
    x = rng.standard_normal((4, 8, 40, 36)).astype(dtype)
    res = []
    for n in (1, 2):
        with fp.num_threads(n):
            y, i = fp.max_pool2d(x, 3, 2, 1, return_indices=True)
            res.append((fp.max_pool2d(x, 3, 2, 1), y, i, fp.avg_pool2d(x, 3, 2, 1), fp.adaptive_avg_pool2d(x, 5),
                        fp.max_pool2d_backward(y, i, x.shape), fp.avg_pool2d_backward(y, x.shape, 3, 2, 1),
                        fp.adaptive_avg_pool2d_backward(y, x.shape)))
    for a, b in zip(*res):
        np.testing.assert_array_equal(a, b)
    y_ref, i_ref = R.max_pool2d(x, (3, 3), (2, 2), (1, 1), (1, 1), False)
    np.testing.assert_array_equal(res[0][0], y_ref.astype(dtype))
    np.testing.assert_array_equal(res[0][2], i_ref)
    np.testing.assert_allclose(res[0][3], R.avg_pool2d(x, (3, 3), (2, 2), (1, 1), False, True, None), **_tol(dtype))


def test_nan_inf_propagation():
    x = np.zeros((1, 1, 4, 4), np.float32)
    x[0, 0, 0, 1] = np.nan
    x[0, 0, 3, 3] = np.inf
    x[0, 0, 2, 0] = -np.inf
    y, i = fp.max_pool2d(x, 2, 2, return_indices=True)
    assert np.isnan(y[0, 0, 0, 0]) and i[0, 0, 0, 0] == 1
    assert y[0, 0, 1, 1] == np.inf and i[0, 0, 1, 1] == 15
    a = fp.avg_pool2d(x, 2, 2)
    assert np.isnan(a[0, 0, 0, 0]) and a[0, 0, 1, 1] == np.inf and a[0, 0, 1, 0] == -np.inf
    assert np.isnan(fp.global_avg_pool2d(x)[0, 0, 0, 0])
    # all -inf windows keep the first valid position, as torch
    z = np.full((1, 1, 3, 3), -np.inf)
    y, i = fp.max_pool2d(z, 2, 1, padding=1, return_indices=True)
    assert np.all(y == -np.inf)
    np.testing.assert_array_equal(i[0, 0], [[0, 0, 1, 2], [0, 0, 1, 2], [3, 3, 4, 5], [6, 6, 7, 8]])


def test_three_dim_input_noncontiguous_and_out(rng):
    x = rng.standard_normal((3, 10, 12))
    y = fp.max_pool2d(x, 2)
    assert y.shape == (3, 5, 6)
    np.testing.assert_array_equal(y, fp.max_pool2d(x[None], 2)[0])
    xt = rng.standard_normal((2, 12, 10, 3)).transpose(0, 3, 1, 2)  # non-contiguous NCHW view
    np.testing.assert_array_equal(fp.max_pool2d(xt, 3, 2, 1), fp.max_pool2d(np.ascontiguousarray(xt), 3, 2, 1))
    np.testing.assert_array_equal(fp.avg_pool2d(xt.astype(">f8"), 2), fp.avg_pool2d(np.ascontiguousarray(xt), 2))
    out = np.empty((2, 3, 6, 5))
    assert fp.avg_pool2d(xt, 2, out=out) is out
    assert fp.max_pool2d(xt, 2, out=out) is out
    with pytest.raises(ValueError, match="out must have shape"):
        fp.max_pool2d(xt, 2, out=np.empty((2, 3, 5, 6)))
    assert fp.global_avg_pool2d(x, out=np.empty((3, 1, 1))).shape == (3, 1, 1)


def test_empty_batch():
    x = np.empty((0, 3, 8, 8), np.float32)
    assert fp.max_pool2d(x, 2).shape == (0, 3, 4, 4)
    y, i = fp.max_pool2d(x, 2, return_indices=True)
    assert fp.max_pool2d_backward(y, i, x.shape).shape == x.shape
    assert fp.avg_pool2d(x, 2).shape == (0, 3, 4, 4)
    assert fp.avg_pool2d_backward(y, x.shape, 2).shape == x.shape
    assert fp.adaptive_avg_pool2d(x, 3).shape == (0, 3, 3, 3)
    assert fp.global_avg_pool2d_backward(np.empty((0, 3, 1, 1), np.float32), x.shape).shape == x.shape


def test_output_size_and_ceil_mode_rules():
    x = np.zeros((1, 1, 5, 5))
    assert fp.max_pool2d(x, 2, 2, ceil_mode=True).shape == (1, 1, 3, 3)
    assert fp.max_pool2d(x, 2, 2).shape == (1, 1, 2, 2)
    # last window would start in the right padding: dropped (torch)
    assert fp.max_pool2d(np.zeros((1, 1, 4, 4)), 3, 2, dilation=2, padding=1, ceil_mode=True).shape == (1, 1, 2, 2)
    assert fp.avg_pool2d(np.ones((1, 1, 5, 5)), 2, 2, 1, ceil_mode=True)[0, 0, 0, 0] == 0.25
    assert fp.adaptive_avg_pool2d(x, (None, 2)).shape == (1, 1, 5, 2)


def test_bad_inputs():
    x = np.zeros((1, 1, 4, 4), np.float32)
    with pytest.raises(ValueError, match="at most half"):
        fp.max_pool2d(x, 2, 2, padding=2)
    with pytest.raises(ValueError, match="at most half"):
        fp.avg_pool2d(x, 2, 2, padding=2)
    with pytest.raises(ValueError, match="kernel_size must be positive"):
        fp.max_pool2d(x, 0)
    with pytest.raises(ValueError, match="stride must be positive"):
        fp.avg_pool2d(x, 2, 0)
    with pytest.raises(ValueError, match="dilation must be positive"):
        fp.max_pool2d(x, 2, dilation=0)
    with pytest.raises(ValueError, match="padding must be non-negative"):
        fp.max_pool2d(x, 2, padding=-1)
    with pytest.raises(ValueError, match="too small"):
        fp.max_pool2d(np.zeros((1, 1, 1, 1)), 3)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        fp.max_pool2d(np.zeros((4, 4)), 2)
    with pytest.raises(ValueError, match="non-zero C, H and W"):
        fp.avg_pool2d(np.zeros((1, 0, 4, 4)), 2)
    with pytest.raises(TypeError, match="x must be a float32 or float64"):
        fp.max_pool2d(np.zeros((1, 1, 4, 4), np.int32), 2)
    with pytest.raises(TypeError, match="kernel_size must be an int or a pair"):
        fp.max_pool2d(x, (1, 2, 3))
    with pytest.raises(TypeError, match="kernel_size must be an int or a pair"):
        fp.max_pool2d(x, 2.0)
    with pytest.raises(ValueError, match="divisor_override must be non-zero"):
        fp.avg_pool2d(x, 2, divisor_override=0)
    y, i = fp.max_pool2d(x, 2, return_indices=True)
    with pytest.raises(ValueError, match="indices must lie in"):
        fp.max_pool2d_backward(y, i + 100, x.shape)
    with pytest.raises(ValueError, match="indices must have the shape"):
        fp.max_pool2d_backward(y, i[..., :1], x.shape)
    with pytest.raises(TypeError, match="indices must be an int32 or int64"):
        fp.max_pool2d_backward(y, i.astype(np.float32), x.shape)
    with pytest.raises(ValueError, match="does not match grad_out"):
        fp.max_pool2d_backward(y, i, (2, 1, 4, 4))
    with pytest.raises(ValueError, match="does not match the avg_pool2d output"):
        fp.avg_pool2d_backward(y, (1, 1, 8, 8), 2)
    with pytest.raises(ValueError, match="output_size must be positive"):
        fp.adaptive_avg_pool2d(x, 0)
    with pytest.raises(ValueError, match=r"grad_out must end in \(1, 1\)"):
        fp.global_avg_pool2d_backward(y, x.shape)


@pytest.mark.parametrize("dtype", DTYPES)
@given(geo=pool_geometry(wide=True), seed=st.integers(0, 2**31), nans=st.booleans())
def test_max_pool2d_wide_rows(dtype, geo, seed, nans):
    shape, k, s, p, d, ceil_mode = geo
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    if nans:
        x[rng.random(shape) < 0.05] = np.nan
        x[rng.random(shape) < 0.05] = np.inf
    y_ref, _ = R.max_pool2d(x, k, s, p, d, ceil_mode)
    np.testing.assert_array_equal(fp.max_pool2d(x, k, s, p, d, ceil_mode), y_ref.astype(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@given(geo=pool_geometry(dilation=False, wide=True), seed=st.integers(0, 2**31), cip=st.booleans(),
       div=st.sampled_from([None, 3]))
def test_avg_pool2d_wide_rows(dtype, geo, seed, cip, div):
    shape, k, s, p, _, ceil_mode = geo
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    np.testing.assert_allclose(fp.avg_pool2d(x, k, s, p, ceil_mode, cip, div),
                               R.avg_pool2d(x, k, s, p, ceil_mode, cip, div), **_tol(dtype))
