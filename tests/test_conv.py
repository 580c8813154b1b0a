"""conv2d / conv2d_backward / im2col / col2im and the cost helpers.

Both algorithms are checked against the float64 einsum reference in
_ref_conv.py. float32 tolerance (documented in the README): every output is a
sum of K = C_in/groups*kH*kW products, so it is compared within
1e-6 * K * conv(|x|, |w|) + 1e-6 of the float64 reference (a few ulps per
accumulated product, relative to the magnitude of the terms).
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import fastprims as fp
import _ref_conv as R

ALGS = ["direct", "im2col"]


@st.composite
def conv_cases(draw, max_side=9):
    groups = draw(st.integers(1, 3))
    cig = draw(st.integers(1, 3))
    cog = draw(st.integers(1, 5))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    n = draw(st.integers(1, 2))
    # the dilated kernel must fit in the padded input
    h = draw(st.integers(max(1, dh * (kh - 1) + 1 - 2 * ph), max(1, dh * (kh - 1) + 1 - 2 * ph) + max_side))
    w = draw(st.integers(max(1, dw * (kw - 1) + 1 - 2 * pw), max(1, dw * (kw - 1) + 1 - 2 * pw) + 3 * max_side))
    bias = draw(st.booleans())
    seed = draw(st.integers(0, 2**31 - 1))
    return dict(n=n, groups=groups, cig=cig, cog=cog, k=(kh, kw), stride=(sh, sw), dilation=(dh, dw),
                padding=(ph, pw), hw=(h, w), bias=bias, seed=seed)


def make(case, dtype=np.float64):
    rng = np.random.default_rng(case["seed"])
    g = case["groups"]
    x = rng.standard_normal((case["n"], g * case["cig"]) + case["hw"]).astype(dtype)
    w = rng.standard_normal((g * case["cog"], case["cig"]) + case["k"]).astype(dtype)
    b = rng.standard_normal(g * case["cog"]).astype(dtype) if case["bias"] else None
    kw = dict(stride=case["stride"], padding=case["padding"], dilation=case["dilation"], groups=g)
    return x, w, b, kw


def f32_close(actual, x, w, b, kw, expected):
    k = w.shape[1] * w.shape[2] * w.shape[3]
    mag = R.conv2d(np.abs(x), np.abs(w), None if b is None else np.abs(b), **kw)
    assert np.all(np.abs(actual - expected) <= 1e-6 * k * mag + 1e-6)


@pytest.mark.parametrize("alg", ALGS)
@given(case=conv_cases())
def test_conv2d_forward_backward_f64(alg, case):
    x, w, b, kw = make(case)
    ref = R.conv2d(x, w, b, **kw)
    y = fp.conv2d(x, w, b, algorithm=alg, **kw)
    assert y.dtype == np.float64 and y.flags.c_contiguous
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)
    gy = np.random.default_rng(case["seed"] + 1).standard_normal(ref.shape)
    gx, gw, gb = fp.conv2d_backward(gy, x, w, algorithm=alg, **kw)
    rgx, rgw, rgb = R.conv2d_backward(gy, x, w, **kw)
    np.testing.assert_allclose(gx, rgx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gw, rgw, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gb, rgb, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("alg", ALGS + ["auto"])
@given(case=conv_cases(max_side=20))
def test_conv2d_forward_backward_f32(alg, case):
    x, w, b, kw = make(case, np.float32)
    ref = R.conv2d(x, w, b, **kw)
    y = fp.conv2d(x, w, b, algorithm=alg, **kw)
    assert y.dtype == np.float32
    f32_close(y, x, w, b, kw, ref)
    gy = np.random.default_rng(case["seed"] + 1).standard_normal(ref.shape).astype(np.float32)
    gx, gw, gb = fp.conv2d_backward(gy, x, w, algorithm=alg, **kw)
    rgx, rgw, rgb = R.conv2d_backward(gy, x, w, **kw)
    assert gx.dtype == gw.dtype == gb.dtype == np.float32
    # magnitudes of the terms summed in each gradient
    mx, mw, _ = R.conv2d_backward(np.abs(gy), np.abs(x), np.abs(w), **kw)
    terms = max(gy.shape[0] * gy.shape[2] * gy.shape[3], w.shape[0] // kw["groups"] * w.shape[2] * w.shape[3])
    assert np.all(np.abs(gx - rgx) <= 1e-6 * terms * mx + 1e-6)
    assert np.all(np.abs(gw - rgw) <= 1e-6 * terms * mw + 1e-6)
    np.testing.assert_allclose(gb, rgb, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize("cfg", [
    dict(stride=1, padding=1, dilation=1, groups=1),
    dict(stride=2, padding=(0, 2), dilation=(1, 2), groups=2),
    dict(stride=(3, 1), padding=2, dilation=2, groups=4),  # depthwise, channel multiplier 2
])
def test_conv2d_gradients_finite_differences(alg, cfg):
    """Directional derivatives of sum(conv2d(x, w, b) * gy) in x, w and b."""
    rng = np.random.default_rng(7)
    g = cfg["groups"]
    x = rng.standard_normal((2, 4, 9, 11))
    w = rng.standard_normal((8, 4 // g, 3, 2))
    b = rng.standard_normal(8)
    y = fp.conv2d(x, w, b, algorithm=alg, **cfg)
    gy = rng.standard_normal(y.shape)
    gx, gw, gb = fp.conv2d_backward(gy, x, w, algorithm=alg, **cfg)

    def loss(xx, ww, bb):
        return float(np.sum(fp.conv2d(xx, ww, bb, algorithm=alg, **cfg) * gy))

    h = 1e-3
    for grad, idx in ((gx, 0), (gw, 1), (gb, 2)):
        args = [x, w, b]
        v = rng.standard_normal(args[idx].shape)
        plus = list(args)
        minus = list(args)
        plus[idx] = args[idx] + h * v
        minus[idx] = args[idx] - h * v
        fd = (loss(*plus) - loss(*minus)) / (2 * h)
        assert np.isclose(np.sum(grad * v), fd, rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize("k,dil", [(3, 1), (4, 1), (2, 3), ((4, 3), (1, 2))])
def test_padding_same_and_valid(alg, k, dil):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 10, 13))
    kk = k if isinstance(k, tuple) else (k, k)
    w = rng.standard_normal((5, 3) + kk)
    for pad in ("same", "valid"):
        y = fp.conv2d(x, w, padding=pad, dilation=dil, algorithm=alg)
        np.testing.assert_allclose(y, R.conv2d(x, w, padding=pad, dilation=dil), rtol=1e-12, atol=1e-12)
        if pad == "same":
            assert y.shape[2:] == x.shape[2:]
        gy = rng.standard_normal(y.shape)
        got = fp.conv2d_backward(gy, x, w, padding=pad, dilation=dil, algorithm=alg)
        for a, e in zip(got, R.conv2d_backward(gy, x, w, padding=pad, dilation=dil)):
            np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        fp.conv2d(x, w, padding="same", stride=2)


@pytest.mark.parametrize("alg", ALGS)
def test_larger_layers_f32(alg):
    """Shapes past the register blocks and tiles: many channels, wide rows, 1x1 and strided."""
    rng = np.random.default_rng(11)
    for (n, c, h, wd, co, k, s, p, g) in [(2, 40, 20, 70, 36, 3, 1, 1, 1), (3, 64, 9, 9, 20, 1, 1, 0, 1),
                                          (1, 24, 33, 17, 24, 5, 2, 2, 24), (2, 12, 15, 15, 18, 3, 2, 0, 3)]:
        x = rng.standard_normal((n, c, h, wd)).astype(np.float32)
        w = rng.standard_normal((co, c // g, k, k)).astype(np.float32)
        b = rng.standard_normal(co).astype(np.float32)
        kw = dict(stride=s, padding=p, groups=g)
        f32_close(fp.conv2d(x, w, b, algorithm=alg, **kw), x, w, b, kw, R.conv2d(x, w, b, **kw))


@pytest.mark.parametrize("alg", ALGS)
def test_threads_agree(alg):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 8, 30, 30)).astype(np.float32)
    w = rng.standard_normal((16, 8, 3, 3)).astype(np.float32)
    gy = rng.standard_normal((3, 16, 30, 30)).astype(np.float32)
    res = []
    for n in (1, 2):
        with fp.num_threads(n):
            res.append((fp.conv2d(x, w, padding=1, algorithm=alg),)
                       + fp.conv2d_backward(gy, x, w, padding=1, algorithm=alg))
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)
    # deterministic for a given thread count
    with fp.num_threads(2):
        again = fp.conv2d_backward(gy, x, w, padding=1, algorithm=alg)
    for a, b in zip(res[1][1:], again):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("alg", ALGS)
def test_out_reuse(alg):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 4, 8, 8)).astype(np.float32)
    w = rng.standard_normal((6, 4, 3, 3)).astype(np.float32)
    out = np.full((2, 6, 6, 6), np.nan, np.float32)
    assert fp.conv2d(x, w, algorithm=alg, out=out) is out
    f32_close(out, x, w, None, {}, R.conv2d(x, w))
    x2 = rng.standard_normal(x.shape).astype(np.float32)
    fp.conv2d(x2, w, algorithm=alg, out=out)  # reused: fully overwritten
    f32_close(out, x2, w, None, {}, R.conv2d(x2, w))
    with pytest.raises(ValueError, match="out must have shape"):
        fp.conv2d(x, w, out=np.empty((2, 6, 6, 5), np.float32))
    with pytest.raises(ValueError, match="out must have shape"):
        fp.conv2d(x, w, out=np.empty((2, 6, 6, 6), np.float64))
    with pytest.raises(ValueError, match="C-contiguous"):
        fp.conv2d(x, w, out=np.empty((2, 6, 6, 12), np.float32)[..., ::2])
    with pytest.raises(ValueError, match="must not overlap x"):
        xx = np.zeros((2, 6, 6, 6), np.float32)
        fp.conv2d(xx, np.ones((6, 6, 1, 1), np.float32), out=xx)


def test_noncontiguous_and_byteswapped_inputs():
    rng = np.random.default_rng(4)
    xb = rng.standard_normal((2, 6, 12, 20))
    x = xb[:, ::2, :, ::2]  # (2, 3, 12, 10), strided
    wb = rng.standard_normal((3, 3, 4, 5))
    w = wb.transpose(1, 0, 2, 3)  # not C-contiguous
    ref = R.conv2d(x, w, padding=1)
    for alg in ALGS:
        np.testing.assert_allclose(fp.conv2d(x, w, padding=1, algorithm=alg), ref, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(fp.conv2d(x.astype(">f8"), w, padding=1, algorithm=alg), ref,
                                   rtol=1e-12, atol=1e-12)
        gy = np.asfortranarray(rng.standard_normal(ref.shape))
        got = fp.conv2d_backward(gy, x, w, padding=1, algorithm=alg)
        for a, e in zip(got, R.conv2d_backward(gy, x, w, padding=1)):
            np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("alg", ALGS)
def test_nan_inf_propagate(alg):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((1, 2, 9, 9))
    x[0, 0, 4, 4] = np.nan
    x[0, 1, 0, 8] = np.inf
    w = rng.standard_normal((3, 2, 3, 3))
    w[2, 1, 0, 0] = np.inf  # over the padding: Inf * 0 = NaN, as torch
    for kw in (dict(padding=1), dict(stride=2), dict(dilation=2, padding=2)):
        y = fp.conv2d(x, w, algorithm=alg, **kw)
        ref = R.conv2d(x, w, **kw)
        np.testing.assert_array_equal(np.isnan(y), np.isnan(ref))
        np.testing.assert_array_equal(np.isinf(y), np.isinf(ref))
        gy = np.ones_like(ref)
        gw = fp.conv2d_backward(gy, x, w, algorithm=alg, needs_input_grad=(False, True, False), **kw)[1]
        rgw = R.conv2d_backward(gy, x, w, **kw)[1]
        np.testing.assert_array_equal(np.isnan(gw), np.isnan(rgw))


@pytest.mark.parametrize("alg", ALGS)
def test_nan_inf_propagate_depthwise(alg):
    """The depthwise kernels' fast forms must not let Inf/NaN leak from outside a window."""
    rng = np.random.default_rng(16)
    x = rng.standard_normal((2, 3, 10, 7))
    x[0, 1, 9, 6] = np.inf  # last row/column: outside some taps' windows
    x[1, 2, 0, 0] = np.nan
    w = rng.standard_normal((6, 1, 3, 3))
    w[5, 0, 2, 2] = np.inf
    for kw in (dict(padding=1, groups=3), dict(stride=2, groups=3), dict(dilation=(2, 1), padding=(0, 1), groups=3)):
        y = fp.conv2d(x, w, algorithm=alg, **kw)
        ref = R.conv2d(x, w, **kw)
        np.testing.assert_array_equal(np.isnan(y), np.isnan(ref))
        gy = rng.standard_normal(ref.shape)
        got = fp.conv2d_backward(gy, x, w, algorithm=alg, **kw)
        for a, e in zip(got, R.conv2d_backward(gy, x, w, **kw)):
            np.testing.assert_array_equal(np.isnan(a), np.isnan(e))
            np.testing.assert_array_equal(np.isinf(a), np.isinf(e))
            fin = np.isfinite(e)
            np.testing.assert_allclose(a[fin], e[fin], rtol=1e-12, atol=1e-12)


def test_needs_input_grad_and_empty():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    gy = rng.standard_normal((2, 4, 4, 4)).astype(np.float32)
    gx, gw, gb = fp.conv2d_backward(gy, x, w, needs_input_grad=(False, True, False))
    assert gx is None and gb is None and gw.shape == w.shape
    gx, gw, gb = fp.conv2d_backward(gy, x, w, needs_input_grad=(True, False, True))
    assert gw is None and gx.shape == x.shape and gb.shape == (4,)
    for alg in ALGS:
        x0 = np.zeros((0, 3, 6, 6), np.float32)
        assert fp.conv2d(x0, w, algorithm=alg).shape == (0, 4, 4, 4)
        gx, gw, gb = fp.conv2d_backward(np.zeros((0, 4, 4, 4), np.float32), x0, w, algorithm=alg)
        assert gx.shape == x0.shape and np.all(gw == 0) and np.all(gb == 0)


def test_bad_inputs():
    x = np.zeros((2, 4, 8, 8), np.float32)
    w = np.zeros((6, 4, 3, 3), np.float32)
    with pytest.raises(ValueError, match=r"weight.shape\[1\] must be"):
        fp.conv2d(x, np.zeros((6, 3, 3, 3), np.float32))
    with pytest.raises(ValueError, match="groups=3 must divide"):
        fp.conv2d(x, w, groups=3)
    with pytest.raises(ValueError, match="groups must be >= 1"):
        fp.conv2d(x, w, groups=0)
    with pytest.raises(ValueError, match="kernel larger than the padded input"):
        fp.conv2d(x, np.zeros((6, 4, 9, 3), np.float32))
    with pytest.raises(ValueError, match="kernel larger than the padded input"):
        fp.conv2d(x, w, dilation=4)
    with pytest.raises(ValueError, match="stride must be >= 1"):
        fp.conv2d(x, w, stride=0)
    with pytest.raises(ValueError, match="padding must be >= 0"):
        fp.conv2d(x, w, padding=-1)
    with pytest.raises(ValueError, match="padding must be an int, a pair"):
        fp.conv2d(x, w, padding="full")
    with pytest.raises(ValueError, match="stride must be an int or a pair"):
        fp.conv2d(x, w, stride=(1, 2, 3))
    with pytest.raises(TypeError, match="dilation must be an int"):
        fp.conv2d(x, w, dilation=1.5)
    with pytest.raises(ValueError, match="x must be 4-dimensional"):
        fp.conv2d(x[0], w)
    with pytest.raises(ValueError, match="weight must be 4-dimensional"):
        fp.conv2d(x, w[0])
    with pytest.raises(TypeError, match="mixed dtypes"):
        fp.conv2d(x, w.astype(np.float64))
    with pytest.raises(TypeError, match="mixed dtypes"):
        fp.conv2d(x, w, np.zeros(6))
    with pytest.raises(TypeError, match="float32 or float64"):
        fp.conv2d(x.astype(np.int32), w)
    with pytest.raises(ValueError, match="bias must have shape"):
        fp.conv2d(x, w, np.zeros(5, np.float32))
    with pytest.raises(ValueError, match="algorithm must be"):
        fp.conv2d(x, w, algorithm="fft")
    with pytest.raises(ValueError, match="grad_out must have the conv2d output shape"):
        fp.conv2d_backward(np.zeros((2, 6, 5, 5), np.float32), x, w)
    with pytest.raises(ValueError, match="needs_input_grad"):
        fp.conv2d_backward(np.zeros((2, 6, 6, 6), np.float32), x, w, needs_input_grad=(True,))


def test_im2col_col2im():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 3, 7, 9))
    for kw in (dict(), dict(dilation=2, padding=1, stride=2), dict(dilation=(1, 2), padding=(2, 0), stride=(1, 3))):
        col = fp.im2col(x, (3, 2), **kw)
        np.testing.assert_array_equal(col, R.im2col(x, (3, 2), **kw))
        np.testing.assert_array_equal(fp.im2col(x.astype(np.float32), (3, 2), **kw),
                                      R.im2col(x, (3, 2), **kw).astype(np.float32))
        c = rng.standard_normal(col.shape)
        back = fp.col2im(c, (7, 9), (3, 2), **kw)
        assert back.shape == x.shape
        # col2im is the adjoint of im2col
        assert np.isclose(np.sum(col * c), np.sum(x * back), rtol=1e-12)
    with pytest.raises(ValueError, match="must equal the number of sliding windows"):
        fp.col2im(np.zeros((1, 6, 5)), (7, 9), (3, 2))
    with pytest.raises(ValueError, match="divisible by kH"):
        fp.col2im(np.zeros((1, 7, 5)), (7, 9), (3, 2))
    with pytest.raises(ValueError, match="col must be 3-dimensional"):
        fp.col2im(np.zeros((6, 5)), (7, 9), (3, 2))


def test_cost_helpers():
    assert fp.conv_output_size(224, 7, 2, 3) == 112
    assert fp.conv_output_size(56, 3, 1, 1) == 56
    assert fp.conv_output_size(10, 3, 1, 0, dilation=2) == 6
    assert fp.conv_output_size(5, 2, 2, ceil_mode=True) == 3
    assert fp.conv_output_size(6, 3, 2, 1, ceil_mode=True) == 4  # torch: last window must start inside
    assert fp.conv_output_size((224, 112), 3, (2, 1), 1) == (112, 112)
    with pytest.raises(ValueError, match="kernel larger"):
        fp.conv_output_size(2, 5)
    assert fp.conv2d_params(3, 64, 7, bias=False) == 64 * 3 * 49
    assert fp.conv2d_params(128, 128, 3, groups=128) == 128 * 9 + 128
    assert fp.conv2d_flops((32, 64, 56, 56), 64, 3, 1, 1) == 2 * 32 * 64 * 56 * 56 * 64 * 9
    assert fp.conv2d_flops((1, 4, 8, 8), 4, 3, groups=2, bias=True) == 2 * 4 * 36 * 2 * 9 + 4 * 36
    assert fp.receptive_field([(3, 1), (3, 1)]) == [(3, 1), (5, 1)]
    assert fp.receptive_field([(7, 2), (3, 2), (3, 1, 2)]) == [(7, 2), (11, 4), (27, 4)]
    with pytest.raises(ValueError, match=r"layers\[0\]"):
        fp.receptive_field([(3,)])
    with pytest.raises(ValueError, match="stride must be >= 1"):
        fp.receptive_field([(3, 0)])


def test_im2col_workspace_bounded():
    """Workspace is per thread and independent of the batch (N=256 included)."""
    for (c, hw, co, k, p) in [(64, 56, 64, 3, 1), (512, 7, 512, 3, 1), (3, 224, 64, 7, 3), (256, 56, 64, 1, 0)]:
        ws = [fp.im2col_workspace_bytes((n, c, hw, hw), (co, c, k, k), padding=p, n_threads=2)
              for n in (1, 32, 256)]
        assert ws[0] == ws[1] == ws[2]
        kdim = c * k * k
        assert ws[0] <= 2 * max(384 << 10, 64 * kdim * 4)
        wsb = [fp.im2col_workspace_bytes((n, c, hw, hw), (co, c, k, k), padding=p, n_threads=2, backward=True)
               for n in (1, 32, 256)]
        assert wsb[0] == wsb[1] == wsb[2]
        # per thread, the larger of the grad_x pass (a column tile) and the
        # grad_weight pass: partial sums, column rows of at most max(256 KiB,
        # one channel's kH*kW x 1024 positions) and (small maps) a grad_out
        # tile of at most 2 MiB
        assert wsb[0] <= 2 * max(ws[0] // 2, co * kdim * 4 + max(256 << 10, k * k * 1024 * 4) + (2 << 20))
    # 1x1 stride-1 unpadded: the input is the column matrix, no workspace
    assert fp.im2col_workspace_bytes((256, 64, 56, 56), (256, 64, 1, 1)) == 0
