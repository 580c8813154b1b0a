"""Accuracy of the vector math in src/fp_math.h, in ulp against float64 (or
scipy) references, through the private hook fastprims.activation._math (the
same dispatched, vectorized loops the kernels run).

ulp is measured as |y - ref| / spacing(ref in the tested dtype), with the
reference in float64 for float32 (and for float64, against numpy/scipy's
float64 results, which are themselves within ~1 ulp: the float64 bounds leave
room for that).
"""
import numpy as np
import pytest
from scipy import special

from fastprims.activation import _math

F32, F64 = np.float32, np.float64


def ulp_err(y, ref, dtype):
    ref = np.asarray(ref, np.float64)
    sp = np.spacing(np.abs(ref).astype(dtype)).astype(np.float64)
    # below the smallest normal, one ulp is the smallest subnormal
    sp = np.maximum(sp, np.float64(np.finfo(dtype).smallest_subnormal))
    return np.abs(y.astype(np.float64) - ref) / sp


def grid(lo, hi, n, dtype):
    x = np.linspace(lo, hi, n).astype(dtype)
    rng = np.random.default_rng(7)
    return np.concatenate([x, rng.uniform(lo, hi, n).astype(dtype)])


def _ref_exp(x):
    with np.errstate(over="ignore"):
        return np.exp(x.astype(np.float64))


def _ref_log(x):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x.astype(np.float64))


REF64 = {  # float64 oracles (long double for exp/log/tanh would be the same up to 1 ulp)
    "exp": _ref_exp,
    "exp_nonpos": _ref_exp,
    "tanh": lambda x: np.tanh(x.astype(np.float64)),
    "log": _ref_log,
    "erf": lambda x: special.erf(x.astype(np.float64)),
    "erfc": lambda x: special.erfc(x.astype(np.float64)),
}

# (name, dtype, lo, hi, max ulp)
CASES = [
    ("exp", F32, -87.0, 88.5, 2.0),
    ("exp", F64, -707.0, 709.5, 2.0),
    # the softmax family's exp of x - max <= 0: fewer multiply-adds, a looser bound
    ("exp_nonpos", F32, -87.0, 0.0, 3.0),
    ("exp_nonpos", F32, -10.0, 0.0, 3.0),
    ("exp_nonpos", F64, -707.0, 0.0, 2.0),
    ("tanh", F32, -12.0, 12.0, 3.0),
    ("tanh", F32, -0.7, 0.7, 3.0),
    ("tanh", F64, -40.0, 40.0, 3.0),
    ("tanh", F64, -0.7, 0.7, 3.0),
    ("erf", F32, -5.0, 5.0, 3.0),
    ("erf", F32, -1.2, 1.2, 3.0),
    ("erfc", F32, -5.0, 9.0, 8.0),
]


@pytest.mark.parametrize("name,dtype,lo,hi,bound", CASES)
def test_ulp_error_in_range(name, dtype, lo, hi, bound):
    x = grid(lo, hi, 200_000, dtype)
    err = ulp_err(_math(name, x), REF64[name](x), dtype)
    assert err.max() <= bound, (name, dtype, float(err.max()), float(x[np.argmax(err)]))


@pytest.mark.parametrize("name,lo,hi,bound", [("erf", -7.0, 7.0, 1.0), ("erfc", -7.0, 26.0, 3.0)])
def test_float64_erf_erfc_against_mpmath(name, lo, hi, bound):
    # scipy's float64 erfc loses ~x^2 ulp in its tail (exp(-x*x) rounded), so
    # the float64 oracle is mpmath at 40 digits
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    x = grid(lo, hi, 1500, F64)
    f = getattr(mpmath, name)
    ref = np.array([float(f(mpmath.mpf(float(v)))) for v in x])
    err = ulp_err(_math(name, x), ref, F64)
    assert err.max() <= bound, (float(err.max()), float(x[np.argmax(err)]))


@pytest.mark.parametrize("dtype,bound", [(F32, 2.0), (F64, 2.0)])
def test_log_ulp_error(dtype, bound):
    tiny = np.finfo(dtype).tiny
    x = np.concatenate([np.geomspace(tiny, np.finfo(dtype).max / 2, 200_000),
                        np.linspace(0.5, 2.0, 100_000),
                        np.geomspace(np.finfo(dtype).smallest_subnormal, tiny, 1000)]).astype(dtype)
    err = ulp_err(_math("log", x), REF64["log"](x), dtype)
    assert err.max() <= bound, (float(err.max()), float(x[np.argmax(err)]))


@pytest.mark.parametrize("dtype", [F32, F64])
def test_exp_underflow_is_gradual_and_specials(dtype):
    info = np.finfo(dtype)
    lo = np.log(info.smallest_subnormal) - 1
    x = np.linspace(lo, np.log(info.tiny), 50_000).astype(dtype)  # results are subnormal
    y = _math("exp", x)
    ref = _ref_exp(x)
    assert np.all(np.abs(y - ref) <= 1.01 * info.smallest_subnormal + 4 * np.spacing(ref.astype(dtype)))
    sp = np.array([-np.inf, np.inf, np.nan, 0.0, -0.0, -1e4, 1e4, lo - 50], dtype)
    y = _math("exp", sp)
    np.testing.assert_array_equal(y, np.array([0, np.inf, np.nan, 1, 1, 0, np.inf, 0], dtype))


@pytest.mark.parametrize("dtype", [F32, F64])
def test_tanh_specials_and_tiny(dtype):
    info = np.finfo(dtype)
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 1e30, -1e30, info.smallest_subnormal,
                  -info.tiny, 1e-20], dtype)
    y = _math("tanh", x)
    np.testing.assert_array_equal(y, np.array([1, -1, np.nan, 0, -0.0, 1, -1, info.smallest_subnormal,
                                               -info.tiny, 1e-20], dtype))
    assert np.signbit(y[4]) and not np.signbit(y[3])


@pytest.mark.parametrize("dtype", [F32, F64])
def test_log_specials(dtype):
    x = np.array([0.0, -0.0, -1.0, -np.inf, np.inf, np.nan, 1.0], dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.testing.assert_array_equal(_math("log", x), np.log(x))


@pytest.mark.parametrize("dtype", [F32, F64])
def test_erf_erfc_specials(dtype):
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 30.0, -30.0, 1e30], dtype)
    np.testing.assert_array_equal(_math("erf", x), np.array([1, -1, np.nan, 0, -0.0, 1, -1, 1], dtype))
    np.testing.assert_array_equal(_math("erfc", x), np.array([0, 2, np.nan, 1, 1, 0, 2, 0], dtype))


def test_erfc_float32_tail_keeps_relative_precision():
    # into the subnormal range: abs error within a few subnormal ulps
    x = np.linspace(9.0, 10.2, 20_000).astype(F32)
    y = _math("erfc", x).astype(np.float64)
    ref = special.erfc(x.astype(np.float64))
    tol = 8 * np.maximum(np.spacing(ref.astype(F32)), np.finfo(F32).smallest_subnormal)
    assert np.all(np.abs(y - ref) <= tol)


@pytest.mark.parametrize("dtype", [F32, F64])
def test_exp_nonpos_specials_and_vector_scalar_agree(dtype):
    x = np.array([0.0, -0.0, -1e-30, -87.3, -87.34, -100.0, -1e30, -np.inf, np.nan], dtype)
    y = _math("exp_nonpos", x)
    assert y[0] == 1 and y[1] == 1 and y[2] == 1
    assert np.isnan(y[-1])
    assert y[-2] == 0 and y[-3] == 0
    if dtype == F32:  # flushed to 0 below -87.33 instead of a subnormal
        assert y[3] > 0 and y[4] == 0 and y[5] == 0
    # whole vectors and the scalar tail compute the same bits
    g = grid(-90.0, 0.0, 4099, dtype)
    whole = _math("exp_nonpos", g)
    one_by_one = np.concatenate([_math("exp_nonpos", g[i:i + 1]) for i in range(0, g.size, 37)])
    np.testing.assert_array_equal(whole[::37], one_by_one)
