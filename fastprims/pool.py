"""Pooling over NCHW images (torch.nn.functional semantics), forward and backward.

Inputs are (N, C, H, W) or (C, H, W) (a single image, as torch). Geometry is
validated here exactly as torch does (kernel/stride/dilation > 0, padding <=
half the effective kernel, output size >= 1, and with ceil_mode the last
window must start inside the input or the left padding), so the C kernels
(src/pool.c, bound in fastprims/_pool.pyx) trust it.

max_pool2d computes argmax indices only when return_indices=True: the
value-only path is a NaN-propagating running max that vectorizes cleanly,
while torch always produces int64 indices (and pays for writing them). For a
backward pass ask for the indices in the forward (flat per-plane offsets
ih*W + iw, as torch) and hand them to max_pool2d_backward: storing them costs
8 bytes per output, recomputing the argmax from x in the backward would cost
re-reading all of x (4x more bytes for a 3x3 stride-2 pool).
"""
import numpy as np

from fastprims import _pool
from fastprims import _validate as V

__all__ = ["max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward",
           "adaptive_avg_pool2d", "adaptive_avg_pool2d_backward", "global_avg_pool2d",
           "global_avg_pool2d_backward"]


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _pair(v, name):
    if _is_int(v):
        return (int(v), int(v))
    if isinstance(v, (tuple, list)) and len(v) in (1, 2) and all(_is_int(e) for e in v):
        return (int(v[0]), int(v[-1]))
    raise TypeError(f"{name} must be an int or a pair of ints, got {v!r}")


def _image(x, name):
    a = V.float_array(x, name)
    if a.ndim not in (3, 4):
        raise ValueError(f"{name} must be (N, C, H, W) or (C, H, W), got shape {a.shape}")
    if 0 in a.shape[-3:]:
        raise ValueError(f"{name} must have non-zero C, H and W, got shape {a.shape}")
    return a


def _out_size(n, k, p, s, d, ceil_mode):
    # torch's pooling_output_shape (floor division rounds toward -inf as div_rtn)
    out = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _geometry(shape, kernel_size, stride, padding, dilation, ceil_mode, what):
    """The kernels' geometry tuple (planes, H, W, OH, OW, kh, kw, sh, sw, ph, pw, dh, dw)."""
    k = _pair(kernel_size, "kernel_size")
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        s = k
    else:
        s = _pair(stride, "stride")
    p = _pair(padding, "padding")
    d = _pair(dilation, "dilation")
    if min(k) <= 0:
        raise ValueError(f"kernel_size must be positive, got {k}")
    if min(s) <= 0:
        raise ValueError(f"stride must be positive, got {s}")
    if min(d) <= 0:
        raise ValueError(f"dilation must be positive, got {d}")
    if min(p) < 0:
        raise ValueError(f"padding must be non-negative, got {p}")
    for i in range(2):
        if p[i] > ((k[i] - 1) * d[i] + 1) // 2:
            raise ValueError(f"padding={p} must be at most half of the effective kernel size "
                             f"(kernel_size={k}, dilation={d})")
    H, W = shape[-2], shape[-1]
    OH = _out_size(H, k[0], p[0], s[0], d[0], bool(ceil_mode))
    OW = _out_size(W, k[1], p[1], s[1], d[1], bool(ceil_mode))
    if OH < 1 or OW < 1:
        raise ValueError(f"{what}: input of shape {tuple(shape)} is too small for kernel_size={k}, "
                         f"padding={p}, dilation={d}: the output would be {OH}x{OW}")
    planes = int(np.prod(shape[:-2], dtype=np.int64))
    return (planes, H, W, OH, OW) + k + s + p + d


def _input_shape(input_shape, grad_shape):
    try:
        shape = tuple(int(v) for v in input_shape)
    except TypeError:
        raise TypeError(f"input_shape must be a sequence of ints, got {input_shape!r}") from None
    if len(shape) != len(grad_shape) or shape[:-2] != tuple(grad_shape[:-2]):
        raise ValueError(f"input_shape={shape} does not match grad_out.shape={tuple(grad_shape)}: "
                         f"the leading (N, C) dimensions must agree")
    if min(shape[-3:]) <= 0:
        raise ValueError(f"input_shape={shape} must have positive C, H and W")
    return shape


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False, *, out=None):
    """Max pooling (torch.nn.functional.max_pool2d).

    Padding never wins (it acts as -inf); ties keep the first maximum in scan
    order (row-major within the window); a NaN in the window makes the output
    NaN and its index is that of the last NaN in scan order, as torch.
    Returns y, or (y, indices) with int64 flat per-plane indices ih*W + iw.
    """
    a = _image(x, "x")
    g = _geometry(a.shape, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    oshape = a.shape[:-2] + g[3:5]
    y = V.output(out, oshape, a.dtype)
    ind = V.empty(oshape, np.int64) if return_indices else None
    _pool.max_forward(a, y, ind, g)
    return (y, ind) if return_indices else y


def max_pool2d_backward(grad_out, indices, input_shape):
    """Gradient of max_pool2d w.r.t. x: grad_out summed into the argmax positions
    `indices` returned by max_pool2d(..., return_indices=True)."""
    g = _image(grad_out, "grad_out")
    ind = V.int_array(indices, "indices")
    if ind.shape != g.shape:
        raise ValueError(f"indices must have the shape of grad_out: indices.shape={ind.shape}, "
                         f"grad_out.shape={g.shape}")
    shape = _input_shape(input_shape, g.shape)
    gx = V.empty(shape, g.dtype)
    planes = int(np.prod(shape[:-2], dtype=np.int64))
    in_plane = shape[-2] * shape[-1]
    _pool.max_backward(g, ind, gx, planes, in_plane, g.shape[-2] * g.shape[-1],
                       f"max_pool2d_backward: indices must lie in [0, H*W) = [0, {in_plane}) "
                       f"for input_shape={shape}")
    return gx


def _avg_args(count_include_pad, divisor_override):
    if divisor_override is None:
        return bool(count_include_pad), 0
    if not _is_int(divisor_override):
        raise TypeError(f"divisor_override must be an int or None, got {divisor_override!r}")
    if divisor_override == 0:
        raise ValueError("divisor_override must be non-zero, got 0")
    return bool(count_include_pad), int(divisor_override)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None, *, out=None):
    """Average pooling (torch.nn.functional.avg_pool2d).

    The divisor is divisor_override if given, else the window clipped to the
    padded input (count_include_pad=True) or to the input (False). Windows are
    summed in the input dtype in scan order, as torch.
    """
    a = _image(x, "x")
    g = _geometry(a.shape, kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d")
    cip, div = _avg_args(count_include_pad, divisor_override)
    y = V.output(out, a.shape[:-2] + g[3:5], a.dtype)
    _pool.avg_forward(a, y, g, cip, div)
    return y


def avg_pool2d_backward(grad_out, input_shape, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None):
    """Gradient of avg_pool2d w.r.t. x, for an input of shape input_shape."""
    gr = _image(grad_out, "grad_out")
    shape = _input_shape(input_shape, gr.shape)
    g = _geometry(shape, kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d_backward")
    if gr.shape[-2:] != g[3:5]:
        raise ValueError(f"grad_out.shape={gr.shape} does not match the avg_pool2d output "
                         f"{shape[:-2] + g[3:5]} for input_shape={shape}")
    cip, div = _avg_args(count_include_pad, divisor_override)
    gx = V.empty(shape, gr.dtype)
    _pool.avg_backward(gr, gx, g, cip, div)
    return gx


def _output_size(output_size, shape):
    o = output_size
    if isinstance(o, (tuple, list)) and len(o) == 2:
        o = tuple(shape[-2 + i] if v is None else v for i, v in enumerate(o))
    o = _pair(o, "output_size")
    if min(o) <= 0:
        raise ValueError(f"output_size must be positive, got {o}")
    return o


def _adaptive(a, OH, OW, out):
    y = V.output(out, a.shape[:-2] + (OH, OW), a.dtype)
    planes = int(np.prod(a.shape[:-2], dtype=np.int64))
    _pool.adaptive_forward(a, y, planes, a.shape[-2], a.shape[-1], OH, OW)
    return y


def _adaptive_backward(gr, shape):
    gx = V.empty(shape, gr.dtype)
    planes = int(np.prod(shape[:-2], dtype=np.int64))
    _pool.adaptive_backward(gr, gx, planes, shape[-2], shape[-1], gr.shape[-2], gr.shape[-1])
    return gx


def adaptive_avg_pool2d(x, output_size, *, out=None):
    """Adaptive average pooling (torch): output cell i averages input rows
    floor(i*H/OH) .. ceil((i+1)*H/OH)-1 (likewise columns); windows may overlap.
    Window sums accumulate in double. None in output_size keeps that input size."""
    a = _image(x, "x")
    OH, OW = _output_size(output_size, a.shape)
    return _adaptive(a, OH, OW, out)


def adaptive_avg_pool2d_backward(grad_out, input_shape):
    """Gradient of adaptive_avg_pool2d w.r.t. x (grad / kh / kw spread over each window)."""
    gr = _image(grad_out, "grad_out")
    return _adaptive_backward(gr, _input_shape(input_shape, gr.shape))


def global_avg_pool2d(x, *, out=None):
    """Mean over H and W, kept as size-1 axes: (N, C, H, W) -> (N, C, 1, 1), as
    adaptive_avg_pool2d(x, 1); summed in double."""
    a = _image(x, "x")
    return _adaptive(a, 1, 1, out)


def global_avg_pool2d_backward(grad_out, input_shape):
    """Gradient of global_avg_pool2d: grad_out / (H*W) broadcast over each plane."""
    gr = _image(grad_out, "grad_out")
    if gr.shape[-2:] != (1, 1):
        raise ValueError(f"grad_out must end in (1, 1), got shape {gr.shape}")
    return _adaptive_backward(gr, _input_shape(input_shape, gr.shape))
