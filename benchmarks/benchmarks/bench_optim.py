"""asv: optimizer steps, penalties and clipping over flat buffers."""
import numpy as np

import fastprims as fp

from .common import randn


class OptimizerStep:
    params = [["sgd_momentum", "adagrad", "rmsprop", "adam", "adamw"], ["float32", "float64"], [1, 2],
              [10**5, 10**7]]
    param_names = ["optimizer", "dtype", "threads", "n"]

    def setup(self, optimizer, dtype, threads, n):
        fp.set_num_threads(threads)
        self.p = np.array(randn((n,), dtype))
        self.g = np.array(randn((n,), dtype, seed=1))
        o = fp.optim
        self.opt = {"sgd_momentum": lambda: o.SGD(self.p, self.g, lr=1e-3, momentum=0.9),
                    "adagrad": lambda: o.Adagrad(self.p, self.g, lr=1e-3),
                    "rmsprop": lambda: o.RMSprop(self.p, self.g, lr=1e-3),
                    "adam": lambda: o.Adam(self.p, self.g, lr=1e-3),
                    "adamw": lambda: o.AdamW(self.p, self.g, lr=1e-3)}[optimizer]()
        self.opt.step()

    def time_step(self, optimizer, dtype, threads, n):
        self.opt.step()


class Regularization:
    params = [["float32", "float64"], [1, 2]]
    param_names = ["dtype", "threads"]

    def setup(self, dtype, threads):
        fp.set_num_threads(threads)
        self.p = randn((10**7,), dtype)
        self.g = np.array(randn((10**7,), dtype, seed=1))

    def time_elastic_net_penalty(self, dtype, threads):
        fp.optim.elastic_net_penalty(self.p, self.g, alpha=1e-4, l1_ratio=0.5)

    def time_clip_grad_norm(self, dtype, threads):
        fp.optim.clip_grad_norm(self.g, 1e9)
