# cython: language_level=3
"""Private bindings of the optimizer kernels (src/optim.h); fastprims.optim is
the public API on top.

Every function here updates arrays IN PLACE, so it cannot copy its way out of
a bad layout: each buffer must be a writeable, C-contiguous, native-byte-order
float32/float64 ndarray with the same dtype and size as the parameters, and
anything else raises (checked here, cheaply, on every call: a wrong buffer
must never reach C).
"""
import numpy as np
cimport numpy as cnp
from libc.stdint cimport int64_t

from fastprims._config cimport data, effective_threads, raise_for_status

cnp.import_array()

cdef extern from "optim.h" nogil:
    enum:
        FP_OPT_MAXIMIZE
        FP_OPT_NESTEROV
        FP_OPT_FIRST
        FP_OPT_DECOUPLED
        FP_OPT_CENTERED
        FP_NORM_P
        FP_NORM_INF
        FP_NORM_NEG_INF
    int fp_sgd_step_f32(float *p, const float *g, float *buf, int64_t n, double lr, double momentum,
                        double dampening, double weight_decay, int flags, int nt)
    int fp_sgd_step_f64(double *p, const double *g, double *buf, int64_t n, double lr, double momentum,
                        double dampening, double weight_decay, int flags, int nt)
    int fp_adagrad_step_f32(float *p, const float *g, float *s, int64_t n, double clr, double wd,
                            double eps, int flags, int nt)
    int fp_adagrad_step_f64(double *p, const double *g, double *s, int64_t n, double clr, double wd,
                            double eps, int flags, int nt)
    int fp_rmsprop_step_f32(float *p, const float *g, float *sq, float *ga, float *mb, int64_t n,
                            double lr, double alpha, double eps, double wd, double momentum, int flags,
                            int nt)
    int fp_rmsprop_step_f64(double *p, const double *g, double *sq, double *ga, double *mb, int64_t n,
                            double lr, double alpha, double eps, double wd, double momentum, int flags,
                            int nt)
    int fp_adam_step_f32(float *p, const float *g, float *m, float *v, float *vmax, int64_t n,
                         double lr, double beta1, double beta2, double eps, double wd, double step_size,
                         double bc2_sqrt, int flags, int nt)
    int fp_adam_step_f64(double *p, const double *g, double *m, double *v, double *vmax, int64_t n,
                         double lr, double beta1, double beta2, double eps, double wd, double step_size,
                         double bc2_sqrt, int flags, int nt)
    int fp_penalty_step_f32(const float *p, float *g, int64_t n, double l1, double l2, double *pen, int nt)
    int fp_penalty_step_f64(const double *p, double *g, int64_t n, double l1, double l2, double *pen, int nt)
    int fp_norm_reduce_f32(const float *x, int64_t n, int kind, double ord, double *res, int nt)
    int fp_norm_reduce_f64(const double *x, int64_t n, int kind, double ord, double *res, int nt)
    int fp_scale_inplace_f32(float *x, int64_t n, double s, int nt)
    int fp_scale_inplace_f64(double *x, int64_t n, double s, int nt)
    int fp_clamp_inplace_f32(float *x, int64_t n, double lo, double hi, int nt)
    int fp_clamp_inplace_f64(double *x, int64_t n, double lo, double hi, int nt)

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)


def check_buffer(a, str name, dtype=None, size=-1, bint writeable=True):
    """Raise unless `a` can be updated in place by a kernel (see module doc)."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(a).__name__}")
    cdef cnp.ndarray arr = <cnp.ndarray>a
    if arr.dtype != _F32 and arr.dtype != _F64:
        raise TypeError(f"{name} must be a float32 or float64 array, got dtype {arr.dtype}")
    if dtype is not None and arr.dtype != dtype:
        raise TypeError(f"{name} has dtype {arr.dtype} but the parameters are {np.dtype(dtype)}; "
                        f"mixed dtypes are not accepted (float32 or float64)")
    if not arr.dtype.isnative or not cnp.PyArray_IS_C_CONTIGUOUS(arr):
        raise ValueError(f"{name} must be a C-contiguous native-byte-order array (it is updated "
                         f"in place, so it cannot be copied); got strides {a.strides}")
    if writeable and not cnp.PyArray_ISWRITEABLE(arr):
        raise ValueError(f"{name} must be writeable (it is updated in place)")
    if size >= 0 and arr.size != size:
        raise ValueError(f"{name} must have {size} elements like the parameters, got shape {a.shape}")
    return arr


cdef inline void *_opt(object a):
    return NULL if a is None else data(a)


def sgd_step(p, g, buf, double lr, double momentum, double dampening, double weight_decay,
             bint nesterov, bint maximize, bint first):
    p = check_buffer(p, "param")
    g = check_buffer(g, "grad", p.dtype, p.size, writeable=False)
    if momentum != 0:
        buf = check_buffer(buf, "momentum_buffer", p.dtype, p.size)
    else:
        buf = None
    cdef int flags = (FP_OPT_NESTEROV if nesterov else 0) | (FP_OPT_MAXIMIZE if maximize else 0) \
        | (FP_OPT_FIRST if first else 0)
    cdef int64_t n = p.size
    cdef int nt = effective_threads()
    cdef void *pp = data(p)
    cdef void *pg = data(g)
    cdef void *pb = _opt(buf)
    cdef int st
    if p.dtype == _F32:
        with nogil:
            st = fp_sgd_step_f32(<float *>pp, <float *>pg, <float *>pb, n, lr, momentum, dampening,
                                 weight_decay, flags, nt)
    else:
        with nogil:
            st = fp_sgd_step_f64(<double *>pp, <double *>pg, <double *>pb, n, lr, momentum, dampening,
                                 weight_decay, flags, nt)
    raise_for_status(st, "sgd_step: invalid arguments")


def adagrad_step(p, g, state_sum, double clr, double weight_decay, double eps, bint maximize):
    p = check_buffer(p, "param")
    g = check_buffer(g, "grad", p.dtype, p.size, writeable=False)
    state_sum = check_buffer(state_sum, "sum", p.dtype, p.size)
    cdef int flags = FP_OPT_MAXIMIZE if maximize else 0
    cdef int64_t n = p.size
    cdef int nt = effective_threads()
    cdef void *pp = data(p)
    cdef void *pg = data(g)
    cdef void *ps = data(state_sum)
    cdef int st
    if p.dtype == _F32:
        with nogil:
            st = fp_adagrad_step_f32(<float *>pp, <float *>pg, <float *>ps, n, clr, weight_decay, eps, flags, nt)
    else:
        with nogil:
            st = fp_adagrad_step_f64(<double *>pp, <double *>pg, <double *>ps, n, clr, weight_decay, eps,
                                     flags, nt)
    raise_for_status(st, "adagrad_step: invalid arguments")


def rmsprop_step(p, g, square_avg, grad_avg, momentum_buffer, double lr, double alpha, double eps,
                 double weight_decay, double momentum, bint centered, bint maximize):
    p = check_buffer(p, "param")
    g = check_buffer(g, "grad", p.dtype, p.size, writeable=False)
    square_avg = check_buffer(square_avg, "square_avg", p.dtype, p.size)
    grad_avg = check_buffer(grad_avg, "grad_avg", p.dtype, p.size) if centered else None
    momentum_buffer = (check_buffer(momentum_buffer, "momentum_buffer", p.dtype, p.size)
                       if momentum > 0 else None)
    cdef int flags = (FP_OPT_CENTERED if centered else 0) | (FP_OPT_MAXIMIZE if maximize else 0)
    cdef int64_t n = p.size
    cdef int nt = effective_threads()
    cdef void *pp = data(p)
    cdef void *pg = data(g)
    cdef void *psq = data(square_avg)
    cdef void *pga = _opt(grad_avg)
    cdef void *pmb = _opt(momentum_buffer)
    cdef int st
    if p.dtype == _F32:
        with nogil:
            st = fp_rmsprop_step_f32(<float *>pp, <float *>pg, <float *>psq, <float *>pga, <float *>pmb, n,
                                     lr, alpha, eps, weight_decay, momentum, flags, nt)
    else:
        with nogil:
            st = fp_rmsprop_step_f64(<double *>pp, <double *>pg, <double *>psq, <double *>pga,
                                     <double *>pmb, n, lr, alpha, eps, weight_decay, momentum, flags, nt)
    raise_for_status(st, "rmsprop_step: invalid arguments")


def adam_step(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, double lr, double beta1, double beta2,
              double eps, double weight_decay, double step_size, double bias_correction2_sqrt,
              bint decoupled, bint maximize):
    p = check_buffer(p, "param")
    g = check_buffer(g, "grad", p.dtype, p.size, writeable=False)
    exp_avg = check_buffer(exp_avg, "exp_avg", p.dtype, p.size)
    exp_avg_sq = check_buffer(exp_avg_sq, "exp_avg_sq", p.dtype, p.size)
    if max_exp_avg_sq is not None:
        max_exp_avg_sq = check_buffer(max_exp_avg_sq, "max_exp_avg_sq", p.dtype, p.size)
    cdef int flags = (FP_OPT_DECOUPLED if decoupled else 0) | (FP_OPT_MAXIMIZE if maximize else 0)
    cdef int64_t n = p.size
    cdef int nt = effective_threads()
    cdef void *pp = data(p)
    cdef void *pg = data(g)
    cdef void *pm = data(exp_avg)
    cdef void *pv = data(exp_avg_sq)
    cdef void *pvm = _opt(max_exp_avg_sq)
    cdef int st
    if p.dtype == _F32:
        with nogil:
            st = fp_adam_step_f32(<float *>pp, <float *>pg, <float *>pm, <float *>pv, <float *>pvm, n, lr,
                                  beta1, beta2, eps, weight_decay, step_size, bias_correction2_sqrt, flags, nt)
    else:
        with nogil:
            st = fp_adam_step_f64(<double *>pp, <double *>pg, <double *>pm, <double *>pv, <double *>pvm, n,
                                  lr, beta1, beta2, eps, weight_decay, step_size, bias_correction2_sqrt,
                                  flags, nt)
    raise_for_status(st, "adam_step: invalid arguments")


def penalty_step(p, g, double l1, double l2):
    """l1 * sum|p| + l2/2 * sum p^2 of a contiguous float array `p`; adds
    l1 * sign(p) + l2 * p to `g` in place unless g is None."""
    p = check_buffer(p, "param", writeable=False)
    if g is not None:
        g = check_buffer(g, "grad", p.dtype, p.size)
    cdef int64_t n = p.size
    cdef int nt = effective_threads()
    cdef void *pp = data(p)
    cdef void *pg = _opt(g)
    cdef double pen = 0.0
    cdef int st
    if p.dtype == _F32:
        with nogil:
            st = fp_penalty_step_f32(<float *>pp, <float *>pg, n, l1, l2, &pen, nt)
    else:
        with nogil:
            st = fp_penalty_step_f64(<double *>pp, <double *>pg, n, l1, l2, &pen, nt)
    raise_for_status(st, "penalty: invalid arguments")
    return pen


def norm_reduce(x, double ord):
    """sum |x|^ord for finite ord > 0, max|x| for inf,
    min|x| for -inf; `x` a contiguous float array."""
    x = check_buffer(x, "grads", writeable=False)
    cdef int kind = FP_NORM_P
    if ord == np.inf:
        kind = FP_NORM_INF
    elif ord == -np.inf:
        kind = FP_NORM_NEG_INF
    cdef int64_t n = x.size
    cdef int nt = effective_threads()
    cdef void *px = data(x)
    cdef double res = 0.0
    cdef int st
    if x.dtype == _F32:
        with nogil:
            st = fp_norm_reduce_f32(<float *>px, n, kind, ord, &res, nt)
    else:
        with nogil:
            st = fp_norm_reduce_f64(<double *>px, n, kind, ord, &res, nt)
    raise_for_status(st, "norm: invalid arguments")
    return res


def scale_(x, double s):
    x = check_buffer(x, "grads")
    cdef int64_t n = x.size
    cdef int nt = effective_threads()
    cdef void *px = data(x)
    cdef int st
    if x.dtype == _F32:
        with nogil:
            st = fp_scale_inplace_f32(<float *>px, n, s, nt)
    else:
        with nogil:
            st = fp_scale_inplace_f64(<double *>px, n, s, nt)
    raise_for_status(st, "scale: invalid arguments")


def clamp_(x, double lo, double hi):
    x = check_buffer(x, "grads")
    cdef int64_t n = x.size
    cdef int nt = effective_threads()
    cdef void *px = data(x)
    cdef int st
    if x.dtype == _F32:
        with nogil:
            st = fp_clamp_inplace_f32(<float *>px, n, lo, hi, nt)
    else:
        with nogil:
            st = fp_clamp_inplace_f64(<double *>px, n, lo, hi, nt)
    raise_for_status(st, "clamp: invalid arguments")
