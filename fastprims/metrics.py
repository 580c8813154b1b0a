"""Classification metrics with scikit-learn's semantics (matched: scikit-learn 1.9.1).

This module owns the argument semantics (label discovery, pos_label rules,
averaging, zero_division, warnings, error messages); the loops run in C
(fastprims._metrics over src/metrics.c):

- ROC/PR/AUC/AP: scores are mapped to order-preserving integer keys and radix
  sorted stably (descending score, ties in input order, as scikit-learn's
  stable argsort); one walk over the sorted run accumulates the weighted
  true/false positives in double in scikit-learn's order, so the curve
  points are bit-identical to scikit-learn's, and AUC/AP come out of the same
  walk without building the curve.
- confusion matrix / precision-recall-F / accuracy: label values are mapped
  through a small lookup table (labels spanning a range of up to 2**20
  values) and counted into private per-chunk bins combined in chunk order.

Labels are integer or bool arrays (scikit-learn also takes strings and
floats; fastprims does not), scores float32 or float64, computed natively.
Where scikit-learn warns, fastprims warns with the same text
(UndefinedMetricWarning below, or UserWarning where scikit-learn uses it).
"""
import numbers
import warnings

import numpy as np

from fastprims import _metrics as _m
from fastprims import _validate as V

__all__ = [
    "UndefinedMetricWarning",
    "accuracy",
    "average_precision",
    "confusion_matrix",
    "f1_score",
    "precision",
    "precision_recall_curve",
    "precision_recall_fscore",
    "recall",
    "roc_auc",
    "roc_curve",
]


class UndefinedMetricWarning(UserWarning):
    """A metric is ill-defined for the input (scikit-learn's warning of the same name)."""


# Label values spanning at most this many integers are handled by direct
# lookup tables; wider ranges fall back to sorting (np.unique/searchsorted).
_DENSE_RANGE = 1 << 20


# ----------------------------------------------------------------- inputs

def _labels(y, name):
    """`y` as a 1-D C-contiguous label array of a dtype the kernels take."""
    a = y if isinstance(y, np.ndarray) else np.asarray(y)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a.reshape(-1)
    if a.ndim != 1:
        raise ValueError(f"{name} must be a 1-dimensional array of labels, got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"Found empty input array ({name}) while a minimum of 1 sample is required.")
    if a.dtype.kind not in "biu":
        raise TypeError(f"{name} must be an integer or bool array of class labels, got dtype {a.dtype}")
    if a.dtype.kind == "b" or a.dtype == np.uint8:
        return np.ascontiguousarray(a).view(np.uint8)
    if a.dtype.newbyteorder("=") in (np.dtype(np.int8), np.dtype(np.int32), np.dtype(np.int64)):
        return np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("="))
    if a.dtype.kind == "u" and a.dtype.itemsize == 8 and a.size and int(a.max()) > np.iinfo(np.int64).max:
        raise ValueError(f"{name} has labels above 2**63 - 1, which are not supported")
    return np.ascontiguousarray(a, dtype=np.int64)


def _label_pair(y_true, y_pred):
    t = _labels(y_true, "y_true")
    p = _labels(y_pred, "y_pred")
    _same_length(("y_true", t), ("y_pred", p))
    if t.dtype != p.dtype:
        t = t.astype(np.int64)
        p = p.astype(np.int64)
    return t, p


def _same_length(*named):
    lengths = [int(a.shape[0]) for _, a in named if a is not None]
    if len(set(lengths)) > 1:
        names = ", ".join(n for n, a in named if a is not None)
        raise ValueError(f"Found input variables with inconsistent numbers of samples: {lengths} ({names})")


def _scores(y_score, name="y_score", ndim=(1,)):
    a = V.float_array(y_score, name)
    if a.ndim == 2 and a.shape[1] == 1 and 2 not in ndim:
        a = a.reshape(-1)  # a column vector, as scikit-learn's column_or_1d
    if a.ndim not in ndim:
        want = " or ".join(f"{d}-dimensional" for d in ndim)
        raise ValueError(f"{name} must be {want}, got shape {a.shape}")
    return a


def _weights(sample_weight, n, allow_all_zero=False):
    """(float64 weights or None, whether the given dtype was integral)."""
    if sample_weight is None:
        return None, True
    w = sample_weight if isinstance(sample_weight, np.ndarray) else np.asarray(sample_weight)
    if w.dtype.kind not in "biuf":
        raise TypeError(f"sample_weight must be a numeric array, got dtype {w.dtype}")
    if w.ndim != 1:
        raise ValueError(f"Sample weights must be 1D array or scalar, got {w.ndim}D array "
                         f"(sample_weight.shape={w.shape}).")
    if w.shape != (n,):
        raise ValueError(f"sample_weight.shape == {w.shape}, expected {(n,)}!")
    integral = w.dtype.kind in "biu"
    w = np.ascontiguousarray(w, dtype=np.float64)
    if not np.isfinite(w).all():
        raise ValueError("sample_weight contains NaN or infinity.")
    if not allow_all_zero:
        _check_not_all_zero(w)
    return w, integral


def _check_not_all_zero(w):
    if w is not None and not w.any():
        raise ValueError("Sample weights must contain at least one non-zero number.")


def _present(y):
    """Sorted distinct values of a label array (int64)."""
    lo, hi = _m.label_minmax(y)
    if hi - lo <= 1:  # both extremes occur: no need to look for others
        return np.arange(lo, hi + 1, dtype=np.int64)
    if hi - lo < _DENSE_RANGE:
        return lo + np.flatnonzero(_m.label_mark(y, lo, hi - lo + 1)).astype(np.int64)
    return np.unique(y).astype(np.int64)


def _present_union(a, b):
    lo_a, hi_a = _m.label_minmax(a)
    lo_b, hi_b = _m.label_minmax(b)
    lo, hi = min(lo_a, lo_b), max(hi_a, hi_b)
    if hi - lo <= 1:
        return np.arange(lo, hi + 1, dtype=np.int64)
    if hi - lo < _DENSE_RANGE:
        mark = _m.label_mark(a, lo, hi - lo + 1)
        mark |= _m.label_mark(b, lo, hi - lo + 1)
        return lo + np.flatnonzero(mark).astype(np.int64)
    return np.union1d(np.unique(a), np.unique(b)).astype(np.int64)


def _equal(y, value):
    """uint8 0/1 array of y == value (value any real number)."""
    v = float(value)
    if not v.is_integer() or not -2.0**63 <= v < 2.0**63:
        return np.zeros(y.shape[0], dtype=np.uint8)
    return _m.label_equal(y, int(v))


def _check_real(value, name, allow_bool=False):
    if (isinstance(value, (bool, np.bool_)) and not allow_bool) or not isinstance(value, (numbers.Real, np.bool_)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")


# --------------------------------------------------- confusion matrix family

def _counts(y_true, y_pred, weights, classes):
    """(K, K) confusion counts over `classes` (sorted or not; duplicates: last
    one wins, as scikit-learn's dict); samples with another label are ignored."""
    k = int(classes.shape[0])
    lo, hi = int(classes.min()), int(classes.max())
    if hi - lo < _DENSE_RANGE:
        lut = np.full(hi - lo + 1, -1, dtype=np.int64)
        lut[classes - lo] = np.arange(k, dtype=np.int64)
        return _m.confusion_counts(y_true, y_pred, weights, lut, lo, k)
    # Wide label ranges: map to indices by sorting (slow path, same result).
    order = np.argsort(classes, kind="stable")
    sorted_cls = classes[order]

    def index_of(y):
        pos = np.clip(np.searchsorted(sorted_cls, y, side="right") - 1, 0, k - 1)
        return np.where(sorted_cls[pos] == y, order[pos], -1).astype(np.int64)

    lut = np.arange(k, dtype=np.int64)
    return _m.confusion_counts(index_of(y_true), index_of(y_pred), weights, lut, 0, k)


def _counts_present(t, p, w):
    """(present labels of y_true and y_pred, confusion counts over them)."""
    lo_a, hi_a = _m.label_minmax(t)
    lo_b, hi_b = _m.label_minmax(p)
    lo, hi = min(lo_a, lo_b), max(hi_a, hi_b)
    if w is None and hi - lo < 1024:
        # Unweighted: count over the whole value range in one pass; a label
        # is present exactly when its row or column is non-zero.
        r = hi - lo + 1
        cm = _m.confusion_counts(t, p, None, np.arange(r, dtype=np.int64), lo, r)
        keep = np.flatnonzero(cm.sum(axis=0) + cm.sum(axis=1))
        if keep.shape[0] != r:
            cm = cm[np.ix_(keep, keep)]
        return lo + keep.astype(np.int64), cm
    classes = _present_union(t, p)
    return classes, _counts(t, p, w, classes)


def _as_label_values(labels):
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError(f"labels must be 1-dimensional, got shape {arr.shape}")
    if arr.size and arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
        arr = arr.astype(np.int64)
    if arr.size and arr.dtype.kind not in "biu":
        raise TypeError(f"labels must be integer class labels, got dtype {arr.dtype}")
    return arr.astype(np.int64)


def confusion_matrix(y_true, y_pred, num_classes=None, labels=None, sample_weight=None, normalize=None):
    """Confusion matrix C[i, j]: samples of true class i predicted as j (scikit-learn semantics).

    Classes are the sorted union of labels in y_true and y_pred, or `labels`
    (samples whose true or predicted label is not listed are ignored), or,
    fastprims' shortcut, ``num_classes=K``: classes 0..K-1, every label must be
    in that range (ValueError otherwise). int64 counts without weights or with
    integer weights, float64 with float weights. normalize: None, "true"
    (rows sum to 1), "pred" (columns), "all"; 0/0 gives 0.
    """
    t, p = _label_pair(y_true, y_pred)
    w, integral = _weights(sample_weight, t.shape[0])
    if normalize not in (None, "true", "pred", "all"):
        raise ValueError(f"normalize must be one of {{'true', 'pred', 'all', None}}, got {normalize!r}")
    if num_classes is not None and labels is not None:
        raise ValueError("pass either num_classes or labels, not both")
    if num_classes is not None:
        if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral):
            raise TypeError(f"num_classes must be an int, got {type(num_classes).__name__}")
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        for name, y in (("y_true", t), ("y_pred", p)):
            lo, hi = _m.label_minmax(y)
            if lo < 0 or hi >= num_classes:
                raise ValueError(f"{name} has labels outside [0, {num_classes}) (min {lo}, max {hi}) "
                                 f"with num_classes={num_classes}")
        classes = np.arange(int(num_classes), dtype=np.int64)
    elif labels is None:
        classes, cm = _counts_present(t, p, w)
    else:
        classes = _as_label_values(labels)
        if classes.size == 0:
            raise ValueError("'labels' should contain at least one label.")
        if not np.isin(classes, _present(t)).any():
            raise ValueError("At least one label specified must be in y_true")
    if num_classes is not None or labels is not None:
        cm = _counts(t, p, w, classes)
    if w is not None and integral:
        cm = np.rint(cm).astype(np.int64)
    if normalize is not None:
        with np.errstate(all="ignore"):
            if normalize == "true":
                cm = cm / cm.sum(axis=1, keepdims=True)
            elif normalize == "pred":
                cm = cm / cm.sum(axis=0, keepdims=True)
            else:
                cm = cm / cm.sum()
        cm = np.nan_to_num(cm)
    if cm.shape == (1, 1):
        warnings.warn("A single label was found in 'y_true' and 'y_pred'. For the confusion matrix to have "
                      "the correct shape, use the 'labels' parameter to pass all known labels.", UserWarning,
                      stacklevel=2)
    return cm


def accuracy(y_true, y_pred, sample_weight=None):
    """Fraction (weighted with sample_weight) of samples with y_pred == y_true."""
    t, p = _label_pair(y_true, y_pred)
    w, _ = _weights(sample_weight, t.shape[0])
    hits, total = _m.accuracy_sums(t, p, w)
    with np.errstate(all="ignore"):
        return float(np.float64(hits) / np.float64(total))


_AVERAGES = (None, "micro", "macro", "weighted", "binary")


def _zero_division_value(zero_division):
    if isinstance(zero_division, str) and zero_division == "warn":
        return 0.0
    if isinstance(zero_division, numbers.Real) and not isinstance(zero_division, (bool, np.bool_)):
        if zero_division in (0, 1):
            return float(zero_division)
        if np.isnan(zero_division):
            return np.nan
    raise ValueError(f"zero_division must be 'warn', 0, 1 or nan, got {zero_division!r}")


def _prf_divide(num, den, metric, modifier, average, warn_for, zero_division, zero_value):
    mask = den == 0
    den = np.asarray(den, dtype=np.float64).copy()
    den[mask] = 1
    result = np.asarray(num, dtype=np.float64) / den
    if not mask.any():
        return result
    result[mask] = zero_value
    if isinstance(zero_division, str) and metric in warn_for:
        axis0 = "sample" if average == "samples" else "label"
        if result.shape[0] == 1:
            msg = f"{metric.capitalize()} is ill-defined and being set to 0.0 due to no {modifier} samples."
        else:
            msg = (f"{metric.capitalize()} is ill-defined and being set to 0.0 in {axis0}s with no "
                   f"{modifier} samples.")
        msg += " Use `zero_division` parameter to control this behavior."
        warnings.warn(msg, UndefinedMetricWarning, stacklevel=4)
    return result


def _nanaverage(a, weights=None):
    if a.shape[0] == 0:
        return np.nan
    mask = np.isnan(a)
    if mask.all():
        return np.nan
    if weights is None:
        return np.nanmean(a)
    a, weights = a[~mask], np.asarray(weights, dtype=np.float64)[~mask]
    if weights.sum() == 0:
        return np.mean(a)
    return np.average(a, weights=weights)


def precision_recall_fscore(y_true, y_pred, average="binary", pos_label=1, beta=1.0, sample_weight=None,
                            zero_division="warn", labels=None, *, _warn_for=("precision", "recall", "f-score")):
    """(precision, recall, F-beta, support) with scikit-learn's precision_recall_fscore_support semantics.

    average: "binary" (only pos_label; y must have at most two labels),
    "micro", "macro", "weighted" (by support) or None (per-class arrays, then
    support is returned too; otherwise support is None). zero_division:
    "warn" (0 and a warning), 0, 1 or nan for 0/0. `labels` selects and
    orders the classes (default: sorted labels present in y_true or y_pred).
    """
    _zero_value = _zero_division_value(zero_division)
    if average not in _AVERAGES:
        raise ValueError(f"average has to be one of {_AVERAGES}, got {average!r}")
    _check_real(beta, "beta")
    if not beta >= 0:
        raise ValueError(f"beta must be >= 0, got {beta}")
    t, p = _label_pair(y_true, y_pred)
    w, _ = _weights(sample_weight, t.shape[0])
    present, cm_present = _counts_present(t, p, w)
    y_type = "binary" if present.shape[0] <= 2 else "multiclass"
    if average == "binary":
        if y_type != "binary":
            raise ValueError("Target is multiclass but average='binary'. Please choose another average "
                             "setting, one of [None, 'micro', 'macro', 'weighted'].")
        _check_real(pos_label, "pos_label", allow_bool=True)
        if pos_label not in present and present.shape[0] >= 2:
            raise ValueError(f"pos_label={pos_label} is not a valid label. It should be one of {present}")
        labels = [pos_label]
    elif pos_label not in (None, 1):
        warnings.warn(f"Note that pos_label (set to {pos_label!r}) is ignored when average != 'binary' (got "
                      f"{average!r}). You may use labels=[pos_label] to specify a single positive class.",
                      UserWarning, stacklevel=2)
    cm = None
    if labels is None:
        selected = present
        classes = present
        idx = np.arange(present.shape[0])
        cm = cm_present
    else:
        if average == "binary" and not float(pos_label).is_integer():
            selected = np.zeros(0, dtype=np.int64)  # a non-integer label is never present
        else:
            selected = _as_label_values(labels) if average != "binary" else np.array([int(pos_label)], np.int64)
        classes = np.concatenate([selected, np.setdiff1d(present, selected)])
        idx = np.arange(selected.shape[0])
    if classes.shape[0] == 0:
        tp_sum = pred_sum = true_sum = np.zeros(0, dtype=np.int64 if w is None else np.float64)
    else:
        if cm is None:
            if np.array_equal(classes, present):
                cm = cm_present
            elif np.array_equal(np.sort(classes), present):
                order = np.searchsorted(present, classes)
                cm = cm_present[np.ix_(order, order)]
            else:
                cm = _counts(t, p, w, classes)
        tp_sum = np.diagonal(cm)[idx]
        pred_sum = cm.sum(axis=0)[idx]
        true_sum = cm.sum(axis=1)[idx]
    if average == "binary" and selected.shape[0] == 0:
        tp_sum = pred_sum = true_sum = np.zeros(1, dtype=tp_sum.dtype)
    if average == "micro":
        tp_sum, pred_sum, true_sum = (np.array([s.sum()]) for s in (tp_sum, pred_sum, true_sum))
    beta2 = beta ** 2
    prec = _prf_divide(tp_sum, pred_sum, "precision", "predicted", average, _warn_for, zero_division, _zero_value)
    rec = _prf_divide(tp_sum, true_sum, "recall", "true", average, _warn_for, zero_division, _zero_value)
    if np.isposinf(beta):
        f = rec
    elif beta == 0:
        f = prec
    else:
        denom = beta2 * true_sum.astype(np.float64) + pred_sum.astype(np.float64)
        f = _prf_divide((1 + beta2) * tp_sum.astype(np.float64), denom, "f-score", "true nor predicted",
                        average, _warn_for, zero_division, _zero_value)
    if average is None:
        return prec, rec, f, true_sum
    weights = true_sum if average == "weighted" else None
    return (float(_nanaverage(prec, weights)), float(_nanaverage(rec, weights)),
            float(_nanaverage(f, weights)), None)


def precision(y_true, y_pred, average="binary", pos_label=1, sample_weight=None, zero_division="warn",
              labels=None):
    """Precision tp / (tp + fp) (scikit-learn's precision_score)."""
    return precision_recall_fscore(y_true, y_pred, average=average, pos_label=pos_label,
                                   sample_weight=sample_weight, zero_division=zero_division, labels=labels,
                                   _warn_for=("precision",))[0]


def recall(y_true, y_pred, average="binary", pos_label=1, sample_weight=None, zero_division="warn",
           labels=None):
    """Recall tp / (tp + fn) (scikit-learn's recall_score)."""
    return precision_recall_fscore(y_true, y_pred, average=average, pos_label=pos_label,
                                   sample_weight=sample_weight, zero_division=zero_division, labels=labels,
                                   _warn_for=("recall",))[1]


def f1_score(y_true, y_pred, average="binary", pos_label=1, sample_weight=None, zero_division="warn",
             labels=None):
    """F1 = 2 tp / (2 tp + fp + fn) (scikit-learn's f1_score)."""
    return precision_recall_fscore(y_true, y_pred, average=average, pos_label=pos_label, beta=1.0,
                                   sample_weight=sample_weight, zero_division=zero_division, labels=labels,
                                   _warn_for=("f-score",))[2]


# ------------------------------------------------------------ ranking family

def _binary_positive(y_true, pos_label, present):
    """uint8 0/1 array of y_true == pos_label, with scikit-learn's pos_label checks
    (confusion_matrix_at_thresholds / _check_pos_label_consistency)."""
    if present.shape[0] > 2 and pos_label is None:
        raise ValueError("multiclass format is not supported")
    if pos_label is None:
        vals = present.tolist()
        if vals not in ([0, 1], [-1, 1], [0], [-1], [1]):
            shown = ", ".join(repr(v) for v in vals)
            raise ValueError(f"y_true takes value in {{{shown}}} and pos_label is not specified: either make "
                             f"y_true take value in {{0, 1}} or {{-1, 1}} or pass pos_label explicitly.")
        pos_label = 1
    else:
        _check_real(pos_label, "pos_label", allow_bool=True)
    return _equal(y_true, pos_label)


def _binary_inputs(y_true, y_score, sample_weight):
    t = _labels(y_true, "y_true")
    s = _scores(y_score)
    _same_length(("y_true", t), ("y_score", s))
    w, _ = _weights(sample_weight, t.shape[0])
    return t, s, w


def _warn_roc_undefined(tp_total, fp_total):
    """roc_curve's warnings when a class has no (positive-weight) samples."""
    if fp_total <= 0:
        warnings.warn("No negative samples in y_true, false positive value should be meaningless",
                      UndefinedMetricWarning, stacklevel=4)
    if tp_total <= 0:
        warnings.warn("No positive samples in y_true, true positive value should be meaningless",
                      UndefinedMetricWarning, stacklevel=4)


def _roc(s, col, pos, w, drop_intermediate):
    fpr, tpr, thr, tp_total, fp_total = _m.roc_curve_arrays(s, col, pos, w, bool(drop_intermediate))
    _warn_roc_undefined(tp_total, fp_total)
    return fpr, tpr, thr


def roc_curve(y_true, y_score, pos_label=None, sample_weight=None, drop_intermediate=True):
    """Receiver operating characteristic (fpr, tpr, thresholds), as scikit-learn's roc_curve.

    thresholds are float64, decreasing, the first one +inf (the (0, 0)
    point); drop_intermediate drops collinear points exactly as scikit-learn.
    Zero-weight samples are ignored. Scores must be finite.
    """
    t, s, w = _binary_inputs(y_true, y_score, sample_weight)
    pos = _binary_positive(t, pos_label, _present(t))
    return _roc(s, 0, pos, w, drop_intermediate)


def precision_recall_curve(y_true, y_score, pos_label=None, sample_weight=None, drop_intermediate=False):
    """(precision, recall, thresholds) as scikit-learn's precision_recall_curve.

    thresholds increase and have y_score's dtype; precision/recall have one
    more entry, the final (1, 0) point.
    """
    t, s, w = _binary_inputs(y_true, y_score, sample_weight)
    pos = _binary_positive(t, pos_label, _present(t))
    prec, rec, thr, tp_total = _m.pr_curve_arrays(s, 0, pos, w, bool(drop_intermediate))
    if tp_total == 0:
        warnings.warn("No positive class found in y_true, recall is set to one for all thresholds.",
                      UserWarning, stacklevel=2)
    return prec, rec, thr.astype(s.dtype, copy=False)


def _auc_trapezoid(x, y):
    """scikit-learn's auc(x, y) (monotonicity check included)."""
    if x.shape[0] < 2:
        raise ValueError(f"At least 2 points are needed to compute area under curve, but x.shape = {x.shape[0]}")
    direction = 1
    dx = np.diff(x)
    if np.any(dx < 0):
        if np.all(dx <= 0):
            direction = -1
        else:
            raise ValueError(f"x is neither increasing nor decreasing : {x}.")
    return float(direction * np.trapezoid(y, x))


def _binary_roc_auc(s, col, pos, w, max_fpr, n_present):
    """scikit-learn's _binary_roc_auc_score on one column."""
    if n_present != 2:
        warnings.warn("Only one class is present in y_true. ROC AUC score is not defined in that case.",
                      UndefinedMetricWarning, stacklevel=3)
        return np.nan
    _check_not_all_zero(w)
    if (max_fpr is None or max_fpr == 1) and (w is None or not (w < 0).any()):
        value, tp_total, fp_total, _ = _m.clf_score(s, col, pos, w, "auc")
        _warn_roc_undefined(tp_total, fp_total)
        if fp_total <= 0 or tp_total <= 0:
            return np.nan
        return float(value)
    # Partial AUC, or negative weights (the curve may then be non-monotonic,
    # which scikit-learn's auc rejects): through the curve, as scikit-learn.
    fpr, tpr, _ = _roc(s, col, pos, w, True)
    if max_fpr is None or max_fpr == 1:
        return _auc_trapezoid(fpr, tpr)
    stop = np.searchsorted(fpr, max_fpr, "right")
    x_interp = [fpr[stop - 1], fpr[stop]]
    y_interp = [tpr[stop - 1], tpr[stop]]
    tpr = np.append(tpr[:stop], np.interp(max_fpr, x_interp, y_interp))
    fpr = np.append(fpr[:stop], max_fpr)
    partial_auc = _auc_trapezoid(fpr, tpr)
    min_area = 0.5 * max_fpr ** 2
    max_area = max_fpr
    return 0.5 * (1 + (partial_auc - min_area) / (max_area - min_area))


def _check_average(average, options):
    if average not in options:
        raise ValueError(f"average has to be one of {options}, got {average!r}")


def _one_vs_rest(metric, t, classes, s, w, average):
    """scikit-learn's _average_binary_score over the one-vs-rest indicator of `classes`.

    metric(scores, col, is_pos, weights) -> float."""
    k = classes.shape[0]
    if average == "micro":
        pos = np.equal(t[:, None], classes[None, :]).reshape(-1).view(np.uint8)
        flat = s.reshape(-1)
        ww = None if w is None else np.repeat(w, k)
        return metric(flat, 0, pos, ww)
    counts = _counts(t, t, w, classes)  # diagonal = (weighted) support of each class
    support = np.diagonal(counts).astype(np.float64)
    if average == "weighted" and np.isclose(support.sum(), 0):
        return 0
    scores = np.zeros(k)
    for c in range(k):
        pos = _equal(t, classes[c])
        scores[c] = metric(s, c, pos, w)
    if average is None:
        return scores
    if average == "weighted":
        scores[support == 0] = 0
        return float(np.average(scores, weights=support))
    return float(np.mean(scores))


def roc_auc(y_true, y_score, average="macro", multi_class="raise", sample_weight=None, max_fpr=None):
    """Area under the ROC curve, as scikit-learn's roc_auc_score.

    Binary: y_score (n,) scores of the greater label. Multi-class: y_score
    (n, K) probabilities (rows sum to 1) for the K sorted classes of y_true,
    multi_class="ovr" (one-vs-rest) averaged "macro", "weighted" (by
    support), "micro" or None (per class). max_fpr gives the McClish-corrected
    partial AUC (binary only). One class present: nan and an
    UndefinedMetricWarning (scikit-learn 1.9.1's behaviour).
    """
    _check_average(average, ("micro", "macro", "samples", "weighted", None))
    if multi_class not in ("raise", "ovr", "ovo"):
        raise ValueError(f"multi_class must be one of 'raise', 'ovr', 'ovo', got {multi_class!r}")
    if max_fpr is not None:
        _check_real(max_fpr, "max_fpr")
        if not 0 < max_fpr <= 1:
            raise ValueError(f"Expected max_fpr in range (0, 1], got: {max_fpr!r}")
    t = _labels(y_true, "y_true")
    s = _scores(y_score, ndim=(1, 2))
    _same_length(("y_true", t), ("y_score", s))
    # scikit-learn checks for all-zero weights only once a curve is computed
    # (a single class returns nan before that).
    w, _ = _weights(sample_weight, t.shape[0], allow_all_zero=True)
    present = _present(t)
    if present.shape[0] > 2 or (s.ndim == 2 and s.shape[1] > 2):
        if max_fpr is not None and max_fpr != 1.0:
            raise ValueError("Partial AUC computation not available in multiclass setting, 'max_fpr' must be "
                             f"set to `None`, received `max_fpr={max_fpr}` instead")
        if multi_class == "raise":
            raise ValueError("multi_class must be in ('ovo', 'ovr')")
        if multi_class == "ovo":
            raise NotImplementedError("multi_class='ovo' is not implemented in fastprims; use 'ovr'")
        if s.ndim != 2:
            raise ValueError("`y_score` needs to be of shape `(n_samples, n_classes)`, since `y_true` contains "
                             f"multiple classes. Got `y_score.shape={s.shape}`.")
        if not np.allclose(1, s.sum(axis=1)):
            raise ValueError("Target scores need to be probabilities for multiclass roc_auc, i.e. they should "
                             "sum up to 1.0 over classes")
        _check_average(average, ("micro", "macro", "weighted", None))
        if present.shape[0] != s.shape[1]:
            raise ValueError("Number of classes in y_true not equal to the number of columns in 'y_score'")
        return _one_vs_rest(lambda sc, col, pos, ww: _binary_roc_auc(sc, col, pos, ww, None, 2),
                            t, present, s, w, average)
    if s.ndim == 2 and s.shape[1] == 1:
        s = s.reshape(-1)
    if s.ndim != 1:
        raise ValueError(f"y should be a 1d array, got an array of shape {s.shape} instead.")
    # Binary: the greater label is the positive class (label_binarize).
    pos = _equal(t, present[-1]) if present.shape[0] == 2 else np.zeros(t.shape, np.uint8)
    return _binary_roc_auc(s, 0, pos, w, max_fpr, present.shape[0])


def _binary_ap(s, col, pos, w):
    value, tp_total, _, _ = _m.clf_score(s, col, pos, w, "ap")
    if tp_total == 0:
        warnings.warn("No positive class found in y_true, recall is set to one for all thresholds.",
                      UserWarning, stacklevel=3)
    return float(max(0.0, value))


def average_precision(y_true, y_score, average="macro", pos_label=1, sample_weight=None):
    """Average precision sum_n (R_n - R_{n-1}) P_n (step-wise, not the trapezoid), as scikit-learn's
    average_precision_score.

    Binary: y_score (n,), positives are y_true == pos_label. Multi-class:
    y_score (n, K) for the K sorted classes of y_true, one-vs-rest averaged
    "macro", "weighted" (by support), "micro" (all K*n scores pooled) or
    None (per class).
    """
    _check_average(average, ("micro", "samples", "weighted", "macro", None))
    _check_real(pos_label, "pos_label", allow_bool=True)
    t = _labels(y_true, "y_true")
    s = _scores(y_score, ndim=(1, 2))
    _same_length(("y_true", t), ("y_score", s))
    w, _ = _weights(sample_weight, t.shape[0])
    present = _present(t)
    if present.shape[0] <= 2:
        if present.shape[0] == 2 and pos_label not in present:
            raise ValueError(f"pos_label={pos_label} is not a valid label. It should be one of {present}")
        if s.ndim == 2 and s.shape[1] == 1:
            s = s.reshape(-1)
        if s.ndim != 1:
            raise ValueError(f"y should be a 1d array, got an array of shape {s.shape} instead.")
        return _binary_ap(s, 0, _equal(t, pos_label), w)
    if pos_label != 1:
        raise ValueError("Parameter pos_label is fixed to 1 for multiclass y_true. Do not set pos_label or set "
                         "pos_label to 1.")
    if s.ndim != 2 or s.shape[1] != present.shape[0]:
        raise ValueError("`y_score` needs to be of shape `(n_samples, n_classes)`, since `y_true` contains "
                         f"multiple classes. Got `y_score.shape={s.shape}`.")
    if average == "samples":
        raise NotImplementedError("average='samples' is not implemented in fastprims")
    return _one_vs_rest(_binary_ap, t, present, s, w, average)
