"""scikit-learn as the oracle for fastprims.metrics: same numbers to 1e-12
in float64 (the curves bit-identical), the same exceptions where scikit-learn
raises ValueError. Skipped when scikit-learn is not installed."""
import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st

import fastprims as fp

skm = pytest.importorskip("sklearn.metrics")

TOL = dict(rtol=1e-12, atol=1e-13)


def _compare(got, want):
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            _compare(g, w)
    elif want is None:
        assert got is None
    else:
        np.testing.assert_allclose(np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64), **TOL)


def same(fp_call, sk_call):
    """Run both quietly; same result, or ValueError from both."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            want = sk_call()
        except ValueError:
            with pytest.raises(ValueError):
                fp_call()
            return None
        got = fp_call()
    _compare(got, want)
    return got, want


def _scores(rng, n, levels, f32):
    s = rng.integers(0, levels, n) / levels if levels else rng.random(n)
    return s.astype(np.float32 if f32 else np.float64)


def _weights(rng, n, kind):
    if kind == "none":
        return None
    if kind == "int":
        return rng.integers(0, 4, n)
    w = rng.random(n)
    w[rng.random(n) < 0.2] = 0.0
    return w


@given(n=st.integers(1, 50), levels=st.sampled_from([0, 1, 2, 3, 8]), f32=st.booleans(),
       wkind=st.sampled_from(["none", "float", "int"]), labels=st.sampled_from([(0, 1), (-1, 1), (3, 7)]),
       one_class=st.booleans(), drop=st.booleans(), seed=st.integers(0, 2**31))
def test_binary_ranking_vs_sklearn(n, levels, f32, wkind, labels, one_class, drop, seed):
    rng = np.random.default_rng(seed)
    y = np.asarray(labels)[rng.integers(0, 1 if one_class else 2, n)]
    s = _scores(rng, n, levels, f32)
    w = _weights(rng, n, wkind)
    pl = None if labels != (3, 7) else 7
    same(lambda: fp.roc_curve(y, s, pos_label=pl, sample_weight=w, drop_intermediate=drop),
         lambda: skm.roc_curve(y, s, pos_label=pl, sample_weight=w, drop_intermediate=drop))
    same(lambda: fp.precision_recall_curve(y, s, pos_label=pl, sample_weight=w, drop_intermediate=drop),
         lambda: skm.precision_recall_curve(y, s, pos_label=pl, sample_weight=w, drop_intermediate=drop))
    same(lambda: fp.roc_auc(y, s, sample_weight=w), lambda: skm.roc_auc_score(y, s, sample_weight=w))
    same(lambda: fp.roc_auc(y, s, sample_weight=w, max_fpr=0.4),
         lambda: skm.roc_auc_score(y, s, sample_weight=w, max_fpr=0.4))
    apl = 1 if labels != (3, 7) else 7
    same(lambda: fp.average_precision(y, s, pos_label=apl, sample_weight=w),
         lambda: skm.average_precision_score(y, s, pos_label=apl, sample_weight=w))


@given(n=st.integers(3, 60), k=st.integers(3, 5), levels=st.sampled_from([0, 2, 4]), f32=st.booleans(),
       wkind=st.sampled_from(["none", "float"]), average=st.sampled_from(["macro", "weighted", "micro", None]),
       seed=st.integers(0, 2**31))
def test_multiclass_ranking_vs_sklearn(n, k, levels, f32, wkind, average, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    y[:min(k, n)] = np.arange(min(k, n))
    raw = rng.integers(1, levels + 1, (n, k)).astype(np.float64) if levels else rng.random((n, k)) + 0.01
    p = (raw / raw.sum(axis=1, keepdims=True)).astype(np.float32 if f32 else np.float64)
    w = _weights(rng, n, wkind)
    same(lambda: fp.roc_auc(y, p, multi_class="ovr", average=average, sample_weight=w),
         lambda: skm.roc_auc_score(y, p, multi_class="ovr", average=average, sample_weight=w))
    same(lambda: fp.average_precision(y, p, average=average, sample_weight=w),
         lambda: skm.average_precision_score(y, p, average=average, sample_weight=w))


@given(n=st.integers(1, 60), k=st.integers(1, 6), offset=st.sampled_from([0, -2, 5]),
       wkind=st.sampled_from(["none", "float", "int"]),
       average=st.sampled_from(["binary", "micro", "macro", "weighted", None]),
       zero_division=st.sampled_from(["warn", 0, 1, np.nan]), beta=st.sampled_from([1.0, 0.5, 2.0, 0.0, np.inf]),
       pos_label=st.sampled_from([1, 0, 5]), dtype=st.sampled_from([np.int64, np.int32, np.int8]),
       seed=st.integers(0, 2**31))
def test_classification_vs_sklearn(n, k, offset, wkind, average, zero_division, beta, pos_label, dtype, seed):
    rng = np.random.default_rng(seed)
    yt = (rng.integers(0, k, n) + offset).astype(dtype)
    yp = (rng.integers(0, k, n) + offset).astype(dtype)
    w = _weights(rng, n, wkind)
    if w is not None and not np.any(w):
        w[0] = 1
    same(lambda: fp.precision_recall_fscore(yt, yp, average=average, pos_label=pos_label, beta=beta,
                                            sample_weight=w, zero_division=zero_division),
         lambda: skm.precision_recall_fscore_support(yt, yp, average=average, pos_label=pos_label, beta=beta,
                                                     sample_weight=w, zero_division=zero_division))
    same(lambda: fp.f1_score(yt, yp, average=average, pos_label=pos_label, sample_weight=w),
         lambda: skm.f1_score(yt, yp, average=average, pos_label=pos_label, sample_weight=w))
    same(lambda: fp.accuracy(yt, yp, sample_weight=w), lambda: skm.accuracy_score(yt, yp, sample_weight=w))
    for normalize in (None, "true", "pred", "all"):
        same(lambda: fp.confusion_matrix(yt, yp, sample_weight=w, normalize=normalize),
             lambda: skm.confusion_matrix(yt, yp, sample_weight=w, normalize=normalize))
    labels = [offset + 1, offset, offset + 7]
    same(lambda: fp.confusion_matrix(yt, yp, labels=labels, sample_weight=w),
         lambda: skm.confusion_matrix(yt, yp, labels=labels, sample_weight=w))
    if average != "binary":
        same(lambda: fp.precision_recall_fscore(yt, yp, average=average, labels=labels[:2], sample_weight=w),
             lambda: skm.precision_recall_fscore_support(yt, yp, average=average, labels=labels[:2],
                                                         sample_weight=w))


def test_confusion_matrix_dtype_matches_sklearn(rng):
    yt = rng.integers(0, 3, 50)
    yp = rng.integers(0, 3, 50)
    for w in (None, rng.integers(1, 3, 50), rng.random(50)):
        assert fp.confusion_matrix(yt, yp, sample_weight=w).dtype == skm.confusion_matrix(
            yt, yp, sample_weight=w).dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_curves_bit_identical(dtype, rng):
    # the parallel MSD sort path, heavy ties, zero weights, skewed scores
    n = 150_000
    y = rng.integers(0, 2, n)
    s = np.where(rng.random(n) < 0.7, 0.25, np.round(rng.random(n), 3)).astype(dtype)
    s[: n // 3] = rng.random(n // 3)  # a long stretch of distinct scores too
    w = rng.random(n)
    w[::5] = 0
    for ww in (None, w):
        for a, b in zip(fp.roc_curve(y, s, sample_weight=ww), skm.roc_curve(y, s, sample_weight=ww)):
            np.testing.assert_array_equal(a, b)
        for a, b in zip(fp.precision_recall_curve(y, s, sample_weight=ww),
                        skm.precision_recall_curve(y, s, sample_weight=ww)):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(fp.roc_auc(y, s, sample_weight=ww),
                                   skm.roc_auc_score(y, s, sample_weight=ww), **TOL)
        np.testing.assert_allclose(fp.average_precision(y, s, sample_weight=ww),
                                   skm.average_precision_score(y, s, sample_weight=ww), **TOL)
