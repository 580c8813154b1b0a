"""algorithm="winograd" (F(2x2, 3x3)) for conv2d and conv2d_backward's grad_x.

Checked against the float64 einsum reference in _ref_conv.py. float32
tolerance (documented in the README): the transforms mix the 4x4 input patch
of a 2x2 output tile, so the error of an output is bounded relative to the
magnitudes around it rather than to its own window:
    |y - y64| <= 2e-7 * (C_in/groups + 16) * mag + 1e-6,
    mag = sum over input channels of sum(|x| over the 5x5 neighbourhood
          of the window) * max|w[k, c]|
(grad_x: the same with grad_out in the role of x and the filters transposed).
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import fastprims as fp
import _ref_conv as R

W = "winograd"


@st.composite
def wino_cases(draw):
    groups = draw(st.integers(1, 3))
    cig = draw(st.sampled_from([1, 2, 3, 5, 17]))
    cog = draw(st.sampled_from([1, 2, 4, 7, 18]))
    ph, pw = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    h = draw(st.integers(max(1, 3 - 2 * ph), 11))
    w = draw(st.integers(max(1, 3 - 2 * pw), 40))
    return dict(n=draw(st.integers(1, 2)), groups=groups, cig=cig, cog=cog, padding=(ph, pw), hw=(h, w),
                bias=draw(st.booleans()), seed=draw(st.integers(0, 2**31 - 1)))


def make(case, dtype=np.float64):
    rng = np.random.default_rng(case["seed"])
    g = case["groups"]
    x = rng.standard_normal((case["n"], g * case["cig"]) + case["hw"]).astype(dtype)
    w = rng.standard_normal((g * case["cog"], case["cig"], 3, 3)).astype(dtype)
    b = rng.standard_normal(g * case["cog"]).astype(dtype) if case["bias"] else None
    return x, w, b, dict(padding=case["padding"], groups=g)


def f32_bound(x, w, padding, groups):
    """The documented float32 error bound of winograd conv2d(x, w) (see module doc)."""
    ph, pw = padding
    wmax = np.abs(w).max(axis=(2, 3), keepdims=True) * np.ones((1, 1, 5, 5))
    mag = R.conv2d(np.abs(x).astype(np.float64), wmax, padding=(ph + 1, pw + 1), groups=groups)
    return 2e-7 * (w.shape[1] + 16) * mag + 1e-6


def grad_x_bound(gy, w, padding, groups):
    """The same bound for grad_x: grad_out convolved with the transposed filters, padding 2 - p."""
    g = groups
    cog, cig = w.shape[0] // g, w.shape[1]
    wt = w.reshape(g, cog, cig, 3, 3).transpose(0, 2, 1, 3, 4).reshape(g * cig, cog, 3, 3)
    return f32_bound(gy, wt, (2 - padding[0], 2 - padding[1]), g)


def check_f32(actual, expected, bound):
    assert np.all(np.abs(actual - expected) <= bound), np.max(np.abs(actual - expected) / bound)


@given(case=wino_cases())
def test_winograd_f64(case):
    x, w, b, kw = make(case)
    y = fp.conv2d(x, w, b, algorithm=W, **kw)
    np.testing.assert_allclose(y, R.conv2d(x, w, b, **kw), rtol=1e-12, atol=1e-12)
    gy = np.random.default_rng(case["seed"] + 1).standard_normal(y.shape)
    gx, gw, gb = fp.conv2d_backward(gy, x, w, algorithm=W, **kw)
    rgx, rgw, rgb = R.conv2d_backward(gy, x, w, **kw)
    np.testing.assert_allclose(gx, rgx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gw, rgw, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gb, rgb, rtol=1e-12, atol=1e-12)


@given(case=wino_cases())
def test_winograd_f32(case):
    x, w, b, kw = make(case, np.float32)
    y = fp.conv2d(x, w, b, algorithm=W, **kw)
    assert y.dtype == np.float32
    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    ref = R.conv2d(x64, w64, None if b is None else b.astype(np.float64), **kw)
    check_f32(y, ref, f32_bound(x, w, kw["padding"], kw["groups"]))
    gy = np.random.default_rng(case["seed"] + 1).standard_normal(y.shape).astype(np.float32)
    gx = fp.conv2d_backward(gy, x, w, algorithm=W, needs_input_grad=(True, False, False), **kw)[0]
    assert gx.dtype == np.float32
    rgx = R.conv2d_backward(gy.astype(np.float64), x64, w64, **kw)[0]
    check_f32(gx, rgx, grad_x_bound(gy, w, kw["padding"], kw["groups"]))


def test_f32_bound_is_tight_enough_and_holds_on_hard_data():
    """Wide layers, a large dynamic range between neighbouring positions, and
    sums that cancel: the bound holds, and winograd's error is within ~10x of
    im2col's on plain data (F(2x2) keeps float32 close to direct)."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 96, 15, 13)).astype(np.float32)
    x[:, :, ::3, ::4] *= 1e3  # large values next to small ones
    w = rng.standard_normal((40, 96, 3, 3)).astype(np.float32)
    w[:, :, 1, 1] -= w.sum(axis=(2, 3)) - w[:, :, 1, 1]  # filters summing to ~0: cancellation
    for pad in ((1, 1), (0, 2)):
        y = fp.conv2d(x, w, padding=pad, algorithm=W)
        ref = R.conv2d(x.astype(np.float64), w.astype(np.float64), padding=pad)
        check_f32(y, ref, f32_bound(x, w, pad, 1))
    xp = rng.standard_normal((2, 64, 14, 14)).astype(np.float32)
    wp = (rng.standard_normal((64, 64, 3, 3)) / 24).astype(np.float32)
    ref = R.conv2d(xp.astype(np.float64), wp.astype(np.float64), padding=1)
    err_w = np.abs(fp.conv2d(xp, wp, padding=1, algorithm=W) - ref).max()
    err_i = np.abs(fp.conv2d(xp, wp, padding=1, algorithm="im2col") - ref).max()
    assert err_w <= 10 * err_i + 1e-7


def test_grad_x_finite_differences():
    rng = np.random.default_rng(7)
    for kw in (dict(padding=1), dict(padding=(0, 3), groups=2), dict(padding="same")):
        x = rng.standard_normal((2, 4, 7, 10))
        w = rng.standard_normal((6, 4 // kw.get("groups", 1), 3, 3))
        y = fp.conv2d(x, w, algorithm=W, **kw)
        gy = rng.standard_normal(y.shape)
        gx = fp.conv2d_backward(gy, x, w, algorithm=W, needs_input_grad=(True, False, False), **kw)[0]
        v = rng.standard_normal(x.shape)
        h = 1e-3
        fd = (np.sum(fp.conv2d(x + h * v, w, algorithm=W, **kw) * gy)
              - np.sum(fp.conv2d(x - h * v, w, algorithm=W, **kw) * gy)) / (2 * h)
        assert np.isclose(np.sum(gx * v), fd, rtol=1e-7, atol=1e-7)


def test_noncontiguous_out_and_threads():
    rng = np.random.default_rng(4)
    xb = rng.standard_normal((2, 40, 12, 41)).astype(np.float32)
    x = xb[:, ::2, :, ::2]  # (2, 20, 12, 21), strided
    w = rng.standard_normal((20, 33, 3, 3)).astype(np.float32).transpose(1, 0, 2, 3)[:, :20]  # (33, 20, 3, 3)
    b = rng.standard_normal(33).astype(np.float32)
    ref = R.conv2d(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), padding=1)
    out = np.full(ref.shape, np.nan, np.float32)
    assert fp.conv2d(x, w, b, padding=1, algorithm=W, out=out) is out
    check_f32(out, ref, f32_bound(x, w, (1, 1), 1))
    ref_nb = R.conv2d(x.astype(np.float64), w.astype(np.float64), padding=1)
    check_f32(fp.conv2d(x.astype(">f4"), w, None, padding=1, algorithm=W), ref_nb, f32_bound(x, w, (1, 1), 1))
    gy = np.asfortranarray(rng.standard_normal(ref.shape).astype(np.float32))
    res = []
    for n in (1, 2):
        with fp.num_threads(n):
            res.append((fp.conv2d(x, w, b, padding=1, algorithm=W),
                        fp.conv2d_backward(gy, x, w, padding=1, algorithm=W)[0]))
    # every output is computed the same way whichever thread computes it
    for a, e in zip(*res):
        np.testing.assert_array_equal(a, e)
    big = rng.standard_normal((5, 64, 20, 20)).astype(np.float32)
    wb = rng.standard_normal((48, 64, 3, 3)).astype(np.float32)
    with fp.num_threads(1):
        one = fp.conv2d(big, wb, padding=1, algorithm=W)
    with fp.num_threads(2):
        np.testing.assert_array_equal(fp.conv2d(big, wb, padding=1, algorithm=W), one)


def test_nan_inf_propagate_as_direct():
    """Inf would turn into Inf - Inf = NaN inside the transforms: the result
    must still match the reference's NaN/Inf pattern."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((1, 3, 9, 10))
    x[0, 0, 4, 4] = np.nan
    x[0, 1, 0, 8] = np.inf
    x[0, 2, 6, 1] = -np.inf
    w = rng.standard_normal((4, 3, 3, 3))
    for kw in (dict(padding=1), dict(padding=0)):
        y = fp.conv2d(x, w, algorithm=W, **kw)
        ref = R.conv2d(x, w, **kw)
        np.testing.assert_array_equal(np.isnan(y), np.isnan(ref))
        np.testing.assert_array_equal(np.isinf(y), np.isinf(ref))
        fin = np.isfinite(ref)
        np.testing.assert_allclose(y[fin], ref[fin], rtol=1e-12, atol=1e-12)
        gy = rng.standard_normal(ref.shape)
        gy[0, 1, 2, 2] = np.inf
        gx = fp.conv2d_backward(gy, x, w, algorithm=W, **kw)[0]
        rgx = R.conv2d_backward(gy, x, w, **kw)[0]
        np.testing.assert_array_equal(np.isnan(gx), np.isnan(rgx))
        np.testing.assert_array_equal(np.isinf(gx), np.isinf(rgx))
    # a finite layer whose products overflow float32 to Inf
    xo = np.full((1, 2, 4, 4), 3e38, np.float32)
    wo = np.ones((1, 2, 3, 3), np.float32)
    yo = fp.conv2d(xo, wo, algorithm=W)
    assert np.all(np.isinf(yo)) and np.all(yo > 0)


def test_ineligible_shapes_raise():
    x = np.zeros((1, 2, 8, 8), np.float32)
    for w, kw in ((np.zeros((3, 2, 5, 5), np.float32), {}), (np.zeros((3, 2, 3, 3), np.float32), dict(stride=2)),
                  (np.zeros((3, 2, 3, 3), np.float32), dict(dilation=2)),
                  (np.zeros((3, 2, 3, 1), np.float32), {})):
        with pytest.raises(ValueError, match="algorithm='winograd' needs a 3x3 kernel"):
            fp.conv2d(x, w, algorithm=W, **kw)
        y = fp.conv2d(x, w, **kw)
        with pytest.raises(ValueError, match="algorithm='winograd' needs a 3x3 kernel"):
            fp.conv2d_backward(np.zeros_like(y), x, w, algorithm=W, **kw)
    with pytest.raises(ValueError, match="algorithm must be"):
        fp.conv2d(x, np.zeros((3, 2, 3, 3), np.float32), algorithm="winograd4")


def test_empty_and_auto():
    w = np.ones((4, 3, 3, 3))
    assert fp.conv2d(np.zeros((0, 3, 5, 5)), w, algorithm=W).shape == (0, 4, 3, 3)
    gx, gw, gb = fp.conv2d_backward(np.zeros((0, 4, 3, 3)), np.zeros((0, 3, 5, 5)), w, algorithm=W)
    assert gx.shape == (0, 3, 5, 5) and np.all(gw == 0) and np.all(gb == 0)
    # auto on a layer the rule sends to winograd: same numbers as the reference
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 64, 9, 9)).astype(np.float32)
    w = (rng.standard_normal((64, 64, 3, 3)) / 24).astype(np.float32)
    b = rng.standard_normal(64).astype(np.float32)
    ref = R.conv2d(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), padding=1)
    check_f32(fp.conv2d(x, w, b, padding=1), ref, f32_bound(x, w, (1, 1), 1))


def test_auto_uses_winograd_where_measured_faster():
    """auto == winograd bit for bit on a 32-channel 3x3 layer (forward and grad_x),
    and stays off it for 5x5 and for 4 channels per group."""
    rng = np.random.default_rng(12)
    x = rng.standard_normal((2, 32, 10, 9)).astype(np.float32)
    w = rng.standard_normal((32, 32, 3, 3)).astype(np.float32)
    gy = rng.standard_normal((2, 32, 10, 9)).astype(np.float32)
    np.testing.assert_array_equal(fp.conv2d(x, w, padding=1), fp.conv2d(x, w, padding=1, algorithm=W))
    np.testing.assert_array_equal(fp.conv2d_backward(gy, x, w, padding=1)[0],
                                  fp.conv2d_backward(gy, x, w, padding=1, algorithm=W)[0])
    from fastprims import conv as C
    g = C._geometry((2, 32, 10, 9), (32, 8, 3, 3), 1, 1, 1, 4)
    assert C._auto_algorithm(g) != W
    g = C._geometry((2, 32, 10, 9), (32, 32, 5, 5), 1, 2, 1, 1)
    assert C._auto_algorithm(g) != W and C._auto_algorithm(g, backward=True) != W


def test_workspace_bounded():
    f = fp.conv.winograd_workspace_bytes
    for c in (16, 128, 512):
        shape = lambda n: (n, c, 28, 28)
        w = (c, c, 3, 3)
        filters = 16 * c * c * 4
        big = f(shape(256), w, padding=1, n_threads=2)
        assert big == f(shape(4096), w, padding=1, n_threads=2)  # independent of the batch
        assert f(shape(1), w, padding=1, n_threads=2) <= big
        per_thread = max(3 << 20, 16 * 2 * c * 48 * 4 + (64 << 10))
        assert big <= filters + 2 * per_thread
        assert f(shape(256), w, padding=1, n_threads=2, backward=True) == big  # symmetric layer
    with pytest.raises(ValueError, match="algorithm='winograd'"):
        f((1, 2, 8, 8), (2, 2, 5, 5))


@pytest.mark.parametrize("shape, padding, groups", [
    ((1, 2, 2, 3), 5, 1),          # grad_x padding 2 - 5 < 0: a crop
    ((2, 3, 1, 1), 1, 1),          # 1x1 maps
    ((1, 4, 1, 7), (1, 4), 2),
    ((3, 6, 5, 5), (4, 0), 3),
    ((1, 2, 40, 1), (2, 1), 1),    # one column, odd height
])
def test_large_padding_and_thin_maps(shape, padding, groups):
    rng = np.random.default_rng(21)
    x = rng.standard_normal(shape)
    w = rng.standard_normal((6, shape[1] // groups, 3, 3))
    b = rng.standard_normal(6)
    kw = dict(padding=padding, groups=groups)
    y = fp.conv2d(x, w, b, algorithm=W, **kw)
    np.testing.assert_allclose(y, R.conv2d(x, w, b, **kw), rtol=1e-12, atol=1e-12)
    gy = rng.standard_normal(y.shape)
    gx = fp.conv2d_backward(gy, x, w, algorithm=W, needs_input_grad=(True, False, False), **kw)[0]
    np.testing.assert_allclose(gx, R.conv2d_backward(gy, x, w, **kw)[0], rtol=1e-12, atol=1e-12)
