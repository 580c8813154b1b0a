/* Bounded cache of large blocks for kernel outputs (see fp_alloc.c). */
#ifndef FP_ALLOC_H
#define FP_ALLOC_H
#include <stddef.h>

void *fp_alloc_get(size_t nbytes, int zero);
void *fp_alloc_resize(void *p, size_t nbytes);
void fp_alloc_put(void *p);
void fp_alloc_trim(void);
void fp_alloc_set_limit(size_t nbytes);
size_t fp_alloc_cached_bytes(void);

/* Blocks at least this large come from the cache; smaller ones from malloc. */
#define FP_ALLOC_LARGE ((size_t)1 << 20)
#endif
