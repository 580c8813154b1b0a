"""asv: pooling kernels (forward and backward) on NCHW activations."""
import fastprims as fp

from .common import randn


class Pool:
    params = [["float32", "float64"], [1, 2], [(8, 64, 56, 56), (32, 64, 112, 112)]]
    param_names = ["dtype", "threads", "shape"]
    timeout = 120

    def setup(self, dtype, threads, shape):
        self.x = randn(shape, dtype)
        N, C, H, W = shape
        self.g3 = randn((N, C, (H - 1) // 2 + 1, (W - 1) // 2 + 1), dtype, seed=1)
        self.g2 = randn((N, C, H // 2, W // 2), dtype, seed=2)
        self.g1 = randn((N, C, 1, 1), dtype, seed=3)
        self.y3, self.ind = fp.max_pool2d(self.x, 3, 2, 1, return_indices=True)
        fp.set_num_threads(threads)

    def time_max_pool2d_3x3s2(self, dtype, threads, shape):
        fp.max_pool2d(self.x, 3, 2, 1)

    def time_max_pool2d_3x3s2_indices(self, dtype, threads, shape):
        fp.max_pool2d(self.x, 3, 2, 1, return_indices=True)

    def time_max_pool2d_backward(self, dtype, threads, shape):
        fp.max_pool2d_backward(self.g3, self.ind, self.x.shape)

    def time_avg_pool2d_2x2(self, dtype, threads, shape):
        fp.avg_pool2d(self.x, 2)

    def time_avg_pool2d_backward(self, dtype, threads, shape):
        fp.avg_pool2d_backward(self.g2, self.x.shape, 2)

    def time_adaptive_avg_pool2d_7x7(self, dtype, threads, shape):
        fp.adaptive_avg_pool2d(self.x, 7)

    def time_global_avg_pool2d(self, dtype, threads, shape):
        fp.global_avg_pool2d(self.x)

    def time_global_avg_pool2d_backward(self, dtype, threads, shape):
        fp.global_avg_pool2d_backward(self.g1, self.x.shape)
