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

#endif
