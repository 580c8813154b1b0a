"""conv2d against torch.nn.functional.conv2d and autograd (skipped without torch)."""
import numpy as np
import pytest

import fastprims as fp

torch = pytest.importorskip("torch")
F = torch.nn.functional


@pytest.mark.parametrize("alg", ["direct", "im2col", "auto"])
@pytest.mark.parametrize("cfg", [
    dict(stride=1, padding=1, dilation=1, groups=1),
    dict(stride=2, padding=3, dilation=1, groups=1),
    dict(stride=1, padding="same", dilation=2, groups=2),
    dict(stride=1, padding="same", dilation=1, groups=1, k=4),  # asymmetric 'same'
    dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=8),  # depthwise
])
def test_matches_torch(alg, cfg):
    cfg = dict(cfg)
    k = cfg.pop("k", 3)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 8, 15, 17))
    w = rng.standard_normal((16, 8 // cfg["groups"], k, k))
    b = rng.standard_normal(16)
    tx, tw, tb = (torch.from_numpy(a).requires_grad_(True) for a in (x, w, b))
    ty = F.conv2d(tx, tw, tb, **cfg)
    y = fp.conv2d(x, w, b, algorithm=alg, **cfg)
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-10, atol=1e-10)
    gy = rng.standard_normal(y.shape)
    tgx, tgw, tgb = torch.autograd.grad(ty, (tx, tw, tb), torch.from_numpy(gy))
    gx, gw, gb = fp.conv2d_backward(gy, x, w, algorithm=alg, **cfg)
    for a, e in ((gx, tgx), (gw, tgw), (gb, tgb)):
        np.testing.assert_allclose(a, e.numpy(), rtol=1e-10, atol=1e-10)


def test_im2col_col2im_match_unfold_fold():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 10, 11))
    kw = dict(dilation=(2, 1), padding=(1, 2), stride=(2, 3))
    col = fp.im2col(x, (3, 2), **kw)
    np.testing.assert_array_equal(col, F.unfold(torch.from_numpy(x), (3, 2), **kw).numpy())
    np.testing.assert_allclose(fp.col2im(col, (10, 11), (3, 2), **kw),
                               F.fold(torch.from_numpy(col), (10, 11), (3, 2), **kw).numpy(), rtol=1e-12)
