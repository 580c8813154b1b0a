/* Stable parallel LSD radix sort of unsigned integer keys, carrying an
 * optional 1-byte payload and an optional double payload.
 *
 * The metrics family sorts scores by their order-preserving bit pattern
 * (see metrics_tmpl.h): a float maps to an unsigned key whose integer order
 * is the float order, so a radix sort on integers sorts the floats. LSD radix
 * is stable, which is what scikit-learn's argsort(stable=True) needs for the
 * order in which tied weights are accumulated.
 */
#ifndef FP_SORT_H
#define FP_SORT_H
#include "fp_common.h"

/* keys/tmp_keys: n elements each; labels/tmp_labels and weights/tmp_weights
 * may be NULL (both of a pair, or neither). Sorts ascending by key, stable.
 * On return *result_in_tmp says which buffer set holds the sorted data
 * (0: keys/labels/weights, 1: tmp_*). Temporary histograms are malloc'ed;
 * FP_ERR_NOMEM when that fails. */
#define FP_DECLARE_SORT(K, KS)                                                                  \
    int fp_radix_sort_##KS(K *keys, K *tmp_keys, uint8_t *labels, uint8_t *tmp_labels,          \
                           double *weights, double *tmp_weights, int64_t n, int n_threads,      \
                           int *result_in_tmp);

/* Finish a sort whose MSD pass was done by the caller: sorts each bucket
 * [bucket_lo[d], bucket_lo[d + 1]) for d < n_buckets in place, stably.
 * Scratch memory is per thread (cache-sized) or per large bucket. */
#define FP_DECLARE_SORT_BUCKETS(K, KS)                                                          \
    int fp_radix_sort_buckets_##KS(K *keys, uint8_t *labels, double *weights,                   \
                                   const int64_t *bucket_lo, int n_buckets, int n_threads);

/* Stable scatter offsets from per-block digit counts: hist[b * stride + d]
 * (nb blocks, radix digits) becomes the first output index of digit d from
 * block b (digits in order, blocks in order within a digit); bucket_lo[d] is
 * where digit d starts, bucket_lo[radix] the total. */
void fp_radix_block_offsets(int64_t *hist, int nb, int radix, int64_t stride, int64_t *bucket_lo);

FP_DECLARE_SORT(uint32_t, u32)
FP_DECLARE_SORT(uint64_t, u64)
FP_DECLARE_SORT_BUCKETS(uint32_t, u32)
FP_DECLARE_SORT_BUCKETS(uint64_t, u64)

#endif
