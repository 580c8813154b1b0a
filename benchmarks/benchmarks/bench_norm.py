"""asv: batch/layer/group normalization, forward and backward."""
import numpy as np

import fastprims as fp

from .common import randn


class BatchNorm:
    params = [["float32", "float64"], [1, 2], [(32, 64, 112, 112), (256, 256, 14, 14), (4096, 512)]]
    param_names = ["dtype", "threads", "shape"]
    timeout = 120

    def setup(self, dtype, threads, shape):
        self.x = randn(shape, dtype)
        self.gy = randn(shape, dtype, seed=1)
        C = shape[1]
        self.g = np.ones(C, dtype)
        self.b = np.zeros(C, dtype)
        self.rm = np.zeros(C, dtype)
        self.rv = np.ones(C, dtype)
        _, self.sm, self.si = fp.batch_norm(self.x, self.g, self.b, None, None, True)
        fp.set_num_threads(threads)

    def time_train_forward(self, dtype, threads, shape):
        fp.batch_norm(self.x, self.g, self.b, self.rm, self.rv, True)

    def time_eval_forward(self, dtype, threads, shape):
        fp.batch_norm(self.x, self.g, self.b, self.rm, self.rv, False)

    def time_backward(self, dtype, threads, shape):
        fp.batch_norm_backward(self.gy, self.x, self.g, self.sm, self.si)


class LayerGroupNorm:
    params = [["float32", "float64"], [1, 2]]
    param_names = ["dtype", "threads"]
    timeout = 120

    def setup(self, dtype, threads):
        self.xl = randn((4096, 1024), dtype)
        self.gl = randn((4096, 1024), dtype, seed=1)
        self.w = np.ones(1024, dtype)
        _, self.ml, self.rl = fp.layer_norm(self.xl, 1024, self.w, self.w)
        self.xg = randn((32, 64, 56, 56), dtype)
        self.gg = randn((32, 64, 56, 56), dtype, seed=1)
        self.wg = np.ones(64, dtype)
        _, self.mg, self.rg = fp.group_norm(self.xg, 32, self.wg, self.wg)
        fp.set_num_threads(threads)

    def time_layer_norm(self, dtype, threads):
        fp.layer_norm(self.xl, 1024, self.w, self.w)

    def time_layer_norm_backward(self, dtype, threads):
        fp.layer_norm_backward(self.gl, self.xl, 1024, self.ml, self.rl, self.w)

    def time_group_norm(self, dtype, threads):
        fp.group_norm(self.xg, 32, self.wg, self.wg)

    def time_group_norm_backward(self, dtype, threads):
        fp.group_norm_backward(self.gg, self.xg, 32, self.mg, self.rg, self.wg)
