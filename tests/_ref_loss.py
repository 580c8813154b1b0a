"""Independent NumPy float64 references for the losses (oracles; nothing here
calls fastprims). Written from the torch / torchvision definitions, in the
plainest form (moveaxis + gather, no fusion)."""
import numpy as np


def _f(a):
    return np.asarray(a, np.float64)


def reduce(loss, reduction, denom=None):
    loss = _f(loss)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    d = loss.size if denom is None else denom
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.float64(loss.sum()) / d if d else np.nan


# ------------------------------------------------------------- regression

def l1(x, y):
    return np.abs(_f(x) - _f(y))


def mse(x, y):
    return (_f(x) - _f(y)) ** 2


def smooth_l1(x, y, beta=1.0):
    z = np.abs(_f(x) - _f(y))
    if beta == 0:
        return z
    return np.where(z < beta, 0.5 * z * z / beta, z - 0.5 * beta)


def huber(x, y, delta=1.0):
    z = np.abs(_f(x) - _f(y))
    return np.where(z < delta, 0.5 * z * z, delta * (z - 0.5 * delta))


# ----------------------------------------------------------------- logits

def bce_with_logits(x, t, weight=None, pos_weight=None):
    x, t = _f(x), _f(t)
    nls = np.logaddexp(0.0, -x)          # -log(sigmoid(x))
    lw = 1.0 if pos_weight is None else (_f(pos_weight) - 1) * t + 1
    loss = (1 - t) * x + lw * nls
    if weight is not None:
        loss = loss * _f(weight)
    return loss


def sigmoid(x):
    x = _f(x)
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))


def sigmoid_focal(x, t, alpha=0.25, gamma=2.0):
    """torchvision.ops.sigmoid_focal_loss, reduction='none'."""
    x, t = _f(x), _f(t)
    p = sigmoid(x)
    ce = bce_with_logits(x, t)
    p_t = p * t + (1 - p) * (1 - t)
    loss = ce * ((1 - p_t) ** gamma)
    if alpha >= 0:
        loss = (alpha * t + (1 - alpha) * (1 - t)) * loss
    return loss


# ------------------------------------------------------------ class axis

def log_softmax(x, axis=1):
    x = _f(x)
    m = np.max(x, axis=axis, keepdims=True)
    with np.errstate(invalid="ignore"):
        s = x - m
        return s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True))


def _classes_last(x):
    """(N, C, d...) -> (N*d..., C); (C,) -> (1, C)."""
    x = _f(x)
    if x.ndim == 1:
        return x[None]
    return np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def nll(logp, target, weight=None, ignore_index=-100, reduction="mean"):
    lp = _classes_last(logp)
    t = np.asarray(target).reshape(-1)
    C = lp.shape[1]
    w = np.ones(C) if weight is None else _f(weight)
    keep = t != ignore_index
    tc = np.where(keep, t, 0)
    wy = np.where(keep, w[tc], 0.0)
    loss = np.where(keep, -wy * lp[np.arange(len(t)), tc], 0.0)
    loss_shape = np.shape(target)
    return reduce(loss.reshape(loss_shape), reduction, wy.sum())


def cross_entropy(x, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """torch.nn.functional.cross_entropy (class indices or probabilities)."""
    x = _f(x)
    lp = _classes_last(log_softmax(x, axis=0 if x.ndim == 1 else 1))
    C = lp.shape[1]
    w = np.ones(C) if weight is None else _f(weight)
    eps = label_smoothing
    tgt = np.asarray(target)
    if tgt.dtype.kind == "f":
        tp = _classes_last(tgt)
        tp = tp * (1 - eps) + eps / C
        with np.errstate(invalid="ignore"):
            loss = -(lp * tp * w).sum(1)
        shape = x.shape[1:] if x.ndim == 1 else (x.shape[0],) + x.shape[2:]
        return reduce(loss.reshape(shape), reduction, loss.size)
    t = tgt.reshape(-1)
    keep = t != ignore_index
    tc = np.where(keep, t, 0)
    wy = np.where(keep, w[tc], 0.0)
    nll_part = np.where(keep, -wy * lp[np.arange(len(t)), tc], 0.0)
    with np.errstate(invalid="ignore"):
        smooth = np.where(keep, -(lp * w).sum(1), 0.0)
    loss = (1 - eps) * nll_part + eps / C * smooth
    return reduce(loss.reshape(tgt.shape), reduction, wy.sum())


def softmax_focal(x, target, alpha=None, gamma=2.0, reduction="mean", ignore_index=-100):
    """-alpha_t (1 - p_t)^gamma log p_t over softmax(x, axis=1)."""
    x = _f(x)
    lp = _classes_last(log_softmax(x, axis=0 if x.ndim == 1 else 1))
    t = np.asarray(target).reshape(-1)
    keep = t != ignore_index
    tc = np.where(keep, t, 0)
    lpt = lp[np.arange(len(t)), tc]
    pt = np.exp(lpt)
    if alpha is None:
        at = np.ones(len(t))
    elif np.ndim(alpha) == 0:
        at = np.full(len(t), float(alpha))
    else:
        at = _f(alpha)[tc]
    loss = np.where(keep, -at * (1 - pt) ** gamma * lpt, 0.0)
    return reduce(loss.reshape(np.shape(target)), reduction, keep.sum())


# -------------------------------------------------------------------- ppo

def ppo(new_logp, old_logp, adv, values, returns, entropy, clip_eps=0.2, value_coef=0.5, entropy_coef=0.01):
    r = np.exp(_f(new_logp) - _f(old_logp))
    a = _f(adv)
    policy = -np.mean(np.minimum(r * a, np.clip(r, 1 - clip_eps, 1 + clip_eps) * a))
    value = np.mean((_f(values) - _f(returns)) ** 2)
    ent = np.mean(_f(entropy))
    return policy + value_coef * value - entropy_coef * ent, policy, value, ent


# ------------------------------------------------------- finite differences

def numeric_grad(f, x, h=1e-6):
    """Central differences of the scalar f at float64 x."""
    x = np.array(x, np.float64)
    g = np.zeros_like(x)
    flat, gf = x.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        fp_ = f(x)
        flat[i] = old - h
        fm = f(x)
        flat[i] = old
        gf[i] = (fp_ - fm) / (2 * h)
    return g
