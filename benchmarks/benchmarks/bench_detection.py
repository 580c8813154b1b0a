"""asv: detection kernels (box IoU, NMS, multi-class NMS, Soft-NMS)."""
import fastprims as fp

from .common import boxes_clustered, boxes_random, labels


class NMS:
    params = [["random", "clustered"], [1000, 20000, 100000], [1, 2]]
    param_names = ["data", "n", "threads"]

    def setup(self, data, n, threads):
        self.b, self.s = boxes_random(n) if data == "random" else boxes_clustered(n)
        fp.set_num_threads(threads)

    def time_nms(self, data, n, threads):
        fp.nms(self.b, self.s, 0.5)


class BatchedNMS:
    params = [[20000, 100000, 400000], [1, 2]]
    param_names = ["n", "threads"]

    def setup(self, n, threads):
        self.b, self.s = boxes_random(n)
        self.c = labels(n, 80)
        fp.set_num_threads(threads)

    def time_batched_nms(self, n, threads):
        fp.batched_nms(self.b, self.s, self.c, 0.5)


class SoftNMS:
    params = [["gaussian", "linear"], [5000, 20000]]
    param_names = ["method", "n"]

    def setup(self, method, n):
        self.b, self.s = boxes_random(n)

    def time_soft_nms(self, method, n):
        fp.soft_nms(self.b, self.s, method=method)


class BoxIoU:
    params = [["float32", "float64"], [1, 2]]
    param_names = ["dtype", "threads"]

    def setup(self, dtype, threads):
        self.a, _ = boxes_random(2000, dtype, seed=1)
        self.b, _ = boxes_random(2000, dtype, seed=2)
        fp.set_num_threads(threads)

    def time_box_iou(self, dtype, threads):
        fp.box_iou(self.a, self.b)

    def time_box_convert(self, dtype, threads):
        fp.box_convert(self.a, "xyxy", "cxcywh")
