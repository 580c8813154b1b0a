"""fastprims.loss against the float64 references in _ref_loss.py, finite-difference
gradient checks of every backward, and the argument checks."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import fastprims as fp
import _ref_loss as R

DTYPES = [np.float32, np.float64]
REDUCTIONS = ["mean", "sum", "none"]


def tol(dtype):
    return dict(rtol=1e-4, atol=1e-5) if np.dtype(dtype) == np.float32 else dict(rtol=1e-10, atol=1e-12)


def close(got, want, dtype, **kw):
    t = tol(dtype)
    t.update(kw)
    got = np.asarray(got)
    assert got.dtype == np.dtype(dtype), (got.dtype, dtype)
    np.testing.assert_allclose(np.asarray(got, np.float64), want, **t)


def grad_out_for(reduction, shape, rng):
    return 0.7 if reduction != "none" else rng.standard_normal(shape)


def weighted(loss, g):
    """sum(g * loss): the scalar whose gradient backward(g) returns."""
    return float(np.sum(np.asarray(g) * np.asarray(loss)))


# ------------------------------------------------------------- regression

REGRESSION = {
    "l1_loss": (R.l1, {}),
    "mse_loss": (R.mse, {}),
    "smooth_l1_loss": (R.smooth_l1, {"beta": 0.7}),
    "huber_loss": (R.huber, {"delta": 1.3}),
}


@pytest.mark.parametrize("name", list(REGRESSION))
@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_regression_matches_reference(name, dtype, data):
    ref, params = REGRESSION[name]
    shape = data.draw(st.lists(st.integers(1, 9), min_size=0, max_size=3).map(tuple))
    reduction = data.draw(st.sampled_from(REDUCTIONS))
    if params:
        key = next(iter(params))
        params = {key: data.draw(st.sampled_from([0.0 if key == "beta" else 0.5, 0.5, 1.0, 2.5]))}
    seed = data.draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 2).astype(dtype)
    y = (rng.standard_normal(shape) * 2).astype(dtype)
    f = getattr(fp, name)
    want = R.reduce(ref(x, y, **params), reduction)
    close(f(x, y, reduction, **params), want, dtype)
    loss, grad = f(x, y, reduction, return_grad=True, **params)
    close(loss, want, dtype)
    g1 = getattr(fp, name + "_backward")(np.ones(np.shape(x), dtype) if reduction == "none" else 1.0,
                                         x, y, reduction, **params)
    np.testing.assert_allclose(grad, g1, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", list(REGRESSION))
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_gradcheck(name, reduction, rng):
    ref, params = REGRESSION[name]
    x = rng.standard_normal((3, 5)) * 2
    y = rng.standard_normal((3, 5)) * 2
    g = grad_out_for(reduction, x.shape, rng)
    got = getattr(fp, name + "_backward")(g, x, y, reduction, **params)
    num = R.numeric_grad(lambda v: weighted(R.reduce(ref(v, y, **params), reduction), g), x)
    np.testing.assert_allclose(got, num, rtol=1e-6, atol=1e-8)


def test_regression_beta_zero_is_l1_and_nan(rng):
    x = rng.standard_normal(50)
    y = rng.standard_normal(50)
    assert fp.smooth_l1_loss(x, y, beta=0.0) == fp.l1_loss(x, y)
    np.testing.assert_array_equal(fp.smooth_l1_loss_backward(1.0, x, y, beta=0.0), fp.l1_loss_backward(1.0, x, y))
    x[3] = np.nan
    for name in REGRESSION:
        assert np.isnan(getattr(fp, name)(x, y))
    # torch: sign(NaN) = 0, so l1's gradient at a NaN difference is 0; the others propagate it
    assert fp.l1_loss_backward(1.0, x, y)[3] == 0
    for name in ("mse_loss", "smooth_l1_loss", "huber_loss"):
        assert np.isnan(getattr(fp, name + "_backward")(1.0, x, y)[3])
    x[4] = np.inf
    assert fp.mse_loss(x, y, "none")[4] == np.inf
    assert fp.huber_loss_backward(1.0, x, y, "sum")[4] == 1.0


# ----------------------------------------------------------------- logits

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("wshape,pwshape", [(None, None), ((6,), (6,)), ((4, 1), None), (None, (4, 6)),
                                            ((), ()), ((3, 4, 6), (1, 6)), ((3, 1, 1), (3, 4, 1))])
def test_bce_with_logits(dtype, wshape, pwshape, rng):
    x = (rng.standard_normal((3, 4, 6)) * 4).astype(dtype)
    t = rng.random((3, 4, 6)).astype(dtype)
    w = None if wshape is None else rng.random(wshape).astype(dtype) + 0.2
    pw = None if pwshape is None else (rng.random(pwshape) * 3).astype(dtype)
    for reduction in REDUCTIONS:
        want = R.reduce(R.bce_with_logits(x, t, w, pw), reduction)
        close(fp.binary_cross_entropy_with_logits(x, t, w, pw, reduction), want, dtype)
    x64, t64 = x.astype(np.float64), t.astype(np.float64)
    w64 = None if w is None else w.astype(np.float64)
    pw64 = None if pw is None else pw.astype(np.float64)
    for reduction in REDUCTIONS:
        g = grad_out_for(reduction, x.shape, rng)
        got = fp.binary_cross_entropy_with_logits_backward(g, x64, t64, w64, pw64, reduction)
        num = R.numeric_grad(lambda v: weighted(R.reduce(R.bce_with_logits(v, t64, w64, pw64), reduction), g), x64)
        np.testing.assert_allclose(got, num, rtol=1e-6, atol=1e-8)
        loss, grad = fp.binary_cross_entropy_with_logits(x64, t64, w64, pw64, reduction, return_grad=True)
        if reduction != "none":
            np.testing.assert_allclose(grad * 0.7, got, rtol=1e-12)


def test_bce_long_rows_periodic_weight(rng):
    # last dim longer than a kernel block and not a multiple of it
    x = rng.standard_normal((3, 1300)) * 3
    t = (rng.random((3, 1300)) > 0.5).astype(np.float64)
    pw = rng.random(1300) * 2
    w = rng.random(1300)
    np.testing.assert_allclose(fp.binary_cross_entropy_with_logits(x, t, w, pw, "none"),
                               R.bce_with_logits(x, t, w, pw), rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("gamma", [0.0, 1.0, 1.5, 2.0, 3.0])
@pytest.mark.parametrize("alpha", [0.25, -1.0, 0.9])
def test_sigmoid_focal(dtype, gamma, alpha, rng):
    x = (rng.standard_normal((20, 7)) * 3).astype(dtype)
    t = (rng.random((20, 7)) < 0.3).astype(dtype)
    t[0] = rng.random(7)  # soft targets too
    for reduction in REDUCTIONS:
        want = R.reduce(R.sigmoid_focal(x, t, alpha, gamma), reduction)
        close(fp.sigmoid_focal_loss(x, t, alpha, gamma, reduction), want, dtype)
    x64, t64 = x.astype(np.float64), t.astype(np.float64)
    for reduction in REDUCTIONS:
        g = grad_out_for(reduction, x.shape, rng)
        got = fp.sigmoid_focal_loss_backward(g, x64, t64, alpha, gamma, reduction)
        num = R.numeric_grad(lambda v: weighted(R.reduce(R.sigmoid_focal(v, t64, alpha, gamma), reduction), g),
                             x64)
        # the reference's 1 - p_t cancels for confident logits: atol covers its error, not ours
        np.testing.assert_allclose(got, num, rtol=1e-6, atol=1e-7)


def test_sigmoid_focal_default_reduction_is_none(rng):
    x = rng.standard_normal((4, 3))
    t = (rng.random((4, 3)) > 0.5) * 1.0
    assert fp.sigmoid_focal_loss(x, t).shape == (4, 3)


@pytest.mark.parametrize("dtype", DTYPES)
def test_logits_extreme(dtype):
    x = np.array([-1e4, -100, -30, 0, 30, 100, 1e4], dtype)
    for tv in (0.0, 1.0, 0.3):
        t = np.full(x.shape, tv, dtype)
        loss, grad = fp.binary_cross_entropy_with_logits(x, t, reduction="none", return_grad=True)
        assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad))
        close(loss, R.bce_with_logits(x, t), dtype, rtol=1e-6)
        close(grad, R.sigmoid(x) - t, dtype, atol=1e-7)
        for gamma in (2.0, 1.5):
            loss, grad = fp.sigmoid_focal_loss(x, t, 0.25, gamma, "none", return_grad=True)
            assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad))
            close(loss, R.sigmoid_focal(x, t, 0.25, gamma), dtype, rtol=1e-5)


def test_logits_nan_propagates():
    x = np.array([np.nan, 1.0])
    t = np.array([1.0, 0.0])
    assert np.isnan(fp.binary_cross_entropy_with_logits(x, t))
    loss, grad = fp.sigmoid_focal_loss(x, t, return_grad=True)
    assert np.isnan(loss[0]) and np.isnan(grad[0]) and np.isfinite(loss[1])


# ------------------------------------------------------------ class axis

def _class_case(rng, dtype, shape, ignore_frac=0.2, ignore_index=-100):
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    C = shape[0] if len(shape) == 1 else shape[1]
    tshape = () if len(shape) == 1 else (shape[0],) + tuple(shape[2:])
    t = rng.integers(0, C, tshape)
    if t.ndim and ignore_frac:
        t[rng.random(tshape) < ignore_frac] = ignore_index
    return x, t, C


SHAPES = st.one_of(
    st.tuples(st.integers(1, 6), st.integers(1, 40)),
    st.tuples(st.integers(1, 3), st.integers(1, 9), st.integers(1, 20)),
    st.tuples(st.integers(1, 2), st.integers(1, 5), st.integers(1, 6), st.integers(1, 7)),
    st.tuples(st.integers(1, 9)),
)


@pytest.mark.parametrize("dtype", DTYPES)
@given(shape=SHAPES, reduction=st.sampled_from(REDUCTIONS), use_weight=st.booleans(),
       eps=st.sampled_from([0.0, 0.1, 1.0]), ignore_index=st.sampled_from([-100, 0, 2]),
       seed=st.integers(0, 2**31), int32=st.booleans())
def test_cross_entropy_matches_reference(dtype, shape, reduction, use_weight, eps, ignore_index, seed, int32):
    rng = np.random.default_rng(seed)
    x, t, C = _class_case(rng, dtype, shape, ignore_index=ignore_index)
    if int32:
        t = t.astype(np.int32)
    w = rng.random(C).astype(dtype) + 0.1 if use_weight else None
    want = R.cross_entropy(x, t, w, ignore_index, reduction, eps)
    got = fp.cross_entropy(x, t, w, ignore_index, reduction, eps)
    close(got, want, dtype, equal_nan=True)
    loss, grad = fp.cross_entropy(x, t, w, ignore_index, reduction, eps, return_grad=True)
    close(loss, want, dtype, equal_nan=True)
    g1 = fp.cross_entropy_backward(np.ones(np.shape(t), dtype) if reduction == "none" else 1.0,
                                   x, t, w, ignore_index, reduction, eps)
    np.testing.assert_allclose(grad, g1, rtol=1e-6, atol=1e-7)
    assert grad.shape == x.shape and grad.dtype == x.dtype


@pytest.mark.parametrize("dtype", DTYPES)
@given(shape=SHAPES, reduction=st.sampled_from(REDUCTIONS), use_weight=st.booleans(),
       eps=st.sampled_from([0.0, 0.25]), seed=st.integers(0, 2**31))
def test_cross_entropy_prob_targets_matches_reference(dtype, shape, reduction, use_weight, eps, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    axis = 0 if len(shape) == 1 else 1
    p = rng.random(shape)
    p = (p / p.sum(axis, keepdims=True)).astype(dtype)
    C = shape[axis]
    w = rng.random(C).astype(dtype) + 0.1 if use_weight else None
    want = R.cross_entropy(x, p, w, -100, reduction, eps)
    close(fp.cross_entropy(x, p, w, reduction=reduction, label_smoothing=eps), want, dtype)


CE_GRAD_CASES = [
    dict(shape=(4, 6)),
    dict(shape=(4, 6), weight=True, ignore=True),
    dict(shape=(4, 6), eps=0.2),
    dict(shape=(4, 6), weight=True, ignore=True, eps=0.3),
    dict(shape=(2, 3, 5), weight=True, ignore=True, eps=0.1),
    dict(shape=(2, 4, 3, 2), ignore=True),
    dict(shape=(5,), weight=True),
    dict(shape=(3, 5), prob=True),
    dict(shape=(3, 5), prob=True, weight=True, eps=0.2),
    dict(shape=(2, 4, 3), prob=True, weight=True),
]


@pytest.mark.parametrize("case", CE_GRAD_CASES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_gradcheck(case, reduction, rng):
    x, t, C = _class_case(rng, np.float64, case["shape"], ignore_frac=0.3 if case.get("ignore") else 0)
    if case.get("prob"):
        t = rng.random(x.shape)
    w = rng.random(C) + 0.2 if case.get("weight") else None
    eps = case.get("eps", 0.0)
    loss = fp.cross_entropy(x, t, w, -100, reduction, eps)
    g = grad_out_for(reduction, np.shape(loss), rng)
    got = fp.cross_entropy_backward(g, x, t, w, -100, reduction, eps)
    num = R.numeric_grad(lambda v: weighted(R.cross_entropy(v, t, w, -100, reduction, eps), g), x)
    np.testing.assert_allclose(got, num, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("shape", [(2, 3, 1000), (1, 50, 700), (3, 1500), (2, 1200, 20)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_tiles_and_long_rows(shape, dtype, rng):
    # spatial sizes past one tile, classes past one tile, rows past one lane block
    x, t, C = _class_case(rng, dtype, shape)
    w = rng.random(C).astype(dtype) + 0.1
    for eps in (0.1, 0.0):
        loss, grad = fp.cross_entropy(x, t, w, label_smoothing=eps, reduction="none", return_grad=True)
        close(loss, R.cross_entropy(x, t, w, -100, "none", eps), dtype)
        close(fp.cross_entropy(x, t, w, label_smoothing=eps), R.cross_entropy(x, t, w, -100, "mean", eps), dtype)
    # (eps = 0) the gradient of the summed loss: softmax - one-hot, weighted, zero where ignored
    lp = R.log_softmax(x)
    onehot = np.zeros(x.shape)
    keep = t != -100
    tc = np.where(keep, t, 0)
    np.put_along_axis(onehot, tc[:, None], 1.0, axis=1)
    wy = np.where(keep, w.astype(np.float64)[tc], 0)
    want = (np.exp(lp) - onehot) * wy[:, None]
    close(grad, want, dtype, atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_extreme_logits(dtype):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4], [-1e4, 1e4, 5.0]], dtype)
    t = np.array([1, 0, 2, 1])
    for eps in (0.0, 0.1):
        loss, grad = fp.cross_entropy(x, t, reduction="none", label_smoothing=eps, return_grad=True)
        assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad))
        close(loss, R.cross_entropy(x, t, None, -100, "none", eps), dtype, rtol=1e-6)
    lossf, gradf = fp.softmax_focal_loss(x, t, gamma=2.0, reduction="none", return_grad=True)
    assert np.all(np.isfinite(lossf)) and np.all(np.isfinite(gradf))
    close(lossf, R.softmax_focal(x, t, None, 2.0, "none"), dtype, rtol=1e-6)
    xs = x.T[None].copy()  # spatial layout (1, 3, 4)
    loss2 = fp.cross_entropy(xs, t[None], reduction="none")
    close(loss2[0], R.cross_entropy(x, t, None, -100, "none"), dtype, rtol=1e-6)


def test_cross_entropy_nan_and_inf():
    x = np.array([[0.0, np.nan, 1.0], [0.0, 1.0, 2.0], [np.inf, 0.0, 0.0]])
    t = np.array([0, 1, 1])
    loss = fp.cross_entropy(x, t, reduction="none")
    assert np.isnan(loss[0]) and np.isfinite(loss[1]) and np.isnan(loss[2])  # as torch
    assert np.isnan(fp.cross_entropy(x, t))
    g = fp.cross_entropy_backward(1.0, x, t)
    assert np.all(np.isnan(g[0])) and np.all(np.isfinite(g[1]))


def test_cross_entropy_ignore_and_empty():
    x = np.zeros((3, 4), np.float32)
    t = np.full(3, -100)
    assert np.isnan(fp.cross_entropy(x, t))                      # 0 / 0, as torch
    assert fp.cross_entropy(x, t, reduction="sum") == 0
    loss, grad = fp.cross_entropy(x, t, return_grad=True)
    assert np.all(grad == 0)
    e = np.zeros((0, 4), np.float32)
    ti = np.zeros(0, np.int64)
    assert np.isnan(fp.cross_entropy(e, ti))
    assert fp.cross_entropy(e, ti, reduction="sum") == 0
    assert fp.cross_entropy(e, ti, reduction="none").shape == (0,)
    assert fp.cross_entropy_backward(1.0, e, ti).shape == (0, 4)
    assert fp.cross_entropy(np.zeros((2, 3, 0)), np.zeros((2, 0), np.int64), reduction="none").shape == (2, 0)
    assert np.isnan(fp.nll_loss(e, ti))
    assert np.isnan(fp.softmax_focal_loss(e, ti))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(6, 5), (2, 4, 3, 2), (7,)])
def test_nll_loss(dtype, shape, rng):
    x, t, C = _class_case(rng, dtype, shape)
    lp = R.log_softmax(x, 0 if len(shape) == 1 else 1).astype(dtype)
    w = rng.random(C).astype(dtype) + 0.1
    for reduction in REDUCTIONS:
        for ww in (None, w):
            close(fp.nll_loss(lp, t, ww, reduction=reduction), R.nll(lp, t, ww, -100, reduction), dtype)
    lp64 = lp.astype(np.float64)
    w64 = w.astype(np.float64)
    for reduction in REDUCTIONS:
        loss = fp.nll_loss(lp64, t, w64, reduction=reduction)
        g = grad_out_for(reduction, np.shape(loss), rng)
        got = fp.nll_loss_backward(g, lp64, t, w64, reduction=reduction)
        num = R.numeric_grad(lambda v: weighted(R.nll(v, t, w64, -100, reduction), g), lp64)
        np.testing.assert_allclose(got, num, rtol=1e-6, atol=1e-8)
        l2, g2 = fp.nll_loss(lp64, t, w64, reduction=reduction, return_grad=True)
        if reduction != "none":
            np.testing.assert_allclose(g2 * 0.7, got, rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("alpha", [None, 0.25, "array"])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 3.0])
@pytest.mark.parametrize("shape", [(6, 5), (2, 4, 3)])
def test_softmax_focal(dtype, alpha, gamma, shape, rng):
    x, t, C = _class_case(rng, dtype, shape)
    a = rng.random(C).astype(dtype) if alpha == "array" else alpha
    for reduction in REDUCTIONS:
        close(fp.softmax_focal_loss(x, t, a, gamma, reduction), R.softmax_focal(x, t, a, gamma, reduction), dtype)
    x64 = x.astype(np.float64)
    a64 = a.astype(np.float64) if alpha == "array" else a
    for reduction in REDUCTIONS:
        loss = fp.softmax_focal_loss(x64, t, a64, gamma, reduction)
        g = grad_out_for(reduction, np.shape(loss), rng)
        got = fp.softmax_focal_loss_backward(g, x64, t, a64, gamma, reduction)
        num = R.numeric_grad(lambda v: weighted(R.softmax_focal(v, t, a64, gamma, reduction), g), x64)
        np.testing.assert_allclose(got, num, rtol=1e-5, atol=1e-8)


def test_softmax_focal_gamma0_is_cross_entropy(rng):
    x, t, C = _class_case(rng, np.float64, (8, 5), ignore_frac=0)
    np.testing.assert_allclose(fp.softmax_focal_loss(x, t, None, 0.0), fp.cross_entropy(x, t), rtol=1e-12)


# -------------------------------------------------------------------- ppo

def _ppo_case(rng, n=40, m=None, dtype=np.float64):
    m = m or n
    new = (rng.standard_normal(n) * 0.3).astype(dtype)
    old = (rng.standard_normal(n) * 0.3).astype(dtype)
    adv = rng.standard_normal(n).astype(dtype)
    val = rng.standard_normal(m).astype(dtype)
    ret = rng.standard_normal(m).astype(dtype)
    ent = rng.random((m, 2)).astype(dtype)
    return new, old, adv, val, ret, ent


@pytest.mark.parametrize("dtype", DTYPES)
def test_ppo_matches_reference(dtype, rng):
    args = _ppo_case(rng, 50, 30, dtype)
    for kw in ({}, dict(clip_eps=0.1, value_coef=1.0, entropy_coef=0.0)):
        got = fp.ppo_clip_loss(*args, **kw)
        want = R.ppo(*args, **kw)
        for g, w in zip(got, want):
            close(g, w, dtype)


def test_ppo_gradcheck(rng):
    new, old, adv, val, ret, ent = _ppo_case(rng, 30, 20)
    kw = dict(clip_eps=0.15, value_coef=0.7, entropy_coef=0.05)
    gn, gv, ge = fp.ppo_clip_loss_backward(1.3, new, old, adv, val, ret, ent, **kw)
    num_n = R.numeric_grad(lambda v: 1.3 * R.ppo(v, old, adv, val, ret, ent, **kw)[0], new)
    num_v = R.numeric_grad(lambda v: 1.3 * R.ppo(new, old, adv, v, ret, ent, **kw)[0], val)
    num_e = R.numeric_grad(lambda v: 1.3 * R.ppo(new, old, adv, val, ret, v, **kw)[0], ent)
    np.testing.assert_allclose(gn, num_n, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(gv, num_v, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(ge, num_e, rtol=1e-6, atol=1e-9)
    assert gv.shape == val.shape and ge.shape == ent.shape
    losses, grads = fp.ppo_clip_loss(new, old, adv, val, ret, ent, return_grad=True, **kw)
    np.testing.assert_allclose(grads[0] * 1.3, gn, rtol=1e-12)
    assert losses[0] == fp.ppo_clip_loss(new, old, adv, val, ret, ent, **kw)[0]


def test_ppo_clip_region_and_nan():
    # r = e^0.5 > 1 + eps with A > 0: clipped, no gradient; with A < 0: unclipped branch
    new = np.array([0.5, 0.5, 0.0])
    old = np.zeros(3)
    adv = np.array([1.0, -1.0, 2.0])
    z = np.zeros(3)
    gn = fp.ppo_clip_loss_backward(1.0, new, old, adv, z, z, z)[0]
    np.testing.assert_allclose(gn, [0.0, math.exp(0.5) / 3, -2.0 / 3])
    new[0] = np.nan
    assert np.isnan(fp.ppo_clip_loss(new, old, adv, z, z, z)[0])
    assert np.isnan(fp.ppo_clip_loss_backward(1.0, new, old, adv, z, z, z)[0][0])


# ------------------------------------------------------------- threading

def test_reductions_independent_of_threads(rng):
    x = rng.standard_normal(300_001).astype(np.float32)
    y = rng.standard_normal(300_001).astype(np.float32)
    logits = rng.standard_normal((700, 300)).astype(np.float32)
    lab = rng.integers(0, 300, 700)
    seg = rng.standard_normal((3, 7, 40, 50)).astype(np.float32)
    seg_t = rng.integers(0, 7, (3, 40, 50))
    res = []
    for n in (1, 2, 3):
        with fp.num_threads(n):
            res.append((fp.mse_loss(x, y, return_grad=True), fp.sigmoid_focal_loss(x, y, reduction="sum"),
                        fp.cross_entropy(logits, lab, return_grad=True),
                        fp.cross_entropy(seg, seg_t, label_smoothing=0.1, return_grad=True),
                        fp.nll_loss(logits, lab, return_grad=True)))
    for other in res[1:]:
        for a, b in zip(res[0], other):
            if isinstance(a, tuple):
                for u, v in zip(a, b):
                    np.testing.assert_array_equal(u, v)
            else:
                np.testing.assert_array_equal(a, b)
    close(res[0][0][0], R.mse(x, y).mean(), np.float32)


# --------------------------------------------------- layouts, out, input

def test_noncontiguous_and_byteswapped(rng):
    x = rng.standard_normal((20, 30))
    y = rng.standard_normal((20, 30))
    np.testing.assert_allclose(fp.mse_loss(x[:, ::3], y[:, ::3]), R.mse(x[:, ::3], y[:, ::3]).mean(), rtol=1e-12)
    np.testing.assert_allclose(fp.huber_loss(x.astype(">f8"), y), R.huber(x, y).mean(), rtol=1e-12)
    logits = rng.standard_normal((8, 5, 6))
    t = rng.integers(0, 5, (8, 6))
    xt = np.transpose(logits, (0, 2, 1)).copy().transpose(0, 2, 1)  # same values, non-C-contiguous
    np.testing.assert_allclose(fp.cross_entropy(xt, t.astype(">i8")), R.cross_entropy(logits, t), rtol=1e-12)


def test_out_for_reduction_none(rng):
    x = rng.standard_normal(100).astype(np.float32)
    y = rng.standard_normal(100).astype(np.float32)
    out = np.empty(100, np.float32)
    assert fp.l1_loss(x, y, "none", out=out) is out
    close(out, R.l1(x, y), np.float32)
    with pytest.raises(ValueError, match="out must have shape"):
        fp.l1_loss(x, y, "none", out=np.empty(99, np.float32))
    with pytest.raises(ValueError, match="out is only accepted with reduction='none'"):
        fp.mse_loss(x, y, "mean", out=out)
    logits = rng.standard_normal((10, 4)).astype(np.float32)
    t = rng.integers(0, 4, 10)
    o = np.empty(10, np.float32)
    assert fp.cross_entropy(logits, t, reduction="none", out=o) is o
    with pytest.raises(ValueError, match="C-contiguous"):
        fp.cross_entropy(logits, t, reduction="none", out=np.empty(20, np.float32)[::2])


def test_regression_empty():
    e = np.zeros((0, 3), np.float32)
    assert np.isnan(fp.l1_loss(e, e)) and fp.mse_loss(e, e, "sum") == 0
    assert fp.huber_loss(e, e, "none").shape == (0, 3)
    loss, grad = fp.smooth_l1_loss(e, e, return_grad=True)
    assert np.isnan(loss) and grad.shape == (0, 3)
    assert fp.mse_loss_backward(1.0, e, e).shape == (0, 3)
    assert np.isnan(fp.binary_cross_entropy_with_logits(e, e))
    assert fp.sigmoid_focal_loss(e, e).shape == (0, 3)
    losses = fp.ppo_clip_loss(*(np.zeros(0),) * 6)
    assert all(np.isnan(v) for v in losses)


def test_scalar_results_are_numpy_scalars_of_input_dtype(rng):
    x = rng.standard_normal(10).astype(np.float32)
    for v in (fp.l1_loss(x, x), fp.cross_entropy(x, 3), fp.ppo_clip_loss(x, x, x, x, x, x)[0]):
        assert isinstance(v, np.float32)


# ------------------------------------------------------------- bad input

def test_bad_inputs(rng):
    x = rng.standard_normal((4, 5)).astype(np.float32)
    t = rng.integers(0, 5, 4)
    with pytest.raises(ValueError, match=r"target contains class index 5"):
        fp.cross_entropy(x, np.array([0, 1, 5, 2]))
    with pytest.raises(ValueError, match=r"target contains class index -1"):
        fp.nll_loss(x, np.array([0, -1, 2, 2]))
    with pytest.raises(ValueError, match=r"target contains class index 7"):
        fp.softmax_focal_loss(x, np.array([0, 7, 2, 2]))
    with pytest.raises(ValueError, match=r"target must have shape \(4,\)"):
        fp.cross_entropy(x, np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="probability target must have the input's shape"):
        fp.cross_entropy(x, np.zeros((4, 4), np.float32))
    with pytest.raises(TypeError, match="target must be int32/int64 class indices or float"):
        fp.cross_entropy(x, t.astype(np.uint8))
    with pytest.raises(TypeError, match="target must be an int32 or int64"):
        fp.nll_loss(x, t.astype(np.float32))
    with pytest.raises(TypeError, match="mixed dtypes"):
        fp.cross_entropy(x, t, weight=np.ones(5))
    with pytest.raises(ValueError, match=r"weight must have one entry per class"):
        fp.cross_entropy(x, t, weight=np.ones(4, np.float32))
    with pytest.raises(ValueError, match="label_smoothing must be between"):
        fp.cross_entropy(x, t, label_smoothing=1.5)
    with pytest.raises(TypeError, match="input must be a float32 or float64"):
        fp.cross_entropy(x.astype(np.int64), t)
    with pytest.raises(ValueError, match="input must have a class dimension"):
        fp.cross_entropy(np.float32(1.0), 0)
    with pytest.raises(ValueError, match="at least one class"):
        fp.cross_entropy(np.zeros((3, 0), np.float32), np.zeros(3, np.int64))
    with pytest.raises(TypeError, match="ignore_index must be an int"):
        fp.cross_entropy(x, t, ignore_index=1.5)
    with pytest.raises(ValueError, match="reduction must be"):
        fp.cross_entropy(x, t, reduction="avg")
    with pytest.raises(ValueError, match="alpha must be a scalar or have one entry per class"):
        fp.softmax_focal_loss(x, t, alpha=np.ones(3, np.float32))
    y = rng.standard_normal((4, 5)).astype(np.float32)
    with pytest.raises(ValueError, match="target must have the shape of input"):
        fp.mse_loss(x, y[:3])
    with pytest.raises(TypeError, match="mixed dtypes"):
        fp.l1_loss(x, y.astype(np.float64))
    with pytest.raises(TypeError, match="input must be a float32 or float64"):
        fp.l1_loss(x.astype(np.int32), y)
    with pytest.raises(ValueError, match="beta must be >= 0"):
        fp.smooth_l1_loss(x, y, beta=-1.0)
    with pytest.raises(ValueError, match="delta must be > 0"):
        fp.huber_loss(x, y, delta=0.0)
    with pytest.raises(ValueError, match="gamma must be finite and >= 0"):
        fp.sigmoid_focal_loss(x, y, gamma=-1.0)
    with pytest.raises(ValueError, match=r"grad_out must have the loss's shape \(4, 5\)"):
        fp.mse_loss_backward(np.ones(3, np.float32), x, y, "none")
    with pytest.raises(ValueError, match="grad_out must be a scalar"):
        fp.mse_loss_backward(np.ones(3, np.float32), x, y, "mean")
    with pytest.raises(ValueError, match=r"grad_out must have the loss's shape \(4,\)"):
        fp.cross_entropy_backward(np.ones(5, np.float32), x, t, reduction="none")
    with pytest.raises(ValueError, match=r"pos_weight of shape \(4,\) cannot be broadcast"):
        fp.binary_cross_entropy_with_logits(x, y, pos_weight=np.ones(4, np.float32))
    with pytest.raises(ValueError, match="weight of shape"):
        fp.binary_cross_entropy_with_logits(x, y, weight=np.ones((2, 4, 5), np.float32))
    z = np.zeros(3)
    with pytest.raises(ValueError, match="advantages must have the shape of new_logp"):
        fp.ppo_clip_loss(z, z, np.zeros(4), z, z, z)
    with pytest.raises(ValueError, match="returns must have the shape of values"):
        fp.ppo_clip_loss(z, z, z, z, np.zeros(2), z)
    with pytest.raises(ValueError, match="clip_eps must be finite and >= 0"):
        fp.ppo_clip_loss(z, z, z, z, z, z, clip_eps=-0.1)
    with pytest.raises(TypeError, match="mixed dtypes"):
        fp.ppo_clip_loss(z, z, z, z, z, z.astype(np.float32))


def test_python_sequences_take_the_input_dtype(rng):
    x = rng.standard_normal((4, 3)).astype(np.float32)
    t = np.array([0, 1, 2, 1])
    got = fp.cross_entropy(x, t, weight=[1.0, 2.0, 0.5])
    close(got, R.cross_entropy(x, t, np.array([1.0, 2.0, 0.5])), np.float32)
    got = fp.softmax_focal_loss(x, t, alpha=[0.2, 0.3, 0.5])
    close(got, R.softmax_focal(x, t, np.array([0.2, 0.3, 0.5])), np.float32)
    close(fp.mse_loss(x, x.tolist()), 0.0, np.float32)
    close(fp.binary_cross_entropy_with_logits(x, np.zeros((4, 3), np.float32), pos_weight=[1.0, 2.0, 3.0]),
          R.bce_with_logits(x, np.zeros((4, 3)), None, np.array([1.0, 2.0, 3.0])).mean(), np.float32)


@pytest.mark.parametrize("shape", [(2, 3, 20000), (3, 70000), (5, 2, 7)])
def test_nll_chunks_split_samples(shape, rng):
    # gradient chunks that start and end inside one sample's spatial run
    x, t, C = _class_case(rng, np.float64, shape)
    loss, grad = fp.nll_loss(x, t, reduction="sum", return_grad=True)
    assert loss == fp.nll_loss(x, t, reduction="sum")
    want = np.zeros(x.shape)
    keep = t != -100
    tc = np.where(keep, t, 0)
    np.put_along_axis(want, tc[:, None], np.where(keep, -1.0, 0.0)[:, None], axis=1)
    np.testing.assert_array_equal(grad, want)
    np.testing.assert_allclose(loss, R.nll(x, t, None, -100, "sum"), rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@given(shape=st.lists(st.integers(1, 7), min_size=1, max_size=3).map(tuple),
       reduction=st.sampled_from(REDUCTIONS), alpha=st.sampled_from([-1.0, 0.0, 0.25, 1.0]),
       gamma=st.sampled_from([0.0, 0.5, 2.0, 2.5]), pw_last=st.booleans(), seed=st.integers(0, 2**31))
def test_logit_losses_hypothesis(dtype, shape, reduction, alpha, gamma, pw_last, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 5).astype(dtype)
    t = rng.random(shape).astype(dtype)
    close(fp.sigmoid_focal_loss(x, t, alpha, gamma, reduction),
          R.reduce(R.sigmoid_focal(x, t, alpha, gamma), reduction), dtype, atol=1e-6)
    pw = (rng.random(shape[-1:] if pw_last else shape) * 3).astype(dtype)
    close(fp.binary_cross_entropy_with_logits(x, t, None, pw, reduction),
          R.reduce(R.bce_with_logits(x, t, None, pw), reduction), dtype)
