"""torch oracle for pooling (skipped without torch)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional
import fastprims as fp  # noqa: E402


def _p(v):
    return list(v) if isinstance(v, tuple) else [v, v]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("args", [(3, 2, 1, 1, False), (2, 2, 0, 1, False), (3, 1, 1, 2, True), (3, 2, 1, 1, True),
                                  ((2, 3), (1, 2), (1, 0), (2, 1), True), (4, 3, 2, 1, True)])
def test_pooling_matches_torch(dtype, args, rng):
    k, s, p, d, c = args
    x = rng.standard_normal((2, 3, 11, 13)).astype(dtype)
    x[0, 0, 2, 3] = np.nan
    x[1, 1, :, 4] = x[1, 1, :, 5]  # ties
    tx = torch.from_numpy(x)
    y, i = fp.max_pool2d(x, k, s, p, d, c, return_indices=True)
    ty, ti = F.max_pool2d(tx, k, s, p, d, c, return_indices=True)
    np.testing.assert_array_equal(y, ty.numpy())
    np.testing.assert_array_equal(i, ti.numpy())
    g = rng.standard_normal(y.shape).astype(dtype)
    tg = torch.ops.aten.max_pool2d_with_indices_backward(torch.from_numpy(g), tx, _p(k), _p(s), _p(p), _p(d), c, ti)
    np.testing.assert_allclose(fp.max_pool2d_backward(g, i, x.shape), tg.numpy(), rtol=1e-6, atol=1e-6)
    if d != 1:
        return
    x = np.nan_to_num(x)
    for cip in (True, False):
        for div in (None, 3):
            xt = torch.from_numpy(x).requires_grad_()
            ty = F.avg_pool2d(xt, k, s, p, c, cip, div)
            np.testing.assert_allclose(fp.avg_pool2d(x, k, s, p, c, cip, div), ty.detach().numpy(), rtol=1e-5,
                                       atol=1e-6)
            g = rng.standard_normal(ty.shape).astype(dtype)
            ty.backward(torch.from_numpy(g))
            np.testing.assert_allclose(fp.avg_pool2d_backward(g, x.shape, k, s, p, c, cip, div), xt.grad.numpy(),
                                       rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("osz", [(3, 4), (5, 7), 1, (11, 13), (20, 3)])
def test_adaptive_matches_torch(osz, rng):
    x = rng.standard_normal((2, 3, 11, 13)).astype(np.float32)
    xt = torch.from_numpy(x).requires_grad_()
    ty = F.adaptive_avg_pool2d(xt, osz)
    np.testing.assert_allclose(fp.adaptive_avg_pool2d(x, osz), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = rng.standard_normal(ty.shape).astype(np.float32)
    ty.backward(torch.from_numpy(g))
    np.testing.assert_allclose(fp.adaptive_avg_pool2d_backward(g, x.shape), xt.grad.numpy(), rtol=1e-5, atol=1e-6)
