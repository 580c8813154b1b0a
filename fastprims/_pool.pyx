# cython: language_level=3
"""Thin bindings of the pool kernels (src/pool.h) for fastprims.pool.

Arguments arrive validated and allocated by fastprims/pool.py (geometry,
shapes, dtypes, C-contiguity); this module only releases the GIL, calls the
kernel for the array's dtype and maps the status to an exception.
"""
import numpy as np
cimport numpy as cnp
from libc.stdint cimport int64_t

from fastprims._config cimport data, effective_threads, raise_for_status

cnp.import_array()

cdef extern from "pool.h" nogil:
    ctypedef struct fp_pool2d_geom:
        int64_t planes, H, W, OH, OW
        int64_t kh, kw, sh, sw, ph, pw, dh, dw
    int fp_max_pool2d_forward_f32(const float *x, float *y, int64_t *ind, const fp_pool2d_geom *g, int nt)
    int fp_max_pool2d_forward_f64(const double *x, double *y, int64_t *ind, const fp_pool2d_geom *g, int nt)
    int fp_max_pool2d_backward_f32(const float *gy, const int64_t *ind, float *gx, int64_t planes,
                                   int64_t in_plane, int64_t out_plane, int nt)
    int fp_max_pool2d_backward_f64(const double *gy, const int64_t *ind, double *gx, int64_t planes,
                                   int64_t in_plane, int64_t out_plane, int nt)
    int fp_avg_pool2d_forward_f32(const float *x, float *y, const fp_pool2d_geom *g, int cip,
                                  int64_t div, int nt)
    int fp_avg_pool2d_forward_f64(const double *x, double *y, const fp_pool2d_geom *g, int cip,
                                  int64_t div, int nt)
    int fp_avg_pool2d_backward_f32(const float *gy, float *gx, const fp_pool2d_geom *g, int cip,
                                   int64_t div, int nt)
    int fp_avg_pool2d_backward_f64(const double *gy, double *gx, const fp_pool2d_geom *g, int cip,
                                   int64_t div, int nt)
    int fp_adaptive_avg_pool2d_forward_f32(const float *x, float *y, int64_t planes, int64_t H, int64_t W,
                                           int64_t OH, int64_t OW, int nt)
    int fp_adaptive_avg_pool2d_forward_f64(const double *x, double *y, int64_t planes, int64_t H,
                                           int64_t W, int64_t OH, int64_t OW, int nt)
    int fp_adaptive_avg_pool2d_backward_f32(const float *gy, float *gx, int64_t planes, int64_t H,
                                            int64_t W, int64_t OH, int64_t OW, int nt)
    int fp_adaptive_avg_pool2d_backward_f64(const double *gy, double *gx, int64_t planes, int64_t H,
                                            int64_t W, int64_t OH, int64_t OW, int nt)



cdef fp_pool2d_geom _geom(tuple t):
    cdef fp_pool2d_geom g
    g.planes, g.H, g.W, g.OH, g.OW, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw = t
    return g


def max_forward(x, y, ind, tuple geom):
    cdef fp_pool2d_geom g = _geom(geom)
    cdef int nt = effective_threads()
    cdef void *px = data(x)
    cdef void *py = data(y)
    cdef int64_t *pi = NULL
    if ind is not None:
        pi = <int64_t *>data(ind)
    cdef int st
    if x.dtype == np.float32:
        with nogil:
            st = fp_max_pool2d_forward_f32(<float *>px, <float *>py, pi, &g, nt)
    else:
        with nogil:
            st = fp_max_pool2d_forward_f64(<double *>px, <double *>py, pi, &g, nt)
    raise_for_status(st, "max_pool2d")


def max_backward(gy, ind, gx, int64_t planes, int64_t in_plane, int64_t out_plane, str what):
    cdef int nt = effective_threads()
    cdef void *pg = data(gy)
    cdef int64_t *pi = <int64_t *>data(ind)
    cdef void *pgx = data(gx)
    cdef int st
    if gy.dtype == np.float32:
        with nogil:
            st = fp_max_pool2d_backward_f32(<float *>pg, pi, <float *>pgx, planes, in_plane, out_plane, nt)
    else:
        with nogil:
            st = fp_max_pool2d_backward_f64(<double *>pg, pi, <double *>pgx, planes, in_plane, out_plane, nt)
    raise_for_status(st, what)


def avg_forward(x, y, tuple geom, bint count_include_pad, int64_t divisor_override):
    cdef fp_pool2d_geom g = _geom(geom)
    cdef int nt = effective_threads()
    cdef void *px = data(x)
    cdef void *py = data(y)
    cdef int cip = count_include_pad
    cdef int st
    if x.dtype == np.float32:
        with nogil:
            st = fp_avg_pool2d_forward_f32(<float *>px, <float *>py, &g, cip, divisor_override, nt)
    else:
        with nogil:
            st = fp_avg_pool2d_forward_f64(<double *>px, <double *>py, &g, cip, divisor_override, nt)
    raise_for_status(st, "avg_pool2d")


def avg_backward(gy, gx, tuple geom, bint count_include_pad, int64_t divisor_override):
    cdef fp_pool2d_geom g = _geom(geom)
    cdef int nt = effective_threads()
    cdef void *pg = data(gy)
    cdef void *pgx = data(gx)
    cdef int cip = count_include_pad
    cdef int st
    if gy.dtype == np.float32:
        with nogil:
            st = fp_avg_pool2d_backward_f32(<float *>pg, <float *>pgx, &g, cip, divisor_override, nt)
    else:
        with nogil:
            st = fp_avg_pool2d_backward_f64(<double *>pg, <double *>pgx, &g, cip, divisor_override, nt)
    raise_for_status(st, "avg_pool2d_backward")


def adaptive_forward(x, y, int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW):
    cdef int nt = effective_threads()
    cdef void *px = data(x)
    cdef void *py = data(y)
    cdef int st
    if x.dtype == np.float32:
        with nogil:
            st = fp_adaptive_avg_pool2d_forward_f32(<float *>px, <float *>py, planes, H, W, OH, OW, nt)
    else:
        with nogil:
            st = fp_adaptive_avg_pool2d_forward_f64(<double *>px, <double *>py, planes, H, W, OH, OW, nt)
    raise_for_status(st, "adaptive_avg_pool2d")


def adaptive_backward(gy, gx, int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW):
    cdef int nt = effective_threads()
    cdef void *pg = data(gy)
    cdef void *pgx = data(gx)
    cdef int st
    if gy.dtype == np.float32:
        with nogil:
            st = fp_adaptive_avg_pool2d_backward_f32(<float *>pg, <float *>pgx, planes, H, W, OH, OW, nt)
    else:
        with nogil:
            st = fp_adaptive_avg_pool2d_backward_f64(<double *>pg, <double *>pgx, planes, H, W, OH, OW, nt)
    raise_for_status(st, "adaptive_avg_pool2d_backward")
