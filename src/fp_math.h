/* Vectorizable elementary functions.
 *
 * libm's expf/exp are scalar calls that stop GCC from vectorizing a loop
 * (glibc only exposes its vector variants under -ffast-math, which we refuse
 * because it breaks NaN/Inf propagation). These are branch-free: range
 * reduction to r in [-ln2/2, ln2/2], a Cephes polynomial, and scaling by
 * 2^n built from the exponent bits, so GCC turns a loop of them into
 * AVX-512/AVX2 code. NaN propagates, +-Inf give Inf/0, results underflow
 * gradually to 0.  Accuracy: <= 2 ulp against the correctly rounded value
 * (tests/test_math.py measures it).
 */
#ifndef FP_MATH_H
#define FP_MATH_H

#include <stdint.h>
#include <string.h>

static inline float fp_expf(float x)
{
    const float shifter = 12582912.0f; /* 1.5 * 2^23: x + shifter rounds x to an integer */
    float xc = x < -104.0f ? -104.0f : x;
    xc = xc > 88.8f ? 88.8f : xc;
    float t = xc * 1.44269504088896341f + shifter;
    float n = t - shifter;
    float r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500E-4f;
    p = p * r + 1.3981999507E-3f;
    p = p * r + 8.3334519073E-3f;
    p = p * r + 4.1665795894E-2f;
    p = p * r + 1.6666665459E-1f;
    p = p * r + 5.0000001201E-1f;
    p = p * (r * r) + r + 1.0f;
    int32_t tb, ni, n1, n2, b1, b2;
    memcpy(&tb, &t, sizeof tb);
    ni = tb - 0x4B400000; /* integer n from the shifter's mantissa */
    /* 2^n as two factors so that n down to -150 and up to 128 stay normal */
    n1 = ni >> 1;
    n2 = ni - n1;
    /* unsigned shifts: for a NaN x, n is garbage and may be negative (a signed
     * left shift of it is UB, which UBSan reports); the result is NaN anyway */
    b1 = (int32_t)((uint32_t)(n1 + 127) << 23);
    b2 = (int32_t)((uint32_t)(n2 + 127) << 23);
    float s1, s2;
    memcpy(&s1, &b1, sizeof s1);
    memcpy(&s2, &b2, sizeof s2);
    return p * s1 * s2;
}

static inline double fp_expd(double x)
{
    const double shifter = 6755399441055744.0; /* 1.5 * 2^52 */
    double xc = x < -746.0 ? -746.0 : x;
    xc = xc > 709.8 ? 709.8 : xc;
    double t = xc * 1.4426950408889634073599 + shifter;
    double n = t - shifter;
    double r = xc - n * 6.93145751953125E-1;
    r = r - n * 1.42860682030941723212E-6;
    double rr = r * r;
    double px = r * ((1.26177193074810590878E-4 * rr + 3.02994407707441961300E-2) * rr
                     + 9.99999999999999999910E-1);
    double q = ((3.00198505138664455042E-6 * rr + 2.52448340349684104192E-3) * rr
                + 2.27265548208155028766E-1) * rr + 2.00000000000000000009E0;
    double e = 1.0 + 2.0 * (px / (q - px));
    int64_t tb, ni, n1, n2, b1, b2;
    memcpy(&tb, &t, sizeof tb);
    ni = tb - (int64_t)0x4338000000000000LL;
    n1 = ni >> 1;
    n2 = ni - n1;
    b1 = (int64_t)((uint64_t)(n1 + 1023) << 52);
    b2 = (int64_t)((uint64_t)(n2 + 1023) << 52);
    double s1, s2;
    memcpy(&s1, &b1, sizeof s1);
    memcpy(&s2, &b2, sizeof s2);
    return e * s1 * s2;
}

#define fp_exp(x) _Generic((x), float: fp_expf, double: fp_expd)(x)

/* ---- section: activation (tanh, log, erf/erfc, exp(-z^2)) -------------------
 * Same rules as fp_expf/fp_expd: branch-free (every piece is computed and the
 * right one selected, so GCC if-converts and vectorizes a loop of them), no
 * errno, NaN in -> NaN out, +-Inf handled explicitly. Accuracy is measured by
 * tests/test_math.py against float64/scipy references.
 */

/* tanh: odd minimax polynomial (Cephes) for |x| < 0.625, where 1 - 2/(e^2|x|+1)
 * would cancel; the exp form above it, where the result is >= 0.55. */
static inline float fp_tanhf(float x)
{
    float ax = x < 0 ? -x : x;
    float z = x * x;
    float small = ((((-5.70498872745E-3f * z + 2.06390887954E-2f) * z - 5.37397155531E-2f) * z
                    + 1.33314422036E-1f) * z - 3.33332819422E-1f) * z * x + x;
    float big = 1.0f - 2.0f / (fp_expf(2.0f * ax) + 1.0f);
    big = x < 0 ? -big : big;
    small = x == 0 ? x : small; /* keep the sign of -0 */
    return ax < 0.625f ? small : big;
}

static inline double fp_tanhd(double x)
{
    double ax = x < 0 ? -x : x;
    double z = x * x;
    double p = (-9.64399179425052238628E-1 * z - 9.92877231001918586564E1) * z
               - 1.61468768441708447952E3;
    double q = ((z + 1.12811678491632931402E2) * z + 2.23548839060100448583E3) * z
               + 4.84406305325125486048E3;
    double small = x + x * (z * p / q);
    double big = 1.0 - 2.0 / (fp_expd(2.0 * ax) + 1.0);
    big = x < 0 ? -big : big;
    small = x == 0 ? x : small;
    return ax < 0.625 ? small : big;
}

/* Natural log (Cephes): x = m * 2^e with m in [sqrt(1/2), sqrt(2)), log(m) by
 * a polynomial in m-1, e*ln2 added in two parts. Subnormals are scaled up
 * first; x < 0 -> NaN, 0 -> -Inf, +Inf -> +Inf. */
static inline float fp_logf(float x)
{
    int sub = x < 1.17549435e-38f;
    float xs = sub ? x * 8388608.0f : x; /* 2^23 */
    int32_t b;
    memcpy(&b, &xs, sizeof b);
    int32_t e = ((b >> 23) & 0xff) - 126 - (sub ? 23 : 0);
    int32_t mb = (b & 0x007fffff) | 0x3f000000; /* m in [0.5, 1) */
    float m;
    memcpy(&m, &mb, sizeof m);
    int lo = m < 0.707106781186547524f;
    float ef = (float)(e - lo);
    float r = (lo ? m + m : m) - 1.0f;
    float z = r * r;
    float p = 7.0376836292E-2f;
    p = p * r - 1.1514610310E-1f;
    p = p * r + 1.1676998740E-1f;
    p = p * r - 1.2420140846E-1f;
    p = p * r + 1.4249322787E-1f;
    p = p * r - 1.6668057665E-1f;
    p = p * r + 2.0000714765E-1f;
    p = p * r - 2.4999993993E-1f;
    p = p * r + 3.3333331174E-1f;
    float y = p * r * z;
    y += ef * -2.12194440e-4f;
    y += -0.5f * z;
    float res = r + y + ef * 0.693359375f;
    res = x == 0 ? -__builtin_inff() : res;
    res = x < 0 ? __builtin_nanf("") : res;
    res = x == __builtin_inff() ? x : res;
    return x != x ? x : res;
}

static inline double fp_logd(double x)
{
    int sub = x < 2.2250738585072014e-308;
    double xs = sub ? x * 4503599627370496.0 : x; /* 2^52 */
    int64_t b;
    memcpy(&b, &xs, sizeof b);
    int64_t e = ((b >> 52) & 0x7ff) - 1022 - (sub ? 52 : 0);
    int64_t mb = (b & 0x000fffffffffffffLL) | 0x3fe0000000000000LL;
    double m;
    memcpy(&m, &mb, sizeof m);
    int64_t lo = m < 0.70710678118654752440;
    double ef = (double)(e - lo);
    double r = (lo ? m + m : m) - 1.0;
    double z = r * r;
    double p = ((((1.01875663804580931796E-4 * r + 4.97494994976747001425E-1) * r
                  + 4.70579119878881725854E0) * r + 1.44989225341610930846E1) * r
                + 1.79368678507819816313E1) * r + 7.70838733755885391666E0;
    double q = ((((r + 1.12873587189167450590E1) * r + 4.52279145837532221105E1) * r
                 + 8.29875266912776603211E1) * r + 7.11544750618563894466E1) * r
               + 2.31251620126765340583E1;
    double y = r * (z * p / q);
    y -= ef * 2.121944400546905827679E-4;
    y -= 0.5 * z;
    double res = r + y + ef * 0.693359375;
    res = x == 0 ? -__builtin_inf() : res;
    res = x < 0 ? __builtin_nan("") : res;
    res = x == __builtin_inf() ? x : res;
    return x != x ? x : res;
}

/* exp(-c * z*z), c a power of two (exact scaling), with z*z carried to twice
 * the working precision (Dekker's split product): a plain exp(-z*z) would turn
 * the rounding of z*z (relative 2^-24, i.e. ~5e-6 absolute at z = 9) into a
 * relative error of the result, which is what erfc's tail and the gelu
 * gradient need. c = 1/2 gives the Gaussian exp(-x^2/2) straight from x,
 * without first rounding x/sqrt2. */
static inline float fp_exp_negsq_scaledf(float z, float c)
{
    float z2 = z * z;
    int32_t b;
    memcpy(&b, &z, sizeof b);
    b &= (int32_t)0xfffff000; /* high 12 bits of the significand: hi*hi is exact */
    float hi;
    memcpy(&hi, &b, sizeof hi);
    float lo = z - hi;
    float err = ((hi * hi - z2) + 2.0f * hi * lo) + lo * lo; /* z*z - z2 */
    /* past 104 the result underflows; the select also keeps z = +-Inf (where
     * hi - hi is NaN) at exactly 0 */
    float cz2 = c * z2;
    return cz2 > 104.0f ? 0.0f : fp_expf(-cz2) * (1.0f - c * err);
}

static inline float fp_exp_negsqf(float z) { return fp_exp_negsq_scaledf(z, 1.0f); }

/* float32 erf/erfc from two fitted pieces (coefficients: tools/fit_erff.py):
 *   erf(x)  = x * PA(x^2)                              |x| < 1
 *   erfc(x) = exp(-x^2) * t * PB(t),  t = 2/(2+x)      x >= 0 (used from 0.5)
 * erfc is evaluated in its own relative precision in the tail (it is not
 * 1 - erf there), so gelu(x) = x * erfc(-x/sqrt2)/2 stays accurate for
 * negative x. Measured: erf <= 3 ulp, erfc <= ~6 ulp (tests/test_math.py). */
static inline float fp_erf_smallf(float x)
{
    float s = x * x;
    float p = 7.853828720e-05f;
    p = p * s - 8.010184392e-04f;
    p = p * s + 5.188326817e-03f;
    p = p * s - 2.685381100e-02f;
    p = p * s + 1.128358543e-01f;
    p = p * s - 3.761262596e-01f;
    p = p * s + 1.128379107e+00f;
    return x * p;
}

/* erfc(a) for any a >= 0 given e = exp(-a*a) (fitted on [0, 10.2], ~6 ulp;
 * erf/erfc below use it from |x| >= 1 / 0.5 where it is the better branch);
 * a = +Inf gives 0. */
static inline float fp_erfc_tailf(float a, float e)
{
    float t = 2.0f / (2.0f + a);
    float p = -5.912340060e-02f;
    p = p * t + 2.848415673e-01f;
    p = p * t - 4.877540767e-01f;
    p = p * t + 2.787037194e-01f;
    p = p * t - 2.706603147e-02f;
    p = p * t + 2.028740197e-01f;
    p = p * t + 2.430562377e-01f;
    p = p * t + 2.823818624e-01f;
    p = p * t + 2.820860445e-01f;
    return e * t * p;
}

static inline float fp_erff(float x)
{
    float a = x < 0 ? -x : x;
    float q = fp_erfc_tailf(a, fp_exp_negsqf(a));
    float big = x < 0 ? q - 1.0f : 1.0f - q;
    return a < 1.0f ? fp_erf_smallf(x) : big;
}

/* erfc(x) given a = |x| and e = exp(-a*a): lets gelu's gradient reuse e for
 * the Gaussian density. */
static inline float fp_erfc_withf(float x, float a, float e)
{
    float q = fp_erfc_tailf(a, e);
    float big = x > 0 ? q : 2.0f - q;
    return a < 0.5f ? 1.0f - fp_erf_smallf(x) : big;
}

static inline float fp_erfcf(float x)
{
    float a = x < 0 ? -x : x;
    return fp_erfc_withf(x, a, fp_exp_negsqf(a));
}

/* float64: libm. A vectorizable erf accurate to ~1e-15 needs a piecewise fit
 * in extended precision (a float64 least-squares fit stalls near 1e-14), so
 * the float64 gelu calls glibc's scalar erf/erfc (< 1 ulp). */
#include <math.h>
static inline double fp_exp_negsq_scaledd(double z, double c)
{
    double z2 = z * z;
    int64_t b;
    memcpy(&b, &z, sizeof b);
    b &= (int64_t)0xfffffffff8000000LL; /* high 26 bits of the significand */
    double hi;
    memcpy(&hi, &b, sizeof hi);
    double lo = z - hi;
    double err = ((hi * hi - z2) + 2.0 * hi * lo) + lo * lo;
    double cz2 = c * z2;
    return cz2 > 746.0 ? 0.0 : fp_expd(-cz2) * (1.0 - c * err);
}
static inline double fp_exp_negsqd(double z) { return fp_exp_negsq_scaledd(z, 1.0); }
static inline double fp_erfd(double x) { return erf(x); }
static inline double fp_erfcd(double x) { return erfc(x); }

#define fp_tanh(x) _Generic((x), float: fp_tanhf, double: fp_tanhd)(x)
#define fp_log(x) _Generic((x), float: fp_logf, double: fp_logd)(x)
#define fp_erf(x) _Generic((x), float: fp_erff, double: fp_erfd)(x)
#define fp_erfc(x) _Generic((x), float: fp_erfcf, double: fp_erfcd)(x)
#define fp_exp_negsq(x) _Generic((x), float: fp_exp_negsqf, double: fp_exp_negsqd)(x)
/* ---- end section: activation ------------------------------------------------ */

/* ---- section: loss (exp of non-positive arguments, log1p) -------------------- */
/* exp(x) for x <= 0 (or NaN), as the softmax family and the losses need for
 * x - max: the multiply-adds are what bounds these loops (two FMA pipes), so
 * this spends 9 where fp_expf spends 12. Two-constant (Cody-Waite) range
 * reduction, exact with or without FMA (one constant was exact only inside an
 * FMA: the baseline build without FMA lost 60 ulp), a degree-5 minimax
 * polynomial for exp(r) on [-ln2/2, ln2/2] fitted for relative error
 * (tests/test_math.py: <= 3 ulp on [-87, 0]), and one scale factor: t's low mantissa bits are n +
 * 127 (the shifter carries the exponent bias), shifted into the exponent
 * field. x < -87.33 (and -Inf) gives 0 instead of a subnormal (next to the
 * max term's 1 it is far below rounding); NaN stays NaN. fp_vexp_nonpos_f32
 * (fp_vec.h) is the same operations on vectors. The double version is fp_expd. */
#define FP_EXPF_NP_SHIFTER 12583039.0f /* 1.5 * 2^23 + 127 */
#define FP_EXPF_NP_LN2_HI 0.693359375f /* 9 significant bits: n * HI is exact */
#define FP_EXPF_NP_LN2_LO -2.12194440e-4f
#define FP_EXPF_NP_C4 0.008290233090519905f
#define FP_EXPF_NP_C3 0.04189774766564369f
#define FP_EXPF_NP_C2 0.1666763573884964f
#define FP_EXPF_NP_C1 0.4999915063381195f
#define FP_EXPF_NP_C0 0.9999997019767761f
static inline float fp_expf_nonpos(float x)
{
    int under = !(x >= -87.33f);       /* also NaN */
    float xc = under ? -87.33f : x;
    float t = xc * 1.44269504088896341f + FP_EXPF_NP_SHIFTER;
    float n = t - FP_EXPF_NP_SHIFTER;
    float r = xc - n * FP_EXPF_NP_LN2_HI;
    r = r - n * FP_EXPF_NP_LN2_LO;
    float p = r * FP_EXPF_NP_C4 + FP_EXPF_NP_C3;
    p = p * r + FP_EXPF_NP_C2;
    p = p * r + FP_EXPF_NP_C1;
    p = p * r + FP_EXPF_NP_C0;
    p = p * r + 1.0f;
    uint32_t tb;
    memcpy(&tb, &t, sizeof tb);
    uint32_t b = tb << 23; /* (n + 127) << 23, n + 127 in [1, 127] */
    float sc;
    memcpy(&sc, &b, sizeof sc);
    float res = under ? 0.0f : p * sc;
    return x != x ? x : res;
}

#define fp_exp_nonpos(x) _Generic((x), float: fp_expf_nonpos, double: fp_expd)(x)

/* log1p(e) for finite e >= 0 given inv = 1 / (1 + e), which the callers
 * (softplus / sigmoid pairs) have anyway: log(u) corrected by the rounding
 * error of u = 1 + e, so tiny e give e, not 0. */
#define fp_log1p_inv(e, inv) (fp_log((e) + 1) - (((e) + 1) - 1 - (e)) * (inv))
/* ---- end section: loss ------------------------------------------------------ */

#endif
