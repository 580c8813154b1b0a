"""Independent NumPy float64 references for batch/layer/group norm (torch
semantics) and their analytic gradients; nothing here calls fastprims."""
import numpy as np


def _bshape(x):
    return (1, -1) + (1,) * (x.ndim - 2)


def batch_norm_train(x, g, b, eps):
    """(y, mean, biased var)."""
    x = np.asarray(x, np.float64)
    axes = (0,) + tuple(range(2, x.ndim))
    mean = x.mean(axis=axes)
    var = ((x - mean.reshape(_bshape(x))) ** 2).mean(axis=axes)
    xhat = (x - mean.reshape(_bshape(x))) / np.sqrt(var + eps).reshape(_bshape(x))
    y = xhat * (1.0 if g is None else np.asarray(g, np.float64).reshape(_bshape(x)))
    y = y + (0.0 if b is None else np.asarray(b, np.float64).reshape(_bshape(x)))
    return y, mean, var


def batch_norm_eval(x, g, b, rm, rv, eps):
    x = np.asarray(x, np.float64)
    sh = _bshape(x)
    y = (x - np.asarray(rm, np.float64).reshape(sh)) / np.sqrt(np.asarray(rv, np.float64) + eps).reshape(sh)
    if g is not None:
        y = y * np.asarray(g, np.float64).reshape(sh)
    if b is not None:
        y = y + np.asarray(b, np.float64).reshape(sh)
    return y


def batch_norm_backward_train(gy, x, g, eps):
    """Textbook BN gradient: dx = g*invstd*(dy - mean(dy) - xhat*mean(dy*xhat))."""
    x = np.asarray(x, np.float64)
    gy = np.asarray(gy, np.float64)
    axes = (0,) + tuple(range(2, x.ndim))
    sh = _bshape(x)
    mean = x.mean(axis=axes).reshape(sh)
    invstd = 1.0 / np.sqrt(((x - mean) ** 2).mean(axis=axes) + eps).reshape(sh)
    xhat = (x - mean) * invstd
    gam = 1.0 if g is None else np.asarray(g, np.float64).reshape(sh)
    dx = gam * invstd * (gy - gy.mean(axis=axes, keepdims=True)
                         - xhat * (gy * xhat).mean(axis=axes, keepdims=True))
    return dx, (gy * xhat).sum(axis=axes), gy.sum(axis=axes)


def layer_norm(x, k, w, b, eps):
    x = np.asarray(x, np.float64)
    axes = tuple(range(x.ndim - k, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + eps)
    if w is not None:
        y = y * np.asarray(w, np.float64)
    if b is not None:
        y = y + np.asarray(b, np.float64)
    return y, mean, 1.0 / np.sqrt(var + eps)


def group_norm(x, G, w, b, eps):
    x = np.asarray(x, np.float64)
    N, C = x.shape[:2]
    xg = x.reshape(N, G, -1)
    mean = xg.mean(axis=2, keepdims=True)
    var = ((xg - mean) ** 2).mean(axis=2, keepdims=True)
    y = ((xg - mean) / np.sqrt(var + eps)).reshape(x.shape)
    sh = (1, C) + (1,) * (x.ndim - 2)
    if w is not None:
        y = y * np.asarray(w, np.float64).reshape(sh)
    if b is not None:
        y = y + np.asarray(b, np.float64).reshape(sh)
    return y, mean.reshape(N, G), 1.0 / np.sqrt(var.reshape(N, G) + eps)


def layer_norm_backward(gy, x, k, w, eps):
    gy = np.asarray(gy, np.float64)
    x = np.asarray(x, np.float64)
    axes = tuple(range(x.ndim - k, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    rstd = 1.0 / np.sqrt(((x - mean) ** 2).mean(axis=axes, keepdims=True) + eps)
    xhat = (x - mean) * rstd
    gw = gy if w is None else gy * np.asarray(w, np.float64)
    dx = rstd * (gw - gw.mean(axis=axes, keepdims=True) - xhat * (gw * xhat).mean(axis=axes, keepdims=True))
    lead = tuple(range(x.ndim - k))
    return dx, (gy * xhat).sum(axis=lead), gy.sum(axis=lead)
