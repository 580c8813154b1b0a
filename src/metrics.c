/* Classification metrics: see metrics.h for the design. */
#include <math.h>
#include <stdlib.h>
#include <pthread.h>
#include <sys/mman.h>
#include "metrics.h"
#include "sort.h"

/* Sort workspace reuse. The ranking kernels need ~9-17 bytes per sample of
 * scratch; freshly mmap'ed memory costs a page fault per 4 KiB (the kernel
 * zeroes every page), which at 1e7 samples is a sizeable share of the whole
 * call, and the MSD scatter into ~2048 buckets wants few TLB entries. So one
 * 2 MiB-aligned workspace (transparent huge pages requested) is kept between
 * calls and reused by whichever call gets its lock; a concurrent call, or one
 * needing more than FP_WS_CACHE_MAX, uses plain malloc/free. At most
 * FP_WS_CACHE_MAX bytes stay allocated after a call. */
#define FP_WS_CACHE_MAX ((size_t)512 << 20)
#define FP_WS_MIN ((size_t)4 << 20)
static pthread_mutex_t fp_ws_lock = PTHREAD_MUTEX_INITIALIZER;
static void *fp_ws_ptr;
static size_t fp_ws_size;

static void *fp_ws_acquire(size_t size, int *cached)
{
    *cached = 0;
    if (size >= FP_WS_MIN && size <= FP_WS_CACHE_MAX && pthread_mutex_trylock(&fp_ws_lock) == 0) {
        if (fp_ws_size < size) {
            free(fp_ws_ptr);
            fp_ws_ptr = NULL;
            fp_ws_size = 0;
            size_t sz = (size + ((size_t)1 << 21) - 1) & ~(((size_t)1 << 21) - 1);
            void *p = NULL;
            if (posix_memalign(&p, (size_t)1 << 21, sz) == 0) {
#ifdef MADV_HUGEPAGE
                madvise(p, sz, MADV_HUGEPAGE);
#endif
                fp_ws_ptr = p;
                fp_ws_size = sz;
            }
        }
        if (fp_ws_ptr) {
            *cached = 1;
            return fp_ws_ptr;
        }
        pthread_mutex_unlock(&fp_ws_lock);
    }
    return malloc(size);
}

static void fp_ws_release(void *p, int cached)
{
    if (cached)
        pthread_mutex_unlock(&fp_ws_lock);
    else
        free(p);
}

#define FP_T float
#define FP_S f32
#define FP_K uint32_t
#define FP_KS u32
#include "metrics_tmpl.h"
#undef FP_T
#undef FP_S
#undef FP_K
#undef FP_KS

#define FP_T double
#define FP_S f64
#define FP_K uint64_t
#define FP_KS u64
#include "metrics_tmpl.h"
#undef FP_T
#undef FP_S
#undef FP_K
#undef FP_KS

#define FP_L uint8_t
#define FP_LS u8
#include "metrics_label_tmpl.h"
#undef FP_L
#undef FP_LS

#define FP_L int8_t
#define FP_LS i8
#include "metrics_label_tmpl.h"
#undef FP_L
#undef FP_LS

#define FP_L int32_t
#define FP_LS i32
#include "metrics_label_tmpl.h"
#undef FP_L
#undef FP_LS

#define FP_L int64_t
#define FP_LS i64
#include "metrics_label_tmpl.h"
#undef FP_L
#undef FP_LS

int fp_roc_curve_finalize_f64(double *fpr, double *tpr, double *thr, int64_t m, int drop_intermediate,
                              int64_t *m_out, int n_threads)
{
    double *x = fpr + 1, *y = tpr + 1, *t = thr + 1;
    if (drop_intermediate && m > 2) {
        /* scikit-learn keeps point i when np.diff(fps, 2) or np.diff(tps, 2)
         * is non-zero there: the same float expression, evaluated on the
         * original neighbours (held in locals, the arrays compact in place). */
        double pf = x[0], pt = y[0], cf = x[1], ct = y[1];
        int64_t w = 1;
        for (int64_t i = 1; i < m - 1; i++) {
            double nf = x[i + 1], nt = y[i + 1];
            if (((nf - cf) - (cf - pf)) != 0 || ((nt - ct) - (ct - pt)) != 0) {
                x[w] = cf;
                y[w] = ct;
                t[w] = t[i];
                w++;
            }
            pf = cf; pt = ct; cf = nf; ct = nt;
        }
        x[w] = cf;
        y[w] = ct;
        t[w] = t[m - 1];
        m = w + 1;
    }
    fpr[0] = 0;
    tpr[0] = 0;
    thr[0] = INFINITY;
    double fl = fpr[m], tl = tpr[m];
    int nt = fp_threads_for(m, n_threads);
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t i = 0; i <= m; i++) {
        fpr[i] = fl <= 0 ? NAN : fpr[i] / fl;
        tpr[i] = tl <= 0 ? NAN : tpr[i] / tl;
    }
    *m_out = m + 1;
    return FP_OK;
}

int fp_pr_curve_finalize_f64(double *precision, double *recall, double *thr, int64_t m, int drop_intermediate,
                             int64_t *m_out, int n_threads)
{
    double *f = precision, *tp = recall;
    if (drop_intermediate && m > 2) {
        double pt = tp[0], ct = tp[1];
        int64_t w = 1;
        for (int64_t i = 1; i < m - 1; i++) {
            double nt = tp[i + 1];
            if ((ct - pt) != 0 || (nt - ct) != 0) {
                tp[w] = ct;
                f[w] = f[i];
                thr[w] = thr[i];
                w++;
            }
            pt = ct; ct = nt;
        }
        tp[w] = ct;
        f[w] = f[m - 1];
        thr[w] = thr[m - 1];
        m = w + 1;
    }
    double total = m > 0 ? tp[m - 1] : 0;
    int nt = fp_threads_for(m, n_threads);
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t i = 0; i < m; i++) {
        double ps = tp[i] + f[i];
        double p = ps != 0 ? tp[i] / ps : 0.0;
        double r = total == 0 ? 1.0 : tp[i] / total;
        precision[i] = p;
        recall[i] = r;
    }
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t i = 0; i < m / 2; i++) {
        int64_t j = m - 1 - i;
        double a;
        a = precision[i]; precision[i] = precision[j]; precision[j] = a;
        a = recall[i]; recall[i] = recall[j]; recall[j] = a;
        a = thr[i]; thr[i] = thr[j]; thr[j] = a;
    }
    precision[m] = 1.0;
    recall[m] = 0.0;
    *m_out = m;
    return FP_OK;
}
