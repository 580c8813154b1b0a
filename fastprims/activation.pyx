# cython: language_level=3
"""Activations and their gradients (torch.nn.functional semantics).

Each public function validates in Python, allocates the output with NumPy,
then calls the fp_<op>_<pass>_<dtype> kernel with the GIL released.
"""
import numpy as np
cimport numpy as cnp
from libc.stdint cimport int64_t

from fastprims._config cimport data, effective_threads, raise_for_status
from fastprims import _validate as V

cnp.import_array()

__all__ = ["relu", "relu_backward"]

cdef extern from "activation.h" nogil:
    int fp_relu_forward_f32(const float *x, float *y, int64_t n, int n_threads)
    int fp_relu_forward_f64(const double *x, double *y, int64_t n, int n_threads)
    int fp_relu_backward_f32(const float *gy, const float *x, float *gx, int64_t n, int n_threads)
    int fp_relu_backward_f64(const double *gy, const double *x, double *gx, int64_t n, int n_threads)



def relu(x, *, out=None):
    """max(x, 0) elementwise; NaN stays NaN (as torch.relu)."""
    a = V.float_array(x, "x")
    y = V.output(out, a.shape, a.dtype)
    cdef int64_t n = a.size
    cdef int nt = effective_threads()
    cdef void *px = data(a)
    cdef void *py = data(y)
    cdef int st
    if a.dtype == np.float32:
        with nogil:
            st = fp_relu_forward_f32(<float *>px, <float *>py, n, nt)
    else:
        with nogil:
            st = fp_relu_forward_f64(<double *>px, <double *>py, n, nt)
    raise_for_status(st, "relu")
    return y


def relu_backward(grad_out, x):
    """Gradient of relu w.r.t. x: grad_out where x > 0, else 0."""
    a = V.float_array(x, "x")
    g = V.float_array(grad_out, "grad_out", dtype=a.dtype)
    V.same_shape("x", a, "grad_out", g)
    gx = V.empty(a.shape, a.dtype)
    cdef int64_t n = a.size
    cdef int nt = effective_threads()
    cdef void *pg = data(g)
    cdef void *px = data(a)
    cdef void *pgx = data(gx)
    cdef int st
    if a.dtype == np.float32:
        with nogil:
            st = fp_relu_backward_f32(<float *>pg, <float *>px, <float *>pgx, n, nt)
    else:
        with nogil:
            st = fp_relu_backward_f64(<double *>pg, <double *>px, <double *>pgx, n, nt)
    raise_for_status(st, "relu_backward")
    return gx
