# cython: language_level=3
"""2-D convolution (torch.nn.functional.conv2d semantics) and its cost helpers.

Two algorithms, both complete for every stride/padding/dilation/groups:
"im2col" (tiled lowering + GEMM, bounded workspace) and "direct" (register-
blocked, no lowering buffer); and "winograd" (F(2x2, 3x3), src/winograd.h)
for 3x3 stride-1 dilation-1 layers, forward and grad_x. algorithm="auto" picks by the rule in
_auto_algorithm, derived from measurements on a 2-core AVX-512 machine
(see the README's convolution section).

Arguments are validated here (the C layer trusts them); every kernel call
releases the GIL.
"""
import numbers

import numpy as np
cimport numpy as cnp
from libc.stdint cimport int64_t

from fastprims._config cimport data, effective_threads, raise_for_status
from fastprims import _validate as V

cnp.import_array()

__all__ = ["conv2d", "conv2d_backward", "im2col", "col2im", "conv_output_size", "conv2d_params",
           "conv2d_flops", "receptive_field", "im2col_workspace_bytes", "winograd_workspace_bytes"]

cdef extern from "gemm.h" nogil:
    const char *fp_gemm_backend()

cdef extern from "conv.h" nogil:
    ctypedef struct fp_conv2d_shape:
        int64_t n, c_in, h, w
        int64_t c_out, kh, kw
        int64_t oh, ow
        int64_t sh, sw, ph, pw, dh, dw
        int64_t groups
    int64_t FP_CONV_WS_BYTES
    int64_t FP_CONV_MIN_COLS
    int64_t fp_conv2d_im2col_workspace(const fp_conv2d_shape *s, int64_t elem_size, int n_threads, int backward)
    int fp_conv2d_forward_im2col_f32(const fp_conv2d_shape *s, const float *x, const float *w, const float *b, float *y, int nt)
    int fp_conv2d_forward_im2col_f64(const fp_conv2d_shape *s, const double *x, const double *w, const double *b, double *y, int nt)
    int fp_conv2d_forward_direct_f32(const fp_conv2d_shape *s, const float *x, const float *w, const float *b, float *y, int nt)
    int fp_conv2d_forward_direct_f64(const fp_conv2d_shape *s, const double *x, const double *w, const double *b, double *y, int nt)
    int fp_conv2d_backward_input_im2col_f32(const fp_conv2d_shape *s, const float *gy, const float *w, float *gx, int nt)
    int fp_conv2d_backward_input_im2col_f64(const fp_conv2d_shape *s, const double *gy, const double *w, double *gx, int nt)
    int fp_conv2d_backward_weight_im2col_f32(const fp_conv2d_shape *s, const float *gy, const float *x, float *gw, int nt)
    int fp_conv2d_backward_weight_im2col_f64(const fp_conv2d_shape *s, const double *gy, const double *x, double *gw, int nt)
    int fp_conv2d_backward_input_direct_f32(const fp_conv2d_shape *s, const float *gy, const float *w, float *gx, int nt)
    int fp_conv2d_backward_input_direct_f64(const fp_conv2d_shape *s, const double *gy, const double *w, double *gx, int nt)
    int fp_conv2d_backward_weight_direct_f32(const fp_conv2d_shape *s, const float *gy, const float *x, float *gw, int nt)
    int fp_conv2d_backward_weight_direct_f64(const fp_conv2d_shape *s, const double *gy, const double *x, double *gw, int nt)
    int fp_conv2d_backward_bias_f32(const fp_conv2d_shape *s, const float *gy, float *gb, int nt)
    int fp_conv2d_backward_bias_f64(const fp_conv2d_shape *s, const double *gy, double *gb, int nt)
    int fp_conv2d_backward_depthwise_f32(const fp_conv2d_shape *s, const float *gy, const float *x, const float *w, float *gx, float *gw, float *gb, int nt)
    int fp_conv2d_backward_depthwise_f64(const fp_conv2d_shape *s, const double *gy, const double *x, const double *w, double *gx, double *gw, double *gb, int nt)
    int fp_im2col_f32(const fp_conv2d_shape *s, const float *x, float *col, int nt)
    int fp_im2col_f64(const fp_conv2d_shape *s, const double *x, double *col, int nt)
    int fp_col2im_f32(const fp_conv2d_shape *s, const float *col, float *x, int nt)
    int fp_col2im_f64(const fp_conv2d_shape *s, const double *col, double *x, int nt)

cdef extern from "winograd.h" nogil:
    int64_t fp_winograd_workspace(const fp_conv2d_shape *s, int64_t elem_size, int n_threads, int backward)
    int fp_winograd_conv2d_forward_f32(const fp_conv2d_shape *s, const float *x, const float *w, const float *b, float *y, int nt, int *nonfinite)
    int fp_winograd_conv2d_forward_f64(const fp_conv2d_shape *s, const double *x, const double *w, const double *b, double *y, int nt, int *nonfinite)
    int fp_winograd_conv2d_backward_input_f32(const fp_conv2d_shape *s, const float *gy, const float *w, float *gx, int nt, int *nonfinite)
    int fp_winograd_conv2d_backward_input_f64(const fp_conv2d_shape *s, const double *gy, const double *w, double *gx, int nt, int *nonfinite)


def gemm_backend():
    """The GEMM the im2col algorithm calls (e.g. 'OpenBLAS (scipy-openblas32) SkylakeX')."""
    return fp_gemm_backend().decode()


# ---------------------------------------------------------------------------
# argument parsing

def _int_arg(v, name, minimum):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{name} must be an int or a pair of ints, got {v!r}")
    v = int(v)
    if v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {v}")
    return v


def _pair(v, name, minimum):
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}")
        return (_int_arg(v[0], name, minimum), _int_arg(v[1], name, minimum))
    v = _int_arg(v, name, minimum)
    return (v, v)


def _out_size(size, kernel, stride, pad_total, dilation):
    return (size + pad_total - dilation * (kernel - 1) - 1) // stride + 1


def _padding(padding, kernel, stride, dilation):
    """((top, left), (bottom, right)) as torch resolves int/pair/'same'/'valid'."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(f"padding='same' is not supported for strided convolutions "
                                 f"(stride={stride}), as in torch")
            tot = [d * (k - 1) for d, k in zip(dilation, kernel)]
            # torch puts the odd extra element at the bottom/right
            return (tot[0] // 2, tot[1] // 2), (tot[0] - tot[0] // 2, tot[1] - tot[1] // 2)
        raise ValueError(f"padding must be an int, a pair of ints, 'same' or 'valid', got {padding!r}")
    p = _pair(padding, "padding", 0)
    return p, p


def _check_algorithm(algorithm):
    if algorithm not in ("auto", "direct", "im2col", "winograd"):
        raise ValueError(f"algorithm must be 'auto', 'direct', 'im2col' or 'winograd', got {algorithm!r}")


class _Geometry:
    __slots__ = ("n", "c_in", "h", "w", "c_out", "kh", "kw", "oh", "ow", "sh", "sw", "ph", "pw",
                 "dh", "dw", "groups")

    @property
    def out_shape(self):
        return (self.n, self.c_out, self.oh, self.ow)


def _geometry(x_shape, w_shape, stride, padding, dilation, groups, x_name="x"):
    if isinstance(groups, bool) or not isinstance(groups, numbers.Integral):
        raise TypeError(f"groups must be an int, got {groups!r}")
    groups = int(groups)
    if groups < 1:
        raise ValueError(f"groups must be >= 1, got {groups}")
    n, c_in, h, w = x_shape
    c_out, cig, kh, kw = w_shape
    if c_in % groups or c_out % groups:
        raise ValueError(f"groups={groups} must divide both the input channels ({x_name}.shape[1]={c_in}) "
                         f"and the output channels (weight.shape[0]={c_out})")
    if cig != c_in // groups:
        raise ValueError(f"weight.shape[1] must be {x_name}.shape[1] / groups = {c_in} / {groups} = "
                         f"{c_in // groups}, got weight.shape={tuple(w_shape)} for "
                         f"{x_name}.shape={tuple(x_shape)}")
    if kh < 1 or kw < 1:
        raise ValueError(f"weight must have a kernel of at least 1x1, got weight.shape={tuple(w_shape)}")
    s = _pair(stride, "stride", 1)
    d = _pair(dilation, "dilation", 1)
    (pt, pl), (pb, pr) = _padding(padding, (kh, kw), s, d)
    oh = _out_size(h, kh, s[0], pt + pb, d[0])
    ow = _out_size(w, kw, s[1], pl + pr, d[1])
    if oh < 1 or ow < 1:
        raise ValueError(f"kernel larger than the padded input: {x_name} spatial size ({h}, {w}) with "
                         f"padding ({pt}+{pb}, {pl}+{pr}) is smaller than the dilated kernel "
                         f"({d[0] * (kh - 1) + 1}, {d[1] * (kw - 1) + 1}) (weight.shape={tuple(w_shape)}, "
                         f"dilation={d})")
    g = _Geometry()
    g.n, g.c_in, g.h, g.w = n, c_in, h, w
    g.c_out, g.kh, g.kw, g.oh, g.ow = c_out, kh, kw, oh, ow
    g.sh, g.sw, g.ph, g.pw, g.dh, g.dw = s[0], s[1], pt, pl, d[0], d[1]
    g.groups = groups
    return g


cdef fp_conv2d_shape _cshape(g):
    cdef fp_conv2d_shape s
    s.n, s.c_in, s.h, s.w = g.n, g.c_in, g.h, g.w
    s.c_out, s.kh, s.kw, s.oh, s.ow = g.c_out, g.kh, g.kw, g.oh, g.ow
    s.sh, s.sw, s.ph, s.pw, s.dh, s.dw = g.sh, g.sw, g.ph, g.pw, g.dh, g.dw
    s.groups = g.groups
    return s


def _auto_algorithm(g, backward=False, winograd=True):
    """'winograd', 'direct' or 'im2col' for this geometry (see README: measured rule).

    winograd (see _winograd_wins) first where it is eligible and measured
    faster; winograd=False gives the choice between the other two.

    Measured on Zen 5 (2 cores, one thread per measurement, CPU time): the
    direct kernel wins where lowering costs more than it saves: one input
    channel per group (depthwise: its own memory-bound plane kernel, 2x
    im2col), few input channels (the 3-channel 7x7 stride-2 stem: 1.2x) and
    few output channels per group (16 -> 16 3x3: 1.5x), where the column
    buffer is written and read for too little GEMM work. With 64 channels
    in and out the im2col GEMM is faster (3x3 64 -> 64: 1.1x, 3x3 at
    7x7..28x28: 1.2-3x), and 1x1 stride-1 layers need no lowering at all.
    Backward (this function decides grad_x; conv2d_backward takes grad_weight
    from im2col unless there is one input channel per group, where the
    direct plane kernel is 4-5x faster): grad_x direct for one input channel
    per group and for at most 32 channels per group in and out (16 -> 16:
    1.3x); elsewhere the GEMM backward is 1.5-3x faster (the stem: 3.6x).
    """
    cig = g.c_in // g.groups
    cog = g.c_out // g.groups
    if winograd and _winograd_wins(g, backward):
        return "winograd"
    if cig == 1:
        return "direct"
    if backward:
        return "direct" if cig <= 32 and cog <= 32 else "im2col"
    pointwise = g.kh == 1 and g.kw == 1 and g.sh == 1 and g.sw == 1 and g.ph == 0 and g.pw == 0
    if (cig <= 4 or cog <= 32) and not pointwise:
        return "direct"
    return "im2col"


# ---------------------------------------------------------------------------
# winograd F(2x2, 3x3) (src/winograd.h)

def _winograd_eligible(g):
    return g.kh == 3 and g.kw == 3 and g.sh == 1 and g.sw == 1 and g.dh == 1 and g.dw == 1


def _winograd_wins(g, backward):
    """Measured rule (README, algorithm="auto", 2 threads, float32): against
    the direct/im2col choice below, winograd's forward wins from 16 channels
    per group in and out (16 -> 16 at 56x56: 1.1x, 32 -> 32: 1.3-1.6x,
    64..256: 1.15-1.5x; 16 -> 16 at 32x32: 0.94x, 64 -> 16: 0.99x, so at
    least 512 channel pairs). grad_x (a convolution with C_out/groups
    channels in and C_in/groups out) wins against the direct backward
    already at 16 channels (1.3-7x) and against im2col unless it has few
    output channels (16 out of 64: 0.81x).
    """
    if not _winograd_eligible(g):
        return False
    cig = g.c_in // g.groups
    cog = g.c_out // g.groups
    if backward:
        return min(cig, cog) >= 8 and (cig >= 32 or cog <= 32)
    return min(cig, cog) >= 16 and cig * cog >= 512


def _require_winograd(g):
    if not _winograd_eligible(g):
        raise ValueError(f"algorithm='winograd' needs a 3x3 kernel with stride 1 and dilation 1, got kernel "
                         f"({g.kh}, {g.kw}), stride ({g.sh}, {g.sw}), dilation ({g.dh}, {g.dw})")


cdef bint _winograd(fp_conv2d_shape *s, src, wt, b, out, bint backward) except -1:
    """Runs the winograd kernel into out. True if an output came out NaN: Inf
    in the data turns into Inf - Inf in the transforms, so the caller
    recomputes with an algorithm that propagates NaN/Inf as torch does."""
    cdef int nt = effective_threads()
    cdef void *px = data(src)
    cdef void *pw = data(wt)
    cdef void *pb = data(b) if b is not None else NULL
    cdef void *py = data(out)
    cdef int st = 0, bad = 0
    cdef bint f32 = src.dtype == np.float32
    with nogil:
        if f32 and backward:
            st = fp_winograd_conv2d_backward_input_f32(s, <float *>px, <float *>pw, <float *>py, nt, &bad)
        elif f32:
            st = fp_winograd_conv2d_forward_f32(s, <float *>px, <float *>pw, <float *>pb, <float *>py, nt, &bad)
        elif backward:
            st = fp_winograd_conv2d_backward_input_f64(s, <double *>px, <double *>pw, <double *>py, nt, &bad)
        else:
            st = fp_winograd_conv2d_forward_f64(s, <double *>px, <double *>pw, <double *>pb, <double *>py, nt, &bad)
    raise_for_status(st, "conv2d_backward (grad_x)" if backward else "conv2d")
    return bad != 0


def _input_arrays(x, weight):
    a = V.float_array(x, "x")
    wt = V.float_array(weight, "weight", dtype=a.dtype)
    if a.ndim != 4:
        raise ValueError(f"x must be 4-dimensional (N, C, H, W), got shape {a.shape}")
    if wt.ndim != 4:
        raise ValueError(f"weight must be 4-dimensional (C_out, C_in / groups, kH, kW), got shape {wt.shape}")
    return a, wt


# ---------------------------------------------------------------------------
# forward / backward

def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, algorithm="auto", out=None):
    """2-D cross-correlation over NCHW input, as torch.nn.functional.conv2d.

    x (N, C_in, H, W); weight (C_out, C_in / groups, kH, kW); bias (C_out,) or
    None. stride/dilation: int or pair >= 1; padding: int or pair >= 0, or
    'same' (stride 1 only; an odd total puts the extra row/column at the
    bottom/right, as torch) or 'valid'. algorithm: 'auto', 'direct',
    'im2col' or 'winograd' (3x3, stride 1, dilation 1 only). out: optional C-contiguous (N, C_out, H_out, W_out) array of the
    input dtype to write into (it must not overlap the inputs).
    """
    _check_algorithm(algorithm)
    a, wt = _input_arrays(x, weight)
    g = _geometry(a.shape, wt.shape, stride, padding, dilation, groups)
    b = None
    if bias is not None:
        b = V.float_array(bias, "bias", dtype=a.dtype)
        if b.shape != (g.c_out,):
            raise ValueError(f"bias must have shape ({g.c_out},) to match weight.shape={wt.shape}, "
                             f"got {b.shape}")
    if algorithm == "winograd":
        _require_winograd(g)
    y = V.output(out, g.out_shape, a.dtype)
    if out is not None:
        for name, arr in (("x", a), ("weight", wt), ("bias", b)):
            if arr is not None and np.may_share_memory(y, arr):
                raise ValueError(f"out must not overlap {name}")
    if algorithm == "auto":
        algorithm = _auto_algorithm(g)
    cdef fp_conv2d_shape s = _cshape(g)
    cdef int nt = effective_threads()
    cdef void *px = data(a)
    cdef void *pw = data(wt)
    cdef void *pb = data(b) if b is not None else NULL
    cdef void *py = data(y)
    cdef int st
    cdef bint direct = algorithm == "direct"
    if algorithm == "winograd":
        if not _winograd(&s, a, wt, b, y, False):
            return y
        direct = _auto_algorithm(g, winograd=False) == "direct"  # Inf in the data
    if a.dtype == np.float32:
        with nogil:
            if direct:
                st = fp_conv2d_forward_direct_f32(&s, <float *>px, <float *>pw, <float *>pb, <float *>py, nt)
            else:
                st = fp_conv2d_forward_im2col_f32(&s, <float *>px, <float *>pw, <float *>pb, <float *>py, nt)
    else:
        with nogil:
            if direct:
                st = fp_conv2d_forward_direct_f64(&s, <double *>px, <double *>pw, <double *>pb, <double *>py, nt)
            else:
                st = fp_conv2d_forward_im2col_f64(&s, <double *>px, <double *>pw, <double *>pb, <double *>py, nt)
    raise_for_status(st, "conv2d")
    return y


def conv2d_backward(grad_out, x, weight, stride=1, padding=0, dilation=1, groups=1, *, algorithm="auto",
                    needs_input_grad=(True, True, True)):
    """Gradients of conv2d: (grad_x, grad_weight, grad_bias).

    Arguments as conv2d; grad_out has conv2d's output shape. An entry of
    needs_input_grad that is false yields None in its place (and is not
    computed). grad_bias is the per-channel sum of grad_out. With
    algorithm='winograd' (3x3, stride 1, dilation 1) grad_x is computed by
    Winograd and grad_weight as 'auto' would without it (im2col, or direct
    for one input channel per group).
    """
    _check_algorithm(algorithm)
    a, wt = _input_arrays(x, weight)
    gy = V.float_array(grad_out, "grad_out", dtype=a.dtype)
    g = _geometry(a.shape, wt.shape, stride, padding, dilation, groups)
    if gy.shape != g.out_shape:
        raise ValueError(f"grad_out must have the conv2d output shape {g.out_shape} for x.shape={a.shape}, "
                         f"weight.shape={wt.shape}, got {gy.shape}")
    try:
        want_x, want_w, want_b = (bool(v) for v in needs_input_grad)
    except (TypeError, ValueError):
        raise ValueError(f"needs_input_grad must be three booleans, got {needs_input_grad!r}") from None
    if algorithm == "winograd":
        _require_winograd(g)
    alg_w = algorithm
    if algorithm == "auto":
        algorithm = _auto_algorithm(g, backward=True)
    if alg_w in ("auto", "winograd"):  # grad_weight: winograd computes grad_x only
        alg_w = "direct" if g.c_in == g.groups else "im2col"
    cdef bint direct = algorithm == "direct"
    cdef bint direct_w = alg_w == "direct"
    cdef fp_conv2d_shape s = _cshape(g)
    cdef int nt = effective_threads()
    cdef void *pgy = data(gy)
    cdef void *px = data(a)
    cdef void *pw = data(wt)
    cdef void *pout
    cdef int st = 0
    cdef bint f32 = a.dtype == np.float32
    gx = gw = gb = None
    if direct and direct_w and want_x and want_w and g.c_in == g.groups:
        return _depthwise_backward(g, s, gy, a, wt, want_b, nt)
    if want_x:
        gx = V.empty(a.shape, a.dtype)
        pout = data(gx)
        wino_done = False
        if algorithm == "winograd":
            wino_done = not _winograd(&s, gy, wt, None, gx, True)
            direct = _auto_algorithm(g, backward=True, winograd=False) == "direct"  # if Inf in the data
        if not wino_done:
            with nogil:
                if f32:
                    st = (fp_conv2d_backward_input_direct_f32(&s, <float *>pgy, <float *>pw, <float *>pout, nt) if direct
                          else fp_conv2d_backward_input_im2col_f32(&s, <float *>pgy, <float *>pw, <float *>pout, nt))
                else:
                    st = (fp_conv2d_backward_input_direct_f64(&s, <double *>pgy, <double *>pw, <double *>pout, nt) if direct
                          else fp_conv2d_backward_input_im2col_f64(&s, <double *>pgy, <double *>pw, <double *>pout, nt))
            raise_for_status(st, "conv2d_backward (grad_x)")
    if want_w:
        gw = V.empty(wt.shape, a.dtype)
        pout = data(gw)
        with nogil:
            if f32:
                st = (fp_conv2d_backward_weight_direct_f32(&s, <float *>pgy, <float *>px, <float *>pout, nt) if direct_w
                      else fp_conv2d_backward_weight_im2col_f32(&s, <float *>pgy, <float *>px, <float *>pout, nt))
            else:
                st = (fp_conv2d_backward_weight_direct_f64(&s, <double *>pgy, <double *>px, <double *>pout, nt) if direct_w
                      else fp_conv2d_backward_weight_im2col_f64(&s, <double *>pgy, <double *>px, <double *>pout, nt))
        raise_for_status(st, "conv2d_backward (grad_weight)")
    if want_b:
        gb = V.empty((g.c_out,), a.dtype)
        pout = data(gb)
        with nogil:
            if f32:
                st = fp_conv2d_backward_bias_f32(&s, <float *>pgy, <float *>pout, nt)
            else:
                st = fp_conv2d_backward_bias_f64(&s, <double *>pgy, <double *>pout, nt)
        raise_for_status(st, "conv2d_backward (grad_bias)")
    return gx, gw, gb


cdef _depthwise_backward(g, fp_conv2d_shape s, gy, a, wt, bint want_b, int nt):
    """grad_x and grad_weight (and grad_bias) of a depthwise layer in one fused pass."""
    gx = V.empty(a.shape, a.dtype)
    gw = V.empty(wt.shape, a.dtype)
    gb = V.empty((g.c_out,), a.dtype) if want_b else None
    cdef void *pgy = data(gy)
    cdef void *px = data(a)
    cdef void *pw = data(wt)
    cdef void *pgx = data(gx)
    cdef void *pgw = data(gw)
    cdef void *pgb = data(gb) if want_b else NULL
    cdef int st
    cdef bint f32 = a.dtype == np.float32
    with nogil:
        if f32:
            st = fp_conv2d_backward_depthwise_f32(&s, <float *>pgy, <float *>px, <float *>pw, <float *>pgx,
                                                  <float *>pgw, <float *>pgb, nt)
        else:
            st = fp_conv2d_backward_depthwise_f64(&s, <double *>pgy, <double *>px, <double *>pw, <double *>pgx,
                                                  <double *>pgw, <double *>pgb, nt)
    raise_for_status(st, "conv2d_backward (depthwise)")
    return gx, gw, gb


# ---------------------------------------------------------------------------
# im2col / col2im (torch.nn.functional.unfold / fold)

def _unfold_geometry(shape, kernel_size, dilation, padding, stride, name):
    k = _pair(kernel_size, "kernel_size", 1)
    return _geometry(shape, (1, shape[1], k[0], k[1]), stride, padding, dilation, 1, name)


def im2col(x, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding windows of x (N, C, H, W) as columns: (N, C*kH*kW, H_out*W_out).

    torch.nn.functional.unfold semantics (argument order included); row
    index (c*kH + i)*kW + j, column index oh*W_out + ow; padding is zeros.
    """
    a = V.float_array(x, "x")
    if a.ndim != 4:
        raise ValueError(f"x must be 4-dimensional (N, C, H, W), got shape {a.shape}")
    g = _unfold_geometry(a.shape, kernel_size, dilation, padding, stride, "x")
    col = V.empty((g.n, g.c_in * g.kh * g.kw, g.oh * g.ow), a.dtype)
    cdef fp_conv2d_shape s = _cshape(g)
    cdef int nt = effective_threads()
    cdef void *px = data(a)
    cdef void *pc = data(col)
    cdef int st
    cdef bint f32 = a.dtype == np.float32
    with nogil:
        if f32:
            st = fp_im2col_f32(&s, <float *>px, <float *>pc, nt)
        else:
            st = fp_im2col_f64(&s, <double *>px, <double *>pc, nt)
    raise_for_status(st, "im2col")
    return col


def col2im(col, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sum columns (N, C*kH*kW, L) back into images (N, C, H, W), H, W = output_size.

    torch.nn.functional.fold semantics: the adjoint of im2col (overlapping
    windows add up; padding positions are dropped). L must equal the number
    of windows of im2col for these arguments.
    """
    c = V.float_array(col, "col")
    if c.ndim != 3:
        raise ValueError(f"col must be 3-dimensional (N, C*kH*kW, L), got shape {c.shape}")
    hw = _pair(output_size, "output_size", 1)
    k = _pair(kernel_size, "kernel_size", 1)
    if c.shape[1] % (k[0] * k[1]):
        raise ValueError(f"col.shape[1]={c.shape[1]} must be divisible by kH*kW={k[0] * k[1]} "
                         f"(kernel_size={k})")
    channels = c.shape[1] // (k[0] * k[1])
    g = _unfold_geometry((c.shape[0], channels, hw[0], hw[1]), k, dilation, padding, stride, "output")
    if c.shape[2] != g.oh * g.ow:
        raise ValueError(f"col.shape[2]={c.shape[2]} must equal the number of sliding windows "
                         f"{g.oh}*{g.ow}={g.oh * g.ow} for output_size={hw}, kernel_size={k}")
    x = V.empty((g.n, channels, hw[0], hw[1]), c.dtype)
    cdef fp_conv2d_shape s = _cshape(g)
    cdef int nt = effective_threads()
    cdef void *pc = data(c)
    cdef void *px = data(x)
    cdef int st
    cdef bint f32 = c.dtype == np.float32
    with nogil:
        if f32:
            st = fp_col2im_f32(&s, <float *>pc, <float *>px, nt)
        else:
            st = fp_col2im_f64(&s, <double *>pc, <double *>px, nt)
    raise_for_status(st, "col2im")
    return x


def im2col_workspace_bytes(x_shape, weight_shape, stride=1, padding=0, dilation=1, groups=1, *,
                           dtype=np.float32, backward=False, n_threads=None):
    """Bytes of workspace algorithm='im2col' allocates for this call.

    Per thread: a column tile of K x T elements, K = C_in/groups*kH*kW and
    T = max(64, 384 KiB / (K*itemsize)) output positions (T <= H_out*W_out),
    so at most max(384 KiB, 64*K*itemsize); none for 1x1 stride-1 unpadded
    layers. backward=True: per thread the larger of the grad_x pass (that
    column tile) and the grad_weight pass (one weight-gradient partial sum of
    weight.size elements, column rows of at most max(256 KiB, one channel's
    kH*kW x 1024 positions) and, for maps whose H_out*W_out is not a multiple
    of the vector length, a grad_out tile of at most 2 MiB). Independent of
    the batch size.
    """
    g = _geometry(tuple(x_shape), tuple(weight_shape), stride, padding, dilation, groups)
    cdef fp_conv2d_shape s = _cshape(g)
    nt = effective_threads() if n_threads is None else int(n_threads)
    return int(fp_conv2d_im2col_workspace(&s, np.dtype(dtype).itemsize, nt, 1 if backward else 0))


def winograd_workspace_bytes(x_shape, weight_shape, padding=0, groups=1, *, dtype=np.float32, backward=False,
                             n_threads=None):
    """Bytes of workspace algorithm='winograd' allocates for this 3x3 stride-1 call.

    The transformed filters, 2 x 16 x C_out x C_in/groups elements (unpacked
    and packed copies), plus per thread one block of T tiles: 16 x (C_in +
    C_out)/groups x (T + 64/itemsize) elements of transformed input and
    products, T = max(32, 1 MiB / (16 x (C_in + C_out)/groups x itemsize))
    rounded down to a multiple of 32, and O(T) scratch. Independent of the batch size. backward=True: the
    grad_x pass (C_in and C_out swap roles).
    """
    g = _geometry(tuple(x_shape), tuple(weight_shape), 1, padding, 1, groups)
    _require_winograd(g)
    cdef fp_conv2d_shape s = _cshape(g)
    nt = effective_threads() if n_threads is None else int(n_threads)
    return int(fp_winograd_workspace(&s, np.dtype(dtype).itemsize, nt, 1 if backward else 0))


# ---------------------------------------------------------------------------
# shape and cost helpers

def conv_output_size(size, kernel, stride=1, padding=0, dilation=1, ceil_mode=False):
    """Output length of a convolution/pooling window along one axis.

    floor((size + 2*padding - dilation*(kernel-1) - 1) / stride) + 1, or the
    ceiling with ceil_mode=True, where (as torch pooling) a last window that
    would start in the right padding is dropped. Pairs give a pair.
    """
    if any(isinstance(v, (tuple, list)) for v in (size, kernel, stride, padding, dilation)):
        args = [_pair(v, nm, lo) for v, nm, lo in ((size, "size", 0), (kernel, "kernel", 1),
                                                    (stride, "stride", 1), (padding, "padding", 0),
                                                    (dilation, "dilation", 1))]
        return tuple(conv_output_size(*(a[i] for a in args), ceil_mode=ceil_mode) for i in range(2))
    size = _int_arg(size, "size", 0)
    kernel = _int_arg(kernel, "kernel", 1)
    stride = _int_arg(stride, "stride", 1)
    padding = _int_arg(padding, "padding", 0)
    dilation = _int_arg(dilation, "dilation", 1)
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    if span < 0:
        raise ValueError(f"kernel larger than the padded input: size={size}, padding={padding}, "
                         f"dilated kernel={dilation * (kernel - 1) + 1}")
    if ceil_mode:
        out = -(-span // stride) + 1
        if (out - 1) * stride >= size + padding:
            out -= 1
        return out
    return span // stride + 1


def conv2d_params(in_channels, out_channels, kernel_size, groups=1, bias=True):
    """Learnable parameters of nn.Conv2d(in_channels, out_channels, kernel_size, groups=groups, bias=bias)."""
    cin = _int_arg(in_channels, "in_channels", 1)
    cout = _int_arg(out_channels, "out_channels", 1)
    k = _pair(kernel_size, "kernel_size", 1)
    groups = _int_arg(groups, "groups", 1)
    if cin % groups or cout % groups:
        raise ValueError(f"groups={groups} must divide in_channels={cin} and out_channels={cout}")
    return cout * (cin // groups) * k[0] * k[1] + (cout if bias else 0)


def conv2d_flops(input_shape, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=False):
    """FLOPs of one conv2d forward on an (N, C_in, H, W) input.

    A multiply-add counts as 2 FLOPs: 2 * N * C_out * H_out * W_out *
    (C_in / groups) * kH * kW, plus N * C_out * H_out * W_out additions when
    bias=True. (The backward pass costs about twice the forward: one such
    product for grad_x and one for grad_weight.)
    """
    shape = tuple(int(v) for v in input_shape)
    if len(shape) != 4:
        raise ValueError(f"input_shape must be (N, C_in, H, W), got {input_shape!r}")
    cout = _int_arg(out_channels, "out_channels", 1)
    k = _pair(kernel_size, "kernel_size", 1)
    g = _geometry(shape, (cout, shape[1] // max(int(groups), 1), k[0], k[1]), stride, padding, dilation,
                  groups, "input")
    outs = g.n * g.c_out * g.oh * g.ow
    return 2 * outs * (g.c_in // g.groups) * g.kh * g.kw + (outs if bias else 0)


def receptive_field(layers):
    """Receptive field and jump after each layer of a stack.

    layers: sequence of (kernel, stride) or (kernel, stride, dilation).
    Returns a list of (receptive_field, jump) per layer: with an effective
    kernel d*(k-1)+1, rf_l = rf_{l-1} + (k_eff - 1) * jump_{l-1} and
    jump_l = jump_{l-1} * stride, starting from (1, 1). Two 3x3 stride-1
    layers give [(3, 1), (5, 1)].
    """
    rf, jump = 1, 1
    result = []
    for i, layer in enumerate(layers):
        try:
            items = tuple(layer)
        except TypeError:
            raise TypeError(f"layers[{i}] must be (kernel, stride[, dilation]), got {layer!r}") from None
        if len(items) not in (2, 3):
            raise ValueError(f"layers[{i}] must be (kernel, stride[, dilation]), got {layer!r}")
        k = _int_arg(items[0], f"layers[{i}] kernel", 1)
        st = _int_arg(items[1], f"layers[{i}] stride", 1)
        d = _int_arg(items[2], f"layers[{i}] dilation", 1) if len(items) == 3 else 1
        rf += d * (k - 1) * jump
        jump *= st
        result.append((rf, jump))
    return result
