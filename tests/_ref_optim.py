"""Float64 NumPy references of the optimizers (torch.optim's documented
algorithms), penalties and clipping. Nothing here calls fastprims."""
import math

import numpy as np


def sgd(p, grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False):
    """Trajectory of p (float64) over the gradient sequence `grads` (callable p -> g)."""
    p = np.array(p, np.float64)
    buf = None
    for t in range(len(grads)):
        g = np.array(grads[t], np.float64)
        if maximize:
            g = -g
        if weight_decay:
            g = g + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
    return p


def adagrad(p, grads, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10,
            maximize=False):
    p = np.array(p, np.float64)
    s = np.full_like(p, initial_accumulator_value)
    for t in range(1, len(grads) + 1):
        g = np.array(grads[t - 1], np.float64)
        if maximize:
            g = -g
        if weight_decay:
            g = g + weight_decay * p
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g
        p = p - clr * g / (np.sqrt(s) + eps)
    return p


def rmsprop(p, grads, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
            maximize=False):
    p = np.array(p, np.float64)
    sq = np.zeros_like(p)
    ga = np.zeros_like(p)
    buf = np.zeros_like(p)
    for t in range(len(grads)):
        g = np.array(grads[t], np.float64)
        if maximize:
            g = -g
        if weight_decay:
            g = g + weight_decay * p
        sq = alpha * sq + (1 - alpha) * g * g
        if centered:
            ga = alpha * ga + (1 - alpha) * g
            avg = np.sqrt(sq - ga * ga) + eps
        else:
            avg = np.sqrt(sq) + eps
        if momentum > 0:
            buf = momentum * buf + g / avg
            p = p - lr * buf
        else:
            p = p - lr * g / avg
    return p


def adam(p, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
         maximize=False, decoupled=False):
    b1, b2 = betas
    p = np.array(p, np.float64)
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    vmax = np.zeros_like(p)
    for t in range(1, len(grads) + 1):
        g = np.array(grads[t - 1], np.float64)
        if maximize:
            g = -g
        if weight_decay:
            if decoupled:
                p = p * (1 - lr * weight_decay)
            else:
                g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mhat = m / (1 - b1 ** t)
        if amsgrad:
            vmax = np.maximum(vmax, v)
            vhat = vmax / (1 - b2 ** t)
        else:
            vhat = v / (1 - b2 ** t)
        p = p - lr * mhat / (np.sqrt(vhat) + eps)
    return p


def elastic_net(p, alpha, l1_ratio):
    p = np.asarray(p, np.float64)
    pen = alpha * (l1_ratio * np.abs(p).sum() + 0.5 * (1 - l1_ratio) * (p * p).sum())
    grad = alpha * (l1_ratio * np.sign(p) + (1 - l1_ratio) * p)
    return pen, grad


def total_norm(grads, norm_type):
    flat = np.concatenate([np.asarray(g, np.float64).ravel() for g in grads])
    if norm_type == math.inf:
        return float(np.abs(flat).max()) if flat.size else 0.0
    return float((np.abs(flat) ** norm_type).sum() ** (1.0 / norm_type))


def step_lr(base, step_size, gamma, epochs):
    return [base * gamma ** (e // step_size) for e in range(epochs)]


def cosine_lr(base, T_max, eta_min, epochs):
    return [eta_min + (base - eta_min) * (1 + math.cos(math.pi * e / T_max)) / 2 for e in range(epochs)]


def linear_lr(base, start, end, total, epochs):
    return [base * (start + (end - start) * min(e, total) / total) for e in range(epochs)]
