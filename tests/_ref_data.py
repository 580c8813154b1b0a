"""NumPy/SciPy float64 references for the data kernels. Nothing here calls fastprims."""
import numpy as np


def flip(x, mask):
    y = np.array(x, np.float64)
    y[mask] = y[mask][..., ::-1]
    return y


def translate(x, shifts, mode):
    """out[r, c] = x[r - dy, c - dx] by explicit index arithmetic."""
    x = np.asarray(x, np.float64)
    n, c, h, w = x.shape
    out = np.zeros_like(x)
    r = np.arange(h)[:, None]
    col = np.arange(w)[None, :]
    for i, (dy, dx) in enumerate(shifts):
        sr, sc = r - dy, col - dx
        valid = (sr >= 0) & (sr < h) & (sc >= 0) & (sc < w)
        srr, scc = np.clip(sr, 0, h - 1), np.clip(sc, 0, w - 1)
        vals = x[i][:, srr, scc]
        out[i] = vals if mode == "edge" else np.where(valid, vals, 0.0)
    return out


def affine(x, mats, mode):
    """scipy.ndimage.affine_transform(order=1) per plane: output (r, c) samples
    the input at A @ (r, c) + b."""
    from scipy import ndimage
    x = np.asarray(x, np.float64)
    out = np.empty_like(x)
    smode = {"zero": "grid-constant", "edge": "nearest"}[mode]
    for i in range(x.shape[0]):
        m = np.asarray(mats[i], np.float64)
        for ch in range(x.shape[1]):
            out[i, ch] = ndimage.affine_transform(x[i, ch], m[:, :2], offset=m[:, 2], order=1, mode=smode,
                                                  cval=0.0, prefilter=False)
    return out


def standardize(x, mean, std):
    x = np.asarray(x, np.float64)
    if x.ndim == 1:  # one channel
        return (x - np.ravel(mean)[0]) / np.ravel(std)[0]
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return (x - np.reshape(mean, shape)) / np.reshape(std, shape)


def min_max(x, lo, hi, dmin=None, dmax=None):
    x = np.asarray(x, np.float64)
    axes = (0,) + tuple(range(2, x.ndim))
    dmin = x.min(axis=axes) if dmin is None else np.asarray(dmin, np.float64)
    dmax = x.max(axis=axes) if dmax is None else np.asarray(dmax, np.float64)
    rng = np.where(dmax - dmin == 0, 1.0, dmax - dmin)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return (x - dmin.reshape(shape)) / rng.reshape(shape) * (hi - lo) + lo
