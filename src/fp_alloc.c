/* Why a cache: a memory-bound kernel on a 40 MB array runs at ~30 GB/s, but a
 * fresh 40 MB output from np.empty is a new mmap whose pages the kernel then
 * faults in and the kernel zeroes: that costs as much again as the kernel.
 * PyTorch avoids it with its caching allocator. Kernel outputs are allocated
 * here (through a NumPy PyDataMem_Handler installed only around fastprims'
 * own output allocations), and when NumPy frees such an array its block is
 * kept, up to a byte limit, for the next output of the same rounded size.
 *
 * Every block carries a 64-byte header (so realloc knows the old size, and
 * data stays 64-byte aligned); large blocks are mmap'd in 2 MiB multiples with
 * MADV_HUGEPAGE, small ones come from malloc.
 */
#define _GNU_SOURCE
#include "fp_alloc.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HDR 64
#define MAGIC 0x66707072696d7321ULL /* "fpprims!" */
#define SLOTS 32
#define HUGE_PAGE ((size_t)2 << 20)

typedef struct {
    uint64_t magic;
    uint64_t mapped; /* bytes mmap'd including the header; 0 = malloc'd */
    uint64_t size;   /* bytes the caller asked for */
} hdr_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void *slot_base[SLOTS];
static size_t slot_len[SLOTS];
static int nslots;
static size_t cached;
static size_t limit = (size_t)1 << 30;

static void *with_header(void *base, size_t mapped, size_t size)
{
    hdr_t *h = (hdr_t *)base;
    h->magic = MAGIC;
    h->mapped = mapped;
    h->size = size;
    return (char *)base + HDR;
}

static void *take_cached(size_t mapped)
{
    void *base = NULL;
    pthread_mutex_lock(&lock);
    for (int i = nslots - 1; i >= 0; i--) { /* newest first: likely still in cache */
        if (slot_len[i] == mapped) {
            base = slot_base[i];
            cached -= slot_len[i];
            memmove(slot_base + i, slot_base + i + 1, (size_t)(nslots - i - 1) * sizeof(void *));
            memmove(slot_len + i, slot_len + i + 1, (size_t)(nslots - i - 1) * sizeof(size_t));
            nslots--;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    return base;
}

void *fp_alloc_get(size_t nbytes, int zero)
{
    if (nbytes > SIZE_MAX - HUGE_PAGE - HDR)
        return NULL;
    if (nbytes + HDR < FP_ALLOC_LARGE) {
        void *base = zero ? calloc(1, nbytes + HDR) : malloc(nbytes + HDR);
        return base ? with_header(base, 0, nbytes) : NULL;
    }
    size_t mapped = (nbytes + HDR + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    void *base = take_cached(mapped);
    if (base) {
        if (zero)
            memset((char *)base + HDR, 0, nbytes);
    } else {
        base = mmap(NULL, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (base == MAP_FAILED)
            return NULL;
#ifdef MADV_HUGEPAGE
        madvise(base, mapped, MADV_HUGEPAGE);
#endif
    }
    return with_header(base, mapped, nbytes);
}

void fp_alloc_put(void *p)
{
    if (!p)
        return;
    hdr_t *h = (hdr_t *)((char *)p - HDR);
    if (h->mapped == 0) {
        free(h);
        return;
    }
    size_t mapped = h->mapped;
    void *unmap[SLOTS + 1];
    size_t unmap_len[SLOTS + 1];
    int nunmap = 0;
    pthread_mutex_lock(&lock);
    if (mapped > limit) {
        unmap[nunmap] = h;
        unmap_len[nunmap++] = mapped;
    } else {
        while (nslots > 0 && (cached + mapped > limit || nslots == SLOTS)) {
            unmap[nunmap] = slot_base[0]; /* evict the oldest */
            unmap_len[nunmap++] = slot_len[0];
            cached -= slot_len[0];
            memmove(slot_base, slot_base + 1, (size_t)(nslots - 1) * sizeof(void *));
            memmove(slot_len, slot_len + 1, (size_t)(nslots - 1) * sizeof(size_t));
            nslots--;
        }
        slot_base[nslots] = h;
        slot_len[nslots++] = mapped;
        cached += mapped;
    }
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < nunmap; i++)
        munmap(unmap[i], unmap_len[i]);
}

void *fp_alloc_resize(void *p, size_t nbytes)
{
    if (!p)
        return fp_alloc_get(nbytes, 0);
    hdr_t *h = (hdr_t *)((char *)p - HDR);
    if (h->mapped && nbytes + HDR <= h->mapped && nbytes + HDR >= FP_ALLOC_LARGE) {
        h->size = nbytes;
        return p;
    }
    void *q = fp_alloc_get(nbytes, 0);
    if (!q)
        return NULL;
    memcpy(q, p, h->size < nbytes ? h->size : nbytes);
    fp_alloc_put(p);
    return q;
}

void fp_alloc_trim(void)
{
    void *base[SLOTS];
    size_t len[SLOTS];
    pthread_mutex_lock(&lock);
    int n = nslots;
    memcpy(base, slot_base, (size_t)n * sizeof(void *));
    memcpy(len, slot_len, (size_t)n * sizeof(size_t));
    nslots = 0;
    cached = 0;
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < n; i++)
        munmap(base[i], len[i]);
}

void fp_alloc_set_limit(size_t nbytes)
{
    pthread_mutex_lock(&lock);
    limit = nbytes;
    pthread_mutex_unlock(&lock);
    if (cached > nbytes)
        fp_alloc_trim();
}

size_t fp_alloc_cached_bytes(void)
{
    pthread_mutex_lock(&lock);
    size_t c = cached;
    pthread_mutex_unlock(&lock);
    return c;
}
