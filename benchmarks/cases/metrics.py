"""compare.py rows for classification metrics against scikit-learn.

Rows at 1e6 and 1e7 samples (binary scores float64 in [0, 1), int64 labels,
10 classes for the multi-class rows). scikit-learn needs seconds per call at
1e7; with --quick each row runs ~7 calls of each side (use --repeat to trim).
Without scikit-learn installed the peer is a NumPy implementation (sort-based
AUC/AP, bincount confusion matrix), which keeps the table meaningful.
"""
import numpy as np

from compare import Case
import fastprims as fp


def _numpy_auc(y, s):
    order = np.argsort(s, kind="stable")
    ranks = np.empty(len(s))
    ranks[order] = np.arange(1, len(s) + 1)
    pos = y == 1
    n_pos = pos.sum()
    return (ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * (len(y) - n_pos))


def _numpy_ap(y, s):
    order = np.argsort(-s, kind="stable")
    tp = np.cumsum(y[order] == 1)
    prec = tp / np.arange(1, len(s) + 1)
    return float(np.sum(prec[y[order] == 1]) / tp[-1])


def cases(quick, peers):
    out = []
    for n in (10**6, 10**7):
        out += _cases_at(n, peers)
    return out


def _cases_at(n, peers):
    # one call per size: the row lambdas close over this call's arrays
    out = []
    sk = peers.sklearn
    if sk is not None:
        import sklearn.metrics as skm
    tag = "1e6" if n == 10**6 else "1e7"
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, n)
    s = rng.random(n)
    yb = rng.integers(0, 2, n)
    yt10 = rng.integers(0, 10, n)
    yp10 = np.where(rng.random(n) < 0.7, yt10, rng.integers(0, 10, n))
    rank_bytes = y.nbytes + s.nbytes
    lab_bytes = 2 * yt10.nbytes
    big = n == 10**7
    t_rank = ">=20x" if big else ">=10x"
    if sk is not None:
        rows = [
            ("roc_auc", lambda: fp.roc_auc(y, s), lambda: skm.roc_auc_score(y, s), rank_bytes, t_rank),
            ("average_precision", lambda: fp.average_precision(y, s),
             lambda: skm.average_precision_score(y, s), rank_bytes, t_rank),
            ("roc_curve", lambda: fp.roc_curve(y, s), lambda: skm.roc_curve(y, s), rank_bytes, t_rank),
            ("precision_recall_fscore binary", lambda: fp.precision_recall_fscore(y, yb),
             lambda: skm.precision_recall_fscore_support(y, yb, average="binary"), lab_bytes, ">=10x"),
            ("precision_recall_fscore macro 10cls",
             lambda: fp.precision_recall_fscore(yt10, yp10, average="macro"),
             lambda: skm.precision_recall_fscore_support(yt10, yp10, average="macro"), lab_bytes, ">=10x"),
            ("confusion_matrix 10cls", lambda: fp.confusion_matrix(yt10, yp10),
             lambda: skm.confusion_matrix(yt10, yp10), lab_bytes, ">=10x"),
            ("accuracy 10cls", lambda: fp.accuracy(yt10, yp10), lambda: skm.accuracy_score(yt10, yp10),
             lab_bytes, ">=10x"),
        ]
        peer_name = "sklearn"
    else:
        rows = [
            ("roc_auc", lambda: fp.roc_auc(y, s), lambda: _numpy_auc(y, s), rank_bytes, t_rank),
            ("average_precision", lambda: fp.average_precision(y, s), lambda: _numpy_ap(y, s), rank_bytes,
             t_rank),
            ("confusion_matrix 10cls", lambda: fp.confusion_matrix(yt10, yp10),
             lambda: np.bincount(yt10 * 10 + yp10, minlength=100).reshape(10, 10), lab_bytes, ">=10x"),
            ("accuracy 10cls", lambda: fp.accuracy(yt10, yp10), lambda: float(np.mean(yt10 == yp10)),
             lab_bytes, ">=10x"),
        ]
        peer_name = "numpy"
    for name, f, g, nbytes, target in rows:
        out.append(Case("metrics", f"{name} {tag}", f, g, peer_name, bytes=nbytes, target=target))
    return out
