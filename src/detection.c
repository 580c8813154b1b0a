/* Detection kernels: dtype-independent helpers here, the per-dtype bodies in
 * detection_tmpl.h (included once for float, once for double). */
/* IoU must be rounded exactly as torchvision's kernel (and the NumPy
 * reference) rounds it: inter = w * h rounded on its own, then the union.
 * GCC's default -ffp-contract=fast would fuse `(a + b) - w * h` into one FMA
 * on the AVX2/AVX-512 clones and flip IoU-equals-threshold decisions. */
#pragma GCC optimize("fp-contract=off")

#include "detection.h"
#include "fp_math.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

/* Sorting is the only O(N log N) part of NMS, so it is a stable LSD radix
 * sort (11-bit digits) rather than a comparison sort: ~3 passes over float32
 * keys, and passes whose digit is the same for every key (e.g. the high bits
 * of scores that all lie in [0, 1]) are skipped. Ascending by key; equal keys
 * keep their input order, which is what makes equal scores come out lower
 * index first. k0/v0 hold the input and receive the result; k1/v1 are scratch
 * of the same length. */
#define FP_RADIX_BITS 11
#define FP_RADIX (1 << FP_RADIX_BITS)
#define FP_RADIX_PASSES 6 /* ceil(64 / 11) */

static int fp_det_radix_sort(uint64_t *k0, int64_t *v0, uint64_t *k1, int64_t *v1, int64_t n)
{
    if (n <= 64) { /* insertion sort: stable, and cheaper than clearing histograms */
        for (int64_t i = 1; i < n; i++) {
            uint64_t k = k0[i];
            int64_t v = v0[i], j = i - 1;
            while (j >= 0 && k0[j] > k) {
                k0[j + 1] = k0[j];
                v0[j + 1] = v0[j];
                j--;
            }
            k0[j + 1] = k;
            v0[j + 1] = v;
        }
        return FP_OK;
    }
    int64_t *hist = calloc((size_t)FP_RADIX_PASSES * FP_RADIX, sizeof *hist);
    if (!hist)
        return FP_ERR_NOMEM;
    for (int64_t i = 0; i < n; i++) {
        uint64_t k = k0[i];
        for (int p = 0; p < FP_RADIX_PASSES; p++)
            hist[p * FP_RADIX + ((k >> (p * FP_RADIX_BITS)) & (FP_RADIX - 1))]++;
    }
    uint64_t *ks = k0, *kd = k1;
    int64_t *vs = v0, *vd = v1;
    for (int p = 0; p < FP_RADIX_PASSES; p++) {
        int64_t *h = hist + p * FP_RADIX;
        int shift = p * FP_RADIX_BITS;
        if (h[(ks[0] >> shift) & (FP_RADIX - 1)] == n)
            continue; /* every key has this digit: the pass would not move anything */
        int64_t sum = 0;
        for (int d = 0; d < FP_RADIX; d++) {
            int64_t c = h[d];
            h[d] = sum;
            sum += c;
        }
        for (int64_t i = 0; i < n; i++) {
            int64_t dst = h[(ks[i] >> shift) & (FP_RADIX - 1)]++;
            kd[dst] = ks[i];
            vd[dst] = vs[i];
        }
        uint64_t *tk = ks; ks = kd; kd = tk;
        int64_t *tv = vs; vs = vd; vd = tv;
    }
    if (ks != k0) {
        memcpy(k0, ks, (size_t)n * sizeof *k0);
        memcpy(v0, vs, (size_t)n * sizeof *v0);
    }
    free(hist);
    return FP_OK;
}

/* Keys whose ascending order is the descending order of the score; -0.0 is
 * folded into +0.0 so the two compare equal (ties, as in torch and cv2). */
static inline uint64_t fp_det_desc_key_f32(float s)
{
    uint32_t u;
    if (s == 0)
        s = 0;
    memcpy(&u, &s, sizeof u);
    u = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
    return (uint64_t)(uint32_t)~u;
}

static inline uint64_t fp_det_desc_key_f64(double s)
{
    uint64_t u;
    if (s == 0)
        s = 0;
    memcpy(&u, &s, sizeof u);
    u = (u >> 63) ? ~u : (u | ((uint64_t)1 << 63));
    return ~u;
}

/* A dtype threshold t_T such that, for every value x of the dtype,
 * x > t_T  <=>  (double)x > t   (round t down to the dtype), and
 * x >= t_U <=>  (double)x >= t  (round t up). */
static inline float fp_det_below_f32(double t)
{
    float f = (float)t;
    if ((double)f > t)
        f = nextafterf(f, -INFINITY);
    return f;
}
static inline float fp_det_above_f32(double t)
{
    float f = (float)t;
    if ((double)f < t)
        f = nextafterf(f, INFINITY);
    return f;
}
static inline double fp_det_below_f64(double t) { return t; }
static inline double fp_det_above_f64(double t) { return t; }

/* Cell index of a corner at offset u from the grid origin, clamped to the
 * grid; computed in double and clamped before the integer conversion so any
 * finite coordinate is safe. Monotone in u, which the exactness of the grid
 * prune relies on (see detection_tmpl.h). */
static inline int64_t fp_det_cell(double u, double inv, int64_t g)
{
    double v = floor(u * inv);
    if (!(v > 0))
        return 0;
    if (v >= (double)(g - 1))
        return g - 1;
    return (int64_t)v;
}

/* Per-box flags (dead/alive) as integers of the coordinates' width, so the
 * block sweeps vectorize with as many lanes as the float type gives (a byte
 * array would make GCC pick 64-lane vectors, too wide for short blocks). */
typedef int32_t fp_flag_f32;
typedef int64_t fp_flag_f64;

#define FP_TEMPLATE "detection_tmpl.h"
#include "fp_instantiate.h"
