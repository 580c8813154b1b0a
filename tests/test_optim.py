import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import fastprims as fp
from fastprims import optim
import _ref_optim as R

DTYPES = [np.float32, np.float64]
STEPS = 50


def _tol(dtype):
    return dict(rtol=2e-4, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)


CONFIGS = [
    ("sgd", optim.SGD, R.sgd, dict(lr=0.05)),
    ("sgd_wd", optim.SGD, R.sgd, dict(lr=0.05, weight_decay=0.1)),
    ("sgd_mom", optim.SGD, R.sgd, dict(lr=0.05, momentum=0.9)),
    ("sgd_mom_damp", optim.SGD, R.sgd, dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("sgd_nesterov", optim.SGD, R.sgd, dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.02)),
    ("sgd_max", optim.SGD, R.sgd, dict(lr=0.05, momentum=0.5, maximize=True)),
    ("adagrad", optim.Adagrad, R.adagrad, dict(lr=0.1)),
    ("adagrad_all", optim.Adagrad, R.adagrad,
     dict(lr=0.1, lr_decay=0.01, weight_decay=0.05, initial_accumulator_value=0.3, eps=1e-6, maximize=True)),
    ("rmsprop", optim.RMSprop, R.rmsprop, dict(lr=0.01)),
    ("rmsprop_centered", optim.RMSprop, R.rmsprop, dict(lr=0.01, centered=True, weight_decay=0.01)),
    ("rmsprop_mom", optim.RMSprop, R.rmsprop, dict(lr=0.01, momentum=0.9, alpha=0.9)),
    ("rmsprop_all", optim.RMSprop, R.rmsprop,
     dict(lr=0.01, momentum=0.5, centered=True, alpha=0.3, eps=1e-4, maximize=True)),
    ("adam", optim.Adam, R.adam, dict(lr=0.01)),
    ("adam_wd_ams", optim.Adam, R.adam, dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("adam_betas", optim.Adam, R.adam, dict(lr=0.01, betas=(0.3, 0.9), eps=1e-6, maximize=True)),
    ("adamw", optim.AdamW, R.adam, dict(lr=0.01)),
    ("adamw_ams", optim.AdamW, R.adam, dict(lr=0.01, weight_decay=0.5, amsgrad=True, betas=(0.8, 0.99))),
]


def _grad_seq(rng, shape, steps=STEPS):
    return [rng.standard_normal(shape) for _ in range(steps)]


def _run(cls, hp, p0, grads, dtype, as_list=False):
    p = p0.astype(dtype)
    g = np.zeros_like(p)
    if as_list:
        # two views into one buffer are two separate arrays for the optimizer
        opt = cls([p[:3], p[3:]], [g[:3], g[3:]], **hp)
    else:
        opt = cls(p, g, **hp)
    for gt in grads:
        g[...] = gt
        opt.step()
    return p


def _ref(ref, name, hp, p0, grads):
    kw = dict(hp)
    if name.startswith("adamw"):
        kw.setdefault("weight_decay", 1e-2)
        kw["decoupled"] = True
    return ref(p0, grads, **kw)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,cls,ref,hp", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_trajectory_50_steps(name, cls, ref, hp, dtype, rng):
    p0 = rng.standard_normal(37)
    grads = _grad_seq(rng, 37)
    expected = _ref(ref, name, hp, p0, [g.astype(dtype).astype(np.float64) for g in grads])
    got = _run(cls, hp, p0, grads, dtype)
    np.testing.assert_allclose(got, expected, **_tol(dtype))
    got_list = _run(cls, hp, p0, grads, dtype, as_list=True)
    np.testing.assert_allclose(got_list, got, rtol=0, atol=0)


@pytest.mark.parametrize("name,cls,ref,hp", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_trajectory_feedback_quadratic(name, cls, ref, hp, rng):
    """Gradients that depend on the parameters (f = 1/2 p^T A p): errors would compound."""
    a = rng.uniform(0.5, 2.0, 11)
    p0 = rng.standard_normal(11)
    p = p0.copy()
    g = np.zeros_like(p)
    opt = cls(p, g, **hp)
    seq = []
    for _ in range(STEPS):
        g[...] = a * p
        seq.append(g.copy())
        opt.step()
    expected = _ref(ref, name, hp, p0, seq)
    np.testing.assert_allclose(p, expected, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("dtype", DTYPES)
@given(lr=st.floats(1e-4, 0.5), b1=st.floats(0.0, 0.99), b2=st.floats(0.0, 0.999),
       wd=st.sampled_from([0.0, 1e-3, 0.3]), ams=st.booleans(), decoupled=st.booleans(),
       n=st.integers(0, 50), seed=st.integers(0, 2**16))
def test_adam_hypothesis(dtype, lr, b1, b2, wd, ams, decoupled, n, seed):
    rng = np.random.default_rng(seed)
    p0 = rng.standard_normal(n)
    grads = [rng.standard_normal(n).astype(dtype).astype(np.float64) for _ in range(5)]
    cls = optim.AdamW if decoupled else optim.Adam
    hp = dict(lr=lr, betas=(b1, b2), weight_decay=wd, amsgrad=ams)
    got = _run(cls, hp, p0, grads, dtype)
    expected = R.adam(p0, grads, decoupled=decoupled, **hp)
    np.testing.assert_allclose(got, expected, rtol=1e-3 if dtype == np.float32 else 1e-9,
                               atol=1e-4 if dtype == np.float32 else 1e-11)


@given(kind=st.sampled_from(["sgd", "adagrad", "rmsprop"]), lr=st.floats(1e-4, 0.5),
       mom=st.sampled_from([0.0, 0.5, 0.9]), damp=st.sampled_from([0.0, 0.3]), nest=st.booleans(),
       wd=st.sampled_from([0.0, 0.05]), alpha=st.floats(0.0, 0.999), centered=st.booleans(),
       lr_decay=st.sampled_from([0.0, 0.1]), init_acc=st.sampled_from([0.0, 0.5]), maximize=st.booleans(),
       n=st.integers(0, 40), seed=st.integers(0, 2**16))
def test_other_optimizers_hypothesis(kind, lr, mom, damp, nest, wd, alpha, centered, lr_decay, init_acc, maximize,
                                     n, seed):
    rng = np.random.default_rng(seed)
    p0 = rng.standard_normal(n)
    grads = [rng.standard_normal(n) for _ in range(6)]
    if kind == "sgd":
        if nest and (mom == 0 or damp != 0):
            nest = False
        cls, ref = optim.SGD, R.sgd
        hp = dict(lr=lr, momentum=mom, dampening=damp, nesterov=nest, weight_decay=wd, maximize=maximize)
    elif kind == "adagrad":
        cls, ref = optim.Adagrad, R.adagrad
        hp = dict(lr=lr, lr_decay=lr_decay, weight_decay=wd, initial_accumulator_value=init_acc + 1e-3,
                  maximize=maximize)
    else:
        cls, ref = optim.RMSprop, R.rmsprop
        if centered:
            # alpha -> 0 makes square_avg - grad_avg^2 pure rounding noise (g^2 - g^2): ill-conditioned
            alpha = max(alpha, 0.1)
        hp = dict(lr=lr, alpha=alpha, weight_decay=wd, momentum=mom, centered=centered, maximize=maximize,
                  eps=1e-3)
    got = _run(cls, hp, p0, grads, np.float64)
    # centered RMSprop takes sqrt(square_avg - grad_avg^2): the two partly cancel and
    # rounding differences of the (equal) formulas are amplified
    rtol = 1e-6 if kind == "rmsprop" and centered else 1e-9
    np.testing.assert_allclose(got, ref(p0, grads, **hp), rtol=rtol, atol=1e-10)


@pytest.mark.parametrize("name,cls,ref,hp", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_threads_agree_large(name, cls, ref, hp, rng):
    n = 3 * 2**16 + 17
    p0 = rng.standard_normal(n).astype(np.float32)
    grads = [rng.standard_normal(n).astype(np.float32) for _ in range(3)]
    results = []
    for nt in (1, 2):
        with fp.num_threads(nt):
            results.append(_run(cls, hp, p0, grads, np.float32))
    np.testing.assert_array_equal(results[0], results[1])


@pytest.mark.parametrize("name,cls,ref,hp", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_state_dict_round_trip(name, cls, ref, hp, rng):
    p0 = rng.standard_normal(20)
    grads = _grad_seq(rng, 20, 20)
    p = p0.copy()
    g = np.zeros_like(p)
    opt = cls(p, g, **hp)
    for gt in grads[:10]:
        g[...] = gt
        opt.step()
    sd = opt.state_dict()
    p_mid = p.copy()
    for gt in grads[10:]:
        g[...] = gt
        opt.step()
    # the saved state is a copy: continuing must not have changed it
    p2 = p_mid.copy()
    g2 = np.zeros_like(p2)
    opt2 = cls(p2, g2, **hp)
    opt2.load_state_dict(sd)
    for gt in grads[10:]:
        g2[...] = gt
        opt2.step()
    np.testing.assert_array_equal(p2, p)


def test_state_dict_layout_and_bad_load(rng):
    p = rng.standard_normal(5)
    g = rng.standard_normal(5)
    opt = optim.Adam(p, g, lr=0.1, amsgrad=True)
    opt.step()
    sd = opt.state_dict()
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert sd["state"][0]["step"] == 1
    assert sd["param_groups"][0]["lr"] == 0.1 and sd["param_groups"][0]["params"] == [0]
    bad = {"state": {0: {"step": 1, "exp_avg": np.zeros(4)}}, "param_groups": sd["param_groups"]}
    with pytest.raises(ValueError, match="exp_avg.*shape"):
        opt.load_state_dict(bad)
    with pytest.raises(ValueError, match="out of range"):
        opt.load_state_dict({"state": {3: {}}, "param_groups": sd["param_groups"]})
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        opt.load_state_dict({})


def test_zero_grad_and_closure(rng):
    p = rng.standard_normal(6)
    g = rng.standard_normal(6)
    opt = optim.SGD(p, g, lr=0.1)
    assert opt.step(lambda: 3.5) == 3.5
    opt.zero_grad()
    assert not g.any()


def test_lr_change_takes_effect(rng):
    p = np.zeros(3)
    g = np.ones(3)
    opt = optim.SGD(p, g, lr=0.1)
    opt.step()
    opt.lr = 0.5
    opt.step()
    np.testing.assert_allclose(p, -0.6)


def test_options_switched_on_after_the_first_step(rng):
    p = rng.standard_normal(5)
    g = rng.standard_normal(5)
    opt = optim.RMSprop(p, g, lr=0.01)
    opt.step()
    opt.param_groups[0].update(momentum=0.9, centered=True)
    opt.step()
    assert {"momentum_buffer", "grad_avg"} <= set(opt.state[0])
    a = optim.Adam(p, g, lr=0.01)
    a.step()
    a.param_groups[0]["amsgrad"] = True
    a.step()
    assert "max_exp_avg_sq" in a.state[0]


def test_nan_propagates_elementwise():
    for cls in (optim.SGD, optim.Adagrad, optim.RMSprop, optim.Adam, optim.AdamW):
        p = np.ones(4, np.float32)
        g = np.array([0.5, np.nan, np.inf, -1.0], np.float32)
        kw = dict(lr=0.1, momentum=0.9) if cls is optim.SGD else dict(lr=0.1)
        cls(p, g, **kw).step()
        assert np.isnan(p[1])
        assert np.isfinite(p[0]) and np.isfinite(p[3])


def test_infinite_param_without_weight_decay_stays_infinite():
    # weight_decay == 0 must not add 0 * inf = NaN (torch skips the term)
    p = np.array([np.inf, 1.0])
    g = np.array([1.0, 1.0])
    optim.SGD(p, g, lr=0.1).step()
    assert p[0] == np.inf


def test_empty_buffers():
    p = np.empty(0, np.float32)
    g = np.empty(0, np.float32)
    for cls in (optim.SGD, optim.Adagrad, optim.RMSprop, optim.Adam, optim.AdamW):
        cls(p, g, lr=0.1).step()


def test_bad_inputs(rng):
    p = rng.standard_normal(10)
    g = rng.standard_normal(10)
    with pytest.raises(ValueError, match="C-contiguous"):
        optim.SGD(p[::2], g[::2], lr=0.1)
    with pytest.raises(TypeError, match="mixed dtypes"):
        optim.SGD(p, g.astype(np.float32), lr=0.1)
    with pytest.raises(TypeError, match="float32 or float64"):
        optim.SGD(np.arange(3), np.arange(3), lr=0.1)
    ro = p.copy()
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        optim.Adam(ro, g)
    with pytest.raises(ValueError, match="10 elements"):
        optim.Adam(p, g[:5])
    with pytest.raises(TypeError, match="by keyword"):
        optim.Adam(p, 0.1)
    with pytest.raises(TypeError, match="grads is required"):
        optim.Adam(p)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.SGD(p, g, lr=-1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD(p, g, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="beta parameter at index 1"):
        optim.Adam(p, g, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="overlaps"):
        optim.Adam(p, p)
    with pytest.raises(ValueError, match="same length"):
        optim.Adam([p, p.copy()], [g])
    with pytest.raises(ValueError, match="empty"):
        optim.Adam([], [])


# ---------------------------------------------------------------- penalties

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["l1", "l2", "elastic"])
def test_penalties(kind, dtype, rng):
    p = rng.standard_normal(50_001).astype(dtype)
    p[:5] = 0.0
    g0 = rng.standard_normal(p.size).astype(dtype)
    if kind == "l1":
        fn, ratio = (lambda P, G: optim.l1_penalty(P, G, alpha=0.3)), 1.0
    elif kind == "l2":
        fn, ratio = (lambda P, G: optim.l2_penalty(P, G, alpha=0.3)), 0.0
    else:
        fn, ratio = (lambda P, G: optim.elastic_net_penalty(P, G, alpha=0.3, l1_ratio=0.25)), 0.25
    pen_ref, grad_ref = R.elastic_net(p, 0.3, ratio)
    results = []
    for nt in (1, 2):
        g = g0.copy()
        with fp.num_threads(nt):
            pen = fn(p, g)
        results.append(pen)
        np.testing.assert_allclose(pen, pen_ref, rtol=1e-12)
        np.testing.assert_allclose(g, g0 + grad_ref, **_tol(dtype))
    assert results[0] == results[1]  # deterministic reduction whatever the thread count
    assert fn(p, None) == results[0]
    # list of arrays: sum of the parts
    assert math.isclose(fn([p[:100], p[100:]], None), pen_ref, rel_tol=1e-12)


def test_penalty_inf_param_l1_only():
    p = np.array([np.inf, -2.0])
    g = np.zeros(2)
    assert optim.l1_penalty(p, g, alpha=1.0) == np.inf
    np.testing.assert_array_equal(g, [1.0, -1.0])


def test_penalty_bad_args(rng):
    p = rng.standard_normal(4)
    with pytest.raises(ValueError, match="l1_ratio"):
        optim.elastic_net_penalty(p, None, l1_ratio=1.5)
    with pytest.raises(ValueError, match="alpha"):
        optim.l2_penalty(p, None, alpha=-1)
    with pytest.raises(ValueError, match="shape"):
        optim.l2_penalty(p.reshape(2, 2), np.zeros(4))


# ---------------------------------------------------------------- clipping

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf, 0.5])
def test_clip_grad_norm(norm_type, dtype, rng):
    a = rng.standard_normal(70_000).astype(dtype)
    b = rng.standard_normal((30, 7)).astype(dtype)
    ref_total = R.total_norm([a, b], norm_type)
    totals = []
    for nt in (1, 2):
        A, B = a.copy(), b.copy()
        with fp.num_threads(nt):
            total = optim.clip_grad_norm([A, B], max_norm=1.0, norm_type=norm_type)
        totals.append(total)
        assert math.isclose(total, ref_total, rel_tol=1e-10)
        coef = 1.0 / (ref_total + 1e-6)
        np.testing.assert_allclose(A, a * coef, **_tol(dtype))
        np.testing.assert_allclose(B, b * coef, **_tol(dtype))
    assert totals[0] == totals[1]


def test_clip_grad_norm_no_clip_and_nan(rng):
    g = rng.standard_normal(10)
    g0 = g.copy()
    total = optim.clip_grad_norm(g, max_norm=1e6)
    np.testing.assert_array_equal(g, g0)
    assert math.isclose(total, np.linalg.norm(g0), rel_tol=1e-12)
    g[3] = np.nan
    assert math.isnan(optim.clip_grad_norm(g, 1.0))
    assert np.isnan(g).all()
    with pytest.raises(RuntimeError, match="non-finite"):
        optim.clip_grad_norm(np.array([np.inf, 1.0]), 1.0, error_if_nonfinite=True)
    with pytest.raises(ValueError, match="norm_type"):
        optim.clip_grad_norm(g0.copy(), 1.0, norm_type=0)
    with pytest.raises(ValueError, match="C-contiguous"):
        optim.clip_grad_norm(np.ones(10)[::2], 1.0)
    assert optim.clip_grad_norm(np.empty(0), 1.0) == 0.0


def test_clip_grad_value():
    g = np.array([-3.0, -0.5, 0.0, 0.7, 5.0, np.nan], np.float32)
    optim.clip_grad_value(g, 1.0)
    np.testing.assert_array_equal(g, np.array([-1.0, -0.5, 0.0, 0.7, 1.0, np.nan], np.float32))
    with pytest.raises(ValueError, match="clip_value"):
        optim.clip_grad_value(g, -1.0)


# ---------------------------------------------------------------- schedules

def _lrs(sched_factory, epochs, base=0.1):
    opt = optim.SGD(np.zeros(2), np.zeros(2), lr=base)
    sched = sched_factory(opt)
    lrs = []
    for _ in range(epochs):
        lrs.append(opt.lr)
        opt.step()
        sched.step()
    assert sched.get_last_lr() == [opt.lr]
    return lrs


def test_step_lr():
    np.testing.assert_allclose(_lrs(lambda o: optim.StepLR(o, 3, gamma=0.5), 10), R.step_lr(0.1, 3, 0.5, 10),
                               rtol=1e-12)


def test_cosine_lr():
    np.testing.assert_allclose(_lrs(lambda o: optim.CosineAnnealingLR(o, T_max=10, eta_min=0.01), 11),
                               R.cosine_lr(0.1, 10, 0.01, 11), rtol=1e-10, atol=1e-12)


def test_linear_lr_warmup():
    np.testing.assert_allclose(_lrs(lambda o: optim.LinearLR(o, start_factor=0.1, total_iters=4), 8),
                               R.linear_lr(0.1, 0.1, 1.0, 4, 8), rtol=1e-12)


def test_scheduler_state_dict_and_bad_args():
    opt = optim.SGD(np.zeros(2), np.zeros(2), lr=0.1)
    s = optim.StepLR(opt, 2)
    for _ in range(3):
        s.step()
    sd = s.state_dict()
    opt2 = optim.SGD(np.zeros(2), np.zeros(2), lr=0.1)
    s2 = optim.StepLR(opt2, 2)
    s2.load_state_dict(sd)
    assert s2.last_epoch == 3
    with pytest.raises(ValueError, match="step_size"):
        optim.StepLR(opt, 0)
    with pytest.raises(ValueError, match="T_max"):
        optim.CosineAnnealingLR(opt, 0)
    with pytest.raises(TypeError, match="Optimizer"):
        optim.StepLR(object(), 2)
