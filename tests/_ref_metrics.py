"""Independent NumPy float64 references for tests/test_metrics.py.

Deliberately different algorithms from the kernels: AUC as the weighted
Mann-Whitney statistic over all (positive, negative) pairs, average precision
by brute force over distinct thresholds, the confusion matrix by np.add.at.
scikit-learn itself is the oracle in tests/test_metrics_peer.py.
"""
import numpy as np


def roc_auc_pairs(y, s, w=None):
    """P(score_pos > score_neg) + 0.5 P(tie), weighted; O(n^2)."""
    y = np.asarray(y).astype(bool)
    s = np.asarray(s, dtype=np.float64)
    w = np.ones(len(y)) if w is None else np.asarray(w, dtype=np.float64)
    sp, sn, wp, wn = s[y], s[~y], w[y], w[~y]
    gt = (sp[:, None] > sn[None, :]) + 0.5 * (sp[:, None] == sn[None, :])
    return float((wp[:, None] * wn[None, :] * gt).sum() / (wp.sum() * wn.sum()))


def roc_auc_ranks(y, s):
    """Unweighted AUC from average ranks (O(n log n), for large inputs)."""
    y = np.asarray(y).astype(bool)
    s = np.asarray(s, dtype=np.float64)
    uniq, inv, counts = np.unique(s, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    avg_rank = ends - (counts - 1) / 2.0
    ranks = avg_rank[inv]
    n_pos, n_neg = y.sum(), (~y).sum()
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def average_precision(y, s, w=None):
    """sum over distinct thresholds t (descending) of (R(t) - R(prev)) * P(t)."""
    y = np.asarray(y).astype(bool)
    s = np.asarray(s, dtype=np.float64)
    w = np.ones(len(y)) if w is None else np.asarray(w, dtype=np.float64)
    total = w[y].sum()
    ap, r_prev = 0.0, 0.0
    for t in np.unique(s)[::-1]:
        sel = s >= t
        tp = w[sel & y].sum()
        fp = w[sel & ~y].sum()
        r = tp / total
        p = tp / (tp + fp) if tp + fp != 0 else 0.0
        ap += (r - r_prev) * p
        r_prev = r
    return ap


def confusion_matrix(y_true, y_pred, k, w=None):
    cm = np.zeros((k, k), dtype=np.float64)
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1.0 if w is None else np.asarray(w, np.float64))
    return cm
