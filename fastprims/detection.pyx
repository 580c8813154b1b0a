# cython: language_level=3
"""Detection: box IoU/area/conversion, NMS, multi-class NMS, Soft-NMS.

Boxes are (N, 4) float32/float64 arrays of (x1, y1, x2, y2), no +1 pixel
convention; semantics follow torchvision.ops (nms, batched_nms, box_iou,
box_area, box_convert) and Bodla et al. 2017 / cv2.dnn.softNMSBoxes for
soft_nms. Everything is validated here (the C kernels assume finite boxes,
non-NaN scores and thresholds in range); the kernels run with the GIL
released. How the kernels avoid the O(N^2) pair tests is described in
src/detection_tmpl.h.
"""
import math
import operator

import numpy as np
cimport numpy as cnp
from libc.stdint cimport int64_t

from fastprims._config cimport data, effective_threads, raise_for_status
from fastprims import _validate as V

cnp.import_array()

__all__ = ["box_iou", "box_area", "box_convert", "nms", "batched_nms", "soft_nms"]

cdef extern from "detection.h" nogil:
    int fp_box_iou_f32(const float *b1, int64_t n, const float *b2, int64_t m, float *out, int nt)
    int fp_box_iou_f64(const double *b1, int64_t n, const double *b2, int64_t m, double *out, int nt)
    int fp_box_area_f32(const float *b, int64_t n, float *out, int nt)
    int fp_box_area_f64(const double *b, int64_t n, double *out, int nt)
    int fp_box_convert_f32(const float *b, int64_t n, int fi, int fo, float *out, int nt)
    int fp_box_convert_f64(const double *b, int64_t n, int fi, int fo, double *out, int nt)
    int fp_batched_nms_f32(const float *boxes, const float *scores, const int64_t *cls, int64_t n_classes,
                           int64_t n, int use_thr, double score_thr, double iou_thr, int64_t max_out,
                           int64_t *out, int64_t *n_out, int nt)
    int fp_batched_nms_f64(const double *boxes, const double *scores, const int64_t *cls, int64_t n_classes,
                           int64_t n, int use_thr, double score_thr, double iou_thr, int64_t max_out,
                           int64_t *out, int64_t *n_out, int nt)
    int fp_soft_nms_f32(const float *boxes, const float *scores, int64_t n, int method, double sigma,
                        double iou_thr, double score_thr, int64_t max_out, int64_t *out_index,
                        float *out_score, int64_t *n_out)
    int fp_soft_nms_f64(const double *boxes, const double *scores, int64_t n, int method, double sigma,
                        double iou_thr, double score_thr, int64_t max_out, int64_t *out_index,
                        double *out_score, int64_t *n_out)

_FORMATS = {"xyxy": 0, "xywh": 1, "cxcywh": 2}
_METHODS = {"linear": 1, "gaussian": 2}


# ---------------------------------------------------------------- validation

def _boxes(x, name, last_only=False):
    a = V.float_array(x, name)
    if last_only:
        if a.ndim < 1 or a.shape[a.ndim - 1] != 4:
            raise ValueError(f"{name} must have shape (..., 4), got shape {a.shape}")
    elif a.ndim != 2 or a.shape[1] != 4:
        raise ValueError(f"{name} must have shape (N, 4) as (x1, y1, x2, y2), got shape {a.shape}")
    return a


def _finite_boxes(b, name="boxes"):
    if not np.isfinite(b).all():
        bad = np.argwhere(~np.isfinite(b))[0]
        raise ValueError(f"{name} must be finite: {name}[{bad[0]}, {bad[1]}] = {b[bad[0], bad[1]]}")


def _scores(x, b, finite=False):
    s = V.float_array(x, "scores", dtype=b.dtype)
    if s.ndim != 1 or s.shape[0] != b.shape[0]:
        raise ValueError(f"scores must have shape ({b.shape[0]},) to match boxes.shape={b.shape}, "
                         f"got shape {s.shape}")
    bad = np.isnan(s) if not finite else ~np.isfinite(s)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"scores must be {'finite' if finite else 'free of NaN'}: scores[{i}] = {s[i]}")
    return s


def _real(x, name):
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__}")
    v = float(x)
    if math.isnan(v):
        raise ValueError(f"{name} must not be NaN")
    return v


def _iou_threshold(x, name="iou_threshold"):
    v = _real(x, name)
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {x}")
    return v


def _max_output(x):
    if x is None:
        return -1
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"max_output must be an int or None, got {type(x).__name__}")
    try:
        v = operator.index(x)
    except TypeError:
        raise TypeError(f"max_output must be an int or None, got {type(x).__name__}") from None
    if v < 0:
        raise ValueError(f"max_output must be >= 0, got {v}")
    return v


def _dense_classes(class_ids, n):
    """class_ids as dense int64 ids in [0, C) and C (ids keep their order)."""
    c = V.int_array(class_ids, "class_ids", ndim=1)
    if c.shape[0] != n:
        raise ValueError(f"class_ids must have shape ({n},) to match boxes, got shape {c.shape}")
    if n == 0:
        return c, 1
    lo, hi = int(c.min()), int(c.max())
    if hi - lo < 4 * n + 1024:      # counting range small enough: shift only
        return (c - lo if lo != 0 else c), hi - lo + 1
    uniq, inv = np.unique(c, return_inverse=True)
    return np.ascontiguousarray(inv, dtype=np.int64), int(uniq.shape[0])


# ---------------------------------------------------------------- box utilities

cdef object _per_box(object b, object o, int fi, int fo, str what):
    """Run the per-box kernel: area when fo < 0, else format conversion."""
    cdef int64_t n = b.size // 4
    cdef int nt = effective_threads()
    cdef void *pb = data(b)
    cdef void *po = data(o)
    cdef int st
    if b.dtype == np.float32:
        with nogil:
            if fo < 0:
                st = fp_box_area_f32(<float *>pb, n, <float *>po, nt)
            else:
                st = fp_box_convert_f32(<float *>pb, n, fi, fo, <float *>po, nt)
    else:
        with nogil:
            if fo < 0:
                st = fp_box_area_f64(<double *>pb, n, <double *>po, nt)
            else:
                st = fp_box_convert_f64(<double *>pb, n, fi, fo, <double *>po, nt)
    raise_for_status(st, what)
    return o


def box_area(boxes, *, out=None):
    """Area (x2 - x1) * (y2 - y1) of (..., 4) boxes; degenerate boxes (x2 < x1
    or y2 < y1) have area 0 (torchvision returns the negative product). NaN
    propagates."""
    b = _boxes(boxes, "boxes", last_only=True)
    return _per_box(b, V.output(out, b.shape[:b.ndim - 1], b.dtype), 0, -1, "box_area")


def box_convert(boxes, in_fmt, out_fmt, *, out=None):
    """Convert (..., 4) boxes between "xyxy", "xywh" (x1, y1, w, h) and
    "cxcywh" (center, w, h), with torchvision's arithmetic."""
    b = _boxes(boxes, "boxes", last_only=True)
    for name, f in (("in_fmt", in_fmt), ("out_fmt", out_fmt)):
        if f not in _FORMATS:
            raise ValueError(f"{name} must be one of 'xyxy', 'xywh', 'cxcywh', got {f!r}")
    return _per_box(b, V.output(out, b.shape, b.dtype), _FORMATS[in_fmt], _FORMATS[out_fmt], "box_convert")


def box_iou(boxes1, boxes2, *, out=None):
    """(N, M) IoU matrix of (N, 4) and (M, 4) boxes (torchvision.ops.box_iou).

    IoU of two zero-area boxes is 0 (torchvision: NaN); a NaN coordinate
    makes the IoUs of its box NaN. Rows run in parallel."""
    a = _boxes(boxes1, "boxes1")
    b = _boxes(boxes2, "boxes2")
    if b.dtype != a.dtype:
        raise TypeError(f"boxes2 has dtype {b.dtype} but boxes1 is {a.dtype}; mixed dtypes are not "
                        f"accepted (float32 or float64)")
    o = V.output(out, (a.shape[0], b.shape[0]), a.dtype)
    cdef int64_t n = a.shape[0], m = b.shape[0]
    cdef int nt = effective_threads()
    cdef void *pa = data(a)
    cdef void *pb = data(b)
    cdef void *po = data(o)
    cdef int st
    if a.dtype == np.float32:
        with nogil:
            st = fp_box_iou_f32(<float *>pa, n, <float *>pb, m, <float *>po, nt)
    else:
        with nogil:
            st = fp_box_iou_f64(<double *>pa, n, <double *>pb, m, <double *>po, nt)
    raise_for_status(st, "box_iou")
    return o


# ---------------------------------------------------------------- NMS

def _run_nms(b, s, cls, int64_t n_classes, iou_threshold, score_threshold, max_output):
    cdef double thr = _iou_threshold(iou_threshold)
    cdef int use_thr = score_threshold is not None
    cdef double sthr = _real(score_threshold, "score_threshold") if use_thr else 0.0
    cdef int64_t max_out = _max_output(max_output)
    cdef int64_t n = b.shape[0], n_out = 0
    out = V.empty((n,), np.int64)
    cdef int nt = effective_threads()
    cdef void *pb = data(b)
    cdef void *ps = data(s)
    cdef const int64_t *pc = <const int64_t *>data(cls) if cls is not None else NULL
    cdef int64_t *po = <int64_t *>data(out)
    cdef int st
    if b.dtype == np.float32:
        with nogil:
            st = fp_batched_nms_f32(<float *>pb, <float *>ps, pc, n_classes, n, use_thr, sthr, thr,
                                    max_out, po, &n_out, nt)
    else:
        with nogil:
            st = fp_batched_nms_f64(<double *>pb, <double *>ps, pc, n_classes, n, use_thr, sthr, thr,
                                    max_out, po, &n_out, nt)
    raise_for_status(st, "nms")
    return out if n_out == n else out[:n_out].copy()


def nms(boxes, scores, iou_threshold, score_threshold=None, max_output=None):
    """Greedy non-maximum suppression (torchvision.ops.nms semantics).

    Returns int64 indices of the kept boxes by descending score; equal scores
    keep index order. A box is suppressed by a kept box when their IoU is
    strictly greater than iou_threshold (in [0, 1]). score_threshold: if given,
    only boxes with score > score_threshold take part (cv2.dnn.NMSBoxes);
    max_output: keep at most this many (the highest-scoring). Boxes must be
    finite and scores free of NaN (ValueError); zero-area and degenerate boxes
    never suppress and are never suppressed."""
    b = _boxes(boxes, "boxes")
    s = _scores(scores, b)
    _finite_boxes(b)
    return _run_nms(b, s, None, 1, iou_threshold, score_threshold, max_output)


def batched_nms(boxes, scores, class_ids, iou_threshold, score_threshold=None, max_output=None):
    """Multi-class NMS (torchvision.ops.batched_nms): boxes of different
    classes never suppress each other.

    class_ids: int32/int64 per box (any values). The candidates are sorted by
    score once and partitioned by class (counting sort); each class runs its
    own NMS (classes in parallel), and the kept indices are merged by
    descending score, equal scores in index order. Other arguments as nms()."""
    b = _boxes(boxes, "boxes")
    s = _scores(scores, b)
    cls, n_classes = _dense_classes(class_ids, b.shape[0])
    _finite_boxes(b)
    return _run_nms(b, s, cls, n_classes, iou_threshold, score_threshold, max_output)


def soft_nms(boxes, scores, sigma=0.5, iou_threshold=0.3, score_threshold=0.001, method="gaussian",
             max_output=None):
    """Soft-NMS (Bodla et al. 2017; cv2.dnn.softNMSBoxes semantics).

    Repeatedly picks the box with the highest current score (equal scores:
    lower original index first), then rescales the score of every remaining
    box by w(IoU with the pick): "gaussian" w = exp(-IoU^2 / sigma), "linear"
    w = 1 - IoU when IoU > iou_threshold (else 1). Boxes whose score is below
    score_threshold are dropped (initially too). Returns (indices int64, the
    scores at pick time in the boxes' dtype), in pick order (non-increasing
    score). Boxes and scores must be finite; sigma > 0."""
    b = _boxes(boxes, "boxes")
    s = _scores(scores, b, finite=True)
    if method not in _METHODS:
        raise ValueError(f"method must be 'gaussian' or 'linear', got {method!r}")
    cdef double sg = _real(sigma, "sigma")
    if not (sg > 0 and math.isfinite(sg)):
        raise ValueError(f"sigma must be a finite number > 0, got {sigma}")
    cdef double thr = _iou_threshold(iou_threshold)
    cdef double sthr = _real(score_threshold, "score_threshold")
    cdef int64_t max_out = _max_output(max_output)
    _finite_boxes(b)
    cdef int meth = _METHODS[method]
    cdef int64_t n = b.shape[0], n_out = 0
    idx = V.empty((n,), np.int64)
    sc = V.empty((n,), b.dtype)
    cdef void *pb = data(b)
    cdef void *ps = data(s)
    cdef int64_t *pi = <int64_t *>data(idx)
    cdef void *psc = data(sc)
    cdef int st
    if b.dtype == np.float32:
        with nogil:
            st = fp_soft_nms_f32(<float *>pb, <float *>ps, n, meth, sg, thr, sthr, max_out, pi,
                                 <float *>psc, &n_out)
    else:
        with nogil:
            st = fp_soft_nms_f64(<double *>pb, <double *>ps, n, meth, sg, thr, sthr, max_out, pi,
                                 <double *>psc, &n_out)
    raise_for_status(st, "soft_nms")
    if n_out == n:
        return idx, sc
    return idx[:n_out].copy(), sc[:n_out].copy()
