"""asv: classification metrics (fastprims.metrics)."""
import fastprims as fp

from .common import labels, randn


class Ranking:
    params = [["float32", "float64"], [1, 2], [10**5, 10**6]]
    param_names = ["dtype", "threads", "n"]

    def setup(self, dtype, threads, n):
        self.y = labels(n, 2)
        self.s = randn((n,), dtype)
        fp.set_num_threads(threads)

    def time_roc_auc(self, dtype, threads, n):
        fp.roc_auc(self.y, self.s)

    def time_average_precision(self, dtype, threads, n):
        fp.average_precision(self.y, self.s)

    def time_roc_curve(self, dtype, threads, n):
        fp.roc_curve(self.y, self.s)

    def time_precision_recall_curve(self, dtype, threads, n):
        fp.precision_recall_curve(self.y, self.s)


class Classification:
    params = [[1, 2], [10**5, 10**6]]
    param_names = ["threads", "n"]

    def setup(self, threads, n):
        self.yt = labels(n, 10)
        self.yp = labels(n, 10, seed=1)
        self.yb = labels(n, 2)
        self.yb2 = labels(n, 2, seed=1)
        fp.set_num_threads(threads)

    def time_confusion_matrix(self, threads, n):
        fp.confusion_matrix(self.yt, self.yp)

    def time_confusion_matrix_num_classes(self, threads, n):
        fp.confusion_matrix(self.yt, self.yp, num_classes=10)

    def time_accuracy(self, threads, n):
        fp.accuracy(self.yt, self.yp)

    def time_precision_recall_fscore_macro(self, threads, n):
        fp.precision_recall_fscore(self.yt, self.yp, average="macro")

    def time_precision_recall_fscore_binary(self, threads, n):
        fp.precision_recall_fscore(self.yb, self.yb2)
