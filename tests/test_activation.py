"""Activations, softmax family and dropout against the float64 references in
tests/_ref_activation.py, finite-difference gradient checks for every
backward, hypothesis shapes/axes, extreme and non-finite inputs, threads,
out=, bad inputs."""
import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import fastprims as fp
import _ref_activation as R
from conftest import tol

DTYPES = [np.float32, np.float64]

# name -> (forward(x), backward(g, x, y), reference forward, reference backward(g, x, y))
EW = {
    "relu": (fp.relu, lambda g, x, y: fp.relu_backward(g, x), R.relu, lambda g, x, y: R.relu_backward(g, x)),
    "leaky_relu": (lambda x, **k: fp.leaky_relu(x, 0.2, **k), lambda g, x, y: fp.leaky_relu_backward(g, x, 0.2),
                   lambda x: R.leaky_relu(x, 0.2), lambda g, x, y: R.leaky_relu_backward(g, x, 0.2)),
    "sigmoid": (fp.sigmoid, lambda g, x, y: fp.sigmoid_backward(g, y), R.sigmoid,
                lambda g, x, y: R.sigmoid_backward(g, y)),
    "tanh": (fp.tanh, lambda g, x, y: fp.tanh_backward(g, y), R.tanh, lambda g, x, y: R.tanh_backward(g, y)),
    "gelu": (fp.gelu, lambda g, x, y: fp.gelu_backward(g, x), R.gelu, lambda g, x, y: R.gelu_backward(g, x)),
    "gelu_tanh": (lambda x, **k: fp.gelu(x, "tanh", **k), lambda g, x, y: fp.gelu_backward(g, x, "tanh"),
                  lambda x: R.gelu(x, "tanh"), lambda g, x, y: R.gelu_backward(g, x, "tanh")),
}
SM = {
    "softmax": (fp.softmax, fp.softmax_backward, R.softmax, R.softmax_backward),
    "log_softmax": (fp.log_softmax, fp.log_softmax_backward, R.log_softmax, R.log_softmax_backward),
}


def close(a, ref, dtype, scale=1.0):
    rtol, atol = tol(dtype)
    np.testing.assert_allclose(a, np.asarray(ref).astype(dtype), rtol=rtol * scale, atol=atol * scale,
                               equal_nan=True)


# ---- elementwise ----------------------------------------------------------------

@pytest.mark.parametrize("name", list(EW))
@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_elementwise_forward_backward_match_reference(name, dtype, data):
    f, b, rf, rb = EW[name]
    x = data.draw(hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=4, max_side=6),
                             elements=st.floats(-30, 30, width=32)))
    g = data.draw(hnp.arrays(dtype, x.shape, elements=st.floats(-3, 3, width=32)))
    y = f(x)
    assert y.dtype == dtype and y.shape == x.shape
    close(y, rf(x), dtype)
    # the backward from our own forward output (as a user would call it)
    close(b(g, x, y), rb(g, x, y), dtype, scale=4)


@pytest.mark.parametrize("name", list(EW))
def test_elementwise_gradient_finite_differences(name, rng):
    f, b, _, _ = EW[name]
    x = rng.uniform(-6, 6, 500)
    x = x[np.abs(x) > 1e-3]  # away from relu's kink
    g = rng.standard_normal(x.shape)
    h = 1e-6
    fd = g * (f(x + h) - f(x - h)) / (2 * h)
    np.testing.assert_allclose(b(g, x, f(x)), fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", list(EW))
@pytest.mark.parametrize("dtype", DTYPES)
def test_elementwise_large_inputs_threads_and_specials(name, dtype, rng):
    f, b, rf, rb = EW[name]
    x = (rng.standard_normal(200_003) * 4).astype(dtype)
    x[::997] = np.nan
    x[1::997] = np.inf
    x[2::997] = -np.inf
    x[3::997] = 0.0
    x[4::997] = -0.0
    x[5::997] = 1e4
    x[6::997] = -1e4
    x[7::997] = -60.0
    g = rng.standard_normal(x.shape).astype(dtype)
    with fp.num_threads(1):
        y1 = f(x)
        gx1 = b(g, x, y1)
    with fp.num_threads(2):
        y2 = f(x)
        gx2 = b(g, x, y2)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(gx1, gx2)
    fin = np.isfinite(x)
    close(y1[fin], rf(x[fin]), dtype)
    close(gx1[fin], rb(g[fin], x[fin], y1[fin]), dtype, scale=4)
    # non-finite inputs as torch (see test_activation_peer.py for torch itself)
    expect = {
        "relu": ([np.nan, np.inf, 0.0], [1.0, 1.0, 0.0]),
        "leaky_relu": ([np.nan, np.inf, -np.inf], [0.2, 1.0, 0.2]),
        "sigmoid": ([np.nan, 1.0, 0.0], [np.nan, 0.0, 0.0]),
        "tanh": ([np.nan, 1.0, -1.0], [np.nan, 0.0, 0.0]),
        "gelu": ([np.nan, np.inf, np.nan], [np.nan, np.nan, np.nan]),
        "gelu_tanh": ([np.nan, np.inf, np.nan], [np.nan, np.nan, np.nan]),
    }[name]
    ones = np.ones(3, dtype)
    xs = np.array([np.nan, np.inf, -np.inf], dtype)
    ys = f(xs)
    np.testing.assert_array_equal(ys, np.array(expect[0], dtype))
    # backward at x = NaN as torch: relu passes g (x <= 0 is false), leaky_relu
    # takes the slope branch (x > 0 is false)
    np.testing.assert_array_equal(b(ones, xs, ys), np.array(expect[1], dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_negative_tails_keep_relative_precision(dtype):
    # sigmoid and gelu for very negative x: tiny but not flushed / cancelled
    x = np.array([-20.0, -40.0, -80.0], dtype)
    close(fp.sigmoid(x), R.sigmoid(x), dtype)
    x = np.array([-3.0, -5.0, -8.0, -9.0], dtype)
    np.testing.assert_allclose(fp.gelu(x), R.gelu(x), rtol=2e-4 if dtype == np.float32 else 1e-12)
    np.testing.assert_allclose(fp.gelu(x, "tanh"), R.gelu(x, "tanh"),
                               rtol=2e-4 if dtype == np.float32 else 1e-11)


def test_zero_sign_and_leaky_slopes():
    x = np.array([-0.0, 0.0, -2.0, 3.0])
    assert np.signbit(fp.relu(x)[0]) is np.False_ or fp.relu(x)[0] == 0
    np.testing.assert_array_equal(fp.leaky_relu(x, -0.5), [-0.0, 0.0, 1.0, 3.0])
    np.testing.assert_array_equal(fp.leaky_relu_backward(np.ones(4), x, 3.0), [3.0, 3.0, 3.0, 1.0])
    assert np.signbit(fp.tanh(x)[0])


@pytest.mark.parametrize("name", list(EW))
def test_elementwise_out_noncontiguous_empty(name, rng):
    f, b, rf, _ = EW[name]
    x = rng.standard_normal((30, 40)).astype(np.float32)
    out = np.empty_like(x)
    assert f(x, out=out) is out
    close(out, rf(x), np.float32)
    xc = x.copy()
    assert f(xc, out=xc) is xc  # exact alias: in place
    close(xc, rf(x), np.float32)
    buf = rng.standard_normal(1000).astype(np.float32)
    ref = rf(buf[:999])
    f(buf[:999], out=buf[1:])  # partial overlap: the input is copied first
    close(buf[1:], ref, np.float32)
    close(f(x[:, ::3]), rf(x[:, ::3]), np.float32)
    close(f(x.astype(">f4")), rf(x), np.float32)
    e = np.empty((0, 5), np.float64)
    assert f(e).shape == (0, 5)
    assert b(e, e, e).shape == (0, 5)
    with pytest.raises(ValueError, match="out must have shape"):
        f(x, out=np.empty((30, 41), np.float32))
    with pytest.raises(ValueError, match="out must have shape"):
        f(x, out=np.empty((30, 40), np.float64))


def test_elementwise_bad_inputs():
    x = np.ones(3, np.float32)
    with pytest.raises(TypeError, match="x must be a float32 or float64"):
        fp.sigmoid(np.arange(3))
    with pytest.raises(TypeError, match="x must be a float32 or float64"):
        fp.gelu(np.ones(3, np.float16))
    with pytest.raises(TypeError, match="mixed dtypes"):
        fp.tanh_backward(np.ones(3), x)
    with pytest.raises(ValueError, match="grad_out must have the shape of y"):
        fp.sigmoid_backward(np.ones(4, np.float32), x)
    with pytest.raises(ValueError, match="grad_out must have the shape of x"):
        fp.gelu_backward(np.ones(4, np.float32), x)
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh'"):
        fp.gelu(x, "erf")
    with pytest.raises(TypeError, match="approximate"):
        fp.gelu_backward(x, x, None)
    with pytest.raises(TypeError, match="negative_slope must be a real number"):
        fp.leaky_relu(x, "0.1")
    with pytest.raises(TypeError, match="negative_slope"):
        fp.leaky_relu_backward(x, x, True)


# ---- softmax family -----------------------------------------------------------

@st.composite
def array_and_axis(draw, dtype):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=7))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    x = draw(hnp.arrays(dtype, shape, elements=st.floats(-50, 50, width=32)))
    return x, axis


@pytest.mark.parametrize("name", list(SM))
@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_softmax_any_axis_matches_reference(name, dtype, data):
    f, b, rf, rb = SM[name]
    x, axis = data.draw(array_and_axis(dtype))
    g = data.draw(hnp.arrays(dtype, x.shape, elements=st.floats(-2, 2, width=32)))
    y = f(x, axis)
    close(y, rf(x, axis), dtype)
    close(b(g, y, axis), rb(g, y, axis), dtype, scale=4)


# shapes that take each kernel path: rows, big rows (C > 16384) in blocks or, with
# enough of them, whole, the column path and tiles
PATH_SHAPES = [((37, 129), -1), ((3, 40_001), 1), ((1, 70_000), -1), ((17, 20_001), 1), ((4, 21, 33, 35), 1),
               ((2, 3000, 5), 1), ((3, 5, 2000), 0), ((6, 1, 9), 1), ((2, 4, 1100), 1)]


@pytest.mark.parametrize("name", list(SM))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,axis", PATH_SHAPES)
def test_softmax_paths_and_threads(name, dtype, shape, axis, rng):
    f, b, rf, rb = SM[name]
    x = (rng.standard_normal(shape) * 5).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    with fp.num_threads(1):
        y1 = f(x, axis)
        gx1 = b(g, y1, axis)
    with fp.num_threads(2):
        y2 = f(x, axis)
        gx2 = b(g, y2, axis)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(gx1, gx2)
    ref = rf(x, axis)
    # log-probabilities carry the absolute error of log(sum) (a float32 sum over
    # thousands of terms), so the tolerance scales with their magnitude
    np.testing.assert_allclose(y1, ref, rtol=2 * tol(dtype)[0], atol=4 * tol(dtype)[0] * max(1, np.abs(ref).max()))
    ref_g = rb(g, y1, axis)
    s = np.abs(ref_g).max()
    np.testing.assert_allclose(gx1, ref_g, rtol=tol(dtype)[0] * 4, atol=tol(dtype)[0] * 4 * s)


@pytest.mark.parametrize("name", list(SM))
@pytest.mark.parametrize("shape,axis", [((3, 4), 1), ((2, 3, 4), 1), ((4, 3), 0), ((2, 5, 3), 2)])
def test_softmax_gradient_finite_differences(name, shape, axis, rng):
    f, b, _, _ = SM[name]
    x = rng.standard_normal(shape) * 2
    w = rng.standard_normal(shape)
    h = 1e-6
    fd = np.empty_like(x)
    for i in np.ndindex(shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        fd[i] = (np.sum(w * f(xp, axis)) - np.sum(w * f(xm, axis))) / (2 * h)
    np.testing.assert_allclose(b(w, f(x, axis), axis), fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_extreme_and_nonfinite_rows(dtype, axis):
    inf, nan = np.inf, np.nan
    rows = np.array([
        [1e4, -1e4, 0.0, 1e4 - 1],
        [-1e4, -1e4, -1e4, -1e4],
        [nan, 1.0, 2.0, 3.0],
        [inf, 1.0, 2.0, 3.0],
        [-inf, -inf, -inf, -inf],
        [-inf, 1.0, -inf, 2.0],
        [inf, inf, 0.0, 0.0],
        [-inf, -inf, 5.0, -inf],
    ], dtype)
    x = rows if axis == -1 else np.ascontiguousarray(rows.T)
    for f, rf in ((fp.softmax, R.softmax), (fp.log_softmax, R.log_softmax)):
        y, ref = f(x, axis), rf(x, axis)
        np.testing.assert_array_equal(np.isnan(y), np.isnan(ref))
        close(y, ref, dtype)
    # torch: NaN for rows with NaN, +Inf, or only -Inf
    ys = fp.softmax(rows)
    assert np.isnan(ys[2:5]).all() and np.isnan(ys[6]).all()
    np.testing.assert_array_equal(ys[7], [0, 0, 1, 0])
    assert fp.log_softmax(rows)[5, 0] == -np.inf


def test_softmax_nonfinite_in_big_rows_and_tiles(rng):
    # the block-merge and tile paths have their own -Inf/NaN bookkeeping
    x = rng.standard_normal((4, 40_000))
    x[0, :20_000] = -np.inf       # an all -Inf block: contributes nothing
    x[1, 30_000] = np.nan         # NaN in the second block
    x[2, :] = -np.inf             # all -Inf row -> NaN
    x[3, 5] = np.inf
    for f, rf in ((fp.softmax, R.softmax), (fp.log_softmax, R.log_softmax)):
        y, ref = f(x), rf(x)
        np.testing.assert_array_equal(np.isnan(y), np.isnan(ref))
        close(y, ref, np.float64)
        xt = np.ascontiguousarray(np.moveaxis(x.reshape(4, 40, 1000), 1, 0))  # axis 0, inner > 1
        close(f(xt, 0), rf(xt, 0), np.float64)


def test_softmax_0d_empty_out_noncontiguous(rng):
    assert fp.softmax(np.float32(3.0)) == 1.0
    assert fp.log_softmax(np.array(3.0), axis=0) == 0.0
    for shape in [(0, 5), (5, 0), (2, 0, 3)]:
        e = np.empty(shape, np.float32)
        for ax in range(len(shape)):
            assert fp.softmax(e, ax).shape == shape
            assert fp.log_softmax_backward(e, e, ax).shape == shape
    x = rng.standard_normal((6, 8, 10))
    out = np.empty_like(x)
    assert fp.softmax(x, 1, out=out) is out
    close(out, R.softmax(x, 1), np.float64)
    xc = x.copy()
    fp.log_softmax(xc, 2, out=xc)
    close(xc, R.log_softmax(x, 2), np.float64)
    close(fp.softmax(x[:, ::2, 1:], 1), R.softmax(x[:, ::2, 1:], 1), np.float64)
    close(fp.softmax(x.astype(">f4"), 0), R.softmax(x, 0), np.float32)


def test_softmax_bad_inputs():
    x = np.ones((3, 4), np.float32)
    with pytest.raises(ValueError, match="axis=2 is out of range"):
        fp.softmax(x, 2)
    with pytest.raises(ValueError, match="axis=-3 is out of range"):
        fp.log_softmax_backward(x, x, -3)
    with pytest.raises(TypeError, match="axis must be an int"):
        fp.softmax(x, 1.0)
    with pytest.raises(TypeError, match="axis must be an int"):
        fp.softmax(x, None)
    with pytest.raises(TypeError, match="x must be a float32 or float64"):
        fp.log_softmax(np.ones((2, 2), np.int64))
    with pytest.raises(TypeError, match="mixed dtypes"):
        fp.softmax_backward(np.ones((3, 4)), x)
    with pytest.raises(ValueError, match="grad_out must have the shape of y"):
        fp.softmax_backward(np.ones((4, 3), np.float32), x)
    with pytest.raises(ValueError, match="out must have shape"):
        fp.softmax(x, out=np.empty((4, 3), np.float32))


# ---- dropout ------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_values_statistics_and_backward(dtype, p, rng):
    n = 400_000
    x = rng.standard_normal(n).astype(dtype)
    y, mask = fp.dropout(x, p, seed=123)
    assert mask.dtype == np.bool_ and mask.shape == x.shape
    close(y, R.dropout_apply(x, mask, p), dtype)
    keep = mask.mean()
    assert abs(keep - (1 - p)) < 5 * np.sqrt(p * (1 - p) / n)
    # neighbouring elements independent: P(both kept) ~ (1-p)^2
    both = np.mean(mask[1:] & mask[:-1])
    assert abs(both - (1 - p) ** 2) < 5 * np.sqrt((1 - p) ** 2 / n)
    # runs over 64-element windows behave like a binomial
    counts = mask[: n // 64 * 64].reshape(-1, 64).sum(1)
    assert abs(counts.var() - 64 * p * (1 - p)) < 0.1 * 64 * p * (1 - p)
    g = rng.standard_normal(n).astype(dtype)
    close(fp.dropout_backward(g, mask, p), R.dropout_apply(g, mask, p), dtype)


def test_dropout_gradient_finite_differences(rng):
    x = rng.standard_normal((7, 9))
    w = rng.standard_normal(x.shape)
    p = 0.3
    _, mask = fp.dropout(x, p, seed=5)
    h = 1e-6
    fd = w * (fp.dropout(x + h, p, seed=5)[0] - fp.dropout(x - h, p, seed=5)[0]) / (2 * h)
    np.testing.assert_allclose(fp.dropout_backward(w, mask, p), fd, rtol=1e-7, atol=1e-9)


def test_dropout_depends_only_on_seed_and_index(rng):
    x = rng.standard_normal(300_001).astype(np.float32)
    with fp.num_threads(1):
        y1, m1 = fp.dropout(x, 0.4, seed=99)
    with fp.num_threads(2):
        y2, m2 = fp.dropout(x, 0.4, seed=99)
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_array_equal(y1, y2)
    # same mask for any shape/dtype of the same number of elements
    _, m3 = fp.dropout(x.astype(np.float64).reshape(3, 100_000 + 1 - 1, 1) if False else
                       x.astype(np.float64), 0.4, seed=99)
    np.testing.assert_array_equal(m1, m3)
    _, m4 = fp.dropout(x[:1000].reshape(10, 100), 0.4, seed=99)
    np.testing.assert_array_equal(m4.ravel(), m1[:1000])
    # different seeds: masks agree only by chance
    _, m5 = fp.dropout(x, 0.4, seed=100)
    agree = np.mean(m1 == m5)
    assert abs(agree - (0.6 ** 2 + 0.4 ** 2)) < 0.01
    _, m6 = fp.dropout(x, 0.4, seed=2**64 - 1)
    assert abs(np.mean(m6) - 0.6) < 0.01


def test_dropout_edge_cases():
    x = np.array([1.0, np.nan, np.inf, -2.0] * 50, np.float32)
    y, m = fp.dropout(x, 0.0)
    assert m.all()
    np.testing.assert_array_equal(y, x)
    y, m = fp.dropout(x, 1.0)  # torch: x * 0 (NaN for NaN/Inf), nothing kept
    assert not m.any()
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(y, x * 0)
    np.testing.assert_array_equal(fp.dropout_backward(np.ones_like(x), m, 1.0), np.zeros_like(x))
    y, m = fp.dropout(x, 0.5, seed=1)
    assert np.isnan(y[~m & np.isinf(x)]).all()  # dropped Inf -> NaN, as torch
    assert (y[m & np.isinf(x)] == np.inf).all()
    y, m = fp.dropout(x, 0.5, training=False)
    assert m.all() and y is not x
    np.testing.assert_array_equal(y, x)
    out = np.empty_like(x)
    y, _ = fp.dropout(x, 0.2, out=out)
    assert y is out
    e, me = fp.dropout(np.empty((0, 3)), 0.5)
    assert e.shape == me.shape == (0, 3)
    g = fp.dropout_backward(np.ones(4), np.array([1, 0, 2, 0], np.uint8), 0.5)
    np.testing.assert_array_equal(g, [2.0, 0.0, 2.0, 0.0])


def test_dropout_bad_inputs():
    x = np.ones(8, np.float32)
    for p in (-0.1, 1.5, np.nan, np.inf):
        with pytest.raises(ValueError, match="dropout probability p must be in"):
            fp.dropout(x, p)
        with pytest.raises(ValueError, match="dropout probability p must be in"):
            fp.dropout_backward(x, np.ones(8, bool), p)
    with pytest.raises(TypeError, match="p must be a real number"):
        fp.dropout(x, True)
    with pytest.raises(TypeError, match="p must be a real number"):
        fp.dropout(x, "0.5")
    with pytest.raises(ValueError, match="seed must be in"):
        fp.dropout(x, 0.5, seed=-1)
    with pytest.raises(ValueError, match="seed must be in"):
        fp.dropout(x, 0.5, seed=2**64)
    with pytest.raises(TypeError, match="seed must be an int"):
        fp.dropout(x, 0.5, seed=1.5)
    with pytest.raises(TypeError, match="x must be a float32 or float64"):
        fp.dropout(np.ones(3, np.int32))
    with pytest.raises(TypeError, match="mask must be a bool"):
        fp.dropout_backward(x, np.ones(8, np.float32), 0.5)
    with pytest.raises(ValueError, match="mask must have the shape of grad_out"):
        fp.dropout_backward(x, np.ones(7, bool), 0.5)


# ---- outputs above 16 MB go out with streaming stores: same values ------------

BIG = (1 << 22) + 77  # float32 elements: a 16.8 MB output


@pytest.fixture(scope="module")
def big_x():
    return np.random.default_rng(3).standard_normal(BIG).astype(np.float32) * 4


@pytest.mark.parametrize("name", list(EW))
def test_streaming_elementwise_matches_reference(name, big_x):
    f, b, rf, rb = EW[name]
    x = big_x
    buf = np.empty(BIG + 1, np.float32)
    y = f(x, out=buf[1:])  # output misaligned by 4 bytes: exercises the unaligned head
    gx = b(x, x, y)
    for sl in (slice(0, 20_000), slice(BIG - 20_000, BIG), slice(2_000_000, 2_020_000)):
        close(y[sl], rf(x[sl]), np.float32)
        close(gx[sl], rb(x[sl], x[sl], y[sl]), np.float32, scale=4)


def test_streaming_dropout_and_softmax(big_x):
    x = big_x
    y, m = fp.dropout(x, 0.3, seed=4)
    _, m_small = fp.dropout(x[:100_000], 0.3, seed=4)
    np.testing.assert_array_equal(m[:100_000], m_small)  # streamed and cached paths agree
    close(y[-50_000:], R.dropout_apply(x[-50_000:], m[-50_000:], 0.3), np.float32)
    close(fp.dropout_backward(x, m, 0.3)[-50_000:], R.dropout_apply(x[-50_000:], m[-50_000:], 0.3),
          np.float32)
    for shape, axis in [((BIG // 1001, 1001), 1), ((2, 21, BIG // 42), 1), ((1, BIG), 1)]:
        xs = x[:int(np.prod(shape))].reshape(shape)
        for f, b, rf, rb in SM.values():
            y = f(xs, axis)
            g = b(xs, y, axis)
            sub = (slice(0, 1),) if shape[0] > 1 else (slice(None),)
            sub = sub + (slice(None),) * (len(shape) - 1)
            ref = rf(xs[sub], axis)
            np.testing.assert_allclose(y[sub], ref, rtol=4e-5, atol=4e-5 * max(1, np.abs(ref).max()))
            rg = rb(xs[sub], y[sub], axis)
            np.testing.assert_allclose(g[sub], rg, rtol=1e-4, atol=1e-4 * np.abs(rg).max())
            inplace = xs.copy()
            assert f(inplace, axis, out=inplace) is inplace  # streamed, in place
            np.testing.assert_array_equal(inplace, y)


# ---- reduction over an inner axis (column path up to C = 4096, then tiles): ----
# ---- every C of the column widths and buffers, the switch to tiles, ragged inner

@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_axis1_every_c_and_ragged_inner(dtype, rng):
    # C > 64: blocks in a per-thread L2 buffer; C > 4096: tiles
    for c in list(range(1, 41)) + [47, 63, 64, 65, 96, 130, 1000, 4096, 4097]:
        inner = int(rng.choice([1, 7, 17, 33, 100, 1031])) if c < 1000 else int(rng.choice([7, 33]))
        x = (rng.standard_normal((3, c, inner)) * 6).astype(dtype)
        g = rng.standard_normal(x.shape).astype(dtype)
        x[0, rng.integers(c), :] += dtype(1e4)   # extreme logits: one dominant class
        x[1, rng.integers(c), :] -= dtype(1e4)
        for f, b, rf, rb in SM.values():
            with fp.num_threads(1):
                y1, gx1 = f(x, 1), b(g, f(x, 1), 1)
            with fp.num_threads(2):
                y, gx = f(x, 1), b(g, f(x, 1), 1)
            np.testing.assert_array_equal(y, y1)
            np.testing.assert_array_equal(gx, gx1)
            ref = rf(x, 1)
            np.testing.assert_allclose(y, ref, rtol=2 * tol(dtype)[0],
                                       atol=4 * tol(dtype)[0] * max(1, np.abs(ref).max()), err_msg=f"C={c}")
            ref_g = rb(g, y, 1)
            np.testing.assert_allclose(gx, ref_g, rtol=4 * tol(dtype)[0],
                                       atol=4 * tol(dtype)[0] * np.abs(ref_g).max(), err_msg=f"C={c}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_log_softmax_backward_tile_any_y(dtype, rng):
    # y that no log_softmax produced (positive, huge, -Inf, NaN) and
    # non-finite grad sums take the general exp; all as torch: g - exp(y) * sum(g)
    shape = (2, 5, 300)
    g = rng.standard_normal(shape).astype(dtype)
    y = -np.abs(rng.standard_normal(shape) * 40).astype(dtype)  # down to < -87: flushed exp
    y[0, :, 10] = [0.5, 3.0, -1.0, 60.0, -200.0]
    y[0, 2, 20] = -np.inf
    y[1, 3, 30] = np.nan
    y[1, 1, 250] = 100.0 if dtype == np.float32 else 800.0  # exp overflows to Inf
    g2 = g.copy()
    g2[1, 0, 299] = np.inf  # sum(g) = Inf in that column
    with np.errstate(over="ignore", invalid="ignore"):
        for gg in (g, g2):
            out = fp.log_softmax_backward(gg, y, 1)
            ref = R.log_softmax_backward(gg.astype(np.float64), y.astype(np.float64), 1)
            np.testing.assert_array_equal(np.isnan(out), np.isnan(ref))
            np.testing.assert_array_equal(np.isinf(out), np.isinf(ref.astype(dtype)))
            fin = np.isfinite(out)
            np.testing.assert_allclose(out[fin], ref[fin], rtol=4 * tol(dtype)[0],
                                       atol=4 * tol(dtype)[0] * np.abs(ref[fin]).max())
    # only the first tile column is special: the rest of the array is unaffected
    y_ok = np.minimum(y, 0)
    y_ok[np.isnan(y_ok)] = -1
    close(fp.log_softmax_backward(g, y_ok, 1), R.log_softmax_backward(g, y_ok, 1), dtype, scale=4)


def test_softmax_axis1_nonfinite_columns(rng):
    x = rng.standard_normal((2, 21, 40)).astype(np.float32)
    x[0, 3, 0] = np.nan
    x[0, :, 1] = -np.inf
    x[0, 5, 2] = np.inf
    x[1, 0, 3] = -np.inf
    x[1, 7, 4] = np.inf
    x[1, 8, 4] = np.inf
    for f, rf in ((fp.softmax, R.softmax), (fp.log_softmax, R.log_softmax)):
        with np.errstate(invalid="ignore"):
            y, ref = f(x, 1), rf(x.astype(np.float64), 1)
        np.testing.assert_array_equal(np.isnan(y), np.isnan(ref))
        close(y, ref, np.float32)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c", [5, 40_000])  # a row in L1/L2, and a row split in blocks
def test_log_softmax_backward_rows_any_y(dtype, c, rng):
    g = rng.standard_normal((3, c)).astype(dtype)
    y = -np.abs(rng.standard_normal((3, c)) * 40).astype(dtype)
    y[1, 2] = 2.0                 # not a log-probability: the general exp
    y[2] = np.maximum(y[2], -80)  # exp(y) * Inf stays Inf where exp(y) is a normal float
    y[2, 1] = -np.inf
    g[2, 0] = np.inf              # sum(g) = Inf: general exp, g - exp(y) * Inf
    with np.errstate(over="ignore", invalid="ignore"):
        out = fp.log_softmax_backward(g, y)
        ref = R.log_softmax_backward(g, y)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(ref))
    fin = np.isfinite(ref)
    np.testing.assert_allclose(out[fin], ref[fin], rtol=4 * tol(dtype)[0],
                               atol=4 * tol(dtype)[0] * np.abs(ref[fin]).max())
