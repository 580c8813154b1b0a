"""torch as the oracle for the layers: the same model with the same weights
gives the same outputs, input gradients and parameter gradients (skipped
without torch or before the conv/pool/norm kernels are merged)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import fastprims as fp  # noqa: E402
from fastprims import nn  # noqa: E402
from test_nn import CNN_KERNELS, small_cnn  # noqa: E402

pytestmark = pytest.mark.skipif(not all(hasattr(fp, k) for k in CNN_KERNELS),
                                reason="conv/pool/norm kernels not merged")


def _torch_model(model):
    T = torch.nn
    layers = []
    for l in model.layers:
        if isinstance(l, nn.Conv2d):
            t = T.Conv2d(l.in_channels, l.out_channels, l.kernel_size, l.stride, l.padding, l.dilation, l.groups,
                         l.has_bias, dtype=torch.float64)
        elif isinstance(l, nn.BatchNorm2d):
            t = T.BatchNorm2d(l.num_features, l.eps, l.momentum, dtype=torch.float64)
        elif isinstance(l, nn.ReLU):
            t = T.ReLU()
        elif isinstance(l, nn.LeakyReLU):
            t = T.LeakyReLU(l.negative_slope)
        elif isinstance(l, nn.MaxPool2d):
            t = T.MaxPool2d(l.kernel_size, l.stride, l.padding, l.dilation, ceil_mode=l.ceil_mode)
        elif isinstance(l, nn.AvgPool2d):
            t = T.AvgPool2d(l.kernel_size, l.stride, l.padding, l.ceil_mode, l.count_include_pad)
        elif isinstance(l, nn.GlobalAvgPool2d):
            t = T.AdaptiveAvgPool2d(1)
        elif isinstance(l, nn.Flatten):
            t = T.Flatten()
        elif isinstance(l, nn.Linear):
            t = T.Linear(l.in_features, l.out_features, l.has_bias, dtype=torch.float64)
        else:
            raise AssertionError(type(l))
        layers.append(t)
    tm = T.Sequential(*layers)
    with torch.no_grad():
        tstate = tm.state_dict()
        for k, v in model.state_dict().items():
            tstate[k].copy_(torch.from_numpy(np.asarray(v, np.float64)))
    return tm


def test_small_cnn_matches_torch(rng):
    model = small_cnn(np.float64)
    tm = _torch_model(model)
    x = rng.standard_normal((4, 3, 12, 12))
    for mode in ("train", "eval"):
        getattr(model, mode)()
        getattr(tm, mode)()
        model.zero_grad()
        tm.zero_grad()
        y = model(x)
        tx = torch.from_numpy(x.copy()).requires_grad_(True)
        ty = tm(tx)
        np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
        R = rng.standard_normal(y.shape)
        gx = model.backward(R)
        ty.backward(torch.from_numpy(R))
        np.testing.assert_allclose(gx, tx.grad.numpy(), rtol=1e-9, atol=1e-12)
        tgrads = {k: p.grad.numpy() for k, p in tm.named_parameters()}
        for k, g in model.named_gradients():
            np.testing.assert_allclose(g, tgrads[k], rtol=1e-9, atol=1e-12, err_msg=k)
        for k, b in model.named_buffers():
            np.testing.assert_allclose(b, tm.state_dict()[k].numpy(), rtol=1e-12, err_msg=k)


def test_default_init_matches_torch_distribution():
    nn.manual_seed(0)
    conv = nn.Conv2d(16, 32, 3)
    t = torch.nn.Conv2d(16, 32, 3)
    bound = 1 / np.sqrt(16 * 9)
    for mine, theirs in ((conv.weight, t.weight.detach()), (conv.bias, t.bias.detach())):
        assert np.abs(mine).max() <= bound and float(theirs.abs().max()) <= bound
        assert abs(np.std(mine) - float(theirs.std())) < 0.2 * bound
