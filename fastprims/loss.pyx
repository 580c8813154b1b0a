# cython: language_level=3
"""Losses and their gradients (torch.nn.functional / torchvision.ops semantics).

Every loss has three entry points sharing one kernel traversal:

- ``loss(...)`` returns the loss: a NumPy scalar of the input dtype for
  reduction "mean"/"sum", an array for "none";
- ``loss(..., return_grad=True)`` returns ``(loss, grad)`` from ONE pass over
  the data (the fused path), where ``grad`` is the gradient of the returned
  loss (of ``loss.sum()`` for reduction "none");
- ``loss_backward(grad_out, ...)`` returns the gradient w.r.t. the input given
  ``grad_out`` (a scalar for "mean"/"sum", an array of the loss's shape for
  "none"), as torch autograd would.

The C kernels fill whichever of {per-element loss, loss sum, gradient} the
argument block asks for (src/loss.h). Sums run in double over fixed chunks
combined in order, so results do not depend on the thread count.
"""
import math

import numpy as np
cimport numpy as cnp
from libc.stdint cimport int64_t
from libc.string cimport memset

from fastprims._config cimport data, effective_threads, raise_for_status
from fastprims import _validate as V

cnp.import_array()

__all__ = [
    "l1_loss", "l1_loss_backward", "mse_loss", "mse_loss_backward",
    "smooth_l1_loss", "smooth_l1_loss_backward", "huber_loss", "huber_loss_backward",
    "binary_cross_entropy_with_logits", "binary_cross_entropy_with_logits_backward",
    "sigmoid_focal_loss", "sigmoid_focal_loss_backward",
    "cross_entropy", "cross_entropy_backward", "nll_loss", "nll_loss_backward",
    "softmax_focal_loss", "softmax_focal_loss_backward",
    "ppo_clip_loss", "ppo_clip_loss_backward",
]

cdef extern from "loss.h" nogil:
    enum:
        FP_LOSS_L1
        FP_LOSS_MSE
        FP_LOSS_SMOOTH_L1
        FP_LOSS_HUBER
        FP_LOSS_BCE_LOGITS
        FP_LOSS_SIGMOID_FOCAL
        FP_LOSS_PPO_POLICY
        FP_LOSS_IDENTITY

    ctypedef struct fp_pointwise_loss_args:
        int kind
        int64_t n
        const void *x
        const void *y
        const void *z
        const void *w
        int64_t w_period
        const void *pw
        int64_t pw_period
        double p0
        double p1
        void *loss
        double *loss_sum
        void *grad
        const void *grad_out
        double grad_scale

    ctypedef struct fp_class_loss_args:
        int64_t N
        int64_t C
        int64_t S
        const void *x
        const int64_t *target
        const void *target_prob
        const void *weight
        int64_t ignore_index
        double label_smoothing
        int focal
        double gamma
        double alpha_scalar
        const void *alpha
        void *loss
        double *loss_sum
        void *grad
        const void *grad_out
        double grad_scale

    int fp_pointwise_loss_fused_f32(const fp_pointwise_loss_args *a, int count, int n_threads)
    int fp_pointwise_loss_fused_f64(const fp_pointwise_loss_args *a, int count, int n_threads)
    int fp_cross_entropy_fused_f32(const fp_class_loss_args *a, int n_threads)
    int fp_cross_entropy_fused_f64(const fp_class_loss_args *a, int n_threads)
    int fp_nll_loss_fused_f32(const fp_class_loss_args *a, int n_threads)
    int fp_nll_loss_fused_f64(const fp_class_loss_args *a, int n_threads)
    int fp_class_target_check_f32(const fp_class_loss_args *a, double *weight_sum, int64_t *count,
                                  int64_t *bad_value)
    int fp_class_target_check_f64(const fp_class_loss_args *a, double *weight_sum, int64_t *count,
                                  int64_t *bad_value)

# Weights/pos_weights broadcast by period; a period below this is tiled up to
# it so the kernel copies long runs, not a few elements at a time.
cdef int64_t _MIN_PERIOD = 512


cdef inline const void *_ptr(object a):
    return NULL if a is None else data(a)


def _farr(a, name, dtype=None, **kw):
    """V.float_array keeping 0-d inputs 0-d (np.ascontiguousarray makes them 1-d).
    Python sequences/scalars have no dtype of their own: they take `dtype`."""
    if dtype is not None and not isinstance(a, np.ndarray) and not isinstance(a, np.generic):
        a = np.asarray(a, dtype=dtype)
    r = V.float_array(a, name, dtype=dtype, **kw)
    return r.reshape(()) if r.ndim == 1 and np.ndim(a) == 0 else r


# ------------------------------------------------------------ shared checks

def _number(value, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    v = float(value)
    if math.isnan(v):
        raise ValueError(f"{name} must not be NaN")
    return v


def _index(value, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    v = int(value)
    if not -2**63 <= v < 2**63:
        raise ValueError(f"{name}={v} does not fit in int64")
    return v


def _check_out(out, reduction):
    if out is not None and reduction != "none":
        raise ValueError(f"out is only accepted with reduction='none', got reduction={reduction!r}")


def _scalar(total, reduction, count, dtype):
    """The reduced loss as a NumPy scalar of the input dtype (mean of nothing is nan, as torch)."""
    if reduction == "mean":
        total = total / count if count else math.nan
    return np.dtype(dtype).type(total)


def _grad_scale(grad_out, reduction, count, loss_shape, dtype):
    """(scale, per-element grad_out or None) of a backward call."""
    if grad_out is None:
        g = 1.0
        gy = None
    elif reduction == "none":
        gy = _farr(grad_out, "grad_out", dtype=dtype)
        if gy.shape != tuple(loss_shape):
            raise ValueError(f"grad_out must have the loss's shape {tuple(loss_shape)} with reduction='none', "
                             f"got shape {gy.shape}")
        return 1.0, gy
    else:
        ga = np.asarray(grad_out)
        if ga.ndim != 0:
            raise ValueError(f"grad_out must be a scalar with reduction={reduction!r}, got shape {ga.shape}")
        if ga.dtype.kind not in "fiu":
            raise TypeError(f"grad_out must be a real number, got dtype {ga.dtype}")
        g = float(ga)
        gy = None
    if reduction == "mean":
        g = g / count if count else math.nan
    return g, gy


def _periodic(arr, name, x):
    """arr broadcast against x as (flat array, period): element i of the
    broadcast is flat[i % period]. Shapes that are a suffix of x's shape
    (after leading 1s) need no copy; any other broadcast is materialized."""
    a = _farr(arr, name, dtype=x.dtype)
    try:
        shape = np.broadcast_shapes(a.shape, x.shape)
    except ValueError:
        shape = None
    if shape != x.shape:
        raise ValueError(f"{name} of shape {a.shape} cannot be broadcast to the input's shape {x.shape}")
    s = a.shape
    while s and s[0] == 1:
        s = s[1:]
    if s == x.shape[x.ndim - len(s):]:
        flat = a.reshape(-1)
    else:
        flat = np.ascontiguousarray(np.broadcast_to(a, x.shape)).reshape(-1)
    period = flat.size
    if 0 < period < _MIN_PERIOD and period < x.size:
        flat = np.tile(flat, -(-_MIN_PERIOD // period))
        period = flat.size
    return flat, max(period, 1)


# ------------------------------------------------------- elementwise kernel

cdef object _fill_pointwise(fp_pointwise_loss_args *a, double *total, int kind, x, y, z, str reduction,
                            double p0, double p1, w, int64_t w_period, pw, int64_t pw_period,
                            bint want_loss, bint want_grad, grad_out, out, double grad_mult):
    """Fill one argument block; returns the arrays it writes: (loss or None, grad or None)."""
    memset(a, 0, sizeof(a[0]))
    a.kind = kind
    a.n = x.size
    a.x = data(x)
    a.y = _ptr(y)
    a.z = _ptr(z)
    a.w = _ptr(w)
    a.w_period = w_period
    a.pw = _ptr(pw)
    a.pw_period = pw_period
    a.p0 = p0
    a.p1 = p1
    loss_arr = None
    grad = None
    if want_loss:
        if reduction == "none":
            loss_arr = V.output(out, x.shape, x.dtype)
            a.loss = data(loss_arr)
        else:
            a.loss_sum = total
    if want_grad:
        gs, gy = _grad_scale(grad_out, reduction, x.size, x.shape, x.dtype)
        grad = V.empty(x.shape, x.dtype)
        a.grad = data(grad)
        a.grad_out = _ptr(gy)
        a.grad_scale = gs * grad_mult
        # keep grad_out alive with the block: the caller holds the returned tuple
        return loss_arr, grad, gy
    return loss_arr, grad, None


cdef int _call_pointwise(fp_pointwise_loss_args *a, int count, bint f32, str what) except -1:
    cdef int st
    cdef int nt = effective_threads()
    if f32:
        with nogil:
            st = fp_pointwise_loss_fused_f32(a, count, nt)
    else:
        with nogil:
            st = fp_pointwise_loss_fused_f64(a, count, nt)
    return raise_for_status(st, what)


cdef object _run_pointwise(int kind, str what, x, y, z, str reduction, double p0, double p1,
                           w, int64_t w_period, pw, int64_t pw_period,
                           bint want_loss, bint want_grad, grad_out, out):
    """Run one elementwise kernel; returns (loss or None, grad or None)."""
    cdef fp_pointwise_loss_args a
    cdef double total = 0.0
    loss_arr, grad, keep = _fill_pointwise(&a, &total, kind, x, y, z, reduction, p0, p1, w, w_period,
                                           pw, pw_period, want_loss, want_grad, grad_out, out, 1.0)
    _call_pointwise(&a, 1, x.dtype == np.float32, what)
    if not want_loss:
        return None, grad
    loss = loss_arr if reduction == "none" else _scalar(total, reduction, x.size, x.dtype)
    return loss, grad


def _pair(input, target, reduction, out=None, input_name="input", target_name="target"):
    x = _farr(input, input_name)
    t = _farr(target, target_name, dtype=x.dtype)
    V.same_shape(input_name, x, target_name, t)
    reduction = V.reduction_arg(reduction)
    _check_out(out, reduction)
    return x, t, reduction


def _finish(loss, grad, return_grad):
    return (loss, grad) if return_grad else loss


def _regression_kind(kind, param):
    """(kind, parameter) after checking beta/delta as torch does."""
    if kind == FP_LOSS_SMOOTH_L1:
        beta = _number(param, "beta")
        if beta < 0:
            raise ValueError(f"beta must be >= 0 for smooth_l1_loss, got {beta}")
        return (FP_LOSS_L1, 0.0) if beta == 0 else (kind, beta)   # torch: beta == 0 is l1_loss
    if kind == FP_LOSS_HUBER:
        delta = _number(param, "delta")
        if not delta > 0:
            raise ValueError(f"delta must be > 0 for huber_loss, got {delta}")
        return kind, delta
    return kind, 0.0


def _regression(kind, what, input, target, reduction, param, return_grad, out):
    x, t, reduction = _pair(input, target, reduction, out)
    kind, p = _regression_kind(kind, param)
    loss, grad = _run_pointwise(kind, what, x, t, None, reduction, p, 0.0, None, 0, None, 0,
                                True, return_grad, None, out)
    return _finish(loss, grad, return_grad)


def _regression_backward(kind, what, grad_out, input, target, reduction, param):
    x, t, reduction = _pair(input, target, reduction)
    kind, p = _regression_kind(kind, param)
    if grad_out is None:
        raise TypeError("grad_out must be given (a scalar for 'mean'/'sum', an array for 'none')")
    return _run_pointwise(kind, what, x, t, None, reduction, p, 0.0, None, 0, None, 0,
                          False, True, grad_out, None)[1]


def l1_loss(input, target, reduction="mean", *, return_grad=False, out=None):
    """|input - target| reduced as torch.nn.functional.l1_loss (mean over all elements).

    input and target must have the same shape (no broadcasting). The gradient
    w.r.t. target is minus the gradient w.r.t. input."""
    return _regression(FP_LOSS_L1, "l1_loss", input, target, reduction, 0.0, return_grad, out)


def l1_loss_backward(grad_out, input, target, reduction="mean"):
    """d l1_loss / d input = sign(input - target) * grad_out (/ n for mean); sign(NaN) = 0 as torch."""
    return _regression_backward(FP_LOSS_L1, "l1_loss_backward", grad_out, input, target, reduction, 0.0)


def mse_loss(input, target, reduction="mean", *, return_grad=False, out=None):
    """(input - target)^2 reduced as torch.nn.functional.mse_loss."""
    return _regression(FP_LOSS_MSE, "mse_loss", input, target, reduction, 0.0, return_grad, out)


def mse_loss_backward(grad_out, input, target, reduction="mean"):
    """d mse_loss / d input = 2 (input - target) grad_out (/ n for mean)."""
    return _regression_backward(FP_LOSS_MSE, "mse_loss_backward", grad_out, input, target, reduction, 0.0)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0, *, return_grad=False, out=None):
    """torch smooth_l1_loss: 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (beta = 0: l1_loss)."""
    return _regression(FP_LOSS_SMOOTH_L1, "smooth_l1_loss", input, target, reduction, beta, return_grad, out)


def smooth_l1_loss_backward(grad_out, input, target, reduction="mean", beta=1.0):
    """Gradient of smooth_l1_loss w.r.t. input: clamp(d / beta, -1, 1) * grad_out."""
    return _regression_backward(FP_LOSS_SMOOTH_L1, "smooth_l1_loss_backward", grad_out, input, target,
                                reduction, beta)


def huber_loss(input, target, reduction="mean", delta=1.0, *, return_grad=False, out=None):
    """torch huber_loss: 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta); delta > 0."""
    return _regression(FP_LOSS_HUBER, "huber_loss", input, target, reduction, delta, return_grad, out)


def huber_loss_backward(grad_out, input, target, reduction="mean", delta=1.0):
    """Gradient of huber_loss w.r.t. input: clamp(d, -delta, delta) * grad_out."""
    return _regression_backward(FP_LOSS_HUBER, "huber_loss_backward", grad_out, input, target, reduction, delta)


# ------------------------------------------------------------------ logits

def _bce_setup(input, target, weight, pos_weight, reduction, out=None):
    x, t, reduction = _pair(input, target, reduction, out)
    w = pw = None
    wp = pwp = 0
    if weight is not None:
        w, wp = _periodic(weight, "weight", x)
    if pos_weight is not None:
        pw, pwp = _periodic(pos_weight, "pos_weight", x)
    return x, t, reduction, w, wp, pw, pwp


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction="mean", *,
                                     return_grad=False, out=None):
    """torch binary_cross_entropy_with_logits:
    (1 - t) x + (1 + (pos_weight - 1) t) (max(-x, 0) + log1p(exp(-|x|))), times weight.

    weight and pos_weight broadcast to input's shape (pos_weight (C,) applies
    along the last dim, as torch); mean is over all elements."""
    x, t, reduction, w, wp, pw, pwp = _bce_setup(input, target, weight, pos_weight, reduction, out)
    loss, grad = _run_pointwise(FP_LOSS_BCE_LOGITS, "binary_cross_entropy_with_logits", x, t, None, reduction,
                                0.0, 0.0, w, wp, pw, pwp, True, return_grad, None, out)
    return _finish(loss, grad, return_grad)


def binary_cross_entropy_with_logits_backward(grad_out, input, target, weight=None, pos_weight=None,
                                              reduction="mean"):
    """d/d input = ((pos_weight t + 1 - t) sigmoid(x) - pos_weight t) weight grad_out (/ n for mean)."""
    x, t, reduction, w, wp, pw, pwp = _bce_setup(input, target, weight, pos_weight, reduction)
    return _run_pointwise(FP_LOSS_BCE_LOGITS, "binary_cross_entropy_with_logits_backward", x, t, None,
                          reduction, 0.0, 0.0, w, wp, pw, pwp, False, True, grad_out, None)[1]


def _gamma(gamma):
    g = _number(gamma, "gamma")
    if not (g >= 0 and math.isfinite(g)):
        raise ValueError(f"gamma must be finite and >= 0, got {g}")
    return g


def _focal_params(alpha, gamma):
    a = _number(alpha, "alpha")
    if not math.isfinite(a):
        raise ValueError(f"alpha must be finite, got {a}")
    return a, _gamma(gamma)


def sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0, reduction="none", *, return_grad=False, out=None):
    """torchvision.ops.sigmoid_focal_loss: bce_with_logits(x, t) * (1 - p_t)^gamma * alpha_t with
    p = sigmoid(x), p_t = p t + (1 - p)(1 - t), alpha_t = alpha t + (1 - alpha)(1 - t)
    (no alpha_t when alpha < 0). Default reduction is "none", as torchvision."""
    x, t, reduction = _pair(inputs, targets, reduction, out, "inputs", "targets")
    a, g = _focal_params(alpha, gamma)
    loss, grad = _run_pointwise(FP_LOSS_SIGMOID_FOCAL, "sigmoid_focal_loss", x, t, None, reduction, a, g,
                                None, 0, None, 0, True, return_grad, None, out)
    return _finish(loss, grad, return_grad)


def sigmoid_focal_loss_backward(grad_out, inputs, targets, alpha=0.25, gamma=2.0, reduction="none"):
    """Gradient of sigmoid_focal_loss w.r.t. inputs."""
    x, t, reduction = _pair(inputs, targets, reduction, None, "inputs", "targets")
    a, g = _focal_params(alpha, gamma)
    return _run_pointwise(FP_LOSS_SIGMOID_FOCAL, "sigmoid_focal_loss_backward", x, t, None, reduction, a, g,
                          None, 0, None, 0, False, True, grad_out, None)[1]


# ------------------------------------------------------ class-axis losses

cdef enum _ClassOp:
    _CE = 0
    _NLL = 1
    _FOCAL = 2


cdef object _class_loss(int op, str what, input, target, weight, ignore_index, reduction,
                        double label_smoothing, alpha, double gamma,
                        bint want_loss, bint want_grad, grad_out, out):
    cdef fp_class_loss_args a
    cdef double total = 0.0, wsum = 0.0
    cdef int64_t count = 0, bad = 0
    cdef int st
    cdef int nt = effective_threads()
    cdef bint f32

    reduction = V.reduction_arg(reduction)
    _check_out(out, reduction)
    x = _farr(input, "input")
    in_shape = x.shape
    if x.ndim == 0:
        raise ValueError(f"input must have a class dimension: shape (C,), (N, C) or (N, C, d1, ...), "
                         f"got shape {x.shape}")
    unbatched = x.ndim == 1
    if unbatched:
        x = x.reshape(1, -1)
    N, C = x.shape[0], x.shape[1]
    S = math.prod(x.shape[2:])
    loss_shape = in_shape[1:] if unbatched else (in_shape[0],) + in_shape[2:]
    if C == 0:
        raise ValueError(f"input must have at least one class (its class dimension is 0), got shape {in_shape}")
    ig = _index(ignore_index, "ignore_index")

    tobj = target if isinstance(target, np.ndarray) else np.asarray(target)
    prob = tobj.dtype.kind == "f"
    t_idx = t_prob = None
    if prob:
        if op != _CE:
            raise TypeError(f"target must be an int32 or int64 array of class indices for {what}, "
                            f"got dtype {tobj.dtype}")
        t_prob = _farr(tobj, "target", dtype=x.dtype)
        if t_prob.shape != in_shape:
            raise ValueError(f"probability target must have the input's shape: input.shape={in_shape}, "
                             f"target.shape={t_prob.shape}")
    else:
        if tobj.dtype.kind not in "iu" or tobj.dtype.newbyteorder("=") not in V.INT_DTYPES:
            kinds = "int32/int64 class indices" + (" or float probabilities" if op == _CE else "")
            raise TypeError(f"target must be {kinds}, got dtype {tobj.dtype}")
        t_idx = V.int_array(tobj, "target").reshape(tobj.shape)
        if t_idx.shape != loss_shape:
            raise ValueError(f"target must have shape {loss_shape} for input of shape {in_shape} "
                             f"(class indices), got shape {t_idx.shape}")

    w = None
    if weight is not None:
        if op == _FOCAL:
            raise TypeError("softmax_focal_loss takes per-class weights as alpha, not weight")
        w = _farr(weight, "weight", ndim=1, dtype=x.dtype)
        if w.shape[0] != C:
            raise ValueError(f"weight must have one entry per class: shape ({C},), got shape {w.shape}")
    al = None
    alpha_s = 1.0
    if op == _FOCAL and alpha is not None:
        if isinstance(alpha, (int, float, np.integer, np.floating)) and not isinstance(alpha, (bool, np.bool_)):
            alpha_s = _number(alpha, "alpha")
        else:
            al = _farr(alpha, "alpha", ndim=1, dtype=x.dtype)
            if al.shape[0] != C:
                raise ValueError(f"alpha must be a scalar or have one entry per class: shape ({C},), "
                                 f"got shape {al.shape}")

    memset(&a, 0, sizeof(a))
    a.N = N
    a.C = C
    a.S = S
    a.x = data(x)
    a.target = <const int64_t *>_ptr(t_idx)
    a.target_prob = _ptr(t_prob)
    a.weight = _ptr(w)
    a.ignore_index = ig
    a.label_smoothing = label_smoothing
    a.focal = op == _FOCAL
    a.gamma = gamma
    a.alpha_scalar = alpha_s
    a.alpha = _ptr(al)
    f32 = x.dtype == np.float32

    if t_idx is not None:
        with nogil:
            if f32:
                st = fp_class_target_check_f32(&a, &wsum, &count, &bad)
            else:
                st = fp_class_target_check_f64(&a, &wsum, &count, &bad)
        if st != 0:
            raise ValueError(f"target contains class index {bad}, outside [0, {C}) "
                             f"(and not ignore_index={ig})")
        denom = count if op == _FOCAL else wsum   # torch: weighted mean for ce/nll
    else:
        denom = N * S                              # probability targets: mean over samples

    loss_arr = grad = None
    if want_loss:
        if reduction == "none":
            loss_arr = V.output(out, loss_shape, x.dtype)
            a.loss = data(loss_arr)
        else:
            a.loss_sum = &total
    if want_grad:
        gs, gy = _grad_scale(grad_out, reduction, denom, loss_shape, x.dtype)
        grad = V.empty(in_shape, x.dtype)
        a.grad = data(grad)
        a.grad_out = _ptr(gy)
        a.grad_scale = gs
    if op == _NLL:
        with nogil:
            if f32:
                st = fp_nll_loss_fused_f32(&a, nt)
            else:
                st = fp_nll_loss_fused_f64(&a, nt)
    else:
        with nogil:
            if f32:
                st = fp_cross_entropy_fused_f32(&a, nt)
            else:
                st = fp_cross_entropy_fused_f64(&a, nt)
    raise_for_status(st, what)
    if not want_loss:
        return None, grad
    if reduction == "none":
        loss = loss_arr
    elif reduction == "mean":
        loss = np.dtype(x.dtype).type(total / denom if denom else math.nan)
    else:
        loss = np.dtype(x.dtype).type(total)
    return loss, grad


def _smoothing(label_smoothing):
    e = _number(label_smoothing, "label_smoothing")
    if not 0.0 <= e <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0, got {e}")
    return e


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0, *,
                  return_grad=False, out=None):
    """torch.nn.functional.cross_entropy over class axis 1 of (C,), (N, C) or (N, C, d1, ...) logits.

    target: class indices (int32/int64, shape of input without axis 1) or
    class probabilities (float, input's shape). Mean reduction with class
    indices is the weighted mean sum(w[y] l) / sum(w[y]) over targets that are
    not ignore_index (nan when there are none); with probabilities it is the
    mean over samples. return_grad=True returns (loss, d loss / d input) from
    one pass that computes the softmax once."""
    eps = _smoothing(label_smoothing)
    loss, grad = _class_loss(_CE, "cross_entropy", input, target, weight, ignore_index, reduction, eps,
                             None, 0.0, True, return_grad, None, out)
    return _finish(loss, grad, return_grad)


def cross_entropy_backward(grad_out, input, target, weight=None, ignore_index=-100, reduction="mean",
                           label_smoothing=0.0):
    """Gradient of cross_entropy w.r.t. input (softmax(input) - smoothed one-hot, weighted, scaled)."""
    eps = _smoothing(label_smoothing)
    if grad_out is None:
        raise TypeError("grad_out must be given (a scalar for 'mean'/'sum', an array for 'none')")
    return _class_loss(_CE, "cross_entropy_backward", input, target, weight, ignore_index, reduction, eps,
                       None, 0.0, False, True, grad_out, None)[1]


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean", *, return_grad=False, out=None):
    """torch.nn.functional.nll_loss: -w[y] input[n, y, ...], weighted mean as cross_entropy."""
    loss, grad = _class_loss(_NLL, "nll_loss", input, target, weight, ignore_index, reduction, 0.0,
                             None, 0.0, True, return_grad, None, out)
    return _finish(loss, grad, return_grad)


def nll_loss_backward(grad_out, input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Gradient of nll_loss w.r.t. input: -w[y] grad_out at the target class, 0 elsewhere."""
    if grad_out is None:
        raise TypeError("grad_out must be given (a scalar for 'mean'/'sum', an array for 'none')")
    return _class_loss(_NLL, "nll_loss_backward", input, target, weight, ignore_index, reduction, 0.0,
                       None, 0.0, False, True, grad_out, None)[1]


def softmax_focal_loss(input, target, alpha=None, gamma=2.0, reduction="mean", ignore_index=-100, *,
                       return_grad=False, out=None):
    """Multi-class focal loss over the softmax of class axis 1:
    -alpha_t (1 - p_t)^gamma log p_t, p_t = softmax(input)[target].

    alpha: None (alpha_t = 1), a float (the same alpha_t for every class) or a
    per-class array (alpha_t = alpha[target]). Class-index targets only;
    targets equal to ignore_index contribute 0 and mean divides by the number
    of the others (nan when there are none). gamma = 0, alpha = None is
    cross_entropy."""
    g = _gamma(gamma)
    loss, grad = _class_loss(_FOCAL, "softmax_focal_loss", input, target, None, ignore_index, reduction, 0.0,
                             alpha, g, True, return_grad, None, out)
    return _finish(loss, grad, return_grad)


def softmax_focal_loss_backward(grad_out, input, target, alpha=None, gamma=2.0, reduction="mean",
                                ignore_index=-100):
    """Gradient of softmax_focal_loss w.r.t. input."""
    g = _gamma(gamma)
    if grad_out is None:
        raise TypeError("grad_out must be given (a scalar for 'mean'/'sum', an array for 'none')")
    return _class_loss(_FOCAL, "softmax_focal_loss_backward", input, target, None, ignore_index, reduction, 0.0,
                       alpha, g, False, True, grad_out, None)[1]


# --------------------------------------------------------------------- PPO

def _ppo_setup(new_logp, old_logp, advantages, values, returns, entropy, clip_eps, value_coef, entropy_coef):
    nl = _farr(new_logp, "new_logp")
    ol = _farr(old_logp, "old_logp", dtype=nl.dtype)
    adv = _farr(advantages, "advantages", dtype=nl.dtype)
    V.same_shape("new_logp", nl, "old_logp", ol)
    V.same_shape("new_logp", nl, "advantages", adv)
    val = _farr(values, "values", dtype=nl.dtype)
    ret = _farr(returns, "returns", dtype=nl.dtype)
    V.same_shape("values", val, "returns", ret)
    ent = _farr(entropy, "entropy", dtype=nl.dtype)
    eps = _number(clip_eps, "clip_eps")
    if not (0 <= eps < math.inf):
        raise ValueError(f"clip_eps must be finite and >= 0, got {eps}")
    vc = _number(value_coef, "value_coef")
    ec = _number(entropy_coef, "entropy_coef")
    return nl, ol, adv, val, ret, ent, eps, vc, ec


def _ppo(nl, ol, adv, val, ret, ent, eps, vc, ec, want_loss, want_grad, grad_out):
    """The three PPO terms as three argument blocks of one kernel call."""
    cdef fp_pointwise_loss_args a[3]
    cdef double totals[3]
    g = 1.0 if grad_out is None else _grad_scale(grad_out, "sum", 1, (), nl.dtype)[0]
    totals[0] = totals[1] = totals[2] = 0.0
    pol = _fill_pointwise(&a[0], &totals[0], FP_LOSS_PPO_POLICY, nl, ol, adv, "mean", eps, 0.0,
                          None, 0, None, 0, want_loss, want_grad, None, None, g)
    vlu = _fill_pointwise(&a[1], &totals[1], FP_LOSS_MSE, val, ret, None, "mean", 0.0, 0.0,
                          None, 0, None, 0, want_loss, want_grad, None, None, g * vc)
    ent_ = _fill_pointwise(&a[2], &totals[2], FP_LOSS_IDENTITY, ent, None, None, "mean", 0.0, 0.0,
                           None, 0, None, 0, want_loss, want_grad, None, None, -g * ec)
    _call_pointwise(a, 3, nl.dtype == np.float32, "ppo_clip_loss")
    losses = None
    if want_loss:
        pl, vl, el = (_scalar(totals[i], "mean", arr.size, nl.dtype) for i, arr in enumerate((nl, val, ent)))
        losses = (nl.dtype.type(float(pl) + vc * float(vl) - ec * float(el)), pl, vl, el)
    return losses, (pol[1], vlu[1], ent_[1])


def ppo_clip_loss(new_logp, old_logp, advantages, values, returns, entropy, clip_eps=0.2, value_coef=0.5,
                  entropy_coef=0.01, *, return_grad=False):
    """PPO clipped objective, returned as (total, policy_loss, value_loss, entropy_bonus):

        r = exp(new_logp - old_logp)
        policy_loss = -mean(min(r A, clip(r, 1 - clip_eps, 1 + clip_eps) A))
        value_loss = mean((values - returns)^2)        (no 0.5 factor: SB3's form)
        entropy_bonus = mean(entropy)
        total = policy_loss + value_coef value_loss - entropy_coef entropy_bonus

    CleanRL's 0.5 (values - returns)^2 is value_coef halved. new_logp,
    old_logp and advantages share a shape; values and returns share a shape;
    entropy may have any shape. With return_grad=True returns
    ((total, policy_loss, value_loss, entropy_bonus), (d total/d new_logp,
    d total/d values, d total/d entropy))."""
    args = _ppo_setup(new_logp, old_logp, advantages, values, returns, entropy, clip_eps, value_coef,
                      entropy_coef)
    losses, grads = _ppo(*args, True, return_grad, None)
    return (losses, grads) if return_grad else losses


def ppo_clip_loss_backward(grad_out, new_logp, old_logp, advantages, values, returns, entropy, clip_eps=0.2,
                           value_coef=0.5, entropy_coef=0.01):
    """Gradients of grad_out * total w.r.t. (new_logp, values, entropy), as torch autograd gives them
    (min() ties split, clamp passes its closed range: -r A / n where r A <= clip(r) A, else 0)."""
    if grad_out is None:
        raise TypeError("grad_out must be given (a scalar: the gradient of the total)")
    args = _ppo_setup(new_logp, old_logp, advantages, values, returns, entropy, clip_eps, value_coef,
                      entropy_coef)
    return _ppo(*args, False, True, grad_out)[1]
