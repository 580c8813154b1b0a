"""fastprims.detection against the NumPy references in _ref_detection.py."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import fastprims as fp
import _ref_detection as R

DTYPES = [np.float32, np.float64]


# ---------------------------------------------------------------- data

def random_boxes(n, rng, dtype=np.float64, extent=1000.0, lo=10.0, hi=100.0):
    c = rng.uniform(0, extent, (n, 2))
    s = rng.uniform(lo, hi, (n, 2))
    return np.concatenate([c - s / 2, c + s / 2], 1).astype(dtype)


def clustered_boxes(n, rng, n_obj=20, dtype=np.float64):
    objc = rng.uniform(50, 950, (n_obj, 2))
    objs = rng.uniform(20, 100, (n_obj, 2))
    o = rng.integers(0, n_obj, n)
    c = objc[o] + rng.normal(0, 1, (n, 2)) * objs[o] * 0.1
    s = objs[o] * rng.uniform(0.8, 1.2, (n, 2))
    return np.concatenate([c - s / 2, c + s / 2], 1).astype(dtype)


@st.composite
def box_sets(draw, max_n=120):
    """Boxes with many overlaps, duplicates, degenerate boxes and tied scores,
    on an integer lattice so exact IoU ties with the threshold occur."""
    n = draw(st.integers(0, max_n))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    kind = draw(st.sampled_from(["random", "clustered", "lattice", "mixed_sizes"]))
    if kind == "random":
        b = random_boxes(n, rng, extent=draw(st.sampled_from([50.0, 300.0, 1000.0])))
    elif kind == "clustered":
        b = clustered_boxes(n, rng, n_obj=draw(st.integers(1, 8)))
    elif kind == "lattice":
        xy = rng.integers(0, 12, (n, 2))
        wh = rng.integers(0, 8, (n, 2))        # zero widths included
        b = np.concatenate([xy, xy + wh], 1).astype(np.float64)
    else:  # a few huge boxes among tiny ones, far-apart coordinates
        b = random_boxes(n, rng, extent=1e4, lo=0.5, hi=5.0)
        big = rng.random(n) < 0.1
        b[big, 2:] += rng.uniform(100, 5000, (int(big.sum()), 2))
    if n and draw(st.booleans()):       # duplicates
        k = rng.integers(0, n, n // 4)
        b[rng.integers(0, n, n // 4)] = b[k]
    if n and draw(st.booleans()):       # degenerate x2 < x1
        d = rng.random(n) < 0.1
        b[d, 2] = b[d, 0] - rng.uniform(0, 5, int(d.sum()))
    tie_levels = draw(st.sampled_from([0, 2, 5]))
    s = rng.integers(0, tie_levels, n) / 4.0 if tie_levels else rng.random(n)
    thr = draw(st.sampled_from([0.0, 0.25, 0.3, 0.5, 0.7, 1.0]))
    return b, s, thr


# ---------------------------------------------------------------- box utilities

@pytest.mark.parametrize("dtype", DTYPES)
def test_box_iou_matches_reference(dtype, rng):
    a = random_boxes(37, rng, dtype, extent=200)
    b = random_boxes(53, rng, dtype, extent=200)
    b[3] = b[3, [2, 3, 0, 1]]   # degenerate
    b[4, 2] = b[4, 0]           # zero area
    got = fp.box_iou(a, b)
    assert got.dtype == dtype and got.shape == (37, 53)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, R.box_iou(a, b), rtol=rtol, atol=1e-7)
    np.testing.assert_allclose(fp.box_iou(b, a), got.T, rtol=0, atol=0)


def test_box_iou_hand_cases():
    a = np.array([[0, 0, 2, 2], [0, 0, 0, 0]], np.float64)
    b = np.array([[1, 1, 3, 3], [0, 0, 2, 2], [5, 5, 6, 6], [0, 0, 0, 0], [2, 0, 1, 2]], np.float64)
    exp = [[1 / 7, 1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0]]
    np.testing.assert_allclose(fp.box_iou(a, b), exp)


def test_box_iou_nan_propagates_and_threads(rng):
    a = random_boxes(300, rng, extent=300)
    b = random_boxes(400, rng, extent=300)
    a[5, 1] = np.nan
    with fp.num_threads(1):
        r1 = fp.box_iou(a, b)
    with fp.num_threads(2):
        r2 = fp.box_iou(a, b)
    np.testing.assert_array_equal(r1, r2)
    assert np.isnan(r1[5]).all() and not np.isnan(np.delete(r1, 5, 0)).any()


def test_box_iou_empty_out_and_noncontiguous(rng):
    assert fp.box_iou(np.zeros((0, 4)), np.zeros((3, 4))).shape == (0, 3)
    assert fp.box_iou(np.zeros((2, 4)), np.zeros((0, 4))).shape == (2, 0)
    a = random_boxes(10, rng)
    big = np.zeros((10, 8))
    big[:, ::2] = a
    out = np.empty((10, 10))
    assert fp.box_iou(big[:, ::2], a, out=out) is out
    np.testing.assert_allclose(out, R.box_iou(a, a), rtol=1e-12)
    with pytest.raises(ValueError, match="out must have shape"):
        fp.box_iou(a, a, out=np.empty((10, 9)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_box_area_and_convert(dtype, rng):
    b = random_boxes(50, rng, dtype).reshape(5, 10, 4)
    b[0, 0] = [5, 5, 1, 9]   # degenerate -> area 0
    np.testing.assert_allclose(fp.box_area(b), R.area(b.astype(np.float64)), rtol=1e-6)
    assert fp.box_area(b)[0, 0] == 0
    fmts = ["xyxy", "xywh", "cxcywh"]
    for fi in fmts:
        for fo in fmts:
            got = fp.box_convert(b, fi, fo)
            assert got.dtype == dtype and got.shape == b.shape
            np.testing.assert_allclose(got, R.box_convert(b, fi, fo), rtol=1e-6, atol=1e-4)
    rt = fp.box_convert(fp.box_convert(b, "xyxy", "cxcywh"), "cxcywh", "xyxy")
    np.testing.assert_allclose(rt, b, rtol=1e-6, atol=1e-4)
    with pytest.raises(ValueError, match="in_fmt must be one of"):
        fp.box_convert(b, "xyzw", "xyxy")
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 4\)"):
        fp.box_area(np.zeros((3, 5), dtype))
    assert np.isnan(fp.box_area(np.array([[0, 0, np.nan, 1.0]])))[0]


# ---------------------------------------------------------------- nms

@given(box_sets())
def test_nms_matches_reference(data):
    b, s, thr = data
    np.testing.assert_array_equal(fp.nms(b, s, thr), R.nms(b, s, thr))


@given(box_sets(), st.sampled_from([None, 0, 1, 3]), st.sampled_from([None, 0.25, 0.5]))
def test_nms_float32_limits_and_score_threshold(data, max_output, score_threshold):
    b, s, thr = data
    b32, s32 = b.astype(np.float32), s.astype(np.float32)
    got = fp.nms(b32, s32, thr, score_threshold=score_threshold, max_output=max_output)
    ref = R.nms(b32, s32, thr, score_threshold=score_threshold, max_output=max_output)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["random", "clustered"])
def test_nms_large_uses_grid(dtype, kind, rng):
    # large enough for the grid path, several size levels
    b = random_boxes(3000, rng, dtype) if kind == "random" else clustered_boxes(3000, rng, 50, dtype)
    b[::97, 2:] += 400   # some big boxes on upper levels
    s = rng.random(3000).astype(dtype)
    s[::5] = 0.5         # ties
    for thr in (0.3, 0.7):
        np.testing.assert_array_equal(fp.nms(b, s, thr), R.nms(b, s, thr))


def test_nms_hand_cases():
    b = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10], [20, 20, 30, 30], [0, 0, 10, 5]], float)
    s = np.array([0.9, 0.8, 0.9, 0.1, 0.95])
    # IoU(0,1) = 81/119 = 0.68; IoU(0,2) = 1; IoU(0,4) = 0.5 exactly
    np.testing.assert_array_equal(fp.nms(b, s, 0.5), [4, 0, 3])     # 0.5 is not > 0.5: 0 survives
    np.testing.assert_array_equal(fp.nms(b, s, 0.49), [4, 1, 3])
    np.testing.assert_array_equal(fp.nms(b, s, 0.7), [4, 0, 1, 3])  # equal scores: index order
    np.testing.assert_array_equal(fp.nms(b, s, 1.0), [4, 0, 2, 1, 3])
    np.testing.assert_array_equal(fp.nms(b, s, 0.5, score_threshold=0.9), [4])
    np.testing.assert_array_equal(fp.nms(b, s, 0.5, max_output=2), [4, 0])
    # zero-area / degenerate boxes are never suppressed and suppress nothing
    z = np.array([[0, 0, 10, 10], [5, 5, 5, 5], [8, 0, 2, 10], [0, 0, 10, 10]], float)
    np.testing.assert_array_equal(fp.nms(z, np.array([0.9, 0.8, 0.7, 0.6]), 0.0), [0, 1, 2])
    # thresholds compare as real numbers (torchvision: float IoU vs double
    # threshold): IoU 3/10 is 0.3 in float64 but 0.30000001 in float32
    t = np.array([[0, 0, 10, 1], [7, 0, 10, 1]])
    np.testing.assert_array_equal(fp.nms(t.astype(np.float64), np.array([0.9, 0.8]), 0.3), [0, 1])
    np.testing.assert_array_equal(fp.nms(t.astype(np.float32), np.array([0.9, 0.8], np.float32), 0.3), [0])


def test_nms_empty_and_scores_inf():
    e = fp.nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), 0.5)
    assert e.dtype == np.int64 and e.shape == (0,)
    b = np.array([[0, 0, 1, 1], [5, 5, 6, 6], [0, 0, 1, 1]], float)
    np.testing.assert_array_equal(fp.nms(b, np.array([-np.inf, np.inf, 0.0]), 0.5), [1, 2])
    np.testing.assert_array_equal(fp.nms(b, np.array([0.0, -0.0, 0.0]), 0.5), [0, 1])


def test_nms_threads_noncontiguous_and_byteswapped(rng):
    b = random_boxes(5000, rng)
    s = rng.random(5000)
    with fp.num_threads(1):
        r1 = fp.nms(b, s, 0.5)
    with fp.num_threads(2):
        r2 = fp.nms(b, s, 0.5)
    np.testing.assert_array_equal(r1, r2)
    np.testing.assert_array_equal(fp.nms(np.asfortranarray(b), s[::1], 0.5), r1)
    np.testing.assert_array_equal(fp.nms(b.astype(">f8"), s.astype(">f8"), 0.5), r1)
    s2 = np.repeat(s, 2)[::2]
    np.testing.assert_array_equal(fp.nms(b, s2, 0.5), r1)


def test_nms_bad_inputs():
    b = np.array([[0, 0, 1, 1], [0, 0, 2, 2]], np.float32)
    s = np.array([0.5, 0.6], np.float32)
    with pytest.raises(ValueError, match=r"boxes must have shape \(N, 4\)"):
        fp.nms(b[:, :3], s, 0.5)
    with pytest.raises(ValueError, match="scores must have shape"):
        fp.nms(b, s[:1], 0.5)
    with pytest.raises(TypeError, match="boxes must be a float32 or float64"):
        fp.nms(b.astype(np.int64), s, 0.5)
    with pytest.raises(TypeError, match="mixed dtypes"):
        fp.nms(b, s.astype(np.float64), 0.5)
    with pytest.raises(ValueError, match="iou_threshold must be in"):
        fp.nms(b, s, 1.5)
    with pytest.raises(ValueError, match="iou_threshold must be in"):
        fp.nms(b, s, -0.1)
    with pytest.raises(ValueError, match="iou_threshold must not be NaN"):
        fp.nms(b, s, float("nan"))
    with pytest.raises(TypeError, match="iou_threshold must be a real number"):
        fp.nms(b, s, "0.5")
    bn = b.copy()
    bn[1, 2] = np.nan
    with pytest.raises(ValueError, match="boxes must be finite"):
        fp.nms(bn, s, 0.5)
    bn[1, 2] = np.inf
    with pytest.raises(ValueError, match="boxes must be finite"):
        fp.nms(bn, s, 0.5)
    with pytest.raises(ValueError, match="scores must be free of NaN"):
        fp.nms(b, np.array([0.5, np.nan], np.float32), 0.5)
    with pytest.raises(ValueError, match="max_output must be >= 0"):
        fp.nms(b, s, 0.5, max_output=-1)
    with pytest.raises(TypeError, match="max_output must be an int"):
        fp.nms(b, s, 0.5, max_output=1.5)
    with pytest.raises(ValueError, match="score_threshold must not be NaN"):
        fp.nms(b, s, 0.5, score_threshold=float("nan"))


# ---------------------------------------------------------------- batched_nms

@given(box_sets(), st.integers(1, 6), st.sampled_from([None, 2]))
def test_batched_nms_matches_reference(data, n_cls, max_output):
    b, s, thr = data
    cls = np.random.default_rng(len(b)).integers(0, n_cls, len(b))
    np.testing.assert_array_equal(fp.batched_nms(b, s, cls, thr, max_output=max_output),
                                  R.batched_nms(b, s, cls, thr, max_output=max_output))


def test_batched_nms_large_classes_threads(rng):
    b = clustered_boxes(40000, rng, 100)
    s = rng.random(40000)
    cls = rng.integers(0, 80, 40000).astype(np.int32)
    with fp.num_threads(1):
        r1 = fp.batched_nms(b, s, cls, 0.5)
    with fp.num_threads(2):
        r2 = fp.batched_nms(b, s, cls, 0.5)
    np.testing.assert_array_equal(r1, r2)
    idx = np.flatnonzero(cls < 3)
    sub = fp.batched_nms(b[idx], s[idx], cls[idx], 0.5)
    np.testing.assert_array_equal(idx[sub], r1[cls[r1] < 3])
    np.testing.assert_array_equal(sub, R.batched_nms(b[idx], s[idx], cls[idx], 0.5))


def test_batched_nms_class_ids_any_values(rng):
    b = random_boxes(400, rng, extent=100)
    s = rng.random(400)
    dense = rng.integers(0, 4, 400)
    ref = fp.batched_nms(b, s, dense, 0.4)
    for ids in (dense * 10**15 - 7, dense - 3, (dense * 2**40).astype(np.int64)):
        np.testing.assert_array_equal(fp.batched_nms(b, s, ids, 0.4), ref)
    # one class == plain nms; different classes never suppress each other
    np.testing.assert_array_equal(fp.batched_nms(b, s, np.zeros(400, np.int64), 0.4), fp.nms(b, s, 0.4))
    same = np.repeat(b[:1], 3, 0)
    np.testing.assert_array_equal(fp.batched_nms(same, np.array([0.1, 0.3, 0.2]), [0, 1, 2], 0.5), [1, 2, 0])
    e = fp.batched_nms(np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64), 0.5)
    assert e.dtype == np.int64 and e.shape == (0,)


def test_batched_nms_bad_inputs():
    b = np.array([[0, 0, 1, 1], [0, 0, 2, 2]], np.float32)
    s = np.array([0.5, 0.6], np.float32)
    with pytest.raises(TypeError, match="class_ids must be an int32 or int64"):
        fp.batched_nms(b, s, np.array([0.0, 1.0]), 0.5)
    with pytest.raises(ValueError, match="class_ids must have shape"):
        fp.batched_nms(b, s, np.array([0, 1, 2]), 0.5)
    with pytest.raises(ValueError, match="iou_threshold must be in"):
        fp.batched_nms(b, s, np.array([0, 1]), 2.0)


# ---------------------------------------------------------------- soft_nms

@given(box_sets(), st.sampled_from(["gaussian", "linear"]), st.sampled_from([0.1, 0.5, 2.0]),
       st.sampled_from([0.0, 0.001, 0.3]))
def test_soft_nms_matches_reference_f64(data, method, sigma, score_threshold):
    b, s, thr = data
    i, sc = fp.soft_nms(b, s, sigma=sigma, iou_threshold=thr, score_threshold=score_threshold, method=method)
    ri, rs = R.soft_nms(b, s, sigma=sigma, iou_threshold=thr, score_threshold=score_threshold, method=method)
    np.testing.assert_array_equal(i, ri)
    np.testing.assert_allclose(sc, rs, rtol=0, atol=1e-6)
    assert sc.dtype == np.float64 and i.dtype == np.int64
    assert np.all(np.diff(sc) <= 0)


@pytest.mark.parametrize("method", ["gaussian", "linear"])
@pytest.mark.parametrize("kind", ["random", "clustered"])
def test_soft_nms_large(method, kind, rng):
    b = random_boxes(2500, rng) if kind == "random" else clustered_boxes(2500, rng, 40)
    s = rng.random(2500)
    i, sc = fp.soft_nms(b, s, method=method)
    ri, rs = R.soft_nms(b, s, method=method)
    np.testing.assert_array_equal(i, ri)
    np.testing.assert_allclose(sc, rs, rtol=0, atol=1e-6)
    i2, sc2 = fp.soft_nms(b, s, method=method, max_output=17)
    np.testing.assert_array_equal(i2, i[:17])
    np.testing.assert_array_equal(sc2, sc[:17])


def test_soft_nms_float32(rng):
    b = random_boxes(1500, rng, np.float32)
    s = rng.random(1500).astype(np.float32)
    i, sc = fp.soft_nms(b, s)
    ri, rs = R.soft_nms(b, s)
    assert sc.dtype == np.float32
    np.testing.assert_array_equal(i, ri)
    np.testing.assert_allclose(sc, rs, rtol=0, atol=1e-6)


def test_soft_nms_hand_cases():
    b = np.array([[0, 0, 10, 10], [0, 0, 10, 5], [20, 20, 30, 30]], float)
    s = np.array([0.9, 0.8, 0.7])
    i, sc = fp.soft_nms(b, s, sigma=0.5)
    # IoU(0, 1) = 0.5: 0.8 * exp(-0.25 / 0.5) = 0.48522; box 2 untouched
    np.testing.assert_array_equal(i, [0, 2, 1])
    np.testing.assert_allclose(sc, [0.9, 0.7, 0.8 * np.exp(-0.5)], rtol=1e-12)
    i, sc = fp.soft_nms(b, s, iou_threshold=0.4, method="linear")
    np.testing.assert_array_equal(i, [0, 2, 1])
    np.testing.assert_allclose(sc, [0.9, 0.7, 0.4], rtol=1e-12)
    i, sc = fp.soft_nms(b, s, iou_threshold=0.5, method="linear")   # 0.5 is not > 0.5
    np.testing.assert_allclose(sc, [0.9, 0.8, 0.7])
    i, sc = fp.soft_nms(b, s, sigma=0.5, score_threshold=0.75)      # rescored 0.485 < 0.75: dropped
    np.testing.assert_array_equal(i, [0])
    # ties: equal current scores pick the lower original index
    d = np.array([[0, 0, 1, 1], [5, 5, 6, 6], [9, 9, 10, 10]], float)
    i, _ = fp.soft_nms(d, np.array([0.5, 0.5, 0.5]))
    np.testing.assert_array_equal(i, [0, 1, 2])
    e, es = fp.soft_nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32))
    assert e.shape == (0,) and es.shape == (0,) and e.dtype == np.int64 and es.dtype == np.float32


def test_soft_nms_bad_inputs():
    b = np.array([[0, 0, 1, 1], [0, 0, 2, 2]], np.float64)
    s = np.array([0.5, 0.6])
    with pytest.raises(ValueError, match="method must be"):
        fp.soft_nms(b, s, method="hard")
    with pytest.raises(ValueError, match="sigma must be a finite number > 0"):
        fp.soft_nms(b, s, sigma=0.0)
    with pytest.raises(ValueError, match="iou_threshold must be in"):
        fp.soft_nms(b, s, iou_threshold=1.1)
    with pytest.raises(ValueError, match="scores must be finite"):
        fp.soft_nms(b, np.array([0.5, np.inf]))
    with pytest.raises(ValueError, match="boxes must be finite"):
        fp.soft_nms(np.array([[0, 0, np.nan, 1], [0, 0, 1, 1.0]]), s)
    with pytest.raises(ValueError, match="score_threshold must not be NaN"):
        fp.soft_nms(b, s, score_threshold=float("nan"))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("offset,scale", [(1e6, 1.0), (-3e4, 1e-3), (0.0, 1e-6), (0.0, 1e12)])
def test_nms_grid_exact_at_any_scale(dtype, offset, scale, rng):
    # the grid's cell arithmetic must never miss an overlapping pair
    b = random_boxes(800, rng, np.float64, extent=300) * scale + offset
    b[::40, 2:] += 200 * scale          # a few large boxes
    b[::53, 2] = b[::53, 0]             # zero-width boxes inside the grid path
    b = b.astype(dtype)
    s = rng.random(800).astype(dtype)
    np.testing.assert_array_equal(fp.nms(b, s, 0.3), R.nms(b, s, 0.3))
    i, sc = fp.soft_nms(b, s, sigma=0.5)
    ri, rs = R.soft_nms(b, s, sigma=0.5)
    np.testing.assert_array_equal(i, ri)
    np.testing.assert_allclose(sc, rs, rtol=0, atol=1e-6)


def test_nms_one_huge_box_and_points(rng):
    b = random_boxes(500, rng, extent=1000, lo=0.0, hi=3.0)
    b[7] = [-1e9, -1e9, 1e9, 1e9]       # overlaps everything, IoU tiny
    b[8] = [0, 0, 1000, 1000]
    s = rng.random(500)
    for thr in (0.0, 1e-6, 0.5):
        np.testing.assert_array_equal(fp.nms(b, s, thr), R.nms(b, s, thr))
    cls = rng.integers(0, 300, 500)
    np.testing.assert_array_equal(fp.batched_nms(b, s, cls, 0.0), R.batched_nms(b, s, cls, 0.0))
