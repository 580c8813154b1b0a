"""Optimizers, regularization penalties, gradient clipping and learning-rate
schedules with torch.optim semantics, over NumPy buffers updated in place.

Design:
- An optimizer is built over parameter buffers and their gradient buffers:
  one flat pair (a model's whole parameter vector, see fastprims.nn, where
  every layer's weights are views into one contiguous buffer), a list of
  arrays (one fused kernel call per array), or a fastprims.nn Module (its flat
  buffers). Buffers are updated in place, so they must be writeable,
  C-contiguous and native float32/float64; anything else raises at
  construction rather than silently updating a copy.
- Each step() is one fused C pass per buffer (src/optim_tmpl.h) following
  torch's single-tensor formulas in the same order: bias correction, eps
  placement, where weight decay enters, the Nesterov form and the step count
  are torch's, and the per-step scalars are computed in double in Python
  exactly as torch computes them. Trajectories equal torch.optim's up to
  floating-point rounding (tests/test_optim_peer.py).
- State is created lazily at the first step (as torch), except Adagrad's sum,
  which torch fills with initial_accumulator_value at construction.
  state_dict() mirrors torch's layout: {"state": {i: {...}}, "param_groups":
  [{hyperparameters, "params": [0..n-1]}]}; arrays in it are copies.
- One param group. Schedulers change group["lr"], read at every step.
- Penalties: l1 = alpha * sum|p|, l2 = alpha/2 * sum p^2 (its gradient alpha*p
  is exactly SGD's weight_decay=alpha), elastic net = alpha * (l1_ratio *
  sum|p| + (1 - l1_ratio)/2 * sum p^2) (scikit-learn's ElasticNet form). Sums
  accumulate in double over fixed chunks: thread-count independent.
"""
import math

import numpy as np

from fastprims import _optim as K
from fastprims import _validate as V

__all__ = [
    "Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW",
    "l1_penalty", "l2_penalty", "elastic_net_penalty", "clip_grad_norm", "clip_grad_value",
    "LRScheduler", "StepLR", "CosineAnnealingLR", "LinearLR",
]


def _as_list(x):
    if isinstance(x, np.ndarray):
        return [x]
    if isinstance(x, (list, tuple)):
        return list(x)
    raise TypeError(f"expected a numpy.ndarray or a list of them, got {type(x).__name__}")


def _module_buffers(obj):
    """(params, grads) flat buffers of a fastprims.nn Module, or None."""
    p = getattr(obj, "flat_params", None)
    g = getattr(obj, "flat_grads", None)
    if isinstance(p, np.ndarray) and isinstance(g, np.ndarray):
        return p, g
    return None


def _param_grad_lists(params, grads, grads_required=True):
    if grads is None:
        mod = _module_buffers(params)
        if mod is not None:
            params, grads = mod
        elif grads_required:
            raise TypeError("grads is required unless params is a fastprims.nn Module "
                            "(pass the gradient buffer(s) matching params)")
    if isinstance(grads, (int, float)) and not isinstance(grads, bool):
        raise TypeError("grads must be an ndarray or a list of ndarrays; pass lr and the other "
                        "hyperparameters by keyword")
    plist = _as_list(params)
    glist = None if grads is None else _as_list(grads)
    if glist is not None and len(glist) != len(plist):
        raise ValueError(f"params and grads must have the same length, got {len(plist)} and {len(glist)}")
    return plist, glist


def _check_nonneg(name, v):
    if not (isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool)):
        raise TypeError(f"{name} must be a number, got {type(v).__name__}")
    if not 0.0 <= v:
        raise ValueError(f"Invalid {name} value: {v}")


class Optimizer:
    """Base class: buffers, a single param group, lazy state, state_dict."""

    _state_arrays = ()  # names of the per-buffer state arrays (for load_state_dict checks)

    def __init__(self, params, grads, defaults):
        plist, glist = _param_grad_lists(params, grads)
        if not plist:
            raise ValueError("optimizer got an empty parameter list")
        self._params, self._grads = [], []
        for i, (p, g) in enumerate(zip(plist, glist)):
            name = f"params[{i}]" if len(plist) > 1 else "params"
            gname = f"grads[{i}]" if len(plist) > 1 else "grads"
            p = K.check_buffer(p, name)
            g = K.check_buffer(g, gname, p.dtype, p.size)
            if p.shape != g.shape:
                raise ValueError(f"{gname} must have the shape of {name}: {p.shape} vs {g.shape}")
            if np.shares_memory(p, g):
                raise ValueError(f"{gname} overlaps {name} in memory")
            self._params.append(p)
            self._grads.append(g)
        self.defaults = dict(defaults)
        self.param_groups = [dict(defaults)]
        self.state = [dict() for _ in self._params]

    # --- torch-style API
    @property
    def lr(self):
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value):
        _check_nonneg("lr", value)
        self.param_groups[0]["lr"] = value

    @property
    def params(self):
        return list(self._params)

    @property
    def grads(self):
        return list(self._grads)

    def zero_grad(self, set_to_none=False):
        """Zero every gradient buffer in place (buffers are views owned by the
        model, so set_to_none is accepted and ignored)."""
        for g in self._grads:
            g.fill(0)

    def step(self, closure=None):
        loss = None
        if closure is not None:
            loss = closure()
        group = self.param_groups[0]
        for i, (p, g) in enumerate(zip(self._params, self._grads)):
            self._update(p, g, self.state[i], group)
        return loss

    def _update(self, p, g, state, group):  # pragma: no cover - abstract
        raise NotImplementedError

    def state_dict(self):
        state = {}
        for i, s in enumerate(self.state):
            if s:
                state[i] = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.items()}
        groups = [dict(g, params=list(range(len(self._params)))) for g in self.param_groups]
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError("state_dict must be a dict with keys 'state' and 'param_groups'")
        groups = state_dict["param_groups"]
        if len(groups) != 1:
            raise ValueError(f"state_dict has {len(groups)} param groups; this optimizer has 1")
        n = len(self._params)
        if len(groups[0].get("params", range(n))) != n:
            raise ValueError(f"state_dict is for {len(groups[0]['params'])} parameter buffers, "
                             f"this optimizer has {n}")
        new_state = [dict() for _ in self._params]
        for key, s in state_dict["state"].items():
            i = int(key)
            if not 0 <= i < n:
                raise ValueError(f"state_dict has state for parameter {i}, out of range for {n} buffers")
            p = self._params[i]
            for k, v in s.items():
                if k in self._state_arrays:
                    if v is None:
                        new_state[i][k] = None
                        continue
                    a = np.asarray(v)
                    if a.shape != p.shape:
                        raise ValueError(f"state_dict['state'][{i}][{k!r}] has shape {a.shape}, "
                                         f"the parameter has {p.shape}")
                    new_state[i][k] = np.array(a, dtype=p.dtype, order="C", copy=True)
                else:
                    new_state[i][k] = v
        group = {k: v for k, v in groups[0].items() if k != "params"}
        self.param_groups = [group]
        self.state = new_state

    def __repr__(self):
        hp = ", ".join(f"{k}={v!r}" for k, v in self.param_groups[0].items())
        return f"{type(self).__name__}({len(self._params)} buffer(s), {hp})"


def _step_count(state):
    state["step"] = state.get("step", 0) + 1
    return float(state["step"])


class SGD(Optimizer):
    """torch.optim.SGD: momentum buffer initialized to the first gradient,
    dampening applied from the second step, Nesterov d = g + momentum * buf."""

    _state_arrays = ("momentum_buffer",)

    def __init__(self, params, grads=None, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, *, maximize=False):
        for name, v in (("learning rate", lr), ("momentum", momentum), ("weight_decay", weight_decay)):
            _check_nonneg(name, v)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, grads, dict(lr=lr, momentum=momentum, dampening=dampening,
                                             weight_decay=weight_decay, nesterov=bool(nesterov),
                                             maximize=bool(maximize)))

    def _update(self, p, g, state, group):
        mom = group["momentum"]
        buf = state.get("momentum_buffer")
        first = False
        if mom != 0 and buf is None:
            buf = state["momentum_buffer"] = np.empty_like(p)
            first = True
        K.sgd_step(p, g, buf, group["lr"], mom, group["dampening"], group["weight_decay"],
                   group["nesterov"], group["maximize"], first)


class Adagrad(Optimizer):
    """torch.optim.Adagrad: clr = lr / (1 + (step - 1) * lr_decay),
    sum += g^2, p -= clr * g / (sqrt(sum) + eps)."""

    _state_arrays = ("sum",)

    def __init__(self, params, grads=None, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, *, maximize=False):
        for name, v in (("learning rate", lr), ("lr_decay", lr_decay), ("weight_decay", weight_decay),
                        ("initial_accumulator_value", initial_accumulator_value), ("epsilon", eps)):
            _check_nonneg(name, v)
        super().__init__(params, grads, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                             initial_accumulator_value=initial_accumulator_value,
                                             eps=eps, maximize=bool(maximize)))
        for p, s in zip(self._params, self.state):
            s["step"] = 0
            s["sum"] = np.full_like(p, initial_accumulator_value)

    def _update(self, p, g, state, group):
        step = _step_count(state)
        clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
        K.adagrad_step(p, g, state["sum"], clr, group["weight_decay"], group["eps"], group["maximize"])


class RMSprop(Optimizer):
    """torch.optim.RMSprop: square_avg = alpha*sq + (1-alpha) g^2; centered
    subtracts grad_avg^2 under the root; eps is added after the root."""

    _state_arrays = ("square_avg", "momentum_buffer", "grad_avg")

    def __init__(self, params, grads=None, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
                 momentum=0.0, centered=False, *, maximize=False):
        for name, v in (("learning rate", lr), ("epsilon", eps), ("momentum", momentum),
                        ("weight_decay", weight_decay), ("alpha", alpha)):
            _check_nonneg(name, v)
        super().__init__(params, grads, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                             momentum=momentum, centered=bool(centered),
                                             maximize=bool(maximize)))

    def _update(self, p, g, state, group):
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p)
        # created when first needed, also if momentum/centered are switched on later
        if group["momentum"] > 0 and state.get("momentum_buffer") is None:
            state["momentum_buffer"] = np.zeros_like(p)
        if group["centered"] and state.get("grad_avg") is None:
            state["grad_avg"] = np.zeros_like(p)
        _step_count(state)
        K.rmsprop_step(p, g, state["square_avg"], state.get("grad_avg"), state.get("momentum_buffer"),
                       group["lr"], group["alpha"], group["eps"], group["weight_decay"],
                       group["momentum"], group["centered"], group["maximize"])


class Adam(Optimizer):
    """torch.optim.Adam: m = lerp(m, g, 1-beta1), v = beta2 v + (1-beta2) g^2,
    p -= lr/(1-beta1^t) * m / (sqrt(v)/sqrt(1-beta2^t) + eps); amsgrad keeps
    the running max of v. weight_decay adds wd*p to the gradient (L2)."""

    _state_arrays = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    _decoupled = False

    def __init__(self, params, grads=None, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, *, maximize=False):
        _check_nonneg("learning rate", lr)
        _check_nonneg("epsilon", eps)
        _check_nonneg("weight_decay", weight_decay)
        if len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        for i, b in enumerate(betas):
            if not 0.0 <= b < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {b}")
        super().__init__(params, grads, dict(lr=lr, betas=(float(betas[0]), float(betas[1])), eps=eps,
                                             weight_decay=weight_decay, amsgrad=bool(amsgrad),
                                             maximize=bool(maximize)))

    def _update(self, p, g, state, group):
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p)
            state["exp_avg_sq"] = np.zeros_like(p)
        if group["amsgrad"] and state.get("max_exp_avg_sq") is None:
            state["max_exp_avg_sq"] = np.zeros_like(p)
        step = _step_count(state)
        beta1, beta2 = group["betas"]
        lr = group["lr"]
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        step_size = lr / bias_correction1
        bias_correction2_sqrt = bias_correction2 ** 0.5
        K.adam_step(p, g, state["exp_avg"], state["exp_avg_sq"],
                    state.get("max_exp_avg_sq") if group["amsgrad"] else None,
                    lr, beta1, beta2, group["eps"], group["weight_decay"], step_size,
                    bias_correction2_sqrt, self._decoupled, group["maximize"])


class AdamW(Adam):
    """torch.optim.AdamW: Adam with decoupled weight decay p *= 1 - lr*wd
    before the update (default weight_decay=1e-2)."""

    _decoupled = True

    def __init__(self, params, grads=None, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, grads, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize)


# ---------------------------------------------------------------- penalties and clipping

def _penalty(params, grads, l1, l2):
    plist, glist = _param_grad_lists(params, grads, grads_required=False)
    total = 0.0
    for i, p in enumerate(plist):
        name = f"params[{i}]" if len(plist) > 1 else "params"
        if glist is None:
            total += K.penalty_step(V.float_array(p, name), None, l1, l2)
        else:
            g = K.check_buffer(glist[i], f"grads[{i}]" if len(plist) > 1 else "grads")
            p = V.float_array(p, name, dtype=g.dtype)
            if p.shape != g.shape:
                raise ValueError(f"grads must have the shape of params: {p.shape} vs {g.shape}")
            total += K.penalty_step(p, g, l1, l2)
    return total


def _check_alpha(alpha):
    _check_nonneg("alpha", alpha)
    return float(alpha)


def l1_penalty(params, grads=None, alpha=1.0):
    """alpha * sum|p| over params (array, list of arrays or nn Module); adds
    its gradient alpha * sign(p) to `grads` in place when given (for a
    Module: to its flat_grads)."""
    return _penalty(params, grads, _check_alpha(alpha), 0.0)


def l2_penalty(params, grads=None, alpha=1.0):
    """alpha/2 * sum p^2; adds alpha * p to `grads` in place when given."""
    return _penalty(params, grads, 0.0, _check_alpha(alpha))


def elastic_net_penalty(params, grads=None, alpha=1.0, l1_ratio=0.5):
    """alpha * (l1_ratio * sum|p| + (1 - l1_ratio)/2 * sum p^2) (scikit-learn's
    ElasticNet penalty); adds alpha * (l1_ratio*sign(p) + (1-l1_ratio)*p) to grads."""
    alpha = _check_alpha(alpha)
    if not 0.0 <= l1_ratio <= 1.0:
        raise ValueError(f"l1_ratio must be in [0, 1], got {l1_ratio}")
    return _penalty(params, grads, alpha * l1_ratio, alpha * (1.0 - l1_ratio))


def _grad_list(grads):
    mod = _module_buffers(grads)
    glist = [mod[1]] if mod is not None else _as_list(grads)
    return [K.check_buffer(g, f"grads[{i}]" if len(glist) > 1 else "grads") for i, g in enumerate(glist)]


def clip_grad_norm(grads, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """torch.nn.utils.clip_grad_norm_: scale all gradients in place by
    min(1, max_norm / (total_norm + 1e-6)); returns the total norm (a float)
    over all arrays together. norm_type: any p > 0 or inf. The reduction sums
    fixed chunks in double, in order: the same result for any thread count."""
    glist = _grad_list(grads)
    norm_type = float(norm_type)
    if not (norm_type > 0):
        raise ValueError(f"norm_type must be > 0 or inf, got {norm_type}")
    max_norm = float(max_norm)
    if norm_type == math.inf:
        parts = [K.norm_reduce(g, norm_type) for g in glist]
        total = 0.0
        for r in parts:
            total = math.nan if (math.isnan(r) or math.isnan(total)) else max(total, r)
    else:
        acc = 0.0
        for g in glist:
            acc += K.norm_reduce(g, norm_type)
        total = math.sqrt(acc) if norm_type == 2.0 else acc ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients is non-finite, so it "
                           f"cannot be clipped. To disable this error and scale the gradients by the "
                           f"non-finite norm anyway, set error_if_nonfinite=False")
    coef = max_norm / (total + 1e-6)
    # torch multiplies by clamp(coef, max=1): a no-op when coef >= 1, NaN when the norm is NaN
    if not coef >= 1.0:
        for g in glist:
            K.scale_(g, coef)
    return total


def clip_grad_value(grads, clip_value):
    """torch.nn.utils.clip_grad_value_: clamp every gradient to
    [-clip_value, clip_value] in place (NaN stays NaN)."""
    clip_value = float(clip_value)
    if not clip_value >= 0:
        raise ValueError(f"clip_value must be >= 0, got {clip_value}")
    for g in _grad_list(grads):
        K.clamp_(g, -clip_value, clip_value)


# ---------------------------------------------------------------- learning-rate schedules

class LRScheduler:
    """torch.optim.lr_scheduler semantics: construction performs step 0
    (last_epoch = 0), each step() advances one epoch and rewrites
    optimizer.param_groups[0]['lr'] with the chainable (recursive) form, so
    schedules compose with each other and with manual lr changes as in torch."""

    def __init__(self, optimizer, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be a fastprims.optim.Optimizer, got {type(optimizer).__name__}")
        if last_epoch != -1:
            raise ValueError("only last_epoch=-1 (a fresh schedule) is supported; "
                             "restore a schedule with load_state_dict")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [g["initial_lr"] for g in optimizer.param_groups]
        self.last_epoch = -1
        self._step_count = 0
        self._is_initial = True
        self.step()
        self._is_initial = False

    def get_lr(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def get_last_lr(self):
        return list(self._last_lr)

    def step(self):
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def state_dict(self):
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)


class StepLR(LRScheduler):
    """Multiply the lr by gamma every step_size epochs."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        if isinstance(step_size, bool) or not isinstance(step_size, (int, np.integer)) or step_size < 1:
            raise ValueError(f"step_size must be a positive int, got {step_size!r}")
        self.step_size = int(step_size)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups = self.optimizer.param_groups
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [g["lr"] for g in groups]
        return [g["lr"] * self.gamma for g in groups]


class CosineAnnealingLR(LRScheduler):
    """eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2, in
    torch's recursive form (continues periodically past T_max as torch)."""

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        if isinstance(T_max, bool) or not isinstance(T_max, (int, np.integer)) or T_max < 1:
            raise ValueError(f"T_max must be a positive int, got {T_max!r}")
        self.T_max = int(T_max)
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups = self.optimizer.param_groups
        if self._is_initial:
            return [g["lr"] for g in groups]
        if (self.last_epoch - 1 - self.T_max) % (2 * self.T_max) == 0:
            return [g["lr"] + (base - self.eta_min) * (1 - math.cos(math.pi / self.T_max)) / 2
                    for base, g in zip(self.base_lrs, groups)]
        return [(1 + math.cos(math.pi * self.last_epoch / self.T_max))
                / (1 + math.cos(math.pi * (self.last_epoch - 1) / self.T_max))
                * (g["lr"] - self.eta_min) + self.eta_min for g in groups]


class LinearLR(LRScheduler):
    """Linear warm-up: the lr factor goes from start_factor to end_factor over
    total_iters epochs, then stays (torch.optim.lr_scheduler.LinearLR)."""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, last_epoch=-1):
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError("Starting multiplicative factor expected to be greater than 0 and less or equal to 1.")
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError("Ending multiplicative factor expected to be between 0 and 1.")
        if isinstance(total_iters, bool) or not isinstance(total_iters, (int, np.integer)) or total_iters < 0:
            raise ValueError(f"total_iters must be a non-negative int, got {total_iters!r}")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = int(total_iters)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [g["lr"] * self.start_factor for g in groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return [g["lr"] for g in groups]
        return [g["lr"] * (1.0 + (self.end_factor - self.start_factor)
                           / (self.total_iters * self.start_factor
                              + (self.last_epoch - 1) * (self.end_factor - self.start_factor)))
                for g in groups]
