"""compare.py rows for pooling: the issue's shapes, forward and forward+backward.

bytes = what the operation must move: read x once, write y (the value-only
max pool writes no indices; the fwd+bwd rows also count the int64 indices
written and read back, grad_out read and grad_x written).
torch's fwd+bwd is its aten forward + backward ops called directly (no
autograd bookkeeping): max_pool2d_with_indices(+_backward), avg_pool2d(+_backward).
"""
import numpy as np

from compare import Case
import fastprims as fp


def _np_max_pool_3x3s2p1(x):
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    w = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(2, 3))[:, :, ::2, ::2]
    return w.max(axis=(-1, -2))


def cases(quick, peers):
    out = []
    shape = (32, 64, 112, 112)
    x = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    OH = OW = 56
    ysz = x.size // 4 * 4
    gy = np.random.default_rng(1).standard_normal((32, 64, OH, OW), dtype=np.float32)
    torch = peers.torch
    fwd_bytes = x.nbytes + ysz
    # fwd: x, y, idx(8B); bwd: gy, idx, gx
    max_fb_bytes = x.nbytes + ysz + 2 * ysz + ysz + 2 * ysz + x.nbytes
    avg_fb_bytes = x.nbytes + ysz + ysz + x.nbytes

    def fp_max_fb():
        y, i = fp.max_pool2d(x, 3, 2, 1, return_indices=True)
        fp.max_pool2d_backward(gy, i, x.shape)

    def fp_avg_fb():
        fp.avg_pool2d(x, 2, 2)
        fp.avg_pool2d_backward(gy, x.shape, 2, 2)

    if torch is not None:
        tx, tgy = torch.from_numpy(x), torch.from_numpy(gy)
        aten = torch.ops.aten
        F = torch.nn.functional

        def t_max_fb():
            y, i = aten.max_pool2d_with_indices(tx, [3, 3], [2, 2], [1, 1], [1, 1], False)
            aten.max_pool2d_with_indices_backward(tgy, tx, [3, 3], [2, 2], [1, 1], [1, 1], False, i)

        def t_avg_fb():
            aten.avg_pool2d(tx, [2, 2], [2, 2], [0, 0], False, True, None)
            aten.avg_pool2d_backward(tgy, tx, [2, 2], [2, 2], [0, 0], False, True, None)

        out += [
            Case("pool", "max_pool2d 3x3 s2 p1 (32,64,112,112) fwd", lambda: fp.max_pool2d(x, 3, 2, 1),
                 lambda: F.max_pool2d(tx, 3, 2, 1), "torch", bytes=fwd_bytes, target=">=5x, >=60% copy",
                 extra={"with_indices": lambda: fp.max_pool2d(x, 3, 2, 1, return_indices=True)}),
            Case("pool", "max_pool2d 3x3 s2 p1 fwd+bwd", fp_max_fb, t_max_fb, "torch", bytes=max_fb_bytes,
                 target=">=1.5x"),
            Case("pool", "avg_pool2d 2x2 s2 (32,64,112,112) fwd", lambda: fp.avg_pool2d(x, 2, 2),
                 lambda: F.avg_pool2d(tx, 2, 2), "torch", bytes=fwd_bytes, target=">=1.5x, >=60% copy"),
            Case("pool", "avg_pool2d 2x2 s2 fwd+bwd", fp_avg_fb, t_avg_fb, "torch", bytes=avg_fb_bytes,
                 target=">=1.5x"),
        ]
    else:
        out += [
            Case("pool", "max_pool2d 3x3 s2 p1 (32,64,112,112) fwd", lambda: fp.max_pool2d(x, 3, 2, 1),
                 lambda: _np_max_pool_3x3s2p1(x), "numpy", bytes=fwd_bytes, target=">=60% copy"),
            Case("pool", "avg_pool2d 2x2 s2 (32,64,112,112) fwd", lambda: fp.avg_pool2d(x, 2, 2),
                 lambda: x.reshape(32, 64, 56, 2, 56, 2).mean(axis=(3, 5)), "numpy", bytes=fwd_bytes,
                 target=">=60% copy"),
        ]
    return out
