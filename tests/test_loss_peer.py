"""Optional oracle: fastprims.loss against torch.nn.functional (and torchvision's
sigmoid_focal_loss written in torch ops: torchvision itself is not needed).
Skipped when torch is not installed."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import fastprims as fp  # noqa: E402

REDUCTIONS = ["mean", "sum", "none"]


def T(a):
    return None if a is None else torch.from_numpy(np.array(a))  # a copy; keeps 0-d arrays 0-d


def torch_loss_and_grad(fn, x, *args, **kw):
    tx = T(x).clone().requires_grad_()
    loss = fn(tx, *args, **kw)
    loss.sum().backward()
    return loss.detach().numpy(), tx.grad.numpy()


def check(got, want, dtype, rtol=None, atol=None):
    f32 = np.dtype(dtype) == np.float32
    np.testing.assert_allclose(np.asarray(got, np.float64), np.asarray(want, np.float64),
                               rtol=rtol or (2e-5 if f32 else 1e-10), atol=atol or (1e-6 if f32 else 1e-12),
                               equal_nan=True)


def tv_sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0, reduction="none"):
    """torchvision.ops.sigmoid_focal_loss, verbatim in torch ops."""
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    if reduction == "mean":
        loss = loss.mean()
    elif reduction == "sum":
        loss = loss.sum()
    return loss


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,kw", [("l1_loss", {}), ("mse_loss", {}), ("smooth_l1_loss", {"beta": 0.5}),
                                     ("smooth_l1_loss", {"beta": 0.0}), ("huber_loss", {"delta": 2.0})])
def test_regression_vs_torch(dtype, reduction, name, kw, rng):
    x = (rng.standard_normal((7, 33)) * 2).astype(dtype)
    y = (rng.standard_normal((7, 33)) * 2).astype(dtype)
    x[0, :3] = [np.nan, np.inf, -np.inf]
    y[0, 3] = np.nan
    x[1, 0] = y[1, 0]  # zero difference: sign(0) = 0
    loss, grad = torch_loss_and_grad(getattr(F, name), x, T(y), reduction=reduction, **kw)
    got_loss, got_grad = getattr(fp, name)(x, y, reduction, return_grad=True, **kw)
    check(got_loss, loss, dtype)
    check(got_grad, grad, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(16, 10), (3, 5, 7), (2, 4, 3, 5), (6,), (2, 3, 600)])
@pytest.mark.parametrize("kw", [{}, {"weight": True}, {"ignore_index": 1}, {"label_smoothing": 0.15},
                                {"weight": True, "ignore_index": 2, "label_smoothing": 0.3}])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_vs_torch(dtype, shape, kw, reduction, rng):
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    C = shape[0] if len(shape) == 1 else shape[1]
    tshape = () if len(shape) == 1 else (shape[0],) + shape[2:]
    t = rng.integers(0, C, tshape)
    kw = dict(kw)
    if kw.pop("weight", False):
        kw["weight"] = rng.random(C).astype(dtype) + 0.1
    tkw = {k: (T(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    loss, grad = torch_loss_and_grad(F.cross_entropy, x, T(np.asarray(t)), reduction=reduction, **tkw)
    got_loss, got_grad = fp.cross_entropy(x, t, reduction=reduction, return_grad=True, **kw)
    check(got_loss, loss, dtype)
    check(got_grad, grad, dtype)
    # probability targets
    p = rng.random(shape).astype(dtype)
    kw.pop("ignore_index", None)
    tkw.pop("ignore_index", None)
    loss, grad = torch_loss_and_grad(F.cross_entropy, x, T(p), reduction=reduction, **tkw)
    got_loss, got_grad = fp.cross_entropy(x, p, reduction=reduction, return_grad=True, **kw)
    check(got_loss, loss, dtype)
    check(got_grad, grad, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_extreme_vs_torch(dtype, rng):
    x = (rng.choice([-1e4, 1e4, 0.0, 3.0], (32, 7))).astype(dtype)
    t = rng.integers(0, 7, 32)
    for eps in (0.0, 0.2):
        loss, grad = torch_loss_and_grad(F.cross_entropy, x, T(t), reduction="none", label_smoothing=eps)
        got_loss, got_grad = fp.cross_entropy(x, t, reduction="none", label_smoothing=eps, return_grad=True)
        check(got_loss, loss, dtype, rtol=1e-5)
        check(got_grad, grad, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_vs_torch(dtype, reduction, rng):
    x = rng.standard_normal((4, 6, 5)).astype(dtype)
    t = rng.integers(0, 6, (4, 5))
    t[0, 0] = -100
    w = rng.random(6).astype(dtype)
    loss, grad = torch_loss_and_grad(F.nll_loss, x, T(t), weight=T(w), reduction=reduction)
    got_loss, got_grad = fp.nll_loss(x, t, w, reduction=reduction, return_grad=True)
    check(got_loss, loss, dtype)
    check(got_grad, grad, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("wshape,pwshape", [(None, None), (None, (9,)), ((5, 1), (9,)), ((9,), None)])
def test_bce_with_logits_vs_torch(dtype, reduction, wshape, pwshape, rng):
    x = (rng.standard_normal((5, 9)) * 5).astype(dtype)
    x[0, :2] = [1e4, -1e4]
    t = rng.random((5, 9)).astype(dtype)
    w = None if wshape is None else rng.random(wshape).astype(dtype)
    pw = None if pwshape is None else (rng.random(pwshape) * 3).astype(dtype)
    loss, grad = torch_loss_and_grad(F.binary_cross_entropy_with_logits, x, T(t), weight=T(w),
                                     pos_weight=T(pw), reduction=reduction)
    got_loss, got_grad = fp.binary_cross_entropy_with_logits(x, t, w, pw, reduction, return_grad=True)
    check(got_loss, loss, dtype)
    check(got_grad, grad, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("alpha,gamma", [(0.25, 2.0), (-1.0, 2.0), (0.5, 0.0), (0.25, 1.0), (0.75, 3.0)])
def test_sigmoid_focal_vs_torchvision_formula(dtype, reduction, alpha, gamma, rng):
    x = (rng.standard_normal((50, 8)) * 3).astype(dtype)
    t = (rng.random((50, 8)) < 0.2).astype(dtype)
    loss, grad = torch_loss_and_grad(tv_sigmoid_focal_loss, x, T(t), alpha, gamma, reduction)
    got_loss, got_grad = fp.sigmoid_focal_loss(x, t, alpha, gamma, reduction, return_grad=True)
    check(got_loss, loss, dtype, atol=2e-6)
    check(got_grad, grad, dtype, atol=2e-6)


def test_ppo_vs_torch_autograd(rng):
    n = 64
    new = rng.standard_normal(n) * 0.3
    old = rng.standard_normal(n) * 0.3
    new[:4] = old[:4]                            # r == 1: inside the clip range, min() tie
    new[4] = old[4] + np.log1p(0.2)              # r on the clip boundary
    adv = rng.standard_normal(n)
    adv[5] = 0.0
    val, ret, ent = rng.standard_normal(n), rng.standard_normal(n), rng.random(n)
    tn, tv, te = (T(a).clone().requires_grad_() for a in (new, val, ent))
    r = torch.exp(tn - T(old))
    pl = -torch.min(r * T(adv), torch.clamp(r, 0.8, 1.2) * T(adv)).mean()
    vl = ((tv - T(ret)) ** 2).mean()
    el = te.mean()
    total = pl + 0.5 * vl - 0.01 * el
    total.backward()
    (got, grads) = fp.ppo_clip_loss(new, old, adv, val, ret, ent, return_grad=True)
    for g, w in zip(got, (total, pl, vl, el)):
        np.testing.assert_allclose(g, w.item(), rtol=1e-12)
    for g, w in zip(grads, (tn.grad, tv.grad, te.grad)):
        np.testing.assert_allclose(g, w.numpy(), rtol=1e-10, atol=1e-15)
