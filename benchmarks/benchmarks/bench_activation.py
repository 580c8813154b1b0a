"""asv: activation kernels."""
import fastprims as fp

from .common import randn


class Elementwise:
    params = [["float32", "float64"], [1, 2], [10**5, 10**7]]
    param_names = ["dtype", "threads", "n"]

    def setup(self, dtype, threads, n):
        self.x = randn((n,), dtype)
        self.g = randn((n,), dtype, seed=1)
        fp.set_num_threads(threads)

    def time_relu(self, dtype, threads, n):
        fp.relu(self.x)

    def time_relu_backward(self, dtype, threads, n):
        fp.relu_backward(self.g, self.x)
