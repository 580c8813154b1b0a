"""Batch, layer and group normalization (torch semantics), forward and backward.

Statistics (save_mean/save_invstd, mean/rstd) are returned as float64 for
both data types: the kernels (src/norm.c, bound in fastprims/_norm.pyx)
accumulate them in double around a per-channel shift, and handing the exact
values to the backward keeps float32 gradients accurate for data with a large
mean (torch rounds them to float32). The backwards accept float32 or float64
statistics.

batch_norm: training normalizes with the biased batch variance and updates
running_mean/running_var in place (momentum, unbiased variance), as
torch.nn.functional.batch_norm; eval uses the running statistics folded into
one multiply-add per element. Without running statistics (torch's
track_running_stats=False) eval also uses the batch statistics.
"""
import numbers

import numpy as np

from fastprims import _norm
from fastprims import _validate as V

__all__ = ["batch_norm", "batch_norm_backward", "layer_norm", "layer_norm_backward", "group_norm",
           "group_norm_backward"]


def _real(v, name, min_value=None):
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {v!r}")
    v = float(v)
    if min_value is not None and not v >= min_value:
        raise ValueError(f"{name} must be >= {min_value}, got {v}")
    return v


def _param(p, name, shape, dtype):
    """Optional affine parameter of exactly `shape`, in the data dtype."""
    if p is None:
        return None
    a = V.float_array(p, name, dtype=dtype)
    if a.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {a.shape}")
    return a


def _stats(s, name, size):
    """Saved statistics from a forward: any float dtype, `size` values."""
    a = V.float_array(s, name)
    if a.size != size:
        raise ValueError(f"{name} must have {size} values, got shape {a.shape}")
    return np.ascontiguousarray(a.reshape(-1), dtype=np.float64)


def _running(r, name, C):
    if not isinstance(r, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray (it is updated in place), got {type(r).__name__}")
    if r.dtype not in V.FLOAT_DTYPES:
        raise TypeError(f"{name} must be a float32 or float64 array, got dtype {r.dtype}")
    if r.shape != (C,):
        raise ValueError(f"{name} must have shape ({C},) (one value per channel), got {r.shape}")
    if not r.flags.writeable:
        raise ValueError(f"{name} must be writeable (it is updated in place)")
    return r


def _nc_rest(a, name):
    if a.ndim < 2:
        raise ValueError(f"{name} must be (N, C), (N, C, L) or (N, C, H, W), got shape {a.shape}")
    N, C = a.shape[0], a.shape[1]
    return N, C, int(np.prod(a.shape[2:], dtype=np.int64))


def batch_norm(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5, *, out=None):
    """Batch normalization over axis 1 (torch.nn.functional.batch_norm).

    Returns (y, save_mean, save_invstd) with float64 (C,) statistics: the
    batch mean and 1/sqrt(biased var + eps) in training (or without running
    statistics), else the running mean and 1/sqrt(running_var + eps).
    gamma/beta may be None (affine=False). In training the running statistics
    (both given or both None) are updated in place:
    r = (1 - momentum) * r + momentum * stat, with the unbiased variance.
    """
    a = V.float_array(x, "x")
    N, C, HW = _nc_rest(a, "x")
    g = _param(gamma, "gamma", (C,), a.dtype)
    b = _param(beta, "beta", (C,), a.dtype)
    if (running_mean is None) != (running_var is None):
        raise ValueError("running_mean and running_var must both be given or both be None")
    rm = rv = None
    if running_mean is not None:
        rm = _running(running_mean, "running_mean", C)
        rv = _running(running_var, "running_var", C)
    momentum = _real(momentum, "momentum")
    eps = _real(eps, "eps", 0.0)
    M = N * HW
    y = V.output(out, a.shape, a.dtype)
    use_batch_stats = bool(training) or rm is None
    if use_batch_stats and M == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input of shape "
                         f"{a.shape}")
    mean = V.empty((C,), np.float64)
    invstd = V.empty((C,), np.float64)
    if not use_batch_stats:
        mean[...] = rm
        invstd[...] = 1.0 / np.sqrt(rv.astype(np.float64) + eps)
        scale = invstd * (1.0 if g is None else g.astype(np.float64))
        shift = (0.0 if b is None else b.astype(np.float64)) - mean * scale
        _norm.bn_forward_eval(a, y, np.ascontiguousarray(scale), np.ascontiguousarray(shift), N, C, HW)
        return y, mean, invstd
    if M == 0:
        mean.fill(np.nan)
        invstd.fill(np.nan)
        return y, mean, invstd
    var = V.empty((C,), np.float64)
    _norm.bn_forward_train(a, y, g, b, N, C, HW, eps, mean, invstd, var)
    if training and rm is not None:
        rm[...] = momentum * mean + (1.0 - momentum) * rm.astype(np.float64)
        rv[...] = momentum * (var * (M / (M - 1))) + (1.0 - momentum) * rv.astype(np.float64)
    return y, mean, invstd


def batch_norm_backward(grad_out, x, gamma, save_mean, save_invstd, training=True):
    """Gradients of batch_norm: (grad_x, grad_gamma, grad_beta).

    training=True differentiates through the batch statistics (save_mean and
    save_invstd from a training forward); training=False treats them as
    constants (eval mode: grad_x = grad_out * gamma * save_invstd).
    grad_gamma = sum(grad_out * xhat) and grad_beta = sum(grad_out) per
    channel are returned even when gamma is None, in x's dtype. One fused pass
    reads grad_out and x for both reductions, a second writes grad_x.
    """
    a = V.float_array(x, "x")
    gy = V.float_array(grad_out, "grad_out", dtype=a.dtype)
    V.same_shape("x", a, "grad_out", gy)
    N, C, HW = _nc_rest(a, "x")
    g = _param(gamma, "gamma", (C,), a.dtype)
    mean = _stats(save_mean, "save_mean", C)
    invstd = _stats(save_invstd, "save_invstd", C)
    dx = V.empty(a.shape, a.dtype)
    dg = V.empty((C,), np.float64)
    db = V.empty((C,), np.float64)
    _norm.bn_backward(gy, a, mean, invstd, g, dx, dg, db, N, C, HW, bool(training))
    return dx, dg.astype(a.dtype), db.astype(a.dtype)


def _normalized_shape(normalized_shape, a):
    if isinstance(normalized_shape, (int, np.integer)) and not isinstance(normalized_shape, bool):
        ns = (int(normalized_shape),)
    else:
        try:
            ns = tuple(int(v) for v in normalized_shape)
        except TypeError:
            raise TypeError(f"normalized_shape must be an int or a tuple of ints, "
                            f"got {normalized_shape!r}") from None
    k = len(ns)
    if k == 0 or k > a.ndim or a.shape[a.ndim - k:] != ns:
        raise ValueError(f"normalized_shape={ns} must be a non-empty suffix of x.shape={a.shape}")
    return ns


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5, *, out=None):
    """Layer normalization over the trailing normalized_shape axes (torch).

    Returns (y, mean, rstd); mean and rstd are float64 of shape
    x.shape[:-k] + (1,)*k (as torch.native_layer_norm), biased variance.
    """
    a = V.float_array(x, "x")
    ns = _normalized_shape(normalized_shape, a)
    w = _param(weight, "weight", ns, a.dtype)
    b = _param(bias, "bias", ns, a.dtype)
    eps = _real(eps, "eps", 0.0)
    D = int(np.prod(ns, dtype=np.int64))
    M = a.size // D if D else int(np.prod(a.shape[:a.ndim - len(ns)], dtype=np.int64))
    y = V.output(out, a.shape, a.dtype)
    sshape = a.shape[:a.ndim - len(ns)] + (1,) * len(ns)
    mean = V.empty(sshape, np.float64)
    rstd = V.empty(sshape, np.float64)
    if D == 0:
        mean.fill(np.nan)
        rstd.fill(np.nan)
        return y, mean, rstd
    _norm.ln_forward(a, y, w, b, M, D, eps, mean, rstd)
    return y, mean, rstd


def layer_norm_backward(grad_out, x, normalized_shape, mean, rstd, weight=None):
    """Gradients of layer_norm: (grad_x, grad_weight, grad_bias); grad_weight =
    sum over rows of grad_out * xhat and grad_bias = sum of grad_out (shape
    normalized_shape, x's dtype, returned even when weight is None)."""
    a = V.float_array(x, "x")
    gy = V.float_array(grad_out, "grad_out", dtype=a.dtype)
    V.same_shape("x", a, "grad_out", gy)
    ns = _normalized_shape(normalized_shape, a)
    w = _param(weight, "weight", ns, a.dtype)
    D = int(np.prod(ns, dtype=np.int64))
    M = int(np.prod(a.shape[:a.ndim - len(ns)], dtype=np.int64))
    mu = _stats(mean, "mean", M)
    rs = _stats(rstd, "rstd", M)
    dx = V.empty(a.shape, a.dtype)
    dw = V.empty((D,), np.float64)
    db = V.empty((D,), np.float64)
    _norm.ln_backward(gy, a, mu, rs, w, dx, dw, db, M, D)
    return dx, dw.astype(a.dtype).reshape(ns), db.astype(a.dtype).reshape(ns)


def _groups(num_groups, C):
    if isinstance(num_groups, bool) or not isinstance(num_groups, (int, np.integer)):
        raise TypeError(f"num_groups must be an int, got {num_groups!r}")
    G = int(num_groups)
    if G <= 0 or C % G != 0:
        raise ValueError(f"num_groups={G} must be positive and divide the number of channels C={C}")
    return G


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-5, *, out=None):
    """Group normalization (torch.nn.functional.group_norm): channels split in
    num_groups groups, each (sample, group) normalized over its channels and
    spatial positions (biased variance), then a per-channel affine.
    Returns (y, mean, rstd), float64 statistics of shape (N, num_groups)."""
    a = V.float_array(x, "x")
    N, C, HW = _nc_rest(a, "x")
    G = _groups(num_groups, C)
    w = _param(weight, "weight", (C,), a.dtype)
    b = _param(bias, "bias", (C,), a.dtype)
    eps = _real(eps, "eps", 0.0)
    y = V.output(out, a.shape, a.dtype)
    mean = V.empty((N, G), np.float64)
    rstd = V.empty((N, G), np.float64)
    if HW == 0:
        mean.fill(np.nan)
        rstd.fill(np.nan)
        return y, mean, rstd
    _norm.gn_forward(a, y, w, b, N, C, HW, G, eps, mean, rstd)
    return y, mean, rstd


def group_norm_backward(grad_out, x, num_groups, mean, rstd, weight=None):
    """Gradients of group_norm: (grad_x, grad_weight, grad_bias), the last two
    per channel in x's dtype (returned even when weight is None)."""
    a = V.float_array(x, "x")
    gy = V.float_array(grad_out, "grad_out", dtype=a.dtype)
    V.same_shape("x", a, "grad_out", gy)
    N, C, HW = _nc_rest(a, "x")
    G = _groups(num_groups, C)
    w = _param(weight, "weight", (C,), a.dtype)
    mu = _stats(mean, "mean", N * G)
    rs = _stats(rstd, "rstd", N * G)
    dx = V.empty(a.shape, a.dtype)
    dw = V.empty((C,), np.float64)
    db = V.empty((C,), np.float64)
    _norm.gn_backward(gy, a, mu, rs, w, dx, dw, db, N, C, HW, G)
    return dx, dw.astype(a.dtype), db.astype(a.dtype)
