/* Radix sort kernels for the metrics family: see sort.h (design) and sort_tmpl.h. */
#include <stdlib.h>
#include "sort.h"

void fp_radix_block_offsets(int64_t *hist, int nb, int radix, int64_t stride, int64_t *bucket_lo)
{
    int64_t run = 0;
    for (int d = 0; d < radix; d++) {
        bucket_lo[d] = run;
        for (int b = 0; b < nb; b++) {
            int64_t c = hist[(int64_t)b * stride + d];
            hist[(int64_t)b * stride + d] = run;
            run += c;
        }
    }
    bucket_lo[radix] = run;
}

#define FP_K uint32_t
#define FP_KS u32
#include "sort_tmpl.h"
#undef FP_K
#undef FP_KS

#define FP_K uint64_t
#define FP_KS u64
#include "sort_tmpl.h"
#undef FP_K
#undef FP_KS
