"""fastprims: fast CPU primitives for deep learning.

Kernels are grouped in one submodule per family (fastprims.activation, ...)
and re-exported here.
"""
from fastprims._config import (
    build_info,
    get_num_threads,
    num_threads,
    set_num_threads,
    show_config,
)
from fastprims.activation import *  # noqa: F401,F403
from fastprims import activation
from fastprims.metrics import *  # noqa: F401,F403
from fastprims import metrics

__version__ = "0.1.0"
