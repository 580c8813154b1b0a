"""compare.py rows for detection: NMS, multi-class NMS, Soft-NMS, box IoU.

Data (benchmarks/benchmarks/common.py): random centers in a 1000x1000 image,
sides 10..100, uniform scores; and a clustered set jittered around 200
objects. Peers: cv2.dnn.NMSBoxes / softNMSBoxes on the same boxes in their
(x, y, w, h) form (softNMSBoxes takes integer rectangles: it gets the rounded
boxes, and so does fastprims in those rows), cv2 run once per class for
multi-class NMS (its NMSBoxesBatched is the coordinate-offset trick), and the
usual NumPy vectorized NMS. cv2 at 100k random boxes takes ~30 s per call.
"""
import numpy as np

from compare import Case
import fastprims as fp
from benchmarks.common import boxes_clustered, boxes_random, labels

IOU = 0.5


def numpy_nms(boxes, scores, thr):
    """The common vectorized NumPy NMS (one box against all remaining)."""
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1) * (y2 - y1)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        w = np.maximum(0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        h = np.maximum(0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = w * h
        iou = inter / (areas[i] + areas[rest] - inter)
        order = rest[iou <= thr]
    return np.array(keep, dtype=np.int64)


def numpy_box_iou(a, b):
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def _xywh(b):
    return np.ascontiguousarray(np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], 1), dtype=np.float64)


def cases(quick, peers):
    out = []
    cv2 = peers.cv2
    fam = "detection"

    def nms_rows(kind, sizes):
        for n in sizes:
            b, s = boxes_random(n) if kind == "random" else boxes_clustered(n)
            name = f"nms {kind} {n // 1000}k"
            fpf = (lambda b=b, s=s: fp.nms(b, s, IOU))
            if cv2 is not None:
                xywh = _xywh(b)
                out.append(Case(fam, name, fpf, lambda x=xywh, s=s: cv2.dnn.NMSBoxes(x, s, 0.0, IOU),
                                "cv2", target=">=10x" if n >= 5000 else "",
                                max_repeat=2 if n >= 100000 else None))
            if cv2 is None or (kind == "random" and 1000 < n <= 20000):
                out.append(Case(fam, name, fpf, lambda b=b, s=s: numpy_nms(b, s, IOU), "numpy"))

    nms_rows("random", [1000, 5000, 20000, 100000])
    nms_rows("clustered", [5000, 20000, 100000])

    for method in ("gaussian", "linear"):
        for n in (5000, 20000):
            b, s = boxes_random(n)
            bi = np.round(b).astype(np.float32)  # softNMSBoxes takes integer rectangles
            fpf = (lambda b=bi, s=s, m=method: fp.soft_nms(b, s, 0.5, 0.3, 0.001, m))
            peer = None
            if cv2 is not None:
                xywh = _xywh(bi).astype(np.int32)
                cm = (cv2.dnn.SOFT_NMSMETHOD_SOFTNMS_GAUSSIAN if method == "gaussian"
                      else cv2.dnn.SOFT_NMSMETHOD_SOFTNMS_LINEAR)
                peer = (lambda x=xywh, s=s, cm=cm: cv2.dnn.softNMSBoxes(x, s, 0.001, 0.3, sigma=0.5, method=cm))
            if method == "linear" and n > 5000:
                continue
            out.append(Case(fam, f"soft_nms {method} random {n // 1000}k", fpf, peer, "cv2" if peer else "-",
                            target=">=10x" if method == "gaussian" else ""))

    # Multi-class: 80 classes, random class per box. The fastprims variant
    # "1class" runs plain nms on the same boxes: batched costs follow the
    # per-class work (n/80 boxes each), not the total.
    for n in (20000, 100000, 400000):
        b, s = boxes_random(n, seed=1)
        c = labels(n, 80, seed=1)
        fpf = (lambda b=b, s=s, c=c: fp.batched_nms(b, s, c, IOU))
        peer = None
        if cv2 is not None and (n <= 100000 or not quick):
            parts = [(np.flatnonzero(c == k)) for k in range(80)]
            parts = [(idx, _xywh(b[idx]), s[idx]) for idx in parts]

            def peer(parts=parts, s=s):
                kept = np.concatenate([idx[np.asarray(cv2.dnn.NMSBoxes(x, sc, 0.0, IOU), np.int64).ravel()]
                                       for idx, x, sc in parts])
                return kept[np.argsort(-s[kept], kind="stable")]
        extra = {"1class": (lambda b=b, s=s: fp.nms(b, s, IOU))} if n <= 100000 else {}
        out.append(Case(fam, f"batched_nms 80cls random {n // 1000}k", fpf, peer,
                        "cv2/class" if peer else "-", target=">=10x" if n == 100000 else "", extra=extra))

    a, _ = boxes_random(2000, seed=2)
    bb, _ = boxes_random(2000, seed=3)
    out.append(Case(fam, "box_iou 2000x2000 f32", lambda: fp.box_iou(a, bb), lambda: numpy_box_iou(a, bb),
                    "numpy", bytes=2000 * 2000 * 4))
    return out
