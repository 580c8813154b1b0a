"""Float64 NumPy references for the activation family (torch semantics).

Written from the definitions, not from fastprims' formulas: softmax as
exp(x - max) / sum with numpy's NaN-propagating max (which is what gives
torch's NaN rows for +Inf / all -Inf / NaN), gelu through scipy's erfc.
Nothing here calls fastprims.
"""
import numpy as np
from scipy.special import erfc, expit

SQRT_2_OVER_PI = np.sqrt(2.0 / np.pi)
KAPPA = 0.044715


def _f64(a):
    return np.asarray(a, dtype=np.float64)


def relu(x):
    x = _f64(x)
    return np.where(np.isnan(x), np.nan, np.maximum(x, 0.0))


def relu_backward(g, x):
    # torch.threshold_backward: x <= 0 -> 0, else g (so NaN x passes g through)
    return np.where(_f64(x) <= 0, 0.0, _f64(g))


def leaky_relu(x, slope=0.01):
    x = _f64(x)
    return np.where(x > 0, x, x * slope)


def leaky_relu_backward(g, x, slope=0.01):
    return np.where(_f64(x) > 0, _f64(g), _f64(g) * slope)


def sigmoid(x):
    x = _f64(x)
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def sigmoid_backward(g, y):
    y = _f64(y)
    return _f64(g) * y * (1.0 - y)


def tanh(x):
    return np.tanh(_f64(x))


def tanh_backward(g, y):
    y = _f64(y)
    return _f64(g) * (1.0 - y * y)


def norm_cdf(x):
    return 0.5 * erfc(-_f64(x) / np.sqrt(2.0))


def gelu(x, approximate="none"):
    x = _f64(x)
    with np.errstate(over="ignore", invalid="ignore"):
        if approximate == "tanh":
            # 0.5 (1 + tanh(u)) written as expit(2u): same function, without the
            # cancellation that would make the reference itself wrong for x << 0
            return x * expit(2 * SQRT_2_OVER_PI * (x + KAPPA * x ** 3))
        return x * norm_cdf(x)


def gelu_backward(g, x, approximate="none"):
    x, g = _f64(x), _f64(g)
    with np.errstate(over="ignore", invalid="ignore"):
        if approximate == "tanh":
            u2 = 2 * SQRT_2_OVER_PI * (x + KAPPA * x ** 3)
            s, sm = expit(u2), expit(-u2)  # 0.5 (1 + tanh u), 0.5 (1 - tanh u)
            d = s + 0.5 * x * (4 * s * sm) * SQRT_2_OVER_PI * (1 + 3 * KAPPA * x * x)
        else:
            d = norm_cdf(x) + x * np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)
    return g * d


def softmax(x, axis=-1):
    x = _f64(x)
    with np.errstate(invalid="ignore", over="ignore"):
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    x = _f64(x)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        z = x - np.max(x, axis=axis, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def softmax_backward(g, y, axis=-1):
    g, y = _f64(g), _f64(y)
    return y * (g - (g * y).sum(axis=axis, keepdims=True))


def log_softmax_backward(g, y, axis=-1):
    g, y = _f64(g), _f64(y)
    return g - np.exp(y) * g.sum(axis=axis, keepdims=True)


def dropout_apply(x, mask, p):
    """torch's x * mask / (1 - p) for a given mask (p < 1)."""
    with np.errstate(invalid="ignore"):
        return _f64(x) * (np.asarray(mask, dtype=np.float64) / (1.0 - p))
