# cython: language_level=3
"""Private bindings of the metrics kernels (src/metrics.h).

fastprims/metrics.py carries scikit-learn's argument semantics and calls these
with arrays it has already validated: C-contiguous native arrays of the dtypes
named in each docstring. Every kernel runs with the GIL released.
"""
import numpy as np
cimport numpy as cnp
from libc.stdint cimport int64_t, uint8_t, int8_t, int32_t

from fastprims._config cimport data, effective_threads, raise_for_status
from fastprims import _validate as V

cnp.import_array()

cdef extern from "metrics.h" nogil:
    enum:
        FP_CLF_AUC
        FP_CLF_AP
        FP_CLF_CURVE
        FP_CLF_ROC_DROP
        FP_ERR_NAN
    int fp_binary_clf_f32(const float *scores, int64_t stride, const uint8_t *is_pos, const double *weights,
                          int64_t n, int mode, double *result, double *tps, double *fps, double *thr, int nt)
    int fp_binary_clf_f64(const double *scores, int64_t stride, const uint8_t *is_pos, const double *weights,
                          int64_t n, int mode, double *result, double *tps, double *fps, double *thr, int nt)
    int fp_roc_curve_finalize_f64(double *fpr, double *tpr, double *thr, int64_t m, int drop, int64_t *m_out,
                                  int nt)
    int fp_pr_curve_finalize_f64(double *precision, double *recall, double *thr, int64_t m, int drop,
                                 int64_t *m_out, int nt)
    int fp_label_minmax_u8(const uint8_t *y, int64_t n, int64_t *mn, int64_t *mx, int nt)
    int fp_label_minmax_i8(const int8_t *y, int64_t n, int64_t *mn, int64_t *mx, int nt)
    int fp_label_minmax_i32(const int32_t *y, int64_t n, int64_t *mn, int64_t *mx, int nt)
    int fp_label_minmax_i64(const int64_t *y, int64_t n, int64_t *mn, int64_t *mx, int nt)
    int fp_label_mark_u8(const uint8_t *y, int64_t n, int64_t lo, int64_t r, uint8_t *present, int nt)
    int fp_label_mark_i8(const int8_t *y, int64_t n, int64_t lo, int64_t r, uint8_t *present, int nt)
    int fp_label_mark_i32(const int32_t *y, int64_t n, int64_t lo, int64_t r, uint8_t *present, int nt)
    int fp_label_mark_i64(const int64_t *y, int64_t n, int64_t lo, int64_t r, uint8_t *present, int nt)
    int fp_label_equal_u8(const uint8_t *y, int64_t n, int64_t value, uint8_t *out, int nt)
    int fp_label_equal_i8(const int8_t *y, int64_t n, int64_t value, uint8_t *out, int nt)
    int fp_label_equal_i32(const int32_t *y, int64_t n, int64_t value, uint8_t *out, int nt)
    int fp_label_equal_i64(const int64_t *y, int64_t n, int64_t value, uint8_t *out, int nt)
    int fp_confusion_matrix_u8(const uint8_t *yt, const uint8_t *yp, const double *w, int64_t n,
                               const int64_t *lut, int64_t lut_lo, int64_t lut_n, int64_t k,
                               int64_t *counts, double *wcounts, int nt)
    int fp_confusion_matrix_i8(const int8_t *yt, const int8_t *yp, const double *w, int64_t n,
                               const int64_t *lut, int64_t lut_lo, int64_t lut_n, int64_t k,
                               int64_t *counts, double *wcounts, int nt)
    int fp_confusion_matrix_i32(const int32_t *yt, const int32_t *yp, const double *w, int64_t n,
                                const int64_t *lut, int64_t lut_lo, int64_t lut_n, int64_t k,
                                int64_t *counts, double *wcounts, int nt)
    int fp_confusion_matrix_i64(const int64_t *yt, const int64_t *yp, const double *w, int64_t n,
                                const int64_t *lut, int64_t lut_lo, int64_t lut_n, int64_t k,
                                int64_t *counts, double *wcounts, int nt)
    int fp_accuracy_u8(const uint8_t *yt, const uint8_t *yp, const double *w, int64_t n, double *res, int nt)
    int fp_accuracy_i8(const int8_t *yt, const int8_t *yp, const double *w, int64_t n, double *res, int nt)
    int fp_accuracy_i32(const int32_t *yt, const int32_t *yp, const double *w, int64_t n, double *res, int nt)
    int fp_accuracy_i64(const int64_t *yt, const int64_t *yp, const double *w, int64_t n, double *res, int nt)

# Label arrays reach C as one of these dtypes (metrics.py converts the rest).
LABEL_DTYPES = (np.dtype(np.uint8), np.dtype(np.int8), np.dtype(np.int32), np.dtype(np.int64))
cdef int _label_kind(a) except -1:
    cdef str c = a.dtype.char
    if a.dtype == np.uint8:
        return 0
    if a.dtype == np.int8:
        return 1
    if a.dtype == np.int32:
        return 2
    if a.dtype == np.int64:
        return 3
    raise TypeError(f"internal: label dtype {a.dtype}")


cdef int _clf(scores, int64_t col, is_pos, weights, int mode, double *res, double *tps, double *fps,
              double *thr) except -1:
    """scores: (n,) or (n, K) float32/float64 C-contiguous; column `col`."""
    cdef int64_t n = scores.shape[0]
    cdef int64_t stride = 1 if scores.ndim == 1 else scores.shape[1]
    cdef const uint8_t *pp = <const uint8_t *>data(is_pos)
    cdef const double *pw = <const double *>data(weights) if weights is not None else NULL
    cdef int nt = effective_threads()
    cdef int st
    cdef char *ps = <char *>data(scores)
    if scores.dtype == np.float32:
        with nogil:
            st = fp_binary_clf_f32(<const float *>ps + col, stride, pp, pw, n, mode, res, tps, fps, thr, nt)
    else:
        with nogil:
            st = fp_binary_clf_f64(<const double *>ps + col, stride, pp, pw, n, mode, res, tps, fps, thr, nt)
    if st == FP_ERR_NAN:
        raise ValueError("y_score contains NaN or infinity; scores must be finite (as scikit-learn requires)")
    raise_for_status(st, "binary classification curve")
    return 0


def clf_score(scores, int64_t col, is_pos, weights, str what):
    """AUC ('auc') or AP ('ap') of one column; returns (value, tp_total, fp_total, n_thresholds)."""
    cdef double res[4]
    _clf(scores, col, is_pos, weights, FP_CLF_AUC if what == "auc" else FP_CLF_AP, res, NULL, NULL, NULL)
    return res[0], res[1], res[2], int(res[3])


def roc_curve_arrays(scores, int64_t col, is_pos, weights, bint drop):
    """(fpr, tpr, thresholds float64, tp_total, fp_total), scikit-learn's roc_curve layout."""
    cdef int64_t n = scores.shape[0]
    fpr = V.empty((n + 1,), np.float64)
    tpr = V.empty((n + 1,), np.float64)
    thr = V.empty((n + 1,), np.float64)
    cdef double res[4]
    cdef double *pf = <double *>data(fpr)
    cdef double *pt = <double *>data(tpr)
    cdef double *ph = <double *>data(thr)
    # drop_intermediate happens inside the walk (only kept points are written)
    _clf(scores, col, is_pos, weights, FP_CLF_ROC_DROP if drop else FP_CLF_CURVE, res, pt + 1, pf + 1, ph + 1)
    cdef int64_t m = <int64_t>res[3]
    cdef int64_t m_out = 0
    cdef int nt = effective_threads()
    with nogil:
        fp_roc_curve_finalize_f64(pf, pt, ph, m, 0, &m_out, nt)
    return _shrink(fpr, m_out), _shrink(tpr, m_out), _shrink(thr, m_out), res[1], res[2]


def pr_curve_arrays(scores, int64_t col, is_pos, weights, bint drop):
    """(precision, recall, thresholds float64, tp_total), scikit-learn's precision_recall_curve layout."""
    cdef int64_t n = scores.shape[0]
    prec = V.empty((n + 1,), np.float64)
    rec = V.empty((n + 1,), np.float64)
    thr = V.empty((max(n, 1),), np.float64)
    cdef double res[4]
    cdef double *pp = <double *>data(prec)
    cdef double *pr = <double *>data(rec)
    cdef double *ph = <double *>data(thr)
    _clf(scores, col, is_pos, weights, FP_CLF_CURVE, res, pr, pp, ph)
    cdef int64_t m = <int64_t>res[3]
    cdef int64_t m_out = 0
    cdef int nt = effective_threads()
    with nogil:
        fp_pr_curve_finalize_f64(pp, pr, ph, m, drop, &m_out, nt)
    return _shrink(prec, m_out + 1), _shrink(rec, m_out + 1), _shrink(thr, m_out), res[1]


cdef object _shrink(a, int64_t m):
    # The curves are allocated for the worst case (every score distinct);
    # shrinking a freshly allocated array that nothing else references is a
    # realloc, usually in place, instead of a copy.
    if a.shape[0] != m:
        try:
            a.resize((m,), refcheck=False)
        except ValueError:
            a = a[:m].copy()
    return a


def label_minmax(y):
    """(min, max) of a non-empty label array (uint8/int8/int32/int64)."""
    cdef int k = _label_kind(y)
    cdef int64_t n = y.shape[0]
    cdef int64_t mn = 0, mx = 0
    cdef void *p = data(y)
    cdef int nt = effective_threads()
    cdef int st
    with nogil:
        if k == 0:
            st = fp_label_minmax_u8(<const uint8_t *>p, n, &mn, &mx, nt)
        elif k == 1:
            st = fp_label_minmax_i8(<const int8_t *>p, n, &mn, &mx, nt)
        elif k == 2:
            st = fp_label_minmax_i32(<const int32_t *>p, n, &mn, &mx, nt)
        else:
            st = fp_label_minmax_i64(<const int64_t *>p, n, &mn, &mx, nt)
    raise_for_status(st, "labels must not be empty")
    return int(mn), int(mx)


def label_mark(y, int64_t lo, int64_t r):
    """uint8 mask of length r: which values lo .. lo + r - 1 occur in y."""
    cdef int k = _label_kind(y)
    cdef int64_t n = y.shape[0]
    present = V.empty((r,), np.uint8)
    cdef uint8_t *pm = <uint8_t *>data(present)
    cdef void *p = data(y)
    cdef int nt = effective_threads()
    cdef int st
    with nogil:
        if k == 0:
            st = fp_label_mark_u8(<const uint8_t *>p, n, lo, r, pm, nt)
        elif k == 1:
            st = fp_label_mark_i8(<const int8_t *>p, n, lo, r, pm, nt)
        elif k == 2:
            st = fp_label_mark_i32(<const int32_t *>p, n, lo, r, pm, nt)
        else:
            st = fp_label_mark_i64(<const int64_t *>p, n, lo, r, pm, nt)
    raise_for_status(st, "label_mark")
    return present


def label_equal(y, int64_t value):
    """uint8 array: y == value."""
    cdef int k = _label_kind(y)
    cdef int64_t n = y.shape[0]
    out = V.empty((n,), np.uint8)
    cdef uint8_t *po = <uint8_t *>data(out)
    cdef void *p = data(y)
    cdef int nt = effective_threads()
    with nogil:
        if k == 0:
            fp_label_equal_u8(<const uint8_t *>p, n, value, po, nt)
        elif k == 1:
            fp_label_equal_i8(<const int8_t *>p, n, value, po, nt)
        elif k == 2:
            fp_label_equal_i32(<const int32_t *>p, n, value, po, nt)
        else:
            fp_label_equal_i64(<const int64_t *>p, n, value, po, nt)
    return out


def confusion_counts(y_true, y_pred, weights, lut, int64_t lut_lo, int64_t k):
    """(k, k) int64 counts (weights None) or float64 weighted sums; lut int64."""
    cdef int kind = _label_kind(y_true)
    cdef int64_t n = y_true.shape[0]
    cdef int64_t lut_n = lut.shape[0]
    cm = V.empty((k, k), np.int64 if weights is None else np.float64)
    cdef int64_t *pc = <int64_t *>data(cm) if weights is None else NULL
    cdef double *pwc = <double *>data(cm) if weights is not None else NULL
    cdef const double *pw = <const double *>data(weights) if weights is not None else NULL
    cdef const int64_t *pl = <const int64_t *>data(lut)
    cdef void *a = data(y_true)
    cdef void *b = data(y_pred)
    cdef int nt = effective_threads()
    cdef int st
    with nogil:
        if kind == 0:
            st = fp_confusion_matrix_u8(<const uint8_t *>a, <const uint8_t *>b, pw, n, pl, lut_lo, lut_n, k, pc, pwc, nt)
        elif kind == 1:
            st = fp_confusion_matrix_i8(<const int8_t *>a, <const int8_t *>b, pw, n, pl, lut_lo, lut_n, k, pc, pwc, nt)
        elif kind == 2:
            st = fp_confusion_matrix_i32(<const int32_t *>a, <const int32_t *>b, pw, n, pl, lut_lo, lut_n, k, pc, pwc, nt)
        else:
            st = fp_confusion_matrix_i64(<const int64_t *>a, <const int64_t *>b, pw, n, pl, lut_lo, lut_n, k, pc, pwc, nt)
    raise_for_status(st, "confusion_matrix")
    return cm


def accuracy_sums(y_true, y_pred, weights):
    """(sum of weights where y_true == y_pred, sum of weights); counts when weights is None."""
    cdef int kind = _label_kind(y_true)
    cdef int64_t n = y_true.shape[0]
    cdef const double *pw = <const double *>data(weights) if weights is not None else NULL
    cdef void *a = data(y_true)
    cdef void *b = data(y_pred)
    cdef double res[2]
    cdef int nt = effective_threads()
    cdef int st
    with nogil:
        if kind == 0:
            st = fp_accuracy_u8(<const uint8_t *>a, <const uint8_t *>b, pw, n, res, nt)
        elif kind == 1:
            st = fp_accuracy_i8(<const int8_t *>a, <const int8_t *>b, pw, n, res, nt)
        elif kind == 2:
            st = fp_accuracy_i32(<const int32_t *>a, <const int32_t *>b, pw, n, res, nt)
        else:
            st = fp_accuracy_i64(<const int64_t *>a, <const int64_t *>b, pw, n, res, nt)
    raise_for_status(st, "accuracy")
    return res[0], res[1]
