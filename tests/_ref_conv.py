"""Independent float64 NumPy references for the convolution family.

The forward pass gathers every window explicitly (zero-padded input, strided
and dilated views) and contracts with einsum; gradients come from the same
window view: grad_weight by einsum, grad_x by scattering each tap back with
np.add.at over the window indices. Nothing here calls fastprims.
"""
import numpy as np


def _padded(x, pad):
    (pt, pb), (pl, pr) = pad
    return np.pad(np.asarray(x, np.float64), ((0, 0), (0, 0), (pt, pb), (pl, pr)))


def _resolve(x_shape, w_shape, stride, padding, dilation):
    kh, kw = w_shape[2], w_shape[3]
    s = stride if isinstance(stride, tuple) else (stride, stride)
    d = dilation if isinstance(dilation, tuple) else (dilation, dilation)
    if padding == "valid":
        pad = ((0, 0), (0, 0))
    elif padding == "same":
        th, tw = d[0] * (kh - 1), d[1] * (kw - 1)
        pad = ((th // 2, th - th // 2), (tw // 2, tw - tw // 2))
    else:
        p = padding if isinstance(padding, tuple) else (padding, padding)
        pad = ((p[0], p[0]), (p[1], p[1]))
    H = x_shape[2] + pad[0][0] + pad[0][1]
    W = x_shape[3] + pad[1][0] + pad[1][1]
    oh = (H - d[0] * (kh - 1) - 1) // s[0] + 1
    ow = (W - d[1] * (kw - 1) - 1) // s[1] + 1
    return s, d, pad, oh, ow


def _window_index(oh, ow, kh, kw, s, d):
    """Row/column index of every (oh, ow, i, j) tap in the padded input."""
    rows = (np.arange(oh) * s[0])[:, None] + (np.arange(kh) * d[0])[None, :]  # (oh, kh)
    cols = (np.arange(ow) * s[1])[:, None] + (np.arange(kw) * d[1])[None, :]  # (ow, kw)
    return rows, cols


def windows(x, w_shape, stride=1, padding=0, dilation=1):
    """(N, C, oh, ow, kh, kw) windows of the zero-padded input, float64."""
    s, d, pad, oh, ow = _resolve(x.shape, w_shape, stride, padding, dilation)
    xp = _padded(x, pad)
    rows, cols = _window_index(oh, ow, w_shape[2], w_shape[3], s, d)
    return xp[:, :, rows[:, None, :, None], cols[None, :, None, :]]


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    w = np.asarray(w, np.float64)
    win = windows(x, w.shape, stride, padding, dilation)  # N C oh ow kh kw
    N, C = win.shape[:2]
    G = groups
    cig, cog = C // G, w.shape[0] // G
    win = win.reshape(N, G, cig, *win.shape[2:])
    wg = w.reshape(G, cog, cig, *w.shape[2:])
    y = np.einsum("ngcyxij,gocij->ngoyx", win, wg).reshape(N, G * cog, *win.shape[3:5])
    if b is not None:
        y = y + np.asarray(b, np.float64)[None, :, None, None]
    return y


def conv2d_backward(gy, x, w, stride=1, padding=0, dilation=1, groups=1):
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    gy = np.asarray(gy, np.float64)
    s, d, pad, oh, ow = _resolve(x.shape, w.shape, stride, padding, dilation)
    N, C = x.shape[:2]
    G = groups
    cig, cog = C // G, w.shape[0] // G
    kh, kw = w.shape[2:]
    win = windows(x, w.shape, stride, padding, dilation).reshape(N, G, cig, oh, ow, kh, kw)
    gyg = gy.reshape(N, G, cog, oh, ow)
    gw = np.einsum("ngoyx,ngcyxij->gocij", gyg, win).reshape(w.shape)
    wg = w.reshape(G, cog, cig, kh, kw)
    gwin = np.einsum("ngoyx,gocij->ngcyxij", gyg, wg).reshape(N, C, oh, ow, kh, kw)
    xp_shape = (N, C, x.shape[2] + pad[0][0] + pad[0][1], x.shape[3] + pad[1][0] + pad[1][1])
    gxp = np.zeros(xp_shape)
    rows, cols = _window_index(oh, ow, kh, kw, s, d)
    R = np.broadcast_to(rows[:, None, :, None], (oh, ow, kh, kw))
    Cc = np.broadcast_to(cols[None, :, None, :], (oh, ow, kh, kw))
    for n in range(N):
        for c in range(C):
            np.add.at(gxp[n, c], (R, Cc), gwin[n, c])
    gx = gxp[:, :, pad[0][0]:xp_shape[2] - pad[0][1], pad[1][0]:xp_shape[3] - pad[1][1]]
    gb = gy.sum(axis=(0, 2, 3))
    return gx, gw, gb


def im2col(x, kernel_size, dilation=1, padding=0, stride=1):
    k = kernel_size if isinstance(kernel_size, tuple) else (kernel_size, kernel_size)
    win = windows(x, (1, 1) + k, stride, padding, dilation)  # N C oh ow kh kw
    N, C, oh, ow, kh, kw = win.shape
    return win.transpose(0, 1, 4, 5, 2, 3).reshape(N, C * kh * kw, oh * ow)
