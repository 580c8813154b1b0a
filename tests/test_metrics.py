"""fastprims.metrics without scikit-learn: hand-computed values, NumPy
references (tests/_ref_metrics.py), bad inputs, threads, dtypes, layouts.
scikit-learn as the oracle: tests/test_metrics_peer.py."""
import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st

import fastprims as fp
import _ref_metrics as ref

TOL = dict(rtol=1e-12, atol=1e-13)


# ------------------------------------------------------------ known values

def test_roc_auc_four_samples():
    y = np.array([0, 0, 1, 1])
    s = np.array([0.1, 0.4, 0.35, 0.8])
    assert fp.roc_auc(y, s) == pytest.approx(0.75, abs=1e-15)
    assert fp.roc_auc(y, s.astype(np.float32)) == pytest.approx(0.75, abs=1e-15)


def test_roc_curve_four_samples():
    fpr, tpr, thr = fp.roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    np.testing.assert_array_equal(fpr, [0, 0, 0.5, 0.5, 1])
    np.testing.assert_array_equal(tpr, [0, 0.5, 0.5, 1, 1])
    np.testing.assert_array_equal(thr, [np.inf, 0.8, 0.4, 0.35, 0.1])
    assert thr.dtype == np.float64
    # pos_label selects the positive class among arbitrary labels
    fpr2, tpr2, _ = fp.roc_curve([1, 1, 2, 2], [0.1, 0.4, 0.35, 0.8], pos_label=2)
    np.testing.assert_array_equal(fpr2, fpr)
    np.testing.assert_array_equal(tpr2, tpr)


def test_roc_curve_without_drop_and_ties():
    # ties collapse into one threshold; no point is dropped
    fpr, tpr, thr = fp.roc_curve([0, 1, 0, 1, 1], [0.5, 0.5, 0.2, 0.9, 0.2], drop_intermediate=False)
    np.testing.assert_array_equal(thr, [np.inf, 0.9, 0.5, 0.2])
    np.testing.assert_allclose(tpr, [0, 1 / 3, 2 / 3, 1])
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 1])


def test_average_precision_and_pr_curve_known():
    y = np.array([0, 0, 1, 1])
    s = np.array([0.1, 0.4, 0.35, 0.8])
    assert fp.average_precision(y, s) == pytest.approx(0.8333333333333333, abs=1e-15)
    p, r, t = fp.precision_recall_curve(y, s)
    np.testing.assert_allclose(p, [0.5, 2 / 3, 0.5, 1, 1])
    np.testing.assert_allclose(r, [1, 1, 0.5, 0.5, 0])
    np.testing.assert_array_equal(t, [0.1, 0.35, 0.4, 0.8])
    t32 = fp.precision_recall_curve(y, s.astype(np.float32))[2]
    assert t32.dtype == np.float32


def test_confusion_matrix_and_accuracy_known():
    yt = [2, 0, 2, 2, 0, 1]
    yp = [0, 0, 2, 2, 0, 2]
    cm = fp.confusion_matrix(yt, yp)
    np.testing.assert_array_equal(cm, [[2, 0, 0], [0, 0, 1], [1, 0, 2]])
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(fp.confusion_matrix(yt, yp, num_classes=4)[:3, :3], cm)
    np.testing.assert_array_equal(fp.confusion_matrix(yt, yp, labels=[2, 0]), [[2, 1], [0, 2]])
    np.testing.assert_allclose(fp.confusion_matrix(yt, yp, normalize="true"),
                               [[1, 0, 0], [0, 0, 1], [1 / 3, 0, 2 / 3]])
    np.testing.assert_allclose(fp.confusion_matrix(yt, yp, normalize="all"), np.array(cm) / 6)
    assert fp.accuracy(yt, yp) == pytest.approx(4 / 6)
    assert fp.accuracy(yt, yp, sample_weight=[1, 1, 1, 1, 1, 5]) == pytest.approx(4 / 10)
    w = fp.confusion_matrix(yt, yp, sample_weight=[0.5, 1, 1, 1, 1, 1])
    assert w.dtype == np.float64 and w[2, 0] == 0.5


def test_prf_known():
    yt = [0, 1, 2, 0, 1, 2]
    yp = [0, 2, 1, 0, 0, 1]
    p, r, f, s = fp.precision_recall_fscore(yt, yp, average=None)
    np.testing.assert_allclose(p, [2 / 3, 0, 0])
    np.testing.assert_allclose(r, [1, 0, 0])
    np.testing.assert_allclose(f, [0.8, 0, 0])
    np.testing.assert_array_equal(s, [2, 2, 2])
    assert fp.precision_recall_fscore(yt, yp, average="macro")[2] == pytest.approx(0.8 / 3)
    assert fp.precision_recall_fscore(yt, yp, average="micro")[0] == pytest.approx(1 / 3)
    assert fp.precision([0, 1, 1, 0], [1, 1, 1, 0]) == pytest.approx(2 / 3)
    assert fp.recall([0, 1, 1, 0], [1, 1, 0, 0]) == pytest.approx(0.5)
    assert fp.f1_score([0, 1, 1, 0], [1, 1, 0, 0]) == pytest.approx(0.5)


def test_zero_division():
    yt, yp = [0, 0, 0], [0, 0, 0]  # no positives at all
    with pytest.warns(fp.UndefinedMetricWarning):
        assert fp.precision(yt, yp) == 0.0
    assert fp.precision(yt, yp, zero_division=1) == 1.0
    assert np.isnan(fp.precision(yt, yp, zero_division=np.nan))
    with pytest.raises(ValueError, match="zero_division"):
        fp.precision(yt, yp, zero_division=2)


def test_one_class():
    with pytest.warns(fp.UndefinedMetricWarning, match="Only one class"):
        assert np.isnan(fp.roc_auc([1, 1, 1], [0.1, 0.2, 0.3]))
    with pytest.warns(fp.UndefinedMetricWarning, match="No negative samples"):
        fpr, tpr, _ = fp.roc_curve([1, 1, 1], [0.1, 0.2, 0.3])
    assert np.isnan(fpr).all()
    np.testing.assert_allclose(tpr, [0, 1 / 3, 1])
    with pytest.warns(UserWarning, match="No positive class"):
        assert fp.average_precision([0, 0, 0], [0.1, 0.2, 0.3]) == 0.0
    assert fp.average_precision([1, 1, 1], [0.1, 0.2, 0.3]) == 1.0


def test_all_equal_scores():
    y = [0, 1, 0, 1, 1]
    assert fp.roc_auc(y, np.full(5, 0.3)) == 0.5
    assert fp.average_precision(y, np.full(5, 0.3)) == pytest.approx(0.6)
    fpr, tpr, thr = fp.roc_curve(y, np.full(5, 0.3))
    np.testing.assert_array_equal(thr, [np.inf, 0.3])


def test_zero_weights_are_dropped():
    y = [0, 1, 1, 0]
    s = [0.9, 0.2, 0.3, 0.1]
    fpr, tpr, thr = fp.roc_curve(y, s, sample_weight=[0, 1, 1, 1], drop_intermediate=False)
    assert 0.9 not in thr
    assert fp.roc_auc(y, s, sample_weight=[0, 1, 1, 1]) == 1.0


# ------------------------------------------------------- references (NumPy)

@given(n=st.integers(2, 40), levels=st.integers(1, 6), weighted=st.booleans(), f32=st.booleans(),
       seed=st.integers(0, 2**31))
def test_binary_ranking_matches_reference(n, levels, weighted, f32, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    y[0], y[1] = 0, 1
    s = (rng.integers(0, levels, n) / levels).astype(np.float32 if f32 else np.float64)
    w = rng.random(n) + 0.1 if weighted else None
    np.testing.assert_allclose(fp.roc_auc(y, s, sample_weight=w), ref.roc_auc_pairs(y, s, w), **TOL)
    np.testing.assert_allclose(fp.average_precision(y, s, sample_weight=w), ref.average_precision(y, s, w), **TOL)
    fpr, tpr, _ = fp.roc_curve(y, s, sample_weight=w)
    np.testing.assert_allclose(np.trapezoid(tpr, fpr), ref.roc_auc_pairs(y, s, w), **TOL)


@pytest.mark.filterwarnings("ignore:A single label")
@given(n=st.integers(1, 60), k=st.integers(1, 6), weighted=st.booleans(), dtype=st.sampled_from(
    [np.int8, np.uint8, np.int16, np.int32, np.int64, np.uint64]), seed=st.integers(0, 2**31))
def test_confusion_matrix_matches_reference(n, k, weighted, dtype, seed):
    rng = np.random.default_rng(seed)
    yt = rng.integers(0, k, n).astype(dtype)
    yp = rng.integers(0, k, n).astype(dtype)
    w = rng.random(n) + 0.01 if weighted else None
    got = fp.confusion_matrix(yt, yp, num_classes=k, sample_weight=w)
    np.testing.assert_allclose(got, ref.confusion_matrix(yt.astype(int), yp.astype(int), k, w), **TOL)
    acc = (ref.confusion_matrix(yt.astype(int), yp.astype(int), k, w).trace()
           / (n if w is None else w.sum()))
    np.testing.assert_allclose(fp.accuracy(yt, yp, sample_weight=w), acc, **TOL)


def test_large_sort_paths_threads_and_ties(rng):
    # > 2**16 samples takes the parallel MSD path; skewed and heavily tied
    n = 300_001
    y = rng.integers(0, 2, n)
    variants = [rng.random(n), np.where(rng.random(n) < 0.9, 0.5, rng.random(n)),
                rng.integers(0, 30, n) / 7.0, rng.standard_normal(n).astype(np.float32), np.zeros(n)]
    for s in variants:
        expected = ref.roc_auc_ranks(y, s)
        with fp.num_threads(1):
            one = (fp.roc_auc(y, s), fp.average_precision(y, s), fp.roc_curve(y, s),
                   fp.precision_recall_curve(y, s))
        with fp.num_threads(2):
            two = (fp.roc_auc(y, s), fp.average_precision(y, s), fp.roc_curve(y, s),
                   fp.precision_recall_curve(y, s))
        np.testing.assert_allclose(one[0], expected, rtol=1e-12)
        assert one[0] == two[0] and one[1] == two[1]
        for a, b in zip(one[2] + one[3], two[2] + two[3]):
            np.testing.assert_array_equal(a, b)
        prec, rec, thr = two[3]
        assert rec[-1] == 0 and prec[-1] == 1 and np.all(np.diff(rec) <= 0) and np.all(np.diff(thr) > 0)
        np.testing.assert_allclose(np.trapezoid(two[2][1], two[2][0]), expected, rtol=1e-12)


def test_large_labels_threads(rng):
    n = 200_003
    yt = rng.integers(-3, 7, n).astype(np.int32)
    yp = rng.integers(-3, 7, n).astype(np.int32)
    w = rng.random(n)
    with fp.num_threads(1):
        a = fp.confusion_matrix(yt, yp, sample_weight=w)
        pa = fp.precision_recall_fscore(yt, yp, average="macro", sample_weight=w)
    with fp.num_threads(2):
        b = fp.confusion_matrix(yt, yp, sample_weight=w)
        pb = fp.precision_recall_fscore(yt, yp, average="macro", sample_weight=w)
    np.testing.assert_array_equal(a, b)
    assert pa == pb
    np.testing.assert_allclose(a, ref.confusion_matrix(yt + 3, yp + 3, 10, w), rtol=1e-11)
    # wide label ranges take the sorting fallback
    big = np.array([0, 10**12, 5, 10**12, 0], dtype=np.int64)
    np.testing.assert_array_equal(fp.confusion_matrix(big, np.roll(big, 1)), [[1, 0, 1], [0, 0, 1], [1, 1, 0]])


def test_noncontiguous_and_byteswapped(rng):
    y = rng.integers(0, 2, 200)
    s = rng.random((200, 3))
    want = fp.roc_auc(y, np.ascontiguousarray(s[:, 1]))
    assert fp.roc_auc(y, s[:, 1]) == want
    assert fp.roc_auc(y.astype(">i8"), s[:, 1].astype(">f8")) == want
    assert fp.roc_auc(y.astype(bool), s[:, 1]) == want
    yy = rng.integers(0, 3, 400)
    assert fp.accuracy(yy[::2], yy[1::2]) == pytest.approx(np.mean(yy[::2] == yy[1::2]))


# ---------------------------------------------------------------- bad input

def test_bad_inputs():
    y = np.array([0, 1, 0, 1])
    s = np.array([0.1, 0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match="NaN or infinity"):
        fp.roc_auc(y, np.array([0.1, np.nan, 0.3, 0.4]))
    with pytest.raises(ValueError, match="NaN or infinity"):
        fp.roc_curve(y, np.array([0.1, np.inf, 0.3, 0.4], np.float32))
    with pytest.raises(ValueError, match="NaN or infinity"):
        fp.average_precision(y, np.array([0.1, 0.2, 0.3, np.nan]), sample_weight=[1, 1, 1, 0])
    with pytest.raises(TypeError, match="y_score must be a float32 or float64"):
        fp.roc_auc(y, np.array([1, 2, 3, 4]))
    with pytest.raises(TypeError, match="y_true must be an integer or bool"):
        fp.roc_auc(s, s)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        fp.roc_auc(y, s[:3])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        fp.confusion_matrix(y, y[:3])
    with pytest.raises(ValueError, match="empty"):
        fp.accuracy([], [])
    with pytest.raises(ValueError, match="1-dimensional"):
        fp.accuracy(np.zeros((2, 2), int), np.zeros((2, 2), int))
    with pytest.raises(ValueError, match="sample_weight.shape"):
        fp.roc_auc(y, s, sample_weight=[1, 2])
    with pytest.raises(ValueError, match="at least one non-zero"):
        fp.accuracy(y, y, sample_weight=[0, 0, 0, 0])
    with pytest.raises(ValueError, match="NaN or infinity"):
        fp.accuracy(y, y, sample_weight=[0, np.nan, 0, 0])
    with pytest.raises(ValueError, match="multiclass format is not supported"):
        fp.roc_curve([0, 1, 2], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="pos_label is not specified"):
        fp.roc_curve([2, 3, 3], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="multi_class must be in"):
        fp.roc_auc([0, 1, 2], [[0.2, 0.3, 0.5]] * 3)
    with pytest.raises(ValueError, match="sum up to 1.0"):
        fp.roc_auc([0, 1, 2], [[0.2, 0.3, 0.6]] * 3, multi_class="ovr")
    with pytest.raises(ValueError, match="Number of classes"):
        fp.roc_auc([0, 1, 2], [[0.5, 0.5]] * 3, multi_class="ovr")
    with pytest.raises(ValueError, match="Partial AUC"):
        fp.roc_auc([0, 1, 2], [[0.2, 0.3, 0.5]] * 3, multi_class="ovr", max_fpr=0.5)
    with pytest.raises(ValueError, match="max_fpr"):
        fp.roc_auc(y, s, max_fpr=0)
    with pytest.raises(ValueError, match="average has to be one of"):
        fp.roc_auc(y, s, average="foo")
    with pytest.raises(ValueError, match="average has to be one of"):
        fp.precision_recall_fscore(y, y, average="samplewise")
    with pytest.raises(ValueError, match="Target is multiclass but average='binary'"):
        fp.precision_recall_fscore([0, 1, 2], [0, 1, 2])
    with pytest.raises(ValueError, match="pos_label=2 is not a valid label"):
        fp.precision_recall_fscore([0, 1, 1], [1, 1, 1], pos_label=2)
    with pytest.raises(ValueError, match="outside"):
        fp.confusion_matrix([0, 1, 5], [0, 1, 1], num_classes=3)
    with pytest.raises(ValueError, match="outside"):
        fp.confusion_matrix([0, 1, 1], [0, -1, 1], num_classes=3)
    with pytest.raises(ValueError, match="at least one label"):
        fp.confusion_matrix(y, y, labels=[])
    with pytest.raises(ValueError, match="must be in y_true"):
        fp.confusion_matrix(y, y, labels=[7])
    with pytest.raises(ValueError, match="normalize"):
        fp.confusion_matrix(y, y, normalize="rows")
    with pytest.raises(ValueError, match="beta"):
        fp.precision_recall_fscore(y, y, beta=-1.0)


def test_single_label_confusion_warns():
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        cm = fp.confusion_matrix([1, 1], [1, 1])
    assert cm.tolist() == [[2]]
    assert any("single label" in str(r.message) for r in rec)
