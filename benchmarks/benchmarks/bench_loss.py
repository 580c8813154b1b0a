"""asv: loss kernels (forward, fused forward+backward, separate backward)."""
import fastprims as fp

from .common import labels, randn, uniform


class Elementwise:
    params = [["float32", "float64"], [1, 2], [10**5, 10**7]]
    param_names = ["dtype", "threads", "n"]

    def setup(self, dtype, threads, n):
        self.x = randn((n,), dtype)
        self.y = randn((n,), dtype, seed=1)
        fp.set_num_threads(threads)

    def time_l1_loss(self, dtype, threads, n):
        fp.l1_loss(self.x, self.y)

    def time_mse_loss(self, dtype, threads, n):
        fp.mse_loss(self.x, self.y)

    def time_mse_loss_fused_grad(self, dtype, threads, n):
        fp.mse_loss(self.x, self.y, return_grad=True)

    def time_mse_loss_backward(self, dtype, threads, n):
        fp.mse_loss_backward(1.0, self.x, self.y)

    def time_smooth_l1_loss_fused_grad(self, dtype, threads, n):
        fp.smooth_l1_loss(self.x, self.y, return_grad=True)

    def time_huber_loss_fused_grad(self, dtype, threads, n):
        fp.huber_loss(self.x, self.y, return_grad=True)


class Logits:
    params = [["float32", "float64"], [1, 2], [(1000, 80), (100000, 80)]]
    param_names = ["dtype", "threads", "shape"]

    def setup(self, dtype, threads, shape):
        self.x = randn(shape, dtype)
        self.t = (uniform(shape, dtype, seed=1) < 0.05).astype(dtype)
        self.pw = uniform(shape[-1:], dtype, seed=2)
        fp.set_num_threads(threads)

    def time_sigmoid_focal_loss_fused_grad(self, dtype, threads, shape):
        fp.sigmoid_focal_loss(self.x, self.t, reduction="mean", return_grad=True)

    def time_sigmoid_focal_loss_backward(self, dtype, threads, shape):
        fp.sigmoid_focal_loss_backward(1.0, self.x, self.t, reduction="mean")

    def time_bce_with_logits_fused_grad(self, dtype, threads, shape):
        fp.binary_cross_entropy_with_logits(self.x, self.t, pos_weight=self.pw, return_grad=True)


class ClassAxis:
    params = [["float32", "float64"], [1, 2], [(4096, 1000), (64, 10), (8, 21, 64, 64)]]
    param_names = ["dtype", "threads", "shape"]

    def setup(self, dtype, threads, shape):
        self.x = randn(shape, dtype)
        n_samples = shape[0] * (shape[2] * shape[3] if len(shape) == 4 else 1)
        self.t = labels(n_samples, shape[1]).reshape((shape[0],) + shape[2:])
        self.logp = self.x  # nll only gathers; values need not be normalized
        fp.set_num_threads(threads)

    def time_cross_entropy(self, dtype, threads, shape):
        fp.cross_entropy(self.x, self.t)

    def time_cross_entropy_fused_grad(self, dtype, threads, shape):
        fp.cross_entropy(self.x, self.t, return_grad=True)

    def time_cross_entropy_backward(self, dtype, threads, shape):
        fp.cross_entropy_backward(1.0, self.x, self.t)

    def time_cross_entropy_label_smoothing_fused_grad(self, dtype, threads, shape):
        fp.cross_entropy(self.x, self.t, label_smoothing=0.1, return_grad=True)

    def time_softmax_focal_loss_fused_grad(self, dtype, threads, shape):
        fp.softmax_focal_loss(self.x, self.t, return_grad=True)

    def time_nll_loss_fused_grad(self, dtype, threads, shape):
        fp.nll_loss(self.logp, self.t, return_grad=True)


class PPO:
    params = [["float32", "float64"], [1, 2], [2048, 10**6]]
    param_names = ["dtype", "threads", "n"]

    def setup(self, dtype, threads, n):
        self.args = tuple(randn((n,), dtype, seed=s) for s in range(6))
        fp.set_num_threads(threads)

    def time_ppo_clip_loss_fused_grad(self, dtype, threads, n):
        fp.ppo_clip_loss(*self.args, return_grad=True)

    def time_ppo_clip_loss_backward(self, dtype, threads, n):
        fp.ppo_clip_loss_backward(1.0, *self.args)
