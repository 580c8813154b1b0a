"""The specialised convolution paths: depthwise register-blocked forward,
fused one-pass depthwise backward (any stride), streaming stores for large
depthwise outputs, and the inner-product weight gradient of im2col.

Each is checked against the float64 reference in _ref_conv.py on shapes
chosen to reach its edges (odd widths, widths below one vector, channel
multipliers, stride 2, padding 0/1/2, dilation, channel counts that are not
multiples of the register block), with finite differences and thread-count
agreement.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import fastprims as fp
import _ref_conv as R


def _f32_close(actual, expected, terms, mag):
    assert np.all(np.abs(actual - expected) <= 1e-6 * terms * mag + 1e-6)


@st.composite
def depthwise_cases(draw):
    c = draw(st.integers(1, 5))
    mult = draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    s = draw(st.integers(1, 2))
    stride = (s, draw(st.integers(1, 2))) if draw(st.booleans()) else (s, s)
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pad = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    h_min = max(1, dil[0] * (kh - 1) + 1 - 2 * pad[0])
    w_min = max(1, dil[1] * (kw - 1) + 1 - 2 * pad[1])
    h = draw(st.integers(h_min, h_min + 14))
    w = draw(st.integers(w_min, w_min + 40))  # odd widths, widths < 16 and > 2 vectors
    n = draw(st.integers(1, 3))
    return dict(n=n, c=c, mult=mult, k=(kh, kw), stride=stride, dilation=dil, padding=pad, hw=(h, w),
                seed=draw(st.integers(0, 2**31 - 1)))


def _depthwise(case, dtype):
    rng = np.random.default_rng(case["seed"])
    c = case["c"]
    x = rng.standard_normal((case["n"], c) + case["hw"]).astype(dtype)
    w = rng.standard_normal((c * case["mult"], 1) + case["k"]).astype(dtype)
    b = rng.standard_normal(c * case["mult"]).astype(dtype)
    kw = dict(stride=case["stride"], padding=case["padding"], dilation=case["dilation"], groups=c)
    return x, w, b, kw


@pytest.mark.parametrize("alg", ["auto", "direct"])
@given(case=depthwise_cases())
def test_depthwise_all_gradients_f64(alg, case):
    x, w, b, kw = _depthwise(case, np.float64)
    ref = R.conv2d(x, w, b, **kw)
    np.testing.assert_allclose(fp.conv2d(x, w, b, algorithm=alg, **kw), ref, rtol=1e-12, atol=1e-12)
    gy = np.random.default_rng(case["seed"] + 1).standard_normal(ref.shape)
    got = fp.conv2d_backward(gy, x, w, algorithm=alg, **kw)
    for a, e in zip(got, R.conv2d_backward(gy, x, w, **kw)):
        np.testing.assert_allclose(a, e, rtol=1e-11, atol=1e-11)
    # one gradient at a time takes the unfused kernels: same numbers
    gx_only = fp.conv2d_backward(gy, x, w, algorithm=alg, needs_input_grad=(True, False, False), **kw)[0]
    np.testing.assert_allclose(gx_only, got[0], rtol=1e-12, atol=1e-12)


@given(case=depthwise_cases())
def test_depthwise_all_gradients_f32(case):
    x, w, b, kw = _depthwise(case, np.float32)
    ref = R.conv2d(x, w, b, **kw)
    kk = case["k"][0] * case["k"][1]
    _f32_close(fp.conv2d(x, w, b, **kw), ref, kk, R.conv2d(np.abs(x), np.abs(w), np.abs(b), **kw))
    gy = np.random.default_rng(case["seed"] + 1).standard_normal(ref.shape).astype(np.float32)
    gx, gw, gb = fp.conv2d_backward(gy, x, w, **kw)
    rgx, rgw, rgb = R.conv2d_backward(gy, x, w, **kw)
    agx, agw, agb = R.conv2d_backward(np.abs(gy), np.abs(x), np.abs(w), **kw)
    _f32_close(gx, rgx, kk * case["mult"], agx)
    terms = case["n"] * ref.shape[2] * ref.shape[3]
    _f32_close(gw, rgw, terms, agw)
    _f32_close(gb, rgb, terms, agb)


@pytest.mark.parametrize("cfg", [
    dict(padding=1, groups=4),                         # fused backward, 3x3 specialisation
    dict(padding=(2, 0), dilation=(2, 1), groups=4),   # fused backward, generic taps
    dict(padding=0, stride=2, groups=4),               # fused backward, stride 2
])
def test_depthwise_finite_differences(cfg):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 4, 9, 19))
    w = rng.standard_normal((8, 1, 3, 3))  # channel multiplier 2
    b = rng.standard_normal(8)
    y = fp.conv2d(x, w, b, **cfg)
    gy = rng.standard_normal(y.shape)
    grads = fp.conv2d_backward(gy, x, w, **cfg)

    def loss(xx, ww, bb):
        return float(np.sum(fp.conv2d(xx, ww, bb, **cfg) * gy))

    h = 1e-3
    for idx, grad in enumerate(grads):
        args = [x, w, b]
        v = rng.standard_normal(args[idx].shape)
        plus, minus = list(args), list(args)
        plus[idx] = args[idx] + h * v
        minus[idx] = args[idx] - h * v
        fd = (loss(*plus) - loss(*minus)) / (2 * h)
        assert np.isclose(np.sum(grad * v), fd, rtol=1e-7, atol=1e-7)


def test_depthwise_threads_agree_exactly():
    """Per-image partial sums added in image order: no dependence on the thread count."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 6, 23, 37)).astype(np.float32)
    w = rng.standard_normal((12, 1, 3, 3)).astype(np.float32)
    gy = rng.standard_normal((5, 12, 23, 37)).astype(np.float32)
    res = []
    for n in (1, 2):
        with fp.num_threads(n):
            res.append((fp.conv2d(x, w, padding=1, groups=6),) + fp.conv2d_backward(gy, x, w, padding=1, groups=6))
    for a, b in zip(*res):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("mult", [1, 2])
def test_depthwise_large_output_streaming(mult):
    """Outputs above 16 MiB are written with streaming stores (plane boundaries
    not on cache lines: odd width)."""
    rng = np.random.default_rng(9)
    c = 4
    x = rng.standard_normal((2, c, 541, 1001)).astype(np.float32)
    w = rng.standard_normal((c * mult, 1, 3, 3)).astype(np.float32)
    b = rng.standard_normal(c * mult).astype(np.float32)
    kw = dict(padding=1, groups=c)
    y = fp.conv2d(x, w, b, **kw)
    assert x.nbytes > 16 << 20
    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    _f32_close(y, R.conv2d(x64, w64, b.astype(np.float64), **kw), 9,
               R.conv2d(np.abs(x64), np.abs(w64), np.abs(b.astype(np.float64)), **kw))
    gy = rng.standard_normal(y.shape).astype(np.float32)
    gx, gw, gb = fp.conv2d_backward(gy, x, w, **kw)
    rgx, rgw, rgb = R.conv2d_backward(gy.astype(np.float64), x64, w64, **kw)
    np.testing.assert_allclose(gx, rgx, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gw, rgw, rtol=1e-3, atol=1e-1)
    np.testing.assert_allclose(gb, rgb, rtol=1e-3, atol=1e-1)


# Many small planes, output above 16 MiB: the register-blocked depthwise
# forward streams each plane's finished rows out block by block (split points
# on cache lines of the output, plane boundaries not on lines).
STREAM_DW_CASES = [
    # (h, w, k, stride, padding, dilation, mult)
    (9, 13, 3, 1, 1, 1, 1),   # odd width, row count not a multiple of the 4-row block
    (5, 7, 3, 1, 0, 1, 1),    # width below one vector, padding 0
    (1, 37, 3, 1, 1, 1, 1),   # H = 1
    (6, 21, 3, 1, 2, 1, 2),   # padding 2, channel multiplier 2
    (11, 19, 5, 2, 2, 2, 1),  # stride 2, dilation 2
    (8, 33, 3, 1, 1, 2, 1),   # dilation 2
    (13, 18, 3, 1, 1, 1, 1),  # plane of 234 elements: lines split mid-row
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", STREAM_DW_CASES)
def test_depthwise_streamed_forward_small_planes(case, dtype):
    h, wd, k, s, p, d, mult = case
    oh = (h + 2 * p - d * (k - 1) - 1) // s + 1
    ow = (wd + 2 * p - d * (k - 1) - 1) // s + 1
    c = (16 << 20) // (np.dtype(dtype).itemsize * oh * ow * mult) + 3
    rng = np.random.default_rng(11)
    x = rng.standard_normal((1, c, h, wd)).astype(dtype)
    w = rng.standard_normal((c * mult, 1, k, k)).astype(dtype)
    b = rng.standard_normal(c * mult).astype(dtype)
    kw = dict(stride=s, padding=p, dilation=d, groups=c)
    with fp.num_threads(1):
        y1 = fp.conv2d(x, w, b, **kw)
    with fp.num_threads(2):
        y = fp.conv2d(x, w, b, **kw)
    assert y.nbytes > 16 << 20
    np.testing.assert_array_equal(y, y1)
    x64, w64, b64 = x.astype(np.float64), w.astype(np.float64), b.astype(np.float64)
    ref = R.conv2d(x64, w64, b64, **kw)
    if dtype == np.float32:
        _f32_close(y, ref, k * k, R.conv2d(np.abs(x64), np.abs(w64), np.abs(b64), **kw))
    else:
        np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)


# im2col weight gradient as inner products: rows in place when the output
# positions per image are a multiple of the vector length (16 float / 8
# double), else in tiles of several images.
GW_CASES = [
    # (n, c_in, h, w, c_out, k, stride, padding, dilation, groups)
    (2, 7, 8, 8, 5, 3, 1, 1, 1, 1),     # 64 positions, block edges in both channel counts
    (3, 6, 4, 4, 9, 1, 1, 0, 1, 3),     # pointwise, in place, groups
    (2, 5, 16, 16, 6, 3, 2, 1, 1, 1),   # stride 2 -> 8x8
    (1, 3, 12, 12, 4, 3, 1, 2, 2, 1),   # dilation 2, padding 2 -> 12x12
    (2, 3, 38, 38, 4, 7, 2, 3, 1, 1),   # stem-like 7x7 s2 -> 19x19: not a multiple, image groups
    (5, 6, 7, 7, 10, 3, 1, 1, 1, 2),    # 7x7 maps, 5 images in uneven groups, groups=2
    (3, 9, 5, 3, 7, 1, 1, 0, 1, 1),     # pointwise on 15 positions
    (1, 40, 32, 48, 3, 3, 1, 1, 1, 1),  # P = 1536: more than one position tile
]


@pytest.mark.parametrize("case", GW_CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_im2col_weight_gradient_inner_products(case, dtype):
    n, c, h, w_, co, k, s, p, d, g = case
    rng = np.random.default_rng(sum(case))
    x = rng.standard_normal((n, c, h, w_)).astype(dtype)
    w = rng.standard_normal((co, c // g, k, k)).astype(dtype)
    kw = dict(stride=s, padding=p, dilation=d, groups=g)
    y = fp.conv2d(x, w, **kw)
    gy = rng.standard_normal(y.shape).astype(dtype)
    ref = R.conv2d_backward(gy.astype(np.float64), x.astype(np.float64), w.astype(np.float64), **kw)[1]
    res = []
    for nt in (1, 2):
        with fp.num_threads(nt):
            res.append(fp.conv2d_backward(gy, x, w, algorithm="im2col", needs_input_grad=(False, True, False),
                                          **kw)[1])
    tol = 1e-11 if dtype == np.float64 else 2e-4
    for gw in res:
        assert gw.dtype == dtype
        np.testing.assert_allclose(gw, ref, rtol=tol, atol=tol * np.abs(ref).max())
    with fp.num_threads(2):
        again = fp.conv2d_backward(gy, x, w, algorithm="im2col", needs_input_grad=(False, True, False), **kw)[1]
    np.testing.assert_array_equal(again, res[1])


def test_im2col_weight_gradient_nan_inf():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 8, 8))
    w = rng.standard_normal((4, 3, 3, 3))
    gy = rng.standard_normal((2, 4, 8, 8))
    x[1, 2, 3, 3] = np.inf
    gy[0, 1, 0, 0] = np.nan
    gw = fp.conv2d_backward(gy, x, w, padding=1, algorithm="im2col", needs_input_grad=(False, True, False))[1]
    ref = R.conv2d_backward(gy, x, w, padding=1)[1]
    np.testing.assert_array_equal(np.isnan(gw), np.isnan(ref))
    np.testing.assert_array_equal(np.isinf(gw), np.isinf(ref))
    fin = np.isfinite(ref)
    np.testing.assert_allclose(gw[fin], ref[fin], rtol=1e-12, atol=1e-12)
