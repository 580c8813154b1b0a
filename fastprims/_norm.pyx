# cython: language_level=3
"""Thin bindings of the normalization kernels (src/norm.h) for fastprims.norm.

Arguments arrive validated and allocated by fastprims/norm.py; optional
affine parameters are None. Statistics arrays are float64.
"""
import numpy as np
cimport numpy as cnp
from libc.stdint cimport int64_t

from fastprims._config cimport data, effective_threads, raise_for_status

cnp.import_array()

cdef extern from "norm.h" nogil:
    int fp_batch_norm_forward_train_f32(const float *x, float *y, const float *g, const float *b, int64_t N,
                                        int64_t C, int64_t HW, double eps, double *mean, double *invstd,
                                        double *var, int nt)
    int fp_batch_norm_forward_train_f64(const double *x, double *y, const double *g, const double *b,
                                        int64_t N, int64_t C, int64_t HW, double eps, double *mean,
                                        double *invstd, double *var, int nt)
    int fp_batch_norm_forward_eval_f32(const float *x, float *y, const double *scale, const double *shift,
                                       int64_t N, int64_t C, int64_t HW, int nt)
    int fp_batch_norm_forward_eval_f64(const double *x, double *y, const double *scale, const double *shift,
                                       int64_t N, int64_t C, int64_t HW, int nt)
    int fp_batch_norm_backward_f32(const float *dy, const float *x, const double *mean, const double *invstd,
                                   const float *g, float *dx, double *dg, double *db, int64_t N, int64_t C,
                                   int64_t HW, int training, int nt)
    int fp_batch_norm_backward_f64(const double *dy, const double *x, const double *mean,
                                   const double *invstd, const double *g, double *dx, double *dg, double *db,
                                   int64_t N, int64_t C, int64_t HW, int training, int nt)
    int fp_layer_norm_forward_f32(const float *x, float *y, const float *w, const float *b, int64_t M,
                                  int64_t D, double eps, double *mean, double *rstd, int nt)
    int fp_layer_norm_forward_f64(const double *x, double *y, const double *w, const double *b, int64_t M,
                                  int64_t D, double eps, double *mean, double *rstd, int nt)
    int fp_layer_norm_backward_f32(const float *dy, const float *x, const double *mean, const double *rstd,
                                   const float *w, float *dx, double *dw, double *db, int64_t M, int64_t D,
                                   int nt)
    int fp_layer_norm_backward_f64(const double *dy, const double *x, const double *mean, const double *rstd,
                                   const double *w, double *dx, double *dw, double *db, int64_t M, int64_t D,
                                   int nt)
    int fp_group_norm_forward_f32(const float *x, float *y, const float *w, const float *b, int64_t N,
                                  int64_t C, int64_t HW, int64_t G, double eps, double *mean, double *rstd,
                                  int nt)
    int fp_group_norm_forward_f64(const double *x, double *y, const double *w, const double *b, int64_t N,
                                  int64_t C, int64_t HW, int64_t G, double eps, double *mean, double *rstd,
                                  int nt)
    int fp_group_norm_backward_f32(const float *dy, const float *x, const double *mean, const double *rstd,
                                   const float *w, float *dx, double *dw, double *db, int64_t N, int64_t C,
                                   int64_t HW, int64_t G, int nt)
    int fp_group_norm_backward_f64(const double *dy, const double *x, const double *mean, const double *rstd,
                                   const double *w, double *dx, double *dw, double *db, int64_t N, int64_t C,
                                   int64_t HW, int64_t G, int nt)


cdef inline void *_opt(a):
    return NULL if a is None else data(a)


def bn_forward_train(x, y, gamma, beta, int64_t N, int64_t C, int64_t HW, double eps, mean, invstd, var):
    cdef int nt = effective_threads()
    cdef void *px = data(x)
    cdef void *py = data(y)
    cdef void *pg = _opt(gamma)
    cdef void *pb = _opt(beta)
    cdef double *pm = <double *>data(mean)
    cdef double *pi = <double *>data(invstd)
    cdef double *pv = <double *>data(var)
    cdef int st
    if x.dtype == np.float32:
        with nogil:
            st = fp_batch_norm_forward_train_f32(<float *>px, <float *>py, <float *>pg, <float *>pb, N, C, HW,
                                                 eps, pm, pi, pv, nt)
    else:
        with nogil:
            st = fp_batch_norm_forward_train_f64(<double *>px, <double *>py, <double *>pg, <double *>pb, N, C,
                                                 HW, eps, pm, pi, pv, nt)
    raise_for_status(st, "batch_norm")


def bn_forward_eval(x, y, scale, shift, int64_t N, int64_t C, int64_t HW):
    cdef int nt = effective_threads()
    cdef void *px = data(x)
    cdef void *py = data(y)
    cdef double *ps = <double *>data(scale)
    cdef double *pt = <double *>data(shift)
    cdef int st
    if x.dtype == np.float32:
        with nogil:
            st = fp_batch_norm_forward_eval_f32(<float *>px, <float *>py, ps, pt, N, C, HW, nt)
    else:
        with nogil:
            st = fp_batch_norm_forward_eval_f64(<double *>px, <double *>py, ps, pt, N, C, HW, nt)
    raise_for_status(st, "batch_norm")


def bn_backward(dy, x, mean, invstd, gamma, dx, dg, db, int64_t N, int64_t C, int64_t HW, bint training):
    cdef int nt = effective_threads()
    cdef void *pdy = data(dy)
    cdef void *px = data(x)
    cdef double *pm = <double *>data(mean)
    cdef double *pi = <double *>data(invstd)
    cdef void *pg = _opt(gamma)
    cdef void *pdx = data(dx)
    cdef double *pdg = <double *>data(dg)
    cdef double *pdb = <double *>data(db)
    cdef int tr = training
    cdef int st
    if x.dtype == np.float32:
        with nogil:
            st = fp_batch_norm_backward_f32(<float *>pdy, <float *>px, pm, pi, <float *>pg, <float *>pdx, pdg,
                                            pdb, N, C, HW, tr, nt)
    else:
        with nogil:
            st = fp_batch_norm_backward_f64(<double *>pdy, <double *>px, pm, pi, <double *>pg, <double *>pdx,
                                            pdg, pdb, N, C, HW, tr, nt)
    raise_for_status(st, "batch_norm_backward")


def ln_forward(x, y, w, b, int64_t M, int64_t D, double eps, mean, rstd):
    cdef int nt = effective_threads()
    cdef void *px = data(x)
    cdef void *py = data(y)
    cdef void *pw = _opt(w)
    cdef void *pb = _opt(b)
    cdef double *pm = <double *>data(mean)
    cdef double *pr = <double *>data(rstd)
    cdef int st
    if x.dtype == np.float32:
        with nogil:
            st = fp_layer_norm_forward_f32(<float *>px, <float *>py, <float *>pw, <float *>pb, M, D, eps, pm,
                                           pr, nt)
    else:
        with nogil:
            st = fp_layer_norm_forward_f64(<double *>px, <double *>py, <double *>pw, <double *>pb, M, D, eps,
                                           pm, pr, nt)
    raise_for_status(st, "layer_norm")


def ln_backward(dy, x, mean, rstd, w, dx, dw, db, int64_t M, int64_t D):
    cdef int nt = effective_threads()
    cdef void *pdy = data(dy)
    cdef void *px = data(x)
    cdef double *pm = <double *>data(mean)
    cdef double *pr = <double *>data(rstd)
    cdef void *pw = _opt(w)
    cdef void *pdx = data(dx)
    cdef double *pdw = <double *>data(dw)
    cdef double *pdb = <double *>data(db)
    cdef int st
    if x.dtype == np.float32:
        with nogil:
            st = fp_layer_norm_backward_f32(<float *>pdy, <float *>px, pm, pr, <float *>pw, <float *>pdx, pdw,
                                            pdb, M, D, nt)
    else:
        with nogil:
            st = fp_layer_norm_backward_f64(<double *>pdy, <double *>px, pm, pr, <double *>pw, <double *>pdx,
                                            pdw, pdb, M, D, nt)
    raise_for_status(st, "layer_norm_backward")


def gn_forward(x, y, w, b, int64_t N, int64_t C, int64_t HW, int64_t G, double eps, mean, rstd):
    cdef int nt = effective_threads()
    cdef void *px = data(x)
    cdef void *py = data(y)
    cdef void *pw = _opt(w)
    cdef void *pb = _opt(b)
    cdef double *pm = <double *>data(mean)
    cdef double *pr = <double *>data(rstd)
    cdef int st
    if x.dtype == np.float32:
        with nogil:
            st = fp_group_norm_forward_f32(<float *>px, <float *>py, <float *>pw, <float *>pb, N, C, HW, G, eps,
                                           pm, pr, nt)
    else:
        with nogil:
            st = fp_group_norm_forward_f64(<double *>px, <double *>py, <double *>pw, <double *>pb, N, C, HW, G,
                                           eps, pm, pr, nt)
    raise_for_status(st, "group_norm")


def gn_backward(dy, x, mean, rstd, w, dx, dw, db, int64_t N, int64_t C, int64_t HW, int64_t G):
    cdef int nt = effective_threads()
    cdef void *pdy = data(dy)
    cdef void *px = data(x)
    cdef double *pm = <double *>data(mean)
    cdef double *pr = <double *>data(rstd)
    cdef void *pw = _opt(w)
    cdef void *pdx = data(dx)
    cdef double *pdw = <double *>data(dw)
    cdef double *pdb = <double *>data(db)
    cdef int st
    if x.dtype == np.float32:
        with nogil:
            st = fp_group_norm_backward_f32(<float *>pdy, <float *>px, pm, pr, <float *>pw, <float *>pdx, pdw,
                                            pdb, N, C, HW, G, nt)
    else:
        with nogil:
            st = fp_group_norm_backward_f64(<double *>pdy, <double *>px, pm, pr, <double *>pw, <double *>pdx,
                                            pdw, pdb, N, C, HW, G, nt)
    raise_for_status(st, "group_norm_backward")
