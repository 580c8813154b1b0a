/* 64-byte vectors for template bodies (GCC vector extensions), and the
 * vector exp the softmax family needs.
 *
 * Why vectors rather than loops the auto-vectorizer turns into SIMD: GCC keeps
 * an accumulator array (`FP_T acc[32]`) in stack memory, so every add of a
 * reduction went through a store and a reload (store-forwarding latency on the
 * loop-carried chain; it cost the softmax row kernels about a third of their
 * time), and it re-broadcast the polynomial constants inside the loop. Vector
 * locals stay in registers. A vector is one zmm in the AVX-512 target_clones
 * variant, two ymm or four xmm in the others, so one body serves every target
 * and both dtypes. Vector values never cross a function boundary that is not
 * inlined.
 *
 * Include it inside a template body (after FP_T, FP_S, FP_IT are defined by
 * fp_instantiate.h); the dtype-independent part below is compiled once. */
#ifndef FP_VEC_H
#define FP_VEC_H

#include <stdint.h>
#include <string.h>

#include "fp_math.h"

/* The vector functions below are always inlined, so their 64-byte vector
 * returns never meet the ABI GCC warns about. */
#pragma GCC diagnostic ignored "-Wpsabi"

typedef float fp_vf32 __attribute__((vector_size(64)));
typedef double fp_vf64 __attribute__((vector_size(64)));
typedef int32_t fp_vi32 __attribute__((vector_size(64)));
typedef int64_t fp_vi64 __attribute__((vector_size(64)));
typedef uint32_t fp_vu32 __attribute__((vector_size(64)));
typedef uint64_t fp_vu64 __attribute__((vector_size(64)));

/* m ? a : b per lane (m all-ones or zero per lane; C has no vector ?:) */
#define FP_VSEL(VT, IT, m, a, b) ((VT)(((m) & (IT)(a)) | (~(m) & (IT)(b))))

/* fp_expf_nonpos (fp_math.h) lane-wise, the same operations in the same
 * order, so the vector and scalar (tail) lanes of a row agree bit for bit:
 * x <= 0 or NaN; below -87.33 (and -Inf) gives 0, NaN stays NaN. */
static inline __attribute__((always_inline)) fp_vf32 fp_vexp_nonpos_f32(fp_vf32 x)
{
    const fp_vf32 lo = (fp_vf32){0} - 87.33f;
    fp_vi32 under = x < lo; /* false for NaN, which then flows through */
    fp_vf32 xc = FP_VSEL(fp_vf32, fp_vi32, under, lo, x);
    fp_vf32 t = xc * 1.44269504088896341f + FP_EXPF_NP_SHIFTER;
    fp_vf32 n = t - FP_EXPF_NP_SHIFTER;
    fp_vf32 r = xc - n * FP_EXPF_NP_LN2_HI;
    r = r - n * FP_EXPF_NP_LN2_LO;
    fp_vf32 p = r * FP_EXPF_NP_C4 + FP_EXPF_NP_C3;
    p = p * r + FP_EXPF_NP_C2;
    p = p * r + FP_EXPF_NP_C1;
    p = p * r + FP_EXPF_NP_C0;
    p = p * r + 1.0f;
    fp_vu32 b = (fp_vu32)t << 23;
    return (fp_vf32)(~under & (fp_vi32)(p * (fp_vf32)b));
}

/* fp_expd (fp_math.h) lane-wise, any argument: float64 softmax uses the
 * general exp (its scalar fp_exp_nonpos is fp_expd too). */
static inline __attribute__((always_inline)) fp_vf64 fp_vexp_nonpos_f64(fp_vf64 x)
{
    const fp_vf64 lo = (fp_vf64){0} - 746.0, hi = (fp_vf64){0} + 709.8;
    fp_vf64 xc = FP_VSEL(fp_vf64, fp_vi64, x < lo, lo, x);
    xc = FP_VSEL(fp_vf64, fp_vi64, xc > hi, hi, xc);
    fp_vf64 t = xc * 1.4426950408889634073599 + 6755399441055744.0;
    fp_vf64 n = t - 6755399441055744.0;
    fp_vf64 r = xc - n * 6.93145751953125E-1;
    r = r - n * 1.42860682030941723212E-6;
    fp_vf64 rr = r * r;
    fp_vf64 px = r * ((1.26177193074810590878E-4 * rr + 3.02994407707441961300E-2) * rr
                      + 9.99999999999999999910E-1);
    fp_vf64 q = ((3.00198505138664455042E-6 * rr + 2.52448340349684104192E-3) * rr
                 + 2.27265548208155028766E-1) * rr + 2.00000000000000000009E0;
    fp_vf64 e = 1.0 + 2.0 * (px / (q - px));
    fp_vi64 ni = (fp_vi64)t - (int64_t)0x4338000000000000LL;
    fp_vi64 n1 = ni >> 1, n2 = ni - n1;
    fp_vu64 b1 = (fp_vu64)(n1 + 1023) << 52, b2 = (fp_vu64)(n2 + 1023) << 52;
    return e * (fp_vf64)b1 * (fp_vf64)b2;
}

#endif /* FP_VEC_H */

/* ---- per dtype (re-read for each instantiation) ---------------------------- */
#define FP_VL ((int64_t)(64 / sizeof(FP_T)))
typedef FP_T FP_NAME(vec) __attribute__((vector_size(64)));
typedef FP_IT FP_NAME(ivec) __attribute__((vector_size(64)));
/* Unaligned access through an aligned(1), may_alias type: unlike memcpy it
 * does not take the address of the register variable, so accumulator arrays
 * stay in registers across the loops. */
typedef FP_T FP_NAME(uvec) __attribute__((vector_size(64), aligned(1), may_alias));
#define VEC FP_NAME(vec)
#define IVEC FP_NAME(ivec)
#define VLD(p) (*(const FP_NAME(uvec) *)(p))
#define VLOAD(v, p) ((v) = VLD(p))
#define VSTORE(p, v) (*(FP_NAME(uvec) *)(p) = (v))
#define VSPLAT(s) ((VEC){0} + (FP_T)(s))
#define VSEL(m, a, b) FP_VSEL(VEC, IVEC, m, a, b)
/* lane-wise max that ignores a NaN in x (the running m wins), as the scalar
 * `x > m ? x : m` */
#define VMAX_KEEP(m, x) VSEL((x) > (m), x, m)

/* v = p[0..n) followed by zeros (n < FP_VL lanes valid). */
#define VLOAD_PART(v, p, n)                                                 \
    do {                                                                    \
        FP_T t_[FP_VL] = {0};                                               \
        int64_t n_ = (n) < 0 ? 0 : ((n) > FP_VL ? FP_VL : (n));             \
        for (int64_t i_ = 0; i_ < n_; i_++) t_[i_] = (p)[i_];               \
        VLOAD(v, t_);                                                       \
    } while (0)

FP_INLINE IVEC FP_NAME(iota)(void)
{
    FP_IT t[FP_VL];
    for (int k = 0; k < FP_VL; k++)
        t[k] = (FP_IT)k;
    IVEC v;
    memcpy(&v, t, sizeof v);
    return v;
}

/* Horizontal sum / max by log2(FP_VL) lane shuffles (lane k meets lane
 * k ^ w), not a store and a chain of scalar operations: short rows (197
 * elements) pay these once per row and pass. vsum2 sums a + b. */
FP_INLINE FP_T FP_NAME(vsum2)(VEC a, VEC b)
{
    VEC v = a + b;
    const IVEC io = FP_NAME(iota)();
    for (int w = (int)FP_VL / 2; w > 0; w /= 2)
        v += __builtin_shuffle(v, io ^ (FP_IT)w);
    return v[0];
}

/* max over the lanes, NaN lanes ignored as VMAX_KEEP does. (Pass VMAX_KEEP
 * and VSEL variables, not calls: the macros repeat their arguments, and GCC 12
 * crashed on a repeated inlined call inside the compare.) */
FP_INLINE FP_T FP_NAME(vmax_lanes)(VEC v)
{
    const IVEC io = FP_NAME(iota)();
    for (int w = (int)FP_VL / 2; w > 0; w /= 2) {
        VEC o = __builtin_shuffle(v, io ^ (FP_IT)w);
        v = VMAX_KEEP(v, o);
    }
    return v[0];
}

/* ---- softmax rows, shared by the softmax family and the class-axis losses -- */
#define VEXP_NONPOS(v) FP_NAME(vexp_nonpos)(v)

/* p[0..n) then `fill`; with `over`, the memory up to p + FP_VL may be read
 * (a row that is not the array's last): one load and a blend */
FP_INLINE VEC FP_NAME(vload_fill)(const FP_T *p, int64_t n, FP_T fill, int over)
{
    if (n >= FP_VL)
        return VLD(p);
    if (over) {
        IVEC in = FP_NAME(iota)() < (FP_IT)n;
        VEC v = VLD(p), f = VSPLAT(fill);
        return VSEL(in, v, f);
    }
    FP_T t[FP_VL];
    for (int64_t k = 0; k < FP_VL; k++)
        t[k] = k < n ? p[k] : fill;
    return VLD(t);
}

/* max over n elements, NaN ignored (a NaN still reaches the sum that follows
 * and makes the row NaN, as in torch); -Inf for n == 0 or an all-NaN row. */
FP_INLINE FP_T FP_NAME(row_max)(const FP_T *x, int64_t n, int over)
{
    VEC a0 = VSPLAT(-__builtin_inf()), a1 = a0;
    int64_t i = 0;
    for (; i + 2 * FP_VL <= n; i += 2 * FP_VL) {
        a0 = VMAX_KEEP(a0, VLD(x + i));
        a1 = VMAX_KEEP(a1, VLD(x + i + FP_VL));
    }
    for (; i < n; i += FP_VL) { /* at most one whole vector, then a padded one */
        VEC v = FP_NAME(vload_fill)(x + i, FP_MIN(n - i, FP_VL), -(FP_T)__builtin_inf(), over);
        a0 = VMAX_KEEP(a0, v);
    }
    a0 = VMAX_KEEP(a0, a1);
    return FP_NAME(vmax_lanes)(a0);
}

/* sum of exp(x - m); with y != NULL also stores each exp(x - m) in y.
 * x - max is <= 0 (or NaN) everywhere in this family, so the exps go through
 * fp_exp_nonpos (one scale factor, no upper clamp; below -87.3 it gives 0 for
 * float32 instead of a subnormal, far below the rounding of the sum). */
FP_INLINE FP_T FP_NAME(row_expsum)(const FP_T *x, FP_T *y, int64_t n, FP_T m, int over)
{
    VEC vm = VSPLAT(m), a0 = {0}, a1 = {0};
    int64_t i = 0;
    for (; i + 2 * FP_VL <= n; i += 2 * FP_VL) {
        VEC e0 = VEXP_NONPOS(VLD(x + i) - vm), e1 = VEXP_NONPOS(VLD(x + i + FP_VL) - vm);
        if (y) {
            VSTORE(y + i, e0);
            VSTORE(y + i + FP_VL, e1);
        }
        a0 += e0;
        a1 += e1;
    }
    /* at most one whole vector, then one padded with -Inf (exp gives 0) */
    for (; i < n; i += FP_VL) {
        int64_t k = FP_MIN(n - i, FP_VL);
        VEC e = VEXP_NONPOS(FP_NAME(vload_fill)(x + i, k, -(FP_T)__builtin_inf(), over) - vm);
        if (y) {
            FP_T t[FP_VL];
            VSTORE(t, e);
            memcpy(y + i, t, (size_t)k * sizeof(FP_T));
        }
        a0 += e;
    }
    return FP_NAME(vsum2)(a0, a1);
}
