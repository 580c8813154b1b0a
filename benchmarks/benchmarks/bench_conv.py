"""asv: conv2d forward / backward for each algorithm, and the im2col peak memory."""
import fastprims as fp

from .common import randn

# (N, C_in, H=W, C_out, k, stride, pad, groups): a 3x3 layer, a 1x1 layer,
# a depthwise layer and a small one (the compare.py table has all nine)
LAYERS = {
    "3x3_64@56": (8, 64, 56, 64, 3, 1, 1, 1),
    "1x1_64-256@56": (8, 64, 56, 256, 1, 1, 0, 1),
    "dw3x3_128@56": (8, 128, 56, 128, 3, 1, 1, 128),
    "tiny_16@32": (8, 16, 32, 16, 3, 1, 1, 1),
}


class Conv2d:
    params = [list(LAYERS), ["auto", "direct", "im2col", "winograd"]]
    param_names = ["layer", "algorithm"]

    def setup(self, layer, algorithm):
        n, c, hw, co, k, s, p, g = LAYERS[layer]
        if algorithm == "winograd" and (k != 3 or s != 1):
            raise NotImplementedError("winograd: 3x3 stride-1 layers only")  # asv skips the combination
        self.x = randn((n, c, hw, hw), "float32")
        self.w = randn((co, c // g, k, k), "float32", seed=1)
        self.b = randn((co,), "float32", seed=2)
        self.kw = dict(stride=s, padding=p, groups=g, algorithm=algorithm)
        self.gy = randn(fp.conv2d(self.x, self.w, **self.kw).shape, "float32", seed=3)
        fp.set_num_threads(2)

    def time_forward(self, layer, algorithm):
        fp.conv2d(self.x, self.w, self.b, **self.kw)

    def time_backward(self, layer, algorithm):
        fp.conv2d_backward(self.gy, self.x, self.w, **self.kw)


class Im2colMemory:
    """Peak memory of the im2col path: bounded tiles, flat in the batch size."""
    params = [[8, 64]]
    param_names = ["batch"]

    def setup(self, batch):
        self.x = randn((batch, 64, 28, 28), "float32")
        self.w = randn((64, 64, 3, 3), "float32", seed=1)

    def peakmem_forward_im2col(self, batch):
        fp.conv2d(self.x, self.w, padding=1, algorithm="im2col")

    def peakmem_forward_direct(self, batch):
        fp.conv2d(self.x, self.w, padding=1, algorithm="direct")
