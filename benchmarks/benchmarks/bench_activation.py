"""asv: activation kernels (elementwise, softmax family, dropout) over dtype,
threads and shape."""
import fastprims as fp

from .common import randn


class Elementwise:
    params = [["float32", "float64"], [1, 2], [10**5, 10**7]]
    param_names = ["dtype", "threads", "n"]

    def setup(self, dtype, threads, n):
        self.x = randn((n,), dtype)
        self.g = randn((n,), dtype, seed=1)
        self.y = fp.sigmoid(self.x)
        fp.set_num_threads(threads)

    def time_relu(self, dtype, threads, n):
        fp.relu(self.x)

    def time_relu_backward(self, dtype, threads, n):
        fp.relu_backward(self.g, self.x)

    def time_leaky_relu(self, dtype, threads, n):
        fp.leaky_relu(self.x, 0.01)

    def time_leaky_relu_backward(self, dtype, threads, n):
        fp.leaky_relu_backward(self.g, self.x, 0.01)

    def time_sigmoid(self, dtype, threads, n):
        fp.sigmoid(self.x)

    def time_sigmoid_backward(self, dtype, threads, n):
        fp.sigmoid_backward(self.g, self.y)

    def time_tanh(self, dtype, threads, n):
        fp.tanh(self.x)

    def time_tanh_backward(self, dtype, threads, n):
        fp.tanh_backward(self.g, self.y)

    def time_gelu(self, dtype, threads, n):
        fp.gelu(self.x)

    def time_gelu_backward(self, dtype, threads, n):
        fp.gelu_backward(self.g, self.x)

    def time_gelu_tanh(self, dtype, threads, n):
        fp.gelu(self.x, "tanh")

    def time_gelu_tanh_backward(self, dtype, threads, n):
        fp.gelu_backward(self.g, self.x, "tanh")

    def time_dropout(self, dtype, threads, n):
        fp.dropout(self.x, 0.5, seed=1)


class Softmax:
    # (shape, axis): rows in cache, rows over the block size, a channel axis
    params = [["float32", "float64"], [1, 2],
              ["(4096, 1000):-1", "(8, 100000):-1", "(64, 21, 128, 128):1"]]
    param_names = ["dtype", "threads", "case"]

    def setup(self, dtype, threads, case):
        shape, axis = case.split(":")
        self.shape = tuple(int(s) for s in shape.strip("()").split(","))
        self.axis = int(axis)
        self.x = randn(self.shape, dtype)
        self.g = randn(self.shape, dtype, seed=1)
        self.y = fp.softmax(self.x, self.axis)
        self.ly = fp.log_softmax(self.x, self.axis)
        fp.set_num_threads(threads)

    def time_softmax(self, dtype, threads, case):
        fp.softmax(self.x, self.axis)

    def time_softmax_backward(self, dtype, threads, case):
        fp.softmax_backward(self.g, self.y, self.axis)

    def time_log_softmax(self, dtype, threads, case):
        fp.log_softmax(self.x, self.axis)

    def time_log_softmax_backward(self, dtype, threads, case):
        fp.log_softmax_backward(self.g, self.ly, self.axis)
