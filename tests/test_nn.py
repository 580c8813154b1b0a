import numpy as np
import pytest

import fastprims as fp
from fastprims import nn


def _has(*names):
    return all(hasattr(fp, n) for n in names)


def _numeric_grad(f, arr, idx, eps=1e-6):
    old = arr[idx]
    arr[idx] = old + eps
    up = f()
    arr[idx] = old - eps
    down = f()
    arr[idx] = old
    return (up - down) / (2 * eps)


def _grad_check(model, x, rng, n_coords=25, rtol=1e-5, atol=1e-7):
    """backward of loss = sum(model(x) * R) against central differences, for
    random coordinates of every parameter and of the input."""
    model.zero_grad()
    y = model.forward(x)
    R = rng.standard_normal(y.shape)
    gx = model.backward(R)

    def loss():
        return float(np.sum(model.forward(x) * R))

    for name, p in list(model.named_parameters()) + [("input", x)]:
        g = gx if name == "input" else dict(model.named_gradients())[name]
        flat_idx = rng.choice(p.size, size=min(n_coords, p.size), replace=False)
        for fi in flat_idx:
            idx = np.unravel_index(fi, p.shape)
            num = _numeric_grad(loss, p, idx)
            assert abs(g[idx] - num) <= atol + rtol * abs(num), (name, idx, g[idx], num)


# ---------------------------------------------------------------- flat buffers and bookkeeping

def _mlp(dtype=np.float64, seed=0):
    nn.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 8, dtype=dtype), nn.ReLU(dtype=dtype), nn.Flatten(dtype=dtype),
                         nn.Sequential(nn.Linear(8, 5, dtype=dtype), nn.ReLU(dtype=dtype)),
                         nn.Linear(5, 3, bias=False, dtype=dtype))


def test_flat_buffers_are_shared():
    m = _mlp()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["0.weight", "0.bias", "3.0.weight", "3.0.bias", "4.weight"]
    assert m.flat_params.size == 6 * 8 + 8 + 8 * 5 + 5 + 5 * 3 == m.num_parameters()
    assert m.flat_params.flags.c_contiguous and m.flat_grads.flags.c_contiguous
    off = 0
    for p, g in zip(m.parameters(), m.gradients()):
        assert np.shares_memory(p, m.flat_params) and np.shares_memory(g, m.flat_grads)
        np.testing.assert_array_equal(p.ravel(), m.flat_params[off:off + p.size])
        off += p.size
    m.flat_params[:] = 0.5
    assert (m[0].weight == 0.5).all() and (m[3][0].bias == 0.5).all()
    # inner containers see slices of the outer buffers
    assert np.shares_memory(m[3].flat_params, m.flat_params)


def test_assigning_a_parameter_copies_into_the_buffer():
    m = _mlp()
    m[0].bias = np.arange(8.0)
    np.testing.assert_array_equal(m.flat_params[48:56], np.arange(8.0))
    with pytest.raises(ValueError, match="bias must have shape"):
        m[0].bias = np.zeros(3)


def test_sequential_keeps_child_values():
    nn.manual_seed(3)
    lin = nn.Linear(4, 2, dtype=np.float64)
    w = lin.weight.copy()
    model = nn.Sequential(lin, nn.ReLU(dtype=np.float64))
    np.testing.assert_array_equal(model[0].weight, w)
    assert np.shares_memory(lin.weight, model.flat_params)


def test_init_bounds_and_seeding():
    nn.manual_seed(0)
    a = nn.Linear(100, 50)
    nn.manual_seed(0)
    b = nn.Linear(100, 50)
    np.testing.assert_array_equal(a.flat_params, b.flat_params)
    c = nn.Linear(100, 50)
    assert not np.array_equal(a.flat_params, c.flat_params)
    np.testing.assert_array_equal(nn.Linear(100, 50, seed=7).weight, nn.Linear(100, 50, seed=7).weight)
    assert a.weight.dtype == np.float32
    bound = 1 / np.sqrt(100)
    assert np.abs(a.weight).max() <= bound and np.abs(a.weight).max() > 0.9 * bound
    assert np.abs(a.bias).max() <= bound


def test_linear_forward_backward_reference(rng):
    lin = nn.Linear(7, 4, dtype=np.float64, seed=1)
    x = rng.standard_normal((5, 7))
    y = lin(x)
    np.testing.assert_allclose(y, x @ lin.weight.T + lin.bias, rtol=1e-12)
    g = rng.standard_normal(y.shape)
    gx = lin.backward(g)
    np.testing.assert_allclose(gx, g @ lin.weight, rtol=1e-12)
    np.testing.assert_allclose(lin.grad("weight"), g.T @ x, rtol=1e-12)
    np.testing.assert_allclose(lin.grad("bias"), g.sum(0), rtol=1e-12)
    lin.backward(g)  # accumulates like torch
    np.testing.assert_allclose(lin.grad("bias"), 2 * g.sum(0), rtol=1e-12)
    lin.zero_grad()
    assert not lin.flat_grads.any()


def test_mlp_gradient_check(rng):
    m = _mlp()
    _grad_check(m, rng.standard_normal((4, 6)), rng)


def test_state_dict_round_trip_and_modes(rng):
    m = _mlp()
    sd = m.state_dict()
    x = rng.standard_normal((2, 6))
    y = m(x)
    m2 = _mlp(seed=9)
    assert not np.allclose(m2(x), y)
    m2.load_state_dict(sd)
    np.testing.assert_array_equal(m2(x), y)
    sd["0.weight"][...] = 0  # a copy, not a view
    assert m[0].weight.any()
    with pytest.raises(ValueError, match="missing"):
        m2.load_state_dict({"0.weight": sd["0.weight"]})
    with pytest.raises(ValueError, match="shape"):
        m2.load_state_dict({**m.state_dict(), "0.bias": np.zeros(3)})
    m.eval()
    assert not m.training and not m[3][0].training
    m.train()
    assert m[3][1].training


def test_bad_inputs():
    lin = nn.Linear(3, 2)
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        lin(np.ones((2, 4), np.float32))
    with pytest.raises(TypeError, match="float32 parameters"):
        lin(np.ones((2, 3), np.float64))
    with pytest.raises(RuntimeError, match="before forward"):
        nn.Linear(3, 2).backward(np.ones((1, 2), np.float32))
    with pytest.raises(TypeError, match="one dtype"):
        nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 2, dtype=np.float64))
    with pytest.raises(TypeError, match="not a fastprims.nn.Module"):
        nn.Sequential(nn.Linear(3, 2), lambda x: x)
    with pytest.raises(ValueError, match="in_features"):
        nn.Linear(0, 2)
    lin = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="already belongs"):
        nn.Sequential(lin, lin)
    nn.Sequential(lin)
    with pytest.raises(ValueError, match="already belongs"):
        nn.Sequential(lin)


def test_optimizer_over_model(rng):
    m = _mlp()
    x = rng.standard_normal((8, 6))
    opt = fp.optim.SGD(m, lr=0.1)
    before = m.flat_params.copy()
    m.backward(np.ones_like(m(x)))
    g = m.flat_grads.copy()
    opt.step()
    np.testing.assert_allclose(m.flat_params, before - 0.1 * g)
    opt.zero_grad()
    assert not m.flat_grads.any()
    assert fp.optim.clip_grad_norm(m, 1.0) == 0.0
    pen = fp.optim.l2_penalty(m, alpha=0.5)
    np.testing.assert_allclose(pen, 0.25 * np.sum(m.flat_params ** 2))
    np.testing.assert_allclose(m.flat_grads, 0.5 * m.flat_params)


def test_summary_mlp():
    m = _mlp()
    text = m.summary((4, 6), print_fn=None)
    lines = text.splitlines()
    assert lines[0].split()[:5] == ["Layer", "Output", "shape", "Params", "FLOPs"]
    assert "0.Linear" in text and "3.0.Linear" in text
    total = [l for l in lines if l.startswith("Total")][0]
    assert f"{m.num_parameters():,}" in total
    # FLOPs: 2*N*in*out (+ N*out for a bias) per Linear, N*features per ReLU
    flops = (2 * 4 * 6 * 8 + 4 * 8) + 4 * 8 + (2 * 4 * 8 * 5 + 4 * 5) + 4 * 5 + 2 * 4 * 5 * 3
    assert f"{flops:,}" in total


# ---------------------------------------------------------------- layers on other families' kernels

@pytest.mark.skipif(not _has("leaky_relu", "dropout"), reason="activation kernels not merged")
def test_leaky_relu_and_dropout(rng):
    x = rng.standard_normal((4, 10))
    lr = nn.LeakyReLU(0.2, dtype=np.float64)
    np.testing.assert_allclose(lr(x), np.where(x > 0, x, 0.2 * x))
    np.testing.assert_allclose(lr.backward(np.ones_like(x)), np.where(x > 0, 1.0, 0.2))
    d = nn.Dropout(0.25, dtype=np.float64, seed=0)
    y = d(x)
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / 0.75)
    np.testing.assert_allclose(d.backward(np.ones_like(x)), kept / 0.75)
    assert not np.array_equal(d(x), y)  # a fresh mask per forward
    d.eval()
    assert d(x) is x or np.array_equal(d(x), x)


CNN_KERNELS = ("conv2d", "conv2d_backward", "batch_norm", "batch_norm_backward", "max_pool2d",
               "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward", "global_avg_pool2d",
               "global_avg_pool2d_backward", "leaky_relu")


def small_cnn(dtype=np.float64, seed=0):
    nn.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1, dtype=dtype), nn.BatchNorm2d(4, dtype=dtype), nn.ReLU(dtype=dtype),
        nn.MaxPool2d(2, dtype=dtype),
        nn.Conv2d(4, 6, 3, stride=1, dtype=dtype), nn.LeakyReLU(0.1, dtype=dtype),
        nn.AvgPool2d(2, dtype=dtype),
        nn.Conv2d(6, 5, 1, dtype=dtype), nn.GlobalAvgPool2d(dtype=dtype), nn.Flatten(dtype=dtype),
        nn.Linear(5, 3, dtype=dtype))


@pytest.mark.skipif(not _has(*CNN_KERNELS), reason="conv/pool/norm kernels not merged")
def test_small_cnn_gradient_check(rng):
    model = small_cnn()
    x = rng.standard_normal((3, 3, 12, 12))
    _grad_check(model, x, rng, n_coords=12, rtol=1e-4, atol=1e-6)


@pytest.mark.skipif(not _has(*CNN_KERNELS), reason="conv/pool/norm kernels not merged")
def test_small_cnn_summary_and_batchnorm_state(rng):
    model = small_cnn(np.float32)
    text = model.summary((3, 12, 12), print_fn=None)
    rows = {l.split()[0]: l for l in text.splitlines()[2:-3]}
    # receptive fields: 3 -> (pool 2) 4 -> (conv3, jump 2) 8 -> (avg 2) 10 -> 1x1 conv keeps 10
    assert rows["0.Conv2d"].split()[-1] == "3"
    assert rows["3.MaxPool2d"].split()[-1] == "4"
    assert rows["4.Conv2d"].split()[-1] == "8"
    assert rows["6.AvgPool2d"].split()[-1] == "10"
    assert rows["7.Conv2d"].split()[-1] == "10"
    assert rows["8.GlobalAvgPool2d"].split()[-1] == "all"
    assert "(1, 3)" in text.splitlines()[-2]
    # conv FLOPs: 2 * N*Cout*OH*OW * Cin*k*k + bias adds
    assert f"{2 * 4 * 12 * 12 * 3 * 9 + 4 * 12 * 12:,}" in rows["0.Conv2d"]
    x = rng.standard_normal((4, 3, 12, 12)).astype(np.float32)
    model(x)
    bn = model[1]
    assert not np.allclose(bn.running_mean, 0)
    sd = model.state_dict()
    assert "1.running_mean" in sd and "1.running_var" in sd
    model.eval()
    y_eval = model(x)
    m2 = small_cnn(np.float32, seed=5)
    m2.load_state_dict(sd)
    m2.eval()
    np.testing.assert_array_equal(m2(x), y_eval)
