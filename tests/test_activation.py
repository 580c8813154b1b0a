import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import fastprims as fp
from _ref import relu as ref_relu, relu_backward as ref_relu_backward

DTYPES = [np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_relu_matches_reference(dtype, data):
    x = data.draw(hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=4, max_side=7),
                             elements=st.floats(-1e6, 1e6, width=32)))
    np.testing.assert_array_equal(fp.relu(x), ref_relu(x).astype(dtype))
    g = np.ones_like(x)
    np.testing.assert_array_equal(fp.relu_backward(g, x), ref_relu_backward(g, x).astype(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_large_threaded_and_nan(dtype, rng):
    x = rng.standard_normal(300_001).astype(dtype)
    x[::1000] = np.nan
    x[1::1000] = np.inf
    x[2::1000] = -np.inf
    for n in (1, 2):
        with fp.num_threads(n):
            y = fp.relu(x)
        np.testing.assert_array_equal(y, ref_relu(x).astype(dtype))


def test_relu_noncontiguous_and_byteswapped(rng):
    x = rng.standard_normal((40, 30))
    np.testing.assert_array_equal(fp.relu(x[:, ::3]), ref_relu(x[:, ::3]))
    xs = x.astype(">f8")
    np.testing.assert_array_equal(fp.relu(xs), ref_relu(x))


def test_relu_out(rng):
    x = rng.standard_normal(100).astype(np.float32)
    out = np.empty_like(x)
    assert fp.relu(x, out=out) is out
    np.testing.assert_array_equal(out, ref_relu(x).astype(np.float32))
    with pytest.raises(ValueError, match="out must have shape"):
        fp.relu(x, out=np.empty(99, np.float32))
    with pytest.raises(ValueError, match="out must have shape"):
        fp.relu(x, out=np.empty(100, np.float64))
    with pytest.raises(ValueError, match="C-contiguous"):
        fp.relu(x, out=np.empty(200, np.float32)[::2])


def test_relu_bad_inputs():
    with pytest.raises(TypeError, match="x must be a float32 or float64"):
        fp.relu(np.arange(3))
    with pytest.raises(TypeError, match="mixed dtypes"):
        fp.relu_backward(np.ones(3, np.float64), np.ones(3, np.float32))
    with pytest.raises(ValueError, match="grad_out must have the shape of x"):
        fp.relu_backward(np.ones(4, np.float32), np.ones(3, np.float32))


def test_relu_empty():
    assert fp.relu(np.empty((0, 3), np.float32)).shape == (0, 3)
