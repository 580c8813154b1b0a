"""The output cache behind fastprims' kernel outputs (fastprims/_config.pyx, src/fp_alloc.c)."""
import gc

import numpy as np
import pytest

import fastprims as fp
from fastprims import _config

try:  # NumPy >= 2
    from numpy._core.multiarray import get_handler_name
except ImportError:  # NumPy 1.x
    from numpy.core.multiarray import get_handler_name

pytestmark = pytest.mark.skipif(fp.build_info()["sanitizers"] or not _config._cache_active(),
                                reason="sanitizer builds allocate with NumPy's handler")


def test_large_outputs_reuse_blocks_and_stay_correct(rng):
    fp.empty_cache()
    x = rng.standard_normal(1 << 20).astype(np.float32)  # 4 MiB
    y = fp.relu(x)
    assert get_handler_name(y) == "fastprims_output_cache"
    addr = y.ctypes.data
    del y
    gc.collect()
    assert fp.cached_bytes() >= x.nbytes
    x2 = -x
    y2 = fp.relu(x2)  # same size: the cached block comes back, fully overwritten
    assert y2.ctypes.data == addr
    np.testing.assert_array_equal(y2, np.maximum(x2, 0))
    assert fp.cached_bytes() == 0


def test_small_outputs_use_numpy_allocator():
    y = fp.relu(np.ones(10, np.float32))
    assert get_handler_name(y) != "fastprims_output_cache"


def test_resize_copies_through_the_cache():
    a = _config.empty((1 << 18,), np.float64)  # 2 MiB
    a[:] = np.arange(a.size)
    a.resize((1 << 20,), refcheck=False)  # realloc to 8 MiB: contents kept
    np.testing.assert_array_equal(a[: 1 << 18], np.arange(1 << 18))
    a.resize((10,), refcheck=False)  # shrink below the large-block size
    np.testing.assert_array_equal(a, np.arange(10))


def test_limit_and_trim():
    fp.empty_cache()
    try:
        fp.set_cache_limit(0)
        y = fp.relu(np.ones(1 << 20, np.float32))
        del y
        gc.collect()
        assert fp.cached_bytes() == 0
    finally:
        fp.set_cache_limit(1 << 30)
    y = fp.relu(np.ones(1 << 20, np.float32))
    del y
    gc.collect()
    assert fp.cached_bytes() > 0
    fp.empty_cache()
    assert fp.cached_bytes() == 0
    with pytest.raises(ValueError, match="nbytes"):
        fp.set_cache_limit(-1)


def test_empty_accepts_int_shape_and_rejects_negative():
    assert _config.empty(5, np.float32).shape == (5,)
    with pytest.raises(ValueError):
        _config.empty((-1, 3), np.float32)
