# cython: language_level=3
"""Thread control, build configuration and status-code mapping.

Thread count: one process-wide setting (set_num_threads / num_threads), and
kernels use min(that setting, omp_get_max_threads() of the calling thread).
The second term is what threadpoolctl.threadpool_limits lowers (it calls
omp_set_num_threads on the OpenMP runtime we link), so both controls work and
neither can raise the count above the other.
"""
import contextlib
import math
import os

import numpy as np
cimport numpy as cnp

cnp.import_array()

cdef extern from "fp_build_info.h":
    const char *FP_BUILD_COMPILER
    const char *FP_BUILD_OPENMP
    const char *FP_BUILD_SIMD
    const char *FP_BUILD_BLAS
    const char *FP_BUILD_SANITIZE

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int fp_omp_max_threads(void) { return omp_get_max_threads(); }
    static void fp_omp_set_threads(int n) { omp_set_num_threads(n); }
    static int fp_omp_version(void) { return _OPENMP; }
    #else
    static int fp_omp_max_threads(void) { return 1; }
    static void fp_omp_set_threads(int n) { (void)n; }
    static int fp_omp_version(void) { return 0; }
    #endif
    static int fp_cpu_has(const char *f) {
    #if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
        __builtin_cpu_init();
        if (!strcmp(f, "avx512f")) return __builtin_cpu_supports("avx512f");
        if (!strcmp(f, "avx2")) return __builtin_cpu_supports("avx2");
        if (!strcmp(f, "fma")) return __builtin_cpu_supports("fma");
    #endif
        (void)f;
        return 0;
    }
    """
    int fp_omp_max_threads() noexcept nogil
    void fp_omp_set_threads(int n) noexcept nogil
    int fp_omp_version() noexcept nogil
    int fp_cpu_has(const char *f) noexcept nogil


cdef extern from "fp_alloc.h" nogil:
    size_t FP_ALLOC_LARGE
    void fp_alloc_trim()
    void fp_alloc_set_limit(size_t nbytes)
    size_t fp_alloc_cached_bytes()

cdef extern from *:
    """
    #include "fp_alloc.h"
    static void *fp_h_malloc(void *ctx, size_t n) { (void)ctx; return fp_alloc_get(n, 0); }
    static void *fp_h_calloc(void *ctx, size_t k, size_t n)
    {
        (void)ctx;
        if (n && k > SIZE_MAX / n) return NULL;
        return fp_alloc_get(k * n, 1);
    }
    static void *fp_h_realloc(void *ctx, void *p, size_t n) { (void)ctx; return fp_alloc_resize(p, n); }
    static void fp_h_free(void *ctx, void *p, size_t n) { (void)ctx; (void)n; fp_alloc_put(p); }
    static PyDataMem_Handler fp_cache_handler = {
        "fastprims_output_cache", 1,
        {NULL, fp_h_malloc, fp_h_calloc, fp_h_realloc, fp_h_free}
    };
    static PyObject *fp_cache_handler_capsule(void)
    {
        return PyCapsule_New(&fp_cache_handler, "mem_handler", NULL);
    }
    """
    object fp_cache_handler_capsule()
    object PyDataMem_SetHandler(object handler)


# Sanitizer builds allocate with NumPy's own handler so ASan sees every output.
cdef bint _cache_enabled = (os.environ.get("FASTPRIMS_ALLOC_CACHE", "1") != "0"
                            and FP_BUILD_SANITIZE.decode() not in ("ON", "1", "TRUE", "YES"))
cdef object _cache_handler = fp_cache_handler_capsule()


def empty(shape, dtype):
    """np.empty for kernel outputs. Blocks of 1 MiB and more are recycled through
    fastprims' output cache (see fp_alloc.c) so memory-bound kernels do not pay
    page faults on every call; small arrays take NumPy's allocator as usual."""
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    nbytes = np.dtype(dtype).itemsize * math.prod(shape)  # Python ints: no overflow
    if not _cache_enabled or nbytes < FP_ALLOC_LARGE:
        return np.empty(shape, dtype=dtype)
    old = PyDataMem_SetHandler(_cache_handler)
    try:
        return np.empty(shape, dtype=dtype)
    finally:
        PyDataMem_SetHandler(old)


def _cache_active():
    return bool(_cache_enabled)


def empty_cache():
    """Return the output blocks fastprims keeps for reuse to the OS."""
    fp_alloc_trim()


def set_cache_limit(nbytes):
    """Bytes of freed output blocks kept for reuse (default 1 GiB; 0 keeps none)."""
    if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes < 0:
        raise ValueError(f"nbytes must be an int >= 0, got {nbytes!r}")
    fp_alloc_set_limit(nbytes)


def cached_bytes():
    """Bytes currently held in the output cache."""
    return fp_alloc_cached_bytes()


def _cgroup_cpu_limit():
    """CPUs allowed by a cgroup v2/v1 CPU quota, or None when unlimited."""
    try:
        with open("/sys/fs/cgroup/cpu.max") as fh:
            quota, period = fh.read().split()[:2]
        if quota != "max":
            return max(1, -(-int(quota) // int(period)))
    except (OSError, ValueError):
        pass
    try:
        with open("/sys/fs/cgroup/cpu/cpu.cfs_quota_us") as fh:
            quota = int(fh.read())
        with open("/sys/fs/cgroup/cpu/cpu.cfs_period_us") as fh:
            period = int(fh.read())
        if quota > 0 and period > 0:
            return max(1, -(-quota // period))
    except (OSError, ValueError):
        pass
    return None


def _default_num_threads():
    env = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if env:
        try:
            n = int(env)
            if n >= 1:
                return n
        except ValueError:
            pass
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    limit = _cgroup_cpu_limit()
    if limit is not None:
        n = min(n, limit)
    return max(1, n)


cdef int _num_threads = _default_num_threads()


cdef int effective_threads() noexcept nogil:
    cdef int omp_n = fp_omp_max_threads()
    return _num_threads if _num_threads < omp_n else omp_n


def get_num_threads():
    """Number of threads fastprims kernels called from this thread will use."""
    return effective_threads()


def set_num_threads(n):
    """Set the number of threads fastprims kernels use (process-wide)."""
    global _num_threads
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    _num_threads = n
    fp_omp_set_threads(n)


@contextlib.contextmanager
def num_threads(n):
    """Context manager: run the enclosed block with `n` threads."""
    global _num_threads
    cdef int old = _num_threads
    cdef int old_omp = fp_omp_max_threads()
    set_num_threads(n)
    try:
        yield
    finally:
        _num_threads = old
        fp_omp_set_threads(old_omp)


def build_info():
    """What this build contains, as a dict (see show_config)."""
    return {
        "compiler": FP_BUILD_COMPILER.decode(),
        "openmp": FP_BUILD_OPENMP.decode(),
        "openmp_version": fp_omp_version(),
        "simd_targets": FP_BUILD_SIMD.decode(),
        "blas": FP_BUILD_BLAS.decode() or "none",
        "sanitizers": FP_BUILD_SANITIZE.decode() in ("ON", "1", "TRUE", "YES"),
        "cpu": {f: bool(fp_cpu_has(f.encode())) for f in ("avx512f", "avx2", "fma")},
        "num_threads": get_num_threads(),
    }


def show_config():
    """Print what this build of fastprims has: OpenMP, SIMD targets, compiler, BLAS."""
    info = build_info()
    cpu = ", ".join(k for k, v in info["cpu"].items() if v) or "baseline x86-64 only"
    print(f"fastprims build configuration\n"
          f"  compiler     : {info['compiler']}\n"
          f"  OpenMP       : {info['openmp']}\n"
          f"  SIMD targets : {info['simd_targets']}\n"
          f"  this CPU has : {cpu}\n"
          f"  BLAS         : {info['blas']}\n"
          f"  sanitizers   : {'ASan+UBSan' if info['sanitizers'] else 'off'}\n"
          f"  threads      : {info['num_threads']}")


cdef int raise_for_status(int status, str what) except -1:
    """Map a kernel's status code to an exception; `what` names the argument."""
    if status == 0:
        return 0
    if status == 1:
        raise MemoryError(f"fastprims: out of memory ({what})")
    if status == 5:
        raise NotImplementedError(what)
    raise ValueError(what)
