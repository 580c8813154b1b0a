"""Independent NumPy references for the detection family (never call fastprims).

Written straight from the definitions: O(N^2) greedy loops over a stable
descending-score order, IoU as in torchvision (areas of degenerate boxes
clamped to 0). IoUs are computed in the boxes' dtype (float32 boxes against a float32
reference, so IoU ties at the threshold round the same way) and compared with
the thresholds as real numbers, i.e. in float64 (torchvision compares its
float IoU with a double threshold; NumPy would otherwise compare a float32
array with a Python float in float32).
"""
import numpy as np


def area(boxes):
    b = np.asarray(boxes)
    w = np.where(b[..., 2] - b[..., 0] < 0, 0, b[..., 2] - b[..., 0])
    h = np.where(b[..., 3] - b[..., 1] < 0, 0, b[..., 3] - b[..., 1])
    return (w * h).astype(b.dtype)


def iou_one(box, others):
    """IoU of one box against each of `others`, in the boxes' dtype."""
    t = others.dtype.type
    xx1 = np.maximum(others[:, 0], box[0])
    yy1 = np.maximum(others[:, 1], box[1])
    xx2 = np.minimum(others[:, 2], box[2])
    yy2 = np.minimum(others[:, 3], box[3])
    inter = np.maximum(xx2 - xx1, t(0)) * np.maximum(yy2 - yy1, t(0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return inter / ((area(box[None])[0] + area(others)) - inter)


def box_iou(b1, b2):
    b1 = np.asarray(b1, np.float64)
    b2 = np.asarray(b2, np.float64)
    out = np.zeros((len(b1), len(b2)))
    for i in range(len(b1)):
        xx1 = np.maximum(b1[i, 0], b2[:, 0])
        yy1 = np.maximum(b1[i, 1], b2[:, 1])
        xx2 = np.minimum(b1[i, 2], b2[:, 2])
        yy2 = np.minimum(b1[i, 3], b2[:, 3])
        inter = np.clip(xx2 - xx1, 0, None) * np.clip(yy2 - yy1, 0, None)
        union = area(b1[i:i + 1])[0] + area(b2) - inter
        with np.errstate(invalid="ignore", divide="ignore"):
            out[i] = np.where(union == 0, 0.0, inter / union)
    return out


def _order(scores):
    # stable descending: sort by (-score, index)
    s = np.asarray(scores, np.float64)
    return np.lexsort((np.arange(len(s)), -s))


def nms(boxes, scores, iou_threshold, score_threshold=None, max_output=None):
    boxes = np.asarray(boxes)
    order = [i for i in _order(scores) if score_threshold is None or float(scores[i]) > score_threshold]
    suppressed = np.zeros(len(boxes), bool)
    keep = []
    for pos, i in enumerate(order):
        if max_output is not None and len(keep) >= max_output:
            break
        if suppressed[i]:
            continue
        keep.append(i)
        rest = np.array(order[pos + 1:], dtype=np.int64)
        if len(rest):
            ov = iou_one(boxes[i], boxes[rest])
            suppressed[rest[ov.astype(np.float64) > iou_threshold]] = True
    return np.array(keep, dtype=np.int64)


def batched_nms(boxes, scores, class_ids, iou_threshold, score_threshold=None, max_output=None):
    """Per-class NMS, merged by (descending score, index)."""
    class_ids = np.asarray(class_ids)
    kept = []
    for c in np.unique(class_ids):
        idx = np.flatnonzero(class_ids == c)
        k = nms(boxes[idx], scores[idx], iou_threshold, score_threshold)
        kept.extend(idx[k].tolist())
    kept = np.array(kept, dtype=np.int64)
    s = np.asarray(scores, np.float64)[kept]
    kept = kept[np.lexsort((kept, -s))]
    if max_output is not None:
        kept = kept[:max_output]
    return kept


def soft_nms(boxes, scores, sigma=0.5, iou_threshold=0.3, score_threshold=0.001, method="gaussian",
             max_output=None):
    """Bodla et al. 2017 with the pick rule: highest current score, ties ->
    lower original index; boxes with score < score_threshold are dropped."""
    boxes = np.asarray(boxes)
    t = boxes.dtype.type
    s = np.array(scores, dtype=boxes.dtype)
    alive = s.astype(np.float64) >= score_threshold
    out_i, out_s = [], []
    limit = len(s) if max_output is None else max_output
    while alive.any() and len(out_i) < limit:
        cand = np.flatnonzero(alive)
        best = cand[np.lexsort((cand, -s[cand].astype(np.float64)))[0]]
        out_i.append(best)
        out_s.append(s[best])
        alive[best] = False
        rest = np.flatnonzero(alive)
        if not len(rest):
            break
        ov = iou_one(boxes[best], boxes[rest])
        ov = np.where(np.isnan(ov), t(0), ov).astype(boxes.dtype)
        if method == "gaussian":
            w = np.exp(-(ov * ov) / t(sigma))
        else:
            w = np.where(ov.astype(np.float64) > iou_threshold, t(1) - ov, t(1))
        s[rest] = s[rest] * w.astype(boxes.dtype)
        alive[rest] = s[rest].astype(np.float64) >= score_threshold
    return np.array(out_i, dtype=np.int64), np.array(out_s, dtype=boxes.dtype)


def box_convert(boxes, in_fmt, out_fmt):
    b = np.asarray(boxes, np.float64)
    if in_fmt == "xywh":
        b = np.stack([b[..., 0], b[..., 1], b[..., 0] + b[..., 2], b[..., 1] + b[..., 3]], -1)
    elif in_fmt == "cxcywh":
        b = np.stack([b[..., 0] - b[..., 2] / 2, b[..., 1] - b[..., 3] / 2,
                      b[..., 0] + b[..., 2] / 2, b[..., 1] + b[..., 3] / 2], -1)
    if out_fmt == "xywh":
        b = np.stack([b[..., 0], b[..., 1], b[..., 2] - b[..., 0], b[..., 3] - b[..., 1]], -1)
    elif out_fmt == "cxcywh":
        b = np.stack([(b[..., 0] + b[..., 2]) / 2, (b[..., 1] + b[..., 3]) / 2,
                      b[..., 2] - b[..., 0], b[..., 3] - b[..., 1]], -1)
    return b
