# Shared by every family module (cimported; resolved through a capsule, so the
# thread setting lives in exactly one place however many modules link C).

cdef int effective_threads() noexcept nogil
cdef int raise_for_status(int status, str what) except -1

cimport numpy as cnp

cdef inline void *data(object a) noexcept:
    """Data pointer of an ndarray the caller has already validated."""
    return cnp.PyArray_DATA(<cnp.ndarray>a)
