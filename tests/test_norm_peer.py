"""torch oracle for batch/layer/group norm (skipped without torch)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional
import fastprims as fp  # noqa: E402


def _close(a, b, tol=1e-4):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert np.max(np.abs(a - b), initial=0) <= tol * np.max(np.abs(b), initial=0) + 1e-4  # floor: cancellation noise


def _t(a):
    return None if a is None else torch.from_numpy(a).requires_grad_()


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 7), (3, 4, 5, 6), (2, 1, 20), (2, 130, 3), (8, 9, 17, 3)])
@pytest.mark.parametrize("affine", [True, False])
def test_norms_match_torch(shape, affine, rng):
    x = (rng.standard_normal(shape) * 2 + 3).astype(np.float32)
    C = shape[1]
    g = rng.standard_normal(C).astype(np.float32) if affine else None
    b = rng.standard_normal(C).astype(np.float32) if affine else None
    rm, rv = rng.standard_normal(C).astype(np.float32), rng.random(C).astype(np.float32) + 0.5
    trm, trv = torch.from_numpy(rm.copy()), torch.from_numpy(rv.copy())
    dy = rng.standard_normal(shape).astype(np.float32)
    xt, gt, bt = _t(x), _t(g), _t(b)
    ty = F.batch_norm(xt, trm, trv, gt, bt, True, 0.1, 1e-5)
    y, sm, si = fp.batch_norm(x, g, b, rm, rv, True, 0.1, 1e-5)
    _close(y, ty.detach())
    _close(rm, trm)
    _close(rv, trv)
    ty.backward(torch.from_numpy(dy))
    dx, dg, db = fp.batch_norm_backward(dy, x, g, sm, si, True)
    _close(dx, xt.grad)
    if affine:
        _close(dg, gt.grad)
        _close(db, bt.grad)
    y2 = fp.batch_norm(x, g, b, rm, rv, False)[0]
    _close(y2, F.batch_norm(torch.from_numpy(x), trm, trv, None if g is None else torch.from_numpy(g),
                            None if b is None else torch.from_numpy(b), False))
    ns = shape[1:]
    w = rng.standard_normal(ns).astype(np.float32) if affine else None
    bb = rng.standard_normal(ns).astype(np.float32) if affine else None
    xt, wt, bt = _t(x), _t(w), _t(bb)
    ty = F.layer_norm(xt, ns, wt, bt)
    y, m, r = fp.layer_norm(x, ns, w, bb)
    _close(y, ty.detach())
    ty.backward(torch.from_numpy(dy))
    dx, dw, db = fp.layer_norm_backward(dy, x, ns, m, r, w)
    _close(dx, xt.grad)
    if affine:
        _close(dw, wt.grad)
        _close(db, bt.grad)
    for G in sorted({1, C}):
        if x.size // (shape[0] * G) < 2:
            continue  # one value per group: xhat = 0 and torch's gradients are rounding noise
        w = rng.standard_normal(C).astype(np.float32) if affine else None
        bb = rng.standard_normal(C).astype(np.float32) if affine else None
        xt, wt, bt = _t(x), _t(w), _t(bb)
        ty = F.group_norm(xt, G, wt, bt)
        y, m, r = fp.group_norm(x, G, w, bb)
        _close(y, ty.detach())
        ty.backward(torch.from_numpy(dy))
        dx, dw, db = fp.group_norm_backward(dy, x, G, m, r, w)
        _close(dx, xt.grad)
        if affine:
            _close(dw, wt.grad)
            _close(db, bt.grad)
