# cython: language_level=3
"""Activations, softmax and dropout, with their gradients (torch.nn.functional
semantics; see the README section "activation" for the decisions).

Each public function validates in Python (TypeError/ValueError naming the
argument), allocates through fastprims._validate (V.output / V.empty), then
calls the fp_<op>_<pass>_<dtype> kernel with the GIL released. The dtype
switch and the kernel choice happen in two small nogil dispatchers (_ew and
_sm) so that each public function is only its argument checks.
"""
import numbers

import numpy as np
cimport numpy as cnp
from libc.stdint cimport int64_t, uint8_t, uint64_t

from fastprims._config cimport data, effective_threads, raise_for_status
from fastprims import _validate as V

cnp.import_array()

__all__ = [
    "relu", "relu_backward", "leaky_relu", "leaky_relu_backward",
    "sigmoid", "sigmoid_backward", "tanh", "tanh_backward",
    "gelu", "gelu_backward", "softmax", "softmax_backward",
    "log_softmax", "log_softmax_backward", "dropout", "dropout_backward",
]

cdef extern from "activation.h" nogil:
    int fp_relu_forward_f32(const float *x, float *y, int64_t n, int nt)
    int fp_relu_forward_f64(const double *x, double *y, int64_t n, int nt)
    int fp_relu_backward_f32(const float *g, const float *x, float *gx, int64_t n, int nt)
    int fp_relu_backward_f64(const double *g, const double *x, double *gx, int64_t n, int nt)
    int fp_leaky_relu_forward_f32(const float *x, float *y, int64_t n, double s, int nt)
    int fp_leaky_relu_forward_f64(const double *x, double *y, int64_t n, double s, int nt)
    int fp_leaky_relu_backward_f32(const float *g, const float *x, float *gx, int64_t n, double s, int nt)
    int fp_leaky_relu_backward_f64(const double *g, const double *x, double *gx, int64_t n, double s, int nt)
    int fp_sigmoid_forward_f32(const float *x, float *y, int64_t n, int nt)
    int fp_sigmoid_forward_f64(const double *x, double *y, int64_t n, int nt)
    int fp_sigmoid_backward_f32(const float *g, const float *y, float *gx, int64_t n, int nt)
    int fp_sigmoid_backward_f64(const double *g, const double *y, double *gx, int64_t n, int nt)
    int fp_tanh_forward_f32(const float *x, float *y, int64_t n, int nt)
    int fp_tanh_forward_f64(const double *x, double *y, int64_t n, int nt)
    int fp_tanh_backward_f32(const float *g, const float *y, float *gx, int64_t n, int nt)
    int fp_tanh_backward_f64(const double *g, const double *y, double *gx, int64_t n, int nt)
    int fp_gelu_forward_f32(const float *x, float *y, int64_t n, int approx, int nt)
    int fp_gelu_forward_f64(const double *x, double *y, int64_t n, int approx, int nt)
    int fp_gelu_backward_f32(const float *g, const float *x, float *gx, int64_t n, int approx, int nt)
    int fp_gelu_backward_f64(const double *g, const double *x, double *gx, int64_t n, int approx, int nt)
    int fp_dropout_forward_f32(const float *x, float *y, uint8_t *m, int64_t n, double p, uint64_t seed, int nt)
    int fp_dropout_forward_f64(const double *x, double *y, uint8_t *m, int64_t n, double p, uint64_t seed, int nt)
    int fp_dropout_backward_f32(const float *g, const uint8_t *m, float *gx, int64_t n, double p, int nt)
    int fp_dropout_backward_f64(const double *g, const uint8_t *m, double *gx, int64_t n, double p, int nt)
    int fp_softmax_forward_f32(const float *x, float *y, int64_t o, int64_t c, int64_t i, int nt)
    int fp_softmax_forward_f64(const double *x, double *y, int64_t o, int64_t c, int64_t i, int nt)
    int fp_log_softmax_forward_f32(const float *x, float *y, int64_t o, int64_t c, int64_t i, int nt)
    int fp_log_softmax_forward_f64(const double *x, double *y, int64_t o, int64_t c, int64_t i, int nt)
    int fp_softmax_backward_f32(const float *g, const float *y, float *gx, int64_t o, int64_t c, int64_t i, int nt)
    int fp_softmax_backward_f64(const double *g, const double *y, double *gx, int64_t o, int64_t c, int64_t i, int nt)
    int fp_log_softmax_backward_f32(const float *g, const float *y, float *gx, int64_t o, int64_t c, int64_t i, int nt)
    int fp_log_softmax_backward_f64(const double *g, const double *y, double *gx, int64_t o, int64_t c, int64_t i, int nt)
    int fp_math_apply_f32(int op, const float *x, float *y, int64_t n)
    int fp_math_apply_f64(int op, const double *x, double *y, int64_t n)

# elementwise op ids for _ew
cdef enum:
    RELU, RELU_B, LEAKY, LEAKY_B, SIGMOID, SIGMOID_B, TANH, TANH_B, GELU, GELU_B

_GELU_FORMS = {"none": 0, "tanh": 1}
_MATH_OPS = {"exp": 0, "tanh": 1, "log": 2, "erf": 3, "erfc": 4, "exp_nonpos": 5}


cdef int _ew_call(int op, bint f64, void *a, void *b, void *y, int64_t n, double param, int iparam,
                  int nt) noexcept nogil:
    if f64:
        if op == RELU: return fp_relu_forward_f64(<double *>a, <double *>y, n, nt)
        if op == RELU_B: return fp_relu_backward_f64(<double *>a, <double *>b, <double *>y, n, nt)
        if op == LEAKY: return fp_leaky_relu_forward_f64(<double *>a, <double *>y, n, param, nt)
        if op == LEAKY_B: return fp_leaky_relu_backward_f64(<double *>a, <double *>b, <double *>y, n, param, nt)
        if op == SIGMOID: return fp_sigmoid_forward_f64(<double *>a, <double *>y, n, nt)
        if op == SIGMOID_B: return fp_sigmoid_backward_f64(<double *>a, <double *>b, <double *>y, n, nt)
        if op == TANH: return fp_tanh_forward_f64(<double *>a, <double *>y, n, nt)
        if op == TANH_B: return fp_tanh_backward_f64(<double *>a, <double *>b, <double *>y, n, nt)
        if op == GELU: return fp_gelu_forward_f64(<double *>a, <double *>y, n, iparam, nt)
        if op == GELU_B: return fp_gelu_backward_f64(<double *>a, <double *>b, <double *>y, n, iparam, nt)
    else:
        if op == RELU: return fp_relu_forward_f32(<float *>a, <float *>y, n, nt)
        if op == RELU_B: return fp_relu_backward_f32(<float *>a, <float *>b, <float *>y, n, nt)
        if op == LEAKY: return fp_leaky_relu_forward_f32(<float *>a, <float *>y, n, param, nt)
        if op == LEAKY_B: return fp_leaky_relu_backward_f32(<float *>a, <float *>b, <float *>y, n, param, nt)
        if op == SIGMOID: return fp_sigmoid_forward_f32(<float *>a, <float *>y, n, nt)
        if op == SIGMOID_B: return fp_sigmoid_backward_f32(<float *>a, <float *>b, <float *>y, n, nt)
        if op == TANH: return fp_tanh_forward_f32(<float *>a, <float *>y, n, nt)
        if op == TANH_B: return fp_tanh_backward_f32(<float *>a, <float *>b, <float *>y, n, nt)
        if op == GELU: return fp_gelu_forward_f32(<float *>a, <float *>y, n, iparam, nt)
        if op == GELU_B: return fp_gelu_backward_f32(<float *>a, <float *>b, <float *>y, n, iparam, nt)
    return 5




def _input_for_out(a, out):
    """`a`, copied if `out` overlaps it without being the very same buffer (an
    exact alias is fine: every kernel reads an element before writing it)."""
    if out is not None and np.may_share_memory(a, out) and not (
            a.__array_interface__["data"][0] == out.__array_interface__["data"][0] and a.shape == out.shape):
        return a.copy()
    return a


def _operands(first, second, str second_name, out):
    """(a, b, result): a forward's x (second is None), or a backward's grad_out
    and its x/y; the result array allocated (or `out` checked)."""
    if second is None:
        a = V.float_array(first, "x")
        b = None
        ref = a
    else:
        b = V.float_array(second, second_name)
        a = V.float_array(first, "grad_out", dtype=b.dtype)
        V.same_shape(second_name, b, "grad_out", a)
        ref = b
    res = V.output(out, ref.shape, ref.dtype)
    a = _input_for_out(a, out)
    if b is not None:
        b = _input_for_out(b, out)
    return a, b, res


cdef void *_ptr(a):
    return NULL if a is None else data(a)


def _elementwise(int op, str name, first, second, str second_name, out, double param=0.0, int iparam=0):
    a, b, res = _operands(first, second, second_name, out)
    cdef int64_t n = a.size
    cdef int nt = effective_threads()
    cdef void *pa = data(a)
    cdef void *pb = _ptr(b)
    cdef void *pr = data(res)
    cdef bint f64 = a.dtype == np.float64
    cdef int st
    with nogil:
        st = _ew_call(op, f64, pa, pb, pr, n, param, iparam, nt)
    raise_for_status(st, name)
    return res


def _forward(int op, str name, x, out, double param=0.0, int iparam=0):
    return _elementwise(op, name, x, None, "", out, param, iparam)


def _backward(int op, str name, grad_out, second, str second_name, out, double param=0.0, int iparam=0):
    return _elementwise(op, name, grad_out, second, second_name, out, param, iparam)


def _slope(negative_slope):
    if isinstance(negative_slope, (bool, np.bool_)) or not isinstance(negative_slope, numbers.Real):
        raise TypeError(f"negative_slope must be a real number, got {type(negative_slope).__name__}")
    return float(negative_slope)


def _gelu_form(approximate):
    if not isinstance(approximate, str):
        raise TypeError(f"approximate must be 'none' or 'tanh', got {type(approximate).__name__}")
    if approximate not in _GELU_FORMS:
        raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    return _GELU_FORMS[approximate]


def relu(x, *, out=None):
    """max(x, 0) elementwise; NaN stays NaN (as torch.relu)."""
    return _forward(RELU, "relu", x, out)


def relu_backward(grad_out, x, *, out=None):
    """Gradient of relu w.r.t. x: 0 where x <= 0, else grad_out (torch's
    threshold_backward: 0 at x == 0, grad_out passes at x = NaN)."""
    return _backward(RELU_B, "relu_backward", grad_out, x, "x", out)


def leaky_relu(x, negative_slope=0.01, *, out=None):
    """x where x > 0, else negative_slope * x (torch.nn.functional.leaky_relu)."""
    return _forward(LEAKY, "leaky_relu", x, out, _slope(negative_slope))


def leaky_relu_backward(grad_out, x, negative_slope=0.01, *, out=None):
    """grad_out where x > 0, else negative_slope * grad_out (at 0: the slope, as torch)."""
    return _backward(LEAKY_B, "leaky_relu_backward", grad_out, x, "x", out, _slope(negative_slope))


def sigmoid(x, *, out=None):
    """1 / (1 + exp(-x)), computed from exp(-|x|) so neither tail overflows."""
    return _forward(SIGMOID, "sigmoid", x, out)


def sigmoid_backward(grad_out, y, *, out=None):
    """Gradient of sigmoid from its OUTPUT y (as torch): grad_out * (1 - y) * y."""
    return _backward(SIGMOID_B, "sigmoid_backward", grad_out, y, "y", out)


def tanh(x, *, out=None):
    """tanh(x) elementwise."""
    return _forward(TANH, "tanh", x, out)


def tanh_backward(grad_out, y, *, out=None):
    """Gradient of tanh from its OUTPUT y (as torch): grad_out * (1 - y * y)."""
    return _backward(TANH_B, "tanh_backward", grad_out, y, "y", out)


def gelu(x, approximate="none", *, out=None):
    """x * Phi(x) (approximate="none", exact erf form) or
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (approximate="tanh")."""
    return _forward(GELU, "gelu", x, out, 0.0, _gelu_form(approximate))


def gelu_backward(grad_out, x, approximate="none", *, out=None):
    """Gradient of gelu w.r.t. x (from the input x, as torch's gelu_backward)."""
    return _backward(GELU_B, "gelu_backward", grad_out, x, "x", out, 0.0, _gelu_form(approximate))


# ---- softmax family -----------------------------------------------------------

def _split(shape, int axis):
    cdef int64_t outer = 1, inner = 1
    for s in shape[:axis]:
        outer *= s
    for s in shape[axis + 1:]:
        inner *= s
    return outer, (shape[axis] if len(shape) else 1), inner


def _axis(axis, a):
    return V.normalize_axis(axis, max(a.ndim, 1))


cdef int _sm_call(int which, bint f64, void *a, void *b, void *y, int64_t o, int64_t c, int64_t i,
                  int nt) noexcept nogil:
    # which: 0 softmax, 1 log_softmax, 2 softmax_backward, 3 log_softmax_backward
    if f64:
        if which == 0: return fp_softmax_forward_f64(<double *>a, <double *>y, o, c, i, nt)
        if which == 1: return fp_log_softmax_forward_f64(<double *>a, <double *>y, o, c, i, nt)
        if which == 2: return fp_softmax_backward_f64(<double *>a, <double *>b, <double *>y, o, c, i, nt)
        if which == 3: return fp_log_softmax_backward_f64(<double *>a, <double *>b, <double *>y, o, c, i, nt)
    else:
        if which == 0: return fp_softmax_forward_f32(<float *>a, <float *>y, o, c, i, nt)
        if which == 1: return fp_log_softmax_forward_f32(<float *>a, <float *>y, o, c, i, nt)
        if which == 2: return fp_softmax_backward_f32(<float *>a, <float *>b, <float *>y, o, c, i, nt)
        if which == 3: return fp_log_softmax_backward_f32(<float *>a, <float *>b, <float *>y, o, c, i, nt)
    return 5


def _softmax_family(int which, str name, first, second, axis, out):
    a, b, res = _operands(first, second, "y", out)
    ax = _axis(axis, res)
    cdef int64_t o, c, i
    o, c, i = _split(res.shape, ax)
    cdef int nt = effective_threads()
    cdef void *pa = data(a)
    cdef void *pb = _ptr(b)
    cdef void *pr = data(res)
    cdef bint f64 = a.dtype == np.float64
    cdef int st
    with nogil:
        st = _sm_call(which, f64, pa, pb, pr, o, c, i, nt)
    raise_for_status(st, name)
    return res


def _sm_forward(int which, str name, x, axis, out):
    return _softmax_family(which, name, x, None, axis, out)


def _sm_backward(int which, str name, grad_out, y, axis, out):
    return _softmax_family(which, name, grad_out, y, axis, out)


def softmax(x, axis=-1, *, out=None):
    """exp(x - max) / sum(exp(x - max)) along `axis` (any axis, no transposes).
    A slice containing NaN, +Inf, or only -Inf gives NaN, as torch."""
    return _sm_forward(0, "softmax", x, axis, out)


def log_softmax(x, axis=-1, *, out=None):
    """(x - max) - log(sum(exp(x - max))) along `axis`."""
    return _sm_forward(1, "log_softmax", x, axis, out)


def softmax_backward(grad_out, y, axis=-1, *, out=None):
    """Gradient of softmax from its OUTPUT y: y * (grad_out - sum(grad_out * y, axis))."""
    return _sm_backward(2, "softmax_backward", grad_out, y, axis, out)


def log_softmax_backward(grad_out, y, axis=-1, *, out=None):
    """Gradient of log_softmax from its OUTPUT y: grad_out - exp(y) * sum(grad_out, axis)."""
    return _sm_backward(3, "log_softmax_backward", grad_out, y, axis, out)


# ---- dropout ------------------------------------------------------------------

def _dropout_p(p):
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Real):
        raise TypeError(f"p must be a real number in [0, 1], got {type(p).__name__}")
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability p must be in [0, 1], got {p}")
    return p


def dropout(x, p=0.5, training=True, seed=0, *, out=None):
    """Zero each element with probability p, scale the kept ones by 1/(1-p).

    Returns (y, mask), mask a bool array (True = kept). The mask depends only
    on (seed, flat element index): the same for any thread count or chunking.
    As torch, y = x * mask / (1 - p), so a dropped NaN/Inf gives NaN, and p == 1
    gives x * 0 (zeros for finite x) with an all-False mask. training=False
    returns a copy of x and an all-True mask.
    """
    p = _dropout_p(p)
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    seed = int(seed)
    if not 0 <= seed < 2**64:
        raise ValueError(f"seed must be in [0, 2**64), got {seed}")
    a = V.float_array(x, "x")
    y = V.output(out, a.shape, a.dtype)
    if not training:
        np.copyto(y, a)
        return y, np.ones(a.shape, dtype=np.bool_)
    a = _input_for_out(a, out)
    mask = V.empty(a.shape, np.bool_)
    cdef int64_t n = a.size
    cdef int nt = effective_threads()
    cdef void *pa = data(a)
    cdef void *py = data(y)
    cdef uint8_t *pm = <uint8_t *>data(mask)
    cdef double cp = p
    cdef uint64_t cseed = seed
    cdef int st
    if a.dtype == np.float64:
        with nogil:
            st = fp_dropout_forward_f64(<double *>pa, <double *>py, pm, n, cp, cseed, nt)
    else:
        with nogil:
            st = fp_dropout_forward_f32(<float *>pa, <float *>py, pm, n, cp, cseed, nt)
    raise_for_status(st, "dropout")
    return y, mask


def dropout_backward(grad_out, mask, p, *, out=None):
    """grad_out * mask / (1 - p); mask as returned by dropout (bool, or uint8
    with nonzero = kept)."""
    p = _dropout_p(p)
    g = V.float_array(grad_out, "grad_out")
    m = mask if isinstance(mask, np.ndarray) else np.asarray(mask)
    if m.dtype not in (np.dtype(np.bool_), np.dtype(np.uint8)):
        raise TypeError(f"mask must be a bool (or uint8) array, got dtype {m.dtype}")
    m = np.ascontiguousarray(m).view(np.uint8)
    V.same_shape("grad_out", g, "mask", m)
    gx = V.output(out, g.shape, g.dtype)
    g = _input_for_out(g, out)
    cdef int64_t n = g.size
    cdef int nt = effective_threads()
    cdef void *pg = data(g)
    cdef uint8_t *pm = <uint8_t *>data(m)
    cdef void *pgx = data(gx)
    cdef double cp = p
    cdef int st
    if g.dtype == np.float64:
        with nogil:
            st = fp_dropout_backward_f64(<double *>pg, pm, <double *>pgx, n, cp, nt)
    else:
        with nogil:
            st = fp_dropout_backward_f32(<float *>pg, pm, <float *>pgx, n, cp, nt)
    raise_for_status(st, "dropout_backward")
    return gx


def _math(str name, x):
    """Private test hook: fastprims' vector exp/tanh/log/erf/erfc applied to x
    (float32 or float64), through the same vectorized, dispatched loops the
    kernels use."""
    a = V.float_array(x, "x")
    y = V.empty(a.shape, a.dtype)
    cdef int op = _MATH_OPS[name]
    cdef int64_t n = a.size
    cdef void *pa = data(a)
    cdef void *py = data(y)
    cdef int st
    if a.dtype == np.float64:
        with nogil:
            st = fp_math_apply_f64(op, <double *>pa, <double *>py, n)
    else:
        with nogil:
            st = fp_math_apply_f32(op, <float *>pa, <float *>py, n)
    raise_for_status(st, "_math")
    return y
