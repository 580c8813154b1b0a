"""Argument checks shared by every family module.

Kernels take float32/float64 arrays computed natively; anything else is a
TypeError naming the argument. Non-contiguous or byte-swapped inputs are copied
once into C-contiguous native order; `out=` arrays are never copied: a wrong
one is a ValueError.
"""
import numpy as np

from fastprims import _config

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
INT_DTYPES = (np.dtype(np.int32), np.dtype(np.int64))


def _native(a):
    if not a.dtype.isnative and a.dtype.kind in "fiu":
        a = a.astype(a.dtype.newbyteorder("="))
    # np.asarray(order="C") copies only when needed and, unlike
    # np.ascontiguousarray, keeps 0-d arrays 0-d
    return np.asarray(a, order="C")


def float_array(x, name, ndim=None, min_ndim=None, dtype=None):
    """`x` as a C-contiguous native float32/float64 array (copied only if needed)."""
    a = _native(x if isinstance(x, np.ndarray) else np.asarray(x))
    if a.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be a float32 or float64 array, got dtype {a.dtype}")
    if dtype is not None and a.dtype != dtype:
        raise TypeError(f"{name} has dtype {a.dtype} but the other float arguments are "
                        f"{np.dtype(dtype)}; mixed dtypes are not accepted (float32 or float64)")
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {a.shape}")
    if min_ndim is not None and a.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimensions, got shape {a.shape}")
    return a


def int_array(x, name, ndim=None):
    """`x` as a C-contiguous native int64 array (int32 and int64 accepted)."""
    a = x if isinstance(x, np.ndarray) else np.asarray(x)
    if a.dtype.newbyteorder("=") not in INT_DTYPES:
        raise TypeError(f"{name} must be an int32 or int64 array, got dtype {a.dtype}")
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {a.shape}")
    return np.asarray(a, dtype=np.int64, order="C")


def same_shape(name_a, a, name_b, b):
    if a.shape != b.shape:
        raise ValueError(f"{name_b} must have the shape of {name_a}: "
                         f"{name_a}.shape={a.shape}, {name_b}.shape={b.shape}")


def empty(shape, dtype):
    """Allocate a kernel's output. Every family allocates through here so that
    allocation policy (reuse of large freed blocks, fastprims._config.empty) is
    decided in one place."""
    return _config.empty(shape, dtype)


def output(out, shape, dtype, name="out"):
    """A fresh C-contiguous output, or `out` checked to be exactly that."""
    shape = tuple(int(s) for s in shape)
    if out is None:
        return empty(shape, dtype)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(out).__name__}")
    if out.shape != shape or out.dtype != dtype:
        raise ValueError(f"{name} must have shape {shape} and dtype {np.dtype(dtype)}, "
                         f"got shape {out.shape} and dtype {out.dtype}")
    if not (out.flags.c_contiguous and out.flags.writeable and out.dtype.isnative):
        raise ValueError(f"{name} must be a writeable C-contiguous native-byte-order array")
    return out


def normalize_axis(axis, ndim, name="axis"):
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(axis).__name__}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name}={axis} is out of range for an array of {ndim} dimensions")
    return int(axis) % ndim


def reduction_arg(reduction):
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return reduction
