# cython: language_level=3
"""Private bindings of the gather and augmentation kernels (src/data.h);
fastprims.data is the public API on top.

The augmentation kernels work in place on an NCHW batch, so the batch must be
a writeable C-contiguous native float32/float64 4-D array (checked here);
their per-sample parameters come validated and contiguous from data.py.
All calls release the GIL: the loader's background threads overlap with
the training step.
"""
import numpy as np
cimport numpy as cnp
from libc.stdint cimport int64_t, uint8_t

from fastprims._config cimport data, effective_threads, raise_for_status

cnp.import_array()

cdef extern from "data.h" nogil:
    int fp_gather_rows_u8(const uint8_t *src, int64_t n_src_rows, int64_t row_bytes, const int64_t *idx,
                          int64_t n, uint8_t *dst, int nt)
    int fp_hflip_inplace_f32(float *x, int64_t n, int64_t c, int64_t h, int64_t w, const uint8_t *mask, int nt)
    int fp_hflip_inplace_f64(double *x, int64_t n, int64_t c, int64_t h, int64_t w, const uint8_t *mask, int nt)
    int fp_translate_inplace_f32(float *x, int64_t n, int64_t c, int64_t h, int64_t w, const int64_t *shifts,
                                 int mode, int nt)
    int fp_translate_inplace_f64(double *x, int64_t n, int64_t c, int64_t h, int64_t w, const int64_t *shifts,
                                 int mode, int nt)
    int fp_crop_f32(const float *x, float *y, int64_t n, int64_t c, int64_t h, int64_t w, int64_t oh,
                    int64_t ow, const int64_t *offsets, int mode, int nt)
    int fp_crop_f64(const double *x, double *y, int64_t n, int64_t c, int64_t h, int64_t w, int64_t oh,
                    int64_t ow, const int64_t *offsets, int mode, int nt)
    int fp_affine_inplace_f32(float *x, int64_t n, int64_t c, int64_t h, int64_t w, const double *mats,
                              int mode, int nt)
    int fp_affine_inplace_f64(double *x, int64_t n, int64_t c, int64_t h, int64_t w, const double *mats,
                              int mode, int nt)
    int fp_channel_affine_f32(const float *x, float *y, int64_t n, int64_t c, int64_t inner, const double *a,
                              const double *b, int kind, int nt)
    int fp_channel_affine_f64(const double *x, double *y, int64_t n, int64_t c, int64_t inner,
                              const double *a, const double *b, int kind, int nt)

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static void fp_data_set_thread_omp(int n) { omp_set_num_threads(n); }
    #else
    static void fp_data_set_thread_omp(int n) { (void)n; }
    #endif
    """
    void fp_data_set_thread_omp(int n) noexcept nogil

_F32 = np.dtype(np.float32)


def set_thread_omp(int n):
    """OpenMP threads for kernels called from THIS thread only (the OpenMP
    nthreads ICV is per thread): the loader's worker threads run their
    kernels with one each, so batch-level threads do not oversubscribe."""
    if n >= 1:
        fp_data_set_thread_omp(n)


def check_batch(x, str name="x"):
    """`x` must be a writeable C-contiguous native float32/float64 NCHW array."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(x).__name__}")
    if x.dtype != np.float32 and x.dtype != np.float64:
        raise TypeError(f"{name} must be a float32 or float64 array, got dtype {x.dtype}")
    if x.ndim != 4:
        raise ValueError(f"{name} must be 4-dimensional (N, C, H, W), got shape {x.shape}")
    if not (x.flags.c_contiguous and x.flags.writeable and x.dtype.isnative):
        raise ValueError(f"{name} must be a writeable C-contiguous native-byte-order array")
    return x


def _param(a, dtype, shape, str name):
    a = np.ascontiguousarray(a, dtype=dtype)
    if a.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {a.shape}")
    return a


def gather_rows(src, idx, out):
    """out[i] = src[idx[i]] for C-contiguous arrays of one dtype (any dtype);
    ValueError naming the first bad index when one is out of range."""
    if not isinstance(src, np.ndarray) or not src.flags.c_contiguous:
        raise ValueError("src must be a C-contiguous numpy.ndarray")
    if not isinstance(out, np.ndarray) or not (out.flags.c_contiguous and out.flags.writeable):
        raise ValueError("out must be a writeable C-contiguous numpy.ndarray")
    idx = np.ascontiguousarray(idx, dtype=np.int64)
    if idx.ndim != 1:
        raise ValueError(f"indices must be 1-dimensional, got shape {idx.shape}")
    if src.ndim < 1 or out.dtype != src.dtype or out.shape != (idx.shape[0],) + src.shape[1:]:
        raise ValueError(f"out must have shape {(idx.shape[0],) + src.shape[1:]} and dtype {src.dtype}, "
                         f"got {out.shape} {out.dtype}")
    cdef int64_t n_src = src.shape[0]
    cdef int64_t row_bytes = src.itemsize * (src.size // n_src if n_src else 0)
    cdef int64_t n = idx.shape[0]
    cdef int nt = effective_threads()
    cdef const uint8_t *ps = <const uint8_t *>data(src)
    cdef const int64_t *pi = <const int64_t *>data(idx)
    cdef uint8_t *po = <uint8_t *>data(out)
    cdef int st
    with nogil:
        st = fp_gather_rows_u8(ps, n_src, row_bytes, pi, n, po, nt)
    if st == 4:
        bad = idx[(idx < 0) | (idx >= n_src)]
        raise ValueError(f"index {int(bad[0])} is out of range for {n_src} samples")
    raise_for_status(st, "gather_rows: invalid arguments")
    return out


def hflip_(x, mask):
    x = check_batch(x)
    m = _param(mask, np.uint8, (x.shape[0],), "mask")
    cdef int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3]
    cdef int nt = effective_threads()
    cdef void *px = data(x)
    cdef const uint8_t *pm = <const uint8_t *>data(m)
    cdef int st
    if x.dtype == _F32:
        with nogil:
            st = fp_hflip_inplace_f32(<float *>px, n, c, h, w, pm, nt)
    else:
        with nogil:
            st = fp_hflip_inplace_f64(<double *>px, n, c, h, w, pm, nt)
    raise_for_status(st, "hflip: invalid arguments")
    return x


def translate_(x, shifts, int mode):
    x = check_batch(x)
    s = _param(shifts, np.int64, (x.shape[0], 2), "shifts")
    cdef int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3]
    cdef int nt = effective_threads()
    cdef void *px = data(x)
    cdef const int64_t *ps = <const int64_t *>data(s)
    cdef int st
    if x.dtype == _F32:
        with nogil:
            st = fp_translate_inplace_f32(<float *>px, n, c, h, w, ps, mode, nt)
    else:
        with nogil:
            st = fp_translate_inplace_f64(<double *>px, n, c, h, w, ps, mode, nt)
    raise_for_status(st, "translate: invalid arguments")
    return x


def crop(x, y, offsets, int mode):
    """y[i] = the (y.shape[2], y.shape[3]) window of x[i] at offsets[i] = (top,
    left), padded outside the image; x, y C-contiguous NCHW of one dtype."""
    x = check_batch(x)
    y = check_batch(y, "out")
    if y.dtype != x.dtype or y.shape[:2] != x.shape[:2]:
        raise ValueError(f"out must have shape ({x.shape[0]}, {x.shape[1]}, H', W') and dtype {x.dtype}, "
                         f"got {y.shape} {y.dtype}")
    if x.shape[2] == 0 or x.shape[3] == 0:
        raise ValueError(f"x must have non-empty images, got shape {x.shape}")
    if np.may_share_memory(x, y):
        raise ValueError("out must not overlap x")
    o = _param(offsets, np.int64, (x.shape[0], 2), "offsets")
    cdef int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3]
    cdef int64_t oh = y.shape[2], ow = y.shape[3]
    cdef int nt = effective_threads()
    cdef void *px = data(x)
    cdef void *py = data(y)
    cdef const int64_t *po = <const int64_t *>data(o)
    cdef int st
    if x.dtype == _F32:
        with nogil:
            st = fp_crop_f32(<float *>px, <float *>py, n, c, h, w, oh, ow, po, mode, nt)
    else:
        with nogil:
            st = fp_crop_f64(<double *>px, <double *>py, n, c, h, w, oh, ow, po, mode, nt)
    raise_for_status(st, "crop: invalid arguments")
    return y


def affine_(x, matrices, int mode):
    x = check_batch(x)
    m = _param(matrices, np.float64, (x.shape[0], 6), "matrices")
    if not np.isfinite(m).all():
        raise ValueError("matrices must be finite")
    cdef int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3]
    cdef int nt = effective_threads()
    cdef void *px = data(x)
    cdef const double *pm = <const double *>data(m)
    cdef int st
    if x.dtype == _F32:
        with nogil:
            st = fp_affine_inplace_f32(<float *>px, n, c, h, w, pm, mode, nt)
    else:
        with nogil:
            st = fp_affine_inplace_f64(<double *>px, n, c, h, w, pm, mode, nt)
    raise_for_status(st, "affine: invalid arguments")
    return x


def channel_affine(x, y, a, b, int kind):
    """y = (x - a[c]) / b[c] (kind 0) or x * a[c] + b[c] (kind 1) over axis 1 of
    C-contiguous x, y of one float dtype and shape (y may be x)."""
    cdef int64_t n = x.shape[0] if x.ndim else 1
    cdef int64_t c = x.shape[1] if x.ndim > 1 else 1
    cdef int64_t inner = x.size // (n * c) if n * c else 0
    av = _param(a, np.float64, (c,), "mean")
    bv = _param(b, np.float64, (c,), "std")
    cdef int nt = effective_threads()
    cdef void *px = data(x)
    cdef void *py = data(y)
    cdef const double *pa = <const double *>data(av)
    cdef const double *pb = <const double *>data(bv)
    cdef int st
    if x.dtype == _F32:
        with nogil:
            st = fp_channel_affine_f32(<const float *>px, <float *>py, n, c, inner, pa, pb, kind, nt)
    else:
        with nogil:
            st = fp_channel_affine_f64(<const double *>px, <double *>py, n, c, inner, pa, pb, kind, nt)
    raise_for_status(st, "channel normalization: invalid arguments")
    return y
