"""Agreement with OpenCV's cv2.dnn.NMSBoxes / softNMSBoxes where conventions match.

cv2 takes (x, y, w, h) boxes, keeps candidates with score > score_threshold,
sorts stably by descending score and suppresses when IoU > nms_threshold:
the same rule as ours. Its IoU is computed in double from (x, y, w, h) and
rounded to float, so exact IoU-equals-threshold ties can round differently
for thresholds that are not exact binary fractions; integer boxes with the
threshold 0.5 (exact) and random real boxes (no exact ties) avoid that.
softNMSBoxes takes integer rectangles and computes in float32.
"""
import numpy as np
import pytest

import fastprims as fp

cv2 = pytest.importorskip("cv2")


def _xywh(b):
    return np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], 1)


def _boxes(rng, n, integer):
    c = rng.uniform(0, 300, (n, 2))
    s = rng.uniform(5, 60, (n, 2))
    b = np.concatenate([c - s / 2, c + s / 2], 1)
    return np.round(b) if integer else b


@pytest.mark.parametrize("integer,thr", [(True, 0.5), (False, 0.3), (False, 0.7)])
@pytest.mark.parametrize("score_threshold", [0.0, 0.4])
def test_nms_agrees_with_cv2(integer, thr, score_threshold, rng):
    for n in (50, 700):
        b = _boxes(rng, n, integer)
        s = rng.random(n).astype(np.float32)
        s[::7] = 0.5  # ties: both keep index order
        ref = np.asarray(cv2.dnn.NMSBoxes(_xywh(b).tolist(), s.tolist(), score_threshold, thr), np.int64)
        got = fp.nms(b, s.astype(np.float64), thr, score_threshold=score_threshold)
        np.testing.assert_array_equal(got, ref.ravel())


def test_batched_nms_agrees_with_cv2_per_class(rng):
    b = _boxes(rng, 600, True)
    s = rng.random(600).astype(np.float32)
    cls = rng.integers(0, 5, 600)
    per_class = []
    for c in range(5):
        idx = np.flatnonzero(cls == c)
        k = np.asarray(cv2.dnn.NMSBoxes(_xywh(b[idx]).tolist(), s[idx].tolist(), 0.0, 0.5), np.int64).ravel()
        per_class.extend(idx[k])
    per_class = np.array(per_class)
    ref = per_class[np.lexsort((per_class, -s[per_class].astype(np.float64)))]
    np.testing.assert_array_equal(fp.batched_nms(b, s.astype(np.float64), cls, 0.5), ref)


@pytest.mark.parametrize("method", ["gaussian", "linear"])
def test_soft_nms_agrees_with_cv2(method, rng):
    b = _boxes(rng, 400, True).astype(np.int64)
    s = rng.random(400).astype(np.float32)
    m = cv2.dnn.SOFT_NMSMETHOD_SOFTNMS_GAUSSIAN if method == "gaussian" else cv2.dnn.SOFT_NMSMETHOD_SOFTNMS_LINEAR
    ref_s, ref_i = cv2.dnn.softNMSBoxes(_xywh(b).astype(np.int64).tolist(), s.tolist(), 0.001, 0.3,
                                        sigma=0.5, method=m)
    i, sc = fp.soft_nms(b.astype(np.float32), s, sigma=0.5, iou_threshold=0.3, score_threshold=0.001,
                        method=method)
    np.testing.assert_array_equal(i, np.asarray(ref_i).ravel())
    np.testing.assert_allclose(sc, np.asarray(ref_s).ravel(), rtol=0, atol=1e-5)
