/* Pooling over NCHW planes: max, average, adaptive average (global = 1x1),
 * forward and backward, torch semantics (see fastprims/pool.pyx).
 *
 * Every kernel sees x as `planes` = N*C independent H x W planes; the
 * Cython layer has already validated the geometry (output sizes, padding <=
 * half the effective kernel, ceil_mode's last-window rule), so the kernels
 * only trust it.
 */
#ifndef FP_POOL_H
#define FP_POOL_H
#include "fp_common.h"

typedef struct {
    int64_t planes, H, W, OH, OW;
    int64_t kh, kw, sh, sw, ph, pw, dh, dw;
} fp_pool2d_geom;

#define FP_DECLARE_POOL(T, S)                                                                    \
    int fp_max_pool2d_forward_##S(const T *x, T *y, int64_t *indices, const fp_pool2d_geom *g,   \
                                  int n_threads);                                                \
    int fp_max_pool2d_backward_##S(const T *grad_y, const int64_t *indices, T *grad_x,           \
                                   int64_t planes, int64_t in_plane, int64_t out_plane,          \
                                   int n_threads);                                               \
    int fp_avg_pool2d_forward_##S(const T *x, T *y, const fp_pool2d_geom *g,                     \
                                  int count_include_pad, int64_t divisor_override, int n_threads); \
    int fp_avg_pool2d_backward_##S(const T *grad_y, T *grad_x, const fp_pool2d_geom *g,          \
                                   int count_include_pad, int64_t divisor_override,              \
                                   int n_threads);                                               \
    int fp_adaptive_avg_pool2d_forward_##S(const T *x, T *y, int64_t planes, int64_t H,          \
                                           int64_t W, int64_t OH, int64_t OW, int n_threads);    \
    int fp_adaptive_avg_pool2d_backward_##S(const T *grad_y, T *grad_x, int64_t planes,          \
                                            int64_t H, int64_t W, int64_t OH, int64_t OW,        \
                                            int n_threads);

FP_DECLARE_POOL(float, f32)
FP_DECLARE_POOL(double, f64)

#endif
