/* 2-D convolution (NCHW, torch.nn.functional.conv2d semantics), two algorithms.
 *
 * im2col + GEMM: the input is lowered into a column buffer one tile of output
 * positions at a time (bounded workspace, see FP_CONV_WS_BYTES) and multiplied
 * by the weight matrix with a single-threaded GEMM inside our own OpenMP loop.
 * 1x1 stride-1 unpadded layers skip the lowering (the input is the column
 * matrix). Backward: GEMM for the weight gradient, GEMM + col2im for the
 * input gradient.
 *
 * direct: no lowering buffer. Output rows are computed in registers, blocked
 * over a few output channels x 2 SIMD vectors of output columns (Zhang,
 * Franchetti, Low, ICML 2018). Input rows are read through a per-thread
 * zero-padded, stride-phase-split copy of one row (O(W) elements), so padding
 * and every stride/dilation use plain contiguous vector loads.
 *
 * Padding is given as top/left; bottom/right follow from oh/ow (this is how
 * torch's asymmetric padding="same" for even kernels is expressed).
 */
#ifndef FP_CONV_H
#define FP_CONV_H
#include "fp_common.h"

typedef struct {
    int64_t n, c_in, h, w;          /* input (n, c_in, h, w) */
    int64_t c_out, kh, kw;          /* weight (c_out, c_in / groups, kh, kw) */
    int64_t oh, ow;                 /* output (n, c_out, oh, ow) */
    int64_t sh, sw, ph, pw, dh, dw; /* stride, top/left padding, dilation */
    int64_t groups;
} fp_conv2d_shape;

/* im2col tiles: per-thread column buffer of at most max(FP_CONV_WS_BYTES,
 * FP_CONV_MIN_COLS * K * sizeof(T)) bytes, K = c_in / groups * kh * kw. */
#ifndef FP_CONV_WS_BYTES
#define FP_CONV_WS_BYTES ((int64_t)384 << 10)
#endif
#ifndef FP_CONV_MIN_COLS
#define FP_CONV_MIN_COLS 64
#endif

/* Workspace bytes the im2col algorithm allocates for this shape and thread count. */
int64_t fp_conv2d_im2col_workspace(const fp_conv2d_shape *s, int64_t elem_size, int n_threads, int backward);

#define FP_DECLARE_CONV(T, S)                                                                       \
    int fp_conv2d_forward_im2col_##S(const fp_conv2d_shape *s, const T *x, const T *w, const T *b,  \
                                     T *y, int n_threads);                                          \
    int fp_conv2d_forward_direct_##S(const fp_conv2d_shape *s, const T *x, const T *w, const T *b,  \
                                     T *y, int n_threads);                                          \
    int fp_conv2d_backward_input_im2col_##S(const fp_conv2d_shape *s, const T *gy, const T *w,      \
                                            T *gx, int n_threads);                                  \
    int fp_conv2d_backward_weight_im2col_##S(const fp_conv2d_shape *s, const T *gy, const T *x,     \
                                             T *gw, int n_threads);                                 \
    int fp_conv2d_backward_input_direct_##S(const fp_conv2d_shape *s, const T *gy, const T *w,      \
                                            T *gx, int n_threads);                                  \
    int fp_conv2d_backward_weight_direct_##S(const fp_conv2d_shape *s, const T *gy, const T *x,     \
                                             T *gw, int n_threads);                                 \
    int fp_conv2d_backward_bias_##S(const fp_conv2d_shape *s, const T *gy, T *gb, int n_threads);  \
    int fp_conv2d_backward_depthwise_##S(const fp_conv2d_shape *s, const T *gy, const T *x,         \
                                         const T *w, T *gx, T *gw, T *gb, int n_threads);           \
    int fp_im2col_##S(const fp_conv2d_shape *s, const T *x, T *col, int n_threads);                 \
    int fp_col2im_##S(const fp_conv2d_shape *s, const T *col, T *x, int n_threads);

FP_DECLARE_CONV(float, f32)
FP_DECLARE_CONV(double, f64)

#endif
