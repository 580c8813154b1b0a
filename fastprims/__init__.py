"""fastprims: fast CPU primitives for deep learning.

Kernels are grouped in one submodule per family (fastprims.activation, ...)
and re-exported here.
"""
from fastprims import _blas  # noqa: F401  (first: loads the BLAS with the right kernels)
from fastprims._config import (
    build_info,
    cached_bytes,
    empty_cache,
    get_num_threads,
    num_threads,
    set_cache_limit,
    set_num_threads,
    show_config,
)
from fastprims.activation import *  # noqa: F401,F403
from fastprims import activation
from fastprims.loss import *  # noqa: F401,F403
from fastprims import loss
from fastprims.conv import *  # noqa: F401,F403
from fastprims import conv
from fastprims.pool import *  # noqa: F401,F403
from fastprims import pool
from fastprims.norm import *  # noqa: F401,F403
from fastprims import norm
from fastprims.detection import *  # noqa: F401,F403
from fastprims import detection
from fastprims.metrics import *  # noqa: F401,F403
from fastprims import metrics

__version__ = "0.1.0"
from fastprims import optim
from fastprims import data
from fastprims import nn
