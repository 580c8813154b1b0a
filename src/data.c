/* Batch gather and augmentation kernels (see data.h). */
#include <math.h>
#include <stdlib.h>

#include "data.h"

/* Rows are copied with memcpy; below this many bytes per call the copy runs
 * on the calling thread. The augmentation kernels use the same bound
 * (FP_DATA_PAR_MIN_ELEMS, data.h): a batch of 256 (3, 32, 32) images takes
 * ~0.1 ms per pass on one thread, while waking a second OpenMP thread costs
 * microseconds on an idle machine and milliseconds on a busy one; the loader
 * gets its parallelism from batch-level threads instead. */
#define FP_GATHER_PAR_MIN_BYTES ((int64_t)1 << 22)

int fp_gather_rows_u8(const uint8_t *src, int64_t n_src_rows, int64_t row_bytes, const int64_t *idx,
                      int64_t n, uint8_t *dst, int n_threads)
{
    if (n < 0 || row_bytes < 0 || n_src_rows < 0)
        return FP_ERR_VALUE;
    for (int64_t i = 0; i < n; i++)
        if (idx[i] < 0 || idx[i] >= n_src_rows)
            return FP_ERR_INDEX;
    int nt = (n * row_bytes >= FP_GATHER_PAR_MIN_BYTES && n_threads > 1) ? n_threads : 1;
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t i = 0; i < n; i++)
        memcpy(dst + i * row_bytes, src + idx[i] * row_bytes, (size_t)row_bytes);
    return FP_OK;
}

#define FP_TEMPLATE "data_tmpl.h"
#include "fp_instantiate.h"
