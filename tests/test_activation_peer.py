"""fastprims.activation against torch.nn.functional (skipped without torch)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional
aten = torch.ops.aten

import fastprims as fp  # noqa: E402

DTYPES = [np.float32, np.float64]


def t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


def check(ours, theirs, dtype, atol=None):
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=rtol, atol=atol if atol is not None else rtol,
                               equal_nan=True)


def inputs(dtype, rng):
    x = np.concatenate([rng.standard_normal(3000) * 3, np.linspace(-12, 12, 1001),
                        [0.0, -0.0, 1e4, -1e4, 80.0, -80.0, np.nan]]).astype(dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    return x, g


@pytest.mark.parametrize("dtype", DTYPES)
def test_elementwise_against_torch(dtype, rng):
    x, g = inputs(dtype, rng)
    tx, tg = t(x), t(g)
    check(fp.relu(x), torch.relu(tx), dtype)
    check(fp.relu_backward(g, x), aten.threshold_backward(tg, tx, 0), dtype)
    check(fp.leaky_relu(x, 0.1), F.leaky_relu(tx, 0.1), dtype)
    check(fp.leaky_relu_backward(g, x, 0.1), aten.leaky_relu_backward(tg, tx, 0.1, False), dtype)
    y = fp.sigmoid(x)
    # torch flushes sigmoid(-80) to 0 in float32 (exp overflow); fastprims keeps ~1.8e-35
    check(y, torch.sigmoid(tx), dtype, atol=1e-6 if dtype == np.float32 else 1e-12)
    check(fp.sigmoid_backward(g, y), aten.sigmoid_backward(tg, t(y)), dtype)
    y = fp.tanh(x)
    check(y, torch.tanh(tx), dtype)
    check(fp.tanh_backward(g, y), aten.tanh_backward(tg, t(y)), dtype)
    for approx in ("none", "tanh"):
        # torch's float32 gelu evaluates 0.5 x (1 + erf/tanh), which cancels for
        # x << 0: compare absolutely there
        check(fp.gelu(x, approx), F.gelu(tx, approximate=approx), dtype,
              atol=2e-6 if dtype == np.float32 else 1e-12)
        check(fp.gelu_backward(g, x, approx), aten.gelu_backward(tg, tx, approximate=approx), dtype,
              atol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,axis", [((7, 33), -1), ((5, 6, 7), 1), ((4, 3, 9, 8), 1), ((6, 5), 0),
                                        ((2, 20000), 1), ((3, 4, 20001), 2)])
def test_softmax_against_torch(dtype, shape, axis, rng):
    x = (rng.standard_normal(shape) * 10).astype(dtype)
    x.reshape(-1)[::97] = 1e4
    g = rng.standard_normal(shape).astype(dtype)
    tx, tg = t(x), t(g)
    ax = axis % len(shape)
    tdt = torch.float32 if dtype == np.float32 else torch.float64
    y = fp.softmax(x, axis)
    check(y, torch.softmax(tx, axis), dtype, atol=1e-7)
    check(fp.softmax_backward(g, y, axis), torch._softmax_backward_data(tg, t(y), ax, tdt), dtype, atol=1e-6)
    ly = fp.log_softmax(x, axis)
    check(ly, torch.log_softmax(tx, axis), dtype, atol=1e-3 if dtype == np.float32 else 1e-9)
    check(fp.log_softmax_backward(g, ly, axis), torch._log_softmax_backward_data(tg, t(ly), ax, tdt), dtype,
          atol=1e-5)


def test_softmax_nonfinite_rows_like_torch():
    inf, nan = np.inf, np.nan
    x = np.array([[inf, 1.0, 2.0], [-inf, -inf, -inf], [nan, 0.0, 1.0], [-inf, 0.0, 1.0], [inf, inf, 1.0]],
                 np.float32)
    for axis in (1, 0):
        xa = x if axis == 1 else np.ascontiguousarray(x.T)
        check(fp.softmax(xa, axis), torch.softmax(t(xa), axis), np.float32)
        check(fp.log_softmax(xa, axis), torch.log_softmax(t(xa), axis), np.float32)


def test_dropout_semantics_like_torch():
    x = np.array([1.0, np.nan, np.inf, -2.0] * 64, np.float32)
    y, m = fp.dropout(x, 1.0)
    check(y, F.dropout(t(x), p=1.0), np.float32)
    y, m = fp.dropout(x, 0.25, seed=3)
    ty, tm = torch.native_dropout(t(x), 0.25, True)
    # same scaled values where kept (different RNG, so compare through our mask)
    check(y, t(x) * t(m.astype(np.float32)) / 0.75, np.float32)
    assert ty.dtype == t(y).dtype and tm.dtype == torch.bool and m.dtype == np.bool_
