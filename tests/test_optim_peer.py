"""torch.optim as the oracle: same trajectories and schedules (skipped without torch)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fastprims import optim  # noqa: E402
from test_optim import CONFIGS  # noqa: E402

TORCH = {optim.SGD: torch.optim.SGD, optim.Adagrad: torch.optim.Adagrad, optim.RMSprop: torch.optim.RMSprop,
         optim.Adam: torch.optim.Adam, optim.AdamW: torch.optim.AdamW}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,cls,ref,hp", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_same_trajectory_as_torch(name, cls, ref, hp, dtype, rng):
    p0 = rng.standard_normal(1000).astype(dtype)
    grads = [rng.standard_normal(1000).astype(dtype) for _ in range(50)]
    p = p0.copy()
    g = np.zeros_like(p)
    opt = cls(p, g, **hp)
    tp = torch.nn.Parameter(torch.from_numpy(p0.copy()))
    topt = TORCH[cls]([tp], foreach=False, **hp)
    for gt in grads:
        g[...] = gt
        opt.step()
        tp.grad = torch.from_numpy(gt.copy())
        topt.step()
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(p, tp.detach().numpy(), **tol)
    # the state has torch's names and values
    tstate = topt.state[tp]
    mine = opt.state_dict()["state"].get(0, {})
    assert set(mine) == {k for k, v in tstate.items() if v is not None}
    for k, v in mine.items():
        tv = tstate[k]
        if v is None:
            assert tv is None
            continue
        tv = float(tv) if k == "step" else tv.numpy()
        np.testing.assert_allclose(v, tv, **tol)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_clip_grad_norm_as_torch(norm_type, rng):
    gs = [rng.standard_normal(s) for s in (100, (7, 3), 1)]
    ts = [torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64)) for g in gs]
    for t, g in zip(ts, gs):
        t.grad = torch.from_numpy(g.copy())
    mine = [g.copy() for g in gs]
    total = optim.clip_grad_norm(mine, 0.5, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(ts, 0.5, norm_type)
    assert abs(total - float(ttotal)) <= 1e-12 * float(ttotal)
    for m, t in zip(mine, ts):
        np.testing.assert_allclose(m, t.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("kind", ["step", "cosine", "linear", "chained"])
def test_schedules_as_torch(kind):
    opt = optim.SGD(np.zeros(2), np.zeros(2), lr=0.1)
    tp = torch.nn.Parameter(torch.zeros(2))
    topt = torch.optim.SGD([tp], lr=0.1)

    def make(mod, o):
        if kind == "step":
            return [mod.StepLR(o, 3, gamma=0.3)]
        if kind == "cosine":
            return [mod.CosineAnnealingLR(o, T_max=7, eta_min=0.001)]
        if kind == "linear":
            return [mod.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=5)]
        return [mod.LinearLR(o, start_factor=0.25, total_iters=3), mod.CosineAnnealingLR(o, T_max=10)]

    mine = make(optim, opt)
    theirs = make(torch.optim.lr_scheduler, topt)
    for _ in range(25):
        assert abs(opt.lr - topt.param_groups[0]["lr"]) <= 1e-15 + 1e-12 * abs(opt.lr)
        tp.grad = torch.zeros(2)
        topt.step()
        for s in mine:
            s.step()
        for s in theirs:
            s.step()
