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
    b1 = (n1 + 127) << 23;
    b2 = (n2 + 127) << 23;
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
    b1 = (n1 + 1023) << 52;
    b2 = (n2 + 1023) << 52;
    double s1, s2;
    memcpy(&s1, &b1, sizeof s1);
    memcpy(&s2, &b2, sizeof s2);
    return e * s1 * s2;
}

#define fp_exp(x) _Generic((x), float: fp_expf, double: fp_expd)(x)

/* ---- loss: logarithms ------------------------------------------------------
 * Branch-free like fp_expf, so loops of them vectorize. fp_logf is Cephes'
 * logf polynomial (<= 1 ulp on [FLT_MIN, inf)); fp_logd is fdlibm's log
 * (one division, < 1 ulp). Subnormals are rescaled first; 0 -> -inf,
 * negative or NaN -> NaN, +inf -> +inf.
 */
static inline float fp_logf(float x)
{
    int sub = x < 1.17549435e-38f;
    float xs = sub ? x * 8388608.0f : x; /* 2^23 */
    int32_t ix;
    memcpy(&ix, &xs, sizeof ix);
    int32_t e = ((ix >> 23) & 0xff) - 126 - (sub ? 23 : 0);
    int32_t mb = (ix & 0x007fffff) | 0x3f000000; /* mantissa in [0.5, 1) */
    float m;
    memcpy(&m, &mb, sizeof m);
    int below = m < 0.707106781186547524f;
    e = below ? e - 1 : e;
    m = below ? m + m - 1.0f : m - 1.0f;
    float fe = (float)e;
    float z = m * m;
    float y = 7.0376836292E-2f;
    y = y * m - 1.1514610310E-1f;
    y = y * m + 1.1676998740E-1f;
    y = y * m - 1.2420140846E-1f;
    y = y * m + 1.4249322787E-1f;
    y = y * m - 1.6668057665E-1f;
    y = y * m + 2.0000714765E-1f;
    y = y * m - 2.4999993993E-1f;
    y = y * m + 3.3333331174E-1f;
    y = y * m * z;
    y += -2.12194440e-4f * fe;
    y += -0.5f * z;
    float r = m + y;
    r += 0.693359375f * fe;
    r = x > 0.0f ? r : (x == 0.0f ? -__builtin_inff() : __builtin_nanf(""));
    return x == __builtin_inff() ? x : r;
}

static inline double fp_logd(double x)
{
    int sub = x < 2.2250738585072014e-308;
    double xs = sub ? x * 18014398509481984.0 : x; /* 2^54 */
    int64_t ix;
    memcpy(&ix, &xs, sizeof ix);
    int64_t e = ((ix >> 52) & 0x7ff) - 1022 - (sub ? 54 : 0);
    int64_t mb = (ix & 0x000fffffffffffffLL) | 0x3fe0000000000000LL; /* [0.5, 1) */
    double m;
    memcpy(&m, &mb, sizeof m);
    int below = m < 0.70710678118654752440;
    e = below ? e - 1 : e;
    m = below ? m + m : m; /* [sqrt(1/2), sqrt(2)) */
    double f = m - 1.0;
    double hfsq = 0.5 * f * f;
    double s = f / (2.0 + f);
    double z = s * s, w = z * z;
    double t1 = w * (3.999999999940941908e-01 + w * (2.222219843214978396e-01 + w * 1.531383769920937332e-01));
    double t2 = z * (6.666666666666735130e-01
                     + w * (2.857142874366239149e-01 + w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)));
    double R = t2 + t1;
    double dk = (double)e;
    double r = dk * 6.93147180369123816490e-01 - ((hfsq - (s * (hfsq + R) + dk * 1.90821492927058770002e-10)) - f);
    r = x > 0.0 ? r : (x == 0.0 ? -__builtin_inf() : __builtin_nan(""));
    return x == __builtin_inf() ? x : r;
}

#define fp_log(x) _Generic((x), float: fp_logf, double: fp_logd)(x)

/* log1p(e) for finite e >= 0 given inv = 1 / (1 + e), which the callers
 * (softplus / sigmoid pairs) have anyway: log(u) corrected by the rounding
 * error of u = 1 + e, so tiny e give e, not 0. */
#define fp_log1p_inv(e, inv) (fp_log((e) + 1) - (((e) + 1) - 1 - (e)) * (inv))

#endif
