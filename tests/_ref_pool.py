"""Independent NumPy float64 references for pooling (torch semantics).

Written from torch's documented definitions, one output window at a time;
nothing here calls fastprims.
"""
import numpy as np


def out_size(n, k, p, s, d, ceil_mode):
    eff = d * (k - 1) + 1
    if ceil_mode:
        out = -(-(n + 2 * p - eff) // s) + 1
        if (out - 1) * s >= n + p:  # the last window must start inside input or left padding
            out -= 1
    else:
        out = (n + 2 * p - eff) // s + 1
    return out


def max_pool2d(x, k, s, p, d, ceil_mode):
    """(y, indices): scan each window row-major; take v if v > max or v is NaN."""
    x = np.asarray(x, np.float64)
    N, C, H, W = x.shape
    OH, OW = out_size(H, k[0], p[0], s[0], d[0], ceil_mode), out_size(W, k[1], p[1], s[1], d[1], ceil_mode)
    y = np.empty((N, C, OH, OW))
    ind = np.empty((N, C, OH, OW), np.int64)
    for oh in range(OH):
        for ow in range(OW):
            rows = [oh * s[0] - p[0] + i * d[0] for i in range(k[0])]
            cols = [ow * s[1] - p[1] + j * d[1] for j in range(k[1])]
            # torch starts from the first tap at or after 0 on the dilation
            # lattice, even when that lies past the input (empty window)
            r0 = rows[0] + -(-max(0, -rows[0]) // d[0]) * d[0]
            c0 = cols[0] + -(-max(0, -cols[0]) // d[1]) * d[1]
            rows = [r for r in rows if 0 <= r < H]
            cols = [c for c in cols if 0 <= c < W]
            m = np.full((N, C), -np.inf)
            idx = np.full((N, C), r0 * W + c0, np.int64)
            for r in rows:
                for c in cols:
                    v = x[:, :, r, c]
                    take = (v > m) | np.isnan(v)
                    m = np.where(take, v, m)
                    idx = np.where(take, r * W + c, idx)
            y[:, :, oh, ow] = m
            ind[:, :, oh, ow] = idx
    return y, ind


def max_pool2d_backward(g, ind, shape):
    N, C, H, W = shape
    gx = np.zeros((N * C, H * W))
    gf = np.asarray(g, np.float64).reshape(N * C, -1)
    inf = ind.reshape(N * C, -1)
    for p in range(N * C):
        np.add.at(gx[p], inf[p], gf[p])
    return gx.reshape(shape)


def _avg_windows(H, W, k, s, p, ceil_mode, cip, div):
    OH, OW = out_size(H, k[0], p[0], s[0], 1, ceil_mode), out_size(W, k[1], p[1], s[1], 1, ceil_mode)
    for oh in range(OH):
        for ow in range(OW):
            h0, w0 = oh * s[0] - p[0], ow * s[1] - p[1]
            h1, w1 = min(h0 + k[0], H + p[0]), min(w0 + k[1], W + p[1])
            size = (h1 - h0) * (w1 - w0)
            h0, w0, h1, w1 = max(h0, 0), max(w0, 0), min(h1, H), min(w1, W)
            if h0 >= h1 or w0 >= w1:
                yield oh, ow, None, None, None
                continue
            d = div if div else (size if cip else (h1 - h0) * (w1 - w0))
            yield oh, ow, slice(h0, h1), slice(w0, w1), d


def avg_pool2d(x, k, s, p, ceil_mode, cip, div):
    x = np.asarray(x, np.float64)
    N, C, H, W = x.shape
    OH, OW = out_size(H, k[0], p[0], s[0], 1, ceil_mode), out_size(W, k[1], p[1], s[1], 1, ceil_mode)
    y = np.zeros((N, C, OH, OW))
    for oh, ow, hs, ws, d in _avg_windows(H, W, k, s, p, ceil_mode, cip, div):
        if hs is not None:
            y[:, :, oh, ow] = x[:, :, hs, ws].sum(axis=(2, 3)) / d
    return y


def avg_pool2d_backward(g, shape, k, s, p, ceil_mode, cip, div):
    g = np.asarray(g, np.float64)
    N, C, H, W = shape
    gx = np.zeros(shape)
    for oh, ow, hs, ws, d in _avg_windows(H, W, k, s, p, ceil_mode, cip, div):
        if hs is not None:
            gx[:, :, hs, ws] += (g[:, :, oh, ow] / d)[:, :, None, None]
    return gx


def _adaptive_windows(n, out):
    return [(i * n // out, -(-((i + 1) * n) // out)) for i in range(out)]


def adaptive_avg_pool2d(x, OH, OW):
    x = np.asarray(x, np.float64)
    N, C, H, W = x.shape
    y = np.empty((N, C, OH, OW))
    for i, (h0, h1) in enumerate(_adaptive_windows(H, OH)):
        for j, (w0, w1) in enumerate(_adaptive_windows(W, OW)):
            y[:, :, i, j] = x[:, :, h0:h1, w0:w1].mean(axis=(2, 3))
    return y


def adaptive_avg_pool2d_backward(g, shape):
    g = np.asarray(g, np.float64)
    N, C, H, W = shape
    OH, OW = g.shape[2:]
    gx = np.zeros(shape)
    for i, (h0, h1) in enumerate(_adaptive_windows(H, OH)):
        for j, (w0, w1) in enumerate(_adaptive_windows(W, OW)):
            gx[:, :, h0:h1, w0:w1] += (g[:, :, i, j] / ((h1 - h0) * (w1 - w0)))[:, :, None, None]
    return gx
