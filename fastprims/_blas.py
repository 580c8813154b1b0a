"""Load the BLAS behind the convolution GEMM before any extension links it.

scipy-openblas32 picks its kernels once, when the library is loaded. OpenBLAS
0.3.x does not recognise AMD Zen 5 (and treats AVX-512 AMD parts as Haswell),
so it runs AVX2 kernels at about half the speed its SkylakeX (AVX-512)
kernels reach on the same CPU (sgemm 2 threads: ~185 vs ~345-390 GFLOP/s on
Zen 5). On an AMD CPU with the AVX-512 subset those kernels need we load the
library with OPENBLAS_CORETYPE=SKYLAKEX, unless the user set OPENBLAS_CORETYPE
(then theirs is used), and restore the environment right after, so neither
the rest of the process nor its children see the change. NumPy's own
OpenBLAS is a different library and is not affected.
"""
import ctypes
import os

_SKX_FLAGS = {"avx512f", "avx512dq", "avx512bw", "avx512vl"}


def _amd_with_avx512():
    try:
        with open("/proc/cpuinfo") as fh:
            vendor, flags = None, None
            for line in fh:
                if vendor is None and line.startswith("vendor_id"):
                    vendor = line.split(":", 1)[1].strip()
                elif flags is None and line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                if vendor is not None and flags is not None:
                    break
    except OSError:
        return False
    return vendor == "AuthenticAMD" and flags is not None and _SKX_FLAGS <= flags


def _preload():
    try:
        import scipy_openblas32
    except ImportError:
        return None
    path = os.path.join(scipy_openblas32.get_lib_dir(), "libscipy_openblas.so")
    if not os.path.exists(path):
        return None
    forced = "OPENBLAS_CORETYPE" not in os.environ and _amd_with_avx512()
    if forced:
        os.environ["OPENBLAS_CORETYPE"] = "SKYLAKEX"
    try:
        return ctypes.CDLL(path)
    except OSError:
        return None
    finally:
        if forced:
            del os.environ["OPENBLAS_CORETYPE"]


_lib = _preload()
