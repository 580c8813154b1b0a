/* Depthwise convolution (one input channel per group, any channel
 * multiplier), included by conv_tmpl.h once per dtype.
 *
 * Memory-bound: the forward must read x and write y once, the backward read
 * grad_out and x and write grad_x once. Every (image, channel) plane is
 * copied once into an L1-resident, zero-padded per-thread buffer (full
 * vectors, masked row tails: no per-element padding branches), and the
 * arithmetic runs on R output rows x 1 vector of columns in registers, so an
 * input vector loaded once feeds up to kh rows and the FMA chains are R deep
 * (2 accumulators were latency-bound: 9 dependent FMAs per vector).
 * Output rows are stored as full vectors right to left, rows top to bottom:
 * a row's tail vector spills into the next row's head, which is stored later;
 * only the plane's last rows store partial vectors.
 *
 * Backward: with B = grad_out spread out by the stride (zeros between) and
 * zero-padded by (k-1)*d - p,
 *   grad_x[i][j]               = sum_{a,b} B[i + a dh][j + b dw] * w[KH-1-a][KW-1-b]
 *   grad_w[KH-1-a][KW-1-b]    += sum_{i,j} x[i][j] * B[i + a dh][j + b dw]
 * so one pass over the plane, one load of B per tap, gives both gradients
 * (grad_out read once; the grad_bias sum is taken while copying it in).
 * Per-plane partial sums are stored per image and added in image order:
 * deterministic and independent of the thread count.
 * Zero padding multiplies real values here, so the fused backward requires
 * finite x, grad_out and weights; otherwise the row kernels further up run
 * (they skip padding taps, as torch does). */

/* Rows of a register block. */
#define FP_DW_R 4

typedef struct {
    int64_t len;  /* elements per stride phase of a buffered row */
    int64_t row;  /* elements per buffered row: sw * len */
    int64_t rows; /* buffered rows: q = ih + ph, zero rows where ih is outside the image */
} FP_NAME(dwgeom);

static FP_NAME(dwgeom) FP_NAME(dw_geometry)(const fp_conv2d_shape *s)
{
    FP_NAME(dwgeom) g;
    const int64_t owv = (s->ow + FP_VL - 1) / FP_VL * FP_VL, wv = (s->w + FP_VL - 1) / FP_VL * FP_VL;
    g.len = owv + ((s->kw - 1) * s->dw) / s->sw + 1;
    if (s->sw == 1) { /* copied rows are whole vectors at column pw */
        g.len = FP_MAX(g.len, s->pw + wv);
        /* rows start on vector boundaries and hold one vector past the
         * last output vector: dw_fwd_block_k3 reads two aligned vectors */
        g.len = (FP_MAX(g.len, owv + FP_VL) + FP_VL - 1) / FP_VL * FP_VL;
    }
    g.row = s->sw * g.len;
    g.rows = (s->oh - 1) * s->sh + (s->kh - 1) * s->dh + 1;
    return g;
}

/* Copy n elements (a row) to dst as whole vectors, lanes past n zero. `src_end`:
 * the end of the source array (a full-vector read of the tail must stay
 * inside it; else the tail is read element by element). */
FP_INLINE void FP_NAME(dw_copy_row)(const FP_T *src, int64_t n, FP_T *dst, const FP_T *src_end, IVEC tail_mask,
                                    VEC *sum, VEC *nonfinite)
{
    int64_t i = 0;
    for (; i + FP_VL <= n; i += FP_VL) {
        VEC v;
        VLOAD(v, src + i);
        VSTORE(dst + i, v);
        *sum += v;
        *nonfinite += v * 0;
    }
    if (i < n) {
        VEC v;
        if (src + i + FP_VL <= src_end) {
            VLOAD(v, src + i);
            VMASK(v, tail_mask);
        } else {
            VLOAD_PART(v, src + i, n - i);
        }
        VSTORE(dst + i, v);
        *sum += v;
        *nonfinite += v * 0;
    }
}

/* Stride 2: the row's two phases, buf[r * len + i] = x[2 i + r - pw], by
 * vector pairs and an even-lane shuffle (the scalar gather of build_row
 * was the stride-2 forward's bottleneck). Only valid positions are written:
 * the rest of the buffer stays zero. */
FP_INLINE void FP_NAME(dw_split2_row)(const FP_T *xr, int64_t W, int64_t pw, int64_t len, FP_T *buf)
{
    IVEC even;
    for (int64_t l = 0; l < FP_VL; l++) even[l] = (FP_IT)(2 * l);
    for (int64_t r = 0; r < 2; r++) {
        FP_T *d = buf + r * len;
        int64_t lo, hi;
        fp_conv_valid_range(r - pw, 2, W, len, &lo, &hi);
        const FP_T *src = xr + 2 * lo + r - pw; /* element of i = lo */
        int64_t i = lo;
        for (; i + FP_VL <= hi && 2 * (i - lo) + 2 * FP_VL <= W - (2 * lo + r - pw); i += FP_VL) {
            VEC a, b;
            VLOAD(a, src + 2 * (i - lo));
            VLOAD(b, src + 2 * (i - lo) + FP_VL);
            VSTORE(d + i, __builtin_shuffle(a, b, even));
        }
        for (; i < hi; i++) d[i] = xr[2 * i + r - pw];
    }
}

/* The input plane xc into buf (geometry g); rows outside the image, and the
 * columns around the copied ones, are zero from the buffer's initialization. */
FP_INLINE void FP_NAME(dw_build_plane)(const fp_conv2d_shape *s, FP_NAME(dwgeom) g, const FP_T *xc, FP_T *buf,
                                       const FP_T *src_end, IVEC tail_mask, VEC *nonfinite)
{
    const int64_t H = s->h, W = s->w;
    const int64_t ih_end = FP_MIN(H, g.rows - s->ph);
    VEC sum = (VEC){0};
    for (int64_t ih = 0; ih < ih_end; ih++) {
        FP_T *d = buf + (ih + s->ph) * g.row;
        if (s->sw == 1)
            FP_NAME(dw_copy_row)(xc + ih * W, W, d + s->pw, src_end, tail_mask, &sum, nonfinite);
        else if (s->sw == 2)
            FP_NAME(dw_split2_row)(xc + ih * W, W, s->pw, g.len, d);
        else
            FP_NAME(build_row)(xc + ih * W, W, s->sw, s->pw, g.len, d);
    }
}

/* The copies run in their own target_clones functions: the OpenMP-outlined
 * loop bodies only get the baseline ISA. */
FP_CLONES static void FP_NAME(dw_build_plane_c)(const fp_conv2d_shape *s, FP_NAME(dwgeom) g, const FP_T *xc,
                                                FP_T *buf, const FP_T *src_end)
{
    IVEC tail_mask;
    VEC unused = (VEC){0};
    FP_NAME(lane_mask)(&tail_mask, s->w % FP_VL ? s->w % FP_VL : FP_VL);
    FP_NAME(dw_build_plane)(s, g, xc, buf, src_end, tail_mask, &unused);
}

/* Store v (columns ow0.. of a row starting at dst) as described at the top:
 * a full vector unless it would run past `end`. */
FP_INLINE void FP_NAME(dw_store)(FP_T *dst, const FP_T *end, VEC v)
{
    if (dst + FP_VL <= end) {
        VSTORE(dst, v);
    } else {
        FP_T t[FP_VL];
        VSTORE(t, v);
        for (int64_t l = 0; l < end - dst; l++) dst[l] = t[l];
    }
}

/* Output rows oh0 .. oh0+R-1 of one plane. KHC/KWC: the kernel size as
 * compile-time constants (0: runtime); UNIT: stride and dilation 1. */
FP_INLINE void FP_NAME(dw_fwd_block)(const int R, const int KHC, const int KWC, const int UNIT,
                                     const fp_conv2d_shape *s, FP_NAME(dwgeom) g, const int64_t *koff,
                                     const FP_T *buf, const FP_T *wc, FP_T bias, FP_T *yc, int64_t oh0)
{
    const int64_t KH = KHC ? KHC : s->kh, KW = KWC ? KWC : s->kw, OW = s->ow;
    const int64_t sh = UNIT ? 1 : s->sh, dh = UNIT ? 1 : s->dh;
    const FP_T *end = yc + s->oh * OW;
    for (int64_t ow0 = (OW - 1) / FP_VL * FP_VL; ow0 >= 0; ow0 -= FP_VL) {
        VEC acc[FP_DW_R]; /* fixed size (not a VLA) and unrolled loops: kept in registers */
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) acc[r] = (VEC){0} + bias;
#pragma GCC unroll 8
        for (int64_t kh = 0; kh < KH; kh++)
#pragma GCC unroll 8
            for (int64_t kw = 0; kw < KW; kw++) {
                const FP_T wv = wc[kh * KW + kw];
                const int64_t off = (UNIT ? kw : koff[kw]) + ow0;
#pragma GCC unroll 4
                for (int r = 0; r < R; r++) {
                    VEC xv;
                    VLOAD(xv, buf + ((oh0 + r) * sh + kh * dh) * g.row + off);
                    acc[r] += wv * xv;
                }
            }
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) FP_NAME(dw_store)(yc + (oh0 + r) * OW + ow0, end, acc[r]);
    }
}

/* 3x3, stride 1, dilation 1, R output rows: each buffered row's two aligned
 * vectors at ow0 give the three taps by lane shifts, where three unaligned
 * loads mostly straddled two cache lines (the block was load-bound: ~40
 * cycles for 36 FMAs). */
FP_INLINE void FP_NAME(dw_fwd_block_k3)(const int R, const fp_conv2d_shape *s, FP_NAME(dwgeom) g,
                                        const FP_T *buf, const VEC *wk, FP_T bias, FP_T *yc, int64_t oh0)
{
    const int64_t OW = s->ow;
    const FP_T *end = yc + s->oh * OW;
    IVEC sh1, sh2;
    for (int l = 0; l < FP_VL; l++) {
        sh1[l] = (FP_IT)(l + 1);
        sh2[l] = (FP_IT)(l + 2);
    }
    for (int64_t ow0 = (OW - 1) / FP_VL * FP_VL; ow0 >= 0; ow0 -= FP_VL) {
        VEC acc[FP_DW_R];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) acc[r] = (VEC){0} + bias;
#pragma GCC unroll 6
        for (int q = 0; q < R + 2; q++) {
            const FP_T *row = buf + (oh0 + q) * g.row + ow0;
            VEC a = *(const VEC *)row, b = *(const VEC *)(row + FP_VL);
            VEC t1 = __builtin_shuffle(a, b, sh1), t2 = __builtin_shuffle(a, b, sh2);
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) {
                const int kh = q - r;
                if (kh >= 0 && kh < 3)
                    acc[r] += wk[3 * kh] * a + wk[3 * kh + 1] * t1 + wk[3 * kh + 2] * t2;
            }
        }
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) FP_NAME(dw_store)(yc + (oh0 + r) * OW + ow0, end, acc[r]);
    }
}

/* Prefetch slice `part` of `parts` of the n bytes at p (the next plane's
 * input, fetched while this plane computes). */
static inline void FP_NAME(dw_prefetch)(const void *p, int64_t n, int64_t part, int64_t parts)
{
    if (!p)
        return;
    const int64_t lines = (n + 63) / 64, a = lines * part / parts, b = lines * (part + 1) / parts;
    for (int64_t l = a; l < b; l++) __builtin_prefetch((const char *)p + l * 64, 0, 2);
}

/* Stream yc[*done .. upto) out to ydst: whole lines of ydst only, the rest
 * waits for the next call (upto == P: everything). */
static inline void FP_NAME(dw_stream_upto)(FP_T *ydst, const FP_T *yc, int64_t *done, int64_t upto, int64_t P)
{
    if (upto < P) {
        const uintptr_t a = (uintptr_t)(ydst + upto) & ~(uintptr_t)63;
        upto = (int64_t)((a - (uintptr_t)ydst) / sizeof(FP_T));
    }
    if (upto > *done) {
        fp_stream_bytes(ydst + *done, yc + *done, (upto - *done) * (int64_t)sizeof(FP_T));
        *done = upto;
    }
}

/* One output plane into yc. ydst: if not NULL, yc is a staging buffer whose
 * finished rows are streamed to ydst block by block, so the output's writes
 * overlap the arithmetic and the next plane's prefetch instead of going out
 * in one burst per plane. */
FP_CLONES static void FP_NAME(dw_fwd_plane2)(const fp_conv2d_shape *s, FP_NAME(dwgeom) g, const int64_t *koff,
                                             const FP_T *buf, const FP_T *wc, FP_T bias, FP_T *yc,
                                             const FP_T *next, FP_T *ydst)
{
    const int64_t P = s->oh * s->ow;
    int64_t done = 0;
    const int unit = s->sh == 1 && s->sw == 1 && s->dh == 1 && s->dw == 1;
    const int k3 = unit && s->kh == 3 && s->kw == 3;
    const int64_t nb = s->oh / FP_DW_R + 1, nbytes = s->h * s->w * (int64_t)sizeof(FP_T);
    VEC wk[9];
    for (int t = 0; t < 9; t++) wk[t] = (VEC){0} + (k3 ? wc[t] : (FP_T)0);
    int64_t oh = 0;
    for (; oh + FP_DW_R <= s->oh; oh += FP_DW_R) {
        FP_NAME(dw_prefetch)(next, nbytes, oh / FP_DW_R, nb);
        if (k3)
            FP_NAME(dw_fwd_block_k3)(FP_DW_R, s, g, buf, wk, bias, yc, oh);
        else
            FP_NAME(dw_fwd_block)(FP_DW_R, 0, 0, 0, s, g, koff, buf, wc, bias, yc, oh);
        /* rows before oh + R are final (a row's tail vector spills only
         * into the next row, stored later) */
        if (ydst)
            FP_NAME(dw_stream_upto)(ydst, yc, &done, (oh + FP_DW_R) * s->ow, P);
    }
    FP_NAME(dw_prefetch)(next, nbytes, nb - 1, nb);
    for (; oh < s->oh; oh++) FP_NAME(dw_fwd_block)(1, 0, 0, 0, s, g, koff, buf, wc, bias, yc, oh);
    if (ydst)
        FP_NAME(dw_stream_upto)(ydst, yc, &done, P, P);
}

static int FP_NAME(dw_forward2)(const fp_conv2d_shape *s, const FP_T *x, const FP_T *w, const FP_T *b, FP_T *y,
                                int n_threads)
{
    FP_NAME(dwgeom) g = FP_NAME(dw_geometry)(s);
    const int64_t Cog = s->c_out / s->groups, HW = s->h * s->w, P = s->oh * s->ow, KK = s->kh * s->kw;
    /* large outputs: each plane is computed into an L1 scratch and streamed out */
    const int stream = (s->n * s->c_out * P * (int64_t)sizeof(FP_T)) > FP_CONV_STREAM_BYTES && fp_stream_supported();
    const int64_t ysz = stream ? (P + 2 * FP_VL) / FP_VL * FP_VL : 0;
    const int64_t units = s->n * s->c_out, per_thread = (g.rows * g.row + 2 * FP_VL) / FP_VL * FP_VL + ysz;
    const int nth = fp_conv_threads(units * P * KK, units, n_threads);
    FP_T *bufs = aligned_alloc(64, (size_t)(nth * per_thread) * sizeof(FP_T));
    int64_t *koff = malloc((size_t)FP_MAX(s->kw, 1) * sizeof(int64_t));
    if (!bufs || !koff) {
        free(bufs);
        free(koff);
        return FP_ERR_NOMEM;
    }
    for (int64_t j = 0; j < s->kw; j++) koff[j] = ((j * s->dw) % s->sw) * g.len + (j * s->dw) / s->sw;
    const int64_t planes = s->n * s->c_in;
    #pragma omp parallel num_threads(nth)
    {
        FP_T *buf = bufs + fp_thread_id() * per_thread, *ys = buf + per_thread - ysz;
        int64_t built = -1; /* input plane in buf (channel multiplier > 1: reused) */
        memset(buf, 0, (size_t)per_thread * sizeof(FP_T));
        /* dynamic: the threads finish together even when one is slowed (a
         * static split left ~10% of the time in the closing barrier); runs
         * of consecutive units keep the plane reuse and the prefetch of the
         * next plane */
        #pragma omp for schedule(dynamic, 32)
        for (int64_t u = 0; u < units; u++) {
            int64_t co = u % s->c_out, n = u / s->c_out, plane = n * s->c_in + co / Cog;
            if (plane != built) {
                FP_NAME(dw_build_plane_c)(s, g, x + plane * HW, buf, x + planes * HW);
                built = plane;
            }
            const FP_T *next = co + 1 < s->c_out && (co + 1) % Cog == 0 ? x + (plane + 1) * HW : NULL;
            if (stream) {
                FP_NAME(dw_fwd_plane2)(s, g, koff, buf, w + co * KK, b ? b[co] : (FP_T)0, ys, next, y + u * P);
            } else {
                FP_NAME(dw_fwd_plane2)(s, g, koff, buf, w + co * KK, b ? b[co] : (FP_T)0, y + u * P, next, NULL);
            }
        }
        if (stream)
            fp_stream_fence();
    }
    free(bufs);
    free(koff);
    return FP_OK;
}

/* ---- fused backward (any stride: B holds grad_out at stride spacing) ---- */

typedef struct {
    int64_t wv;    /* row stride of the x copy and of the grad_x accumulator: W rounded up to vectors */
    int64_t bw;    /* row stride of B */
    int64_t brows; /* rows of B: H + (KH-1) dh */
    int64_t top;   /* B row of grad_out row 0: (KH-1) dh - ph (may be negative); row oh at top + oh sh */
    int64_t left;  /* B column of grad_out column 0: (KW-1) dw - pw (may be negative); ow at left + ow sw */
} FP_NAME(dwbgeom);

static FP_NAME(dwbgeom) FP_NAME(dwb_geometry)(const fp_conv2d_shape *s)
{
    FP_NAME(dwbgeom) g;
    const int64_t owv = (s->ow + FP_VL - 1) / FP_VL * FP_VL;
    g.wv = (s->w + FP_VL - 1) / FP_VL * FP_VL;
    g.top = (s->kh - 1) * s->dh - s->ph;
    g.left = (s->kw - 1) * s->dw - s->pw;
    g.brows = s->h + (s->kh - 1) * s->dh;
    g.bw = FP_MAX(g.wv + (s->kw - 1) * s->dw, g.left + FP_MAX(owv, (s->ow - 1) * s->sw + 1));
    return g;
}

/* grad_out plane gyc into B; *sum = its sum (grad_bias) as a vector. */
FP_INLINE void FP_NAME(dwb_build_b)(const fp_conv2d_shape *s, FP_NAME(dwbgeom) g, const FP_T *gyc, FP_T *bb,
                                    const FP_T *src_end, IVEC tail_mask, VEC *sump, VEC *nonfinite)
{
    const int64_t OH = s->oh, OW = s->ow;
    VEC sum = (VEC){0};
    for (int64_t oh = 0; oh < OH; oh++) {
        const int64_t i = oh * s->sh + g.top;
        const FP_T *src = gyc + oh * OW;
        if (i < 0 || i >= g.brows) {
            /* rows whose windows lie in the padding: only their sum counts */
            VEC scratch = (VEC){0};
            for (int64_t ow = 0; ow < OW; ow++) scratch[ow % FP_VL] += src[ow];
            sum += scratch;
            *nonfinite += scratch * 0;
            continue;
        }
        FP_T *d = bb + i * g.bw;
        if (g.left >= 0 && s->sw == 1) {
            FP_NAME(dw_copy_row)(src, OW, d + g.left, src_end, tail_mask, &sum, nonfinite);
        } else {
            /* stride > 1 (every sw-th column; the ones between stay zero) or
             * columns cut on the left */
            VEC scratch = (VEC){0};
            FP_T nf = 0;
            for (int64_t ow = 0; ow < OW; ow++) {
                const FP_T v = src[ow];
                const int64_t j = ow * s->sw + g.left;
                scratch[ow % FP_VL] += v;
                nf += v * 0;
                if (j >= 0 && j < g.bw)
                    d[j] = v;
            }
            sum += scratch;
            *nonfinite += (VEC){0} + nf;
        }
    }
    *sump = sum;
}

/* x plane into xb (row stride wv, zeros past each row); grad_out plane
 * into B with its sum in psum[0..VL); non-finite values make *nonfinite
 * non-zero. */
FP_CLONES static void FP_NAME(dwb_build)(const fp_conv2d_shape *s, FP_NAME(dwbgeom) g, const FP_T *xc, FP_T *xb,
                                         const FP_T *x_end, const FP_T *gyc, FP_T *bb, const FP_T *gy_end, FP_T *psum,
                                         FP_T *nonfinite)
{
    IVEC xmask, gymask;
    VEC nf, sum, unused = (VEC){0};
    VLOAD(nf, nonfinite);
    if (xc) {
        FP_NAME(lane_mask)(&xmask, s->w % FP_VL ? s->w % FP_VL : FP_VL);
        for (int64_t ih = 0; ih < s->h; ih++)
            FP_NAME(dw_copy_row)(xc + ih * s->w, s->w, xb + ih * g.wv, x_end, xmask, &unused,
                                 &nf);
    }
    FP_NAME(lane_mask)(&gymask, s->ow % FP_VL ? s->ow % FP_VL : FP_VL);
    FP_NAME(dwb_build_b)(s, g, gyc, bb, gy_end, gymask, &sum, &nf);
    VSTORE(psum, sum);
    VSTORE(nonfinite, nf);
}

/* Rows ih0 .. ih0+R-1 of grad_x (into gx with row stride ldx; ACC: add to
 * what is there) and, DOGW, the weight-gradient taps into gwacc. */
FP_INLINE void FP_NAME(dwb_block)(const int R, const int KHC, const int KWC, const int UNIT, const int DOGW,
                                  const int ACC, const fp_conv2d_shape *s, FP_NAME(dwbgeom) g, const FP_T *xb,
                                  const FP_T *bb, const FP_T *wc, FP_T *gx, int64_t ldx, const FP_T *gx_end,
                                  int64_t ih0, VEC *gwacc)
{
    const int64_t KH = KHC ? KHC : s->kh, KW = KWC ? KWC : s->kw, W = s->w;
    const int64_t dh = UNIT ? 1 : s->dh, dw = UNIT ? 1 : s->dw;
    for (int64_t iw0 = (W - 1) / FP_VL * FP_VL; iw0 >= 0; iw0 -= FP_VL) {
        VEC acc[FP_DW_R], xv[FP_DW_R];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            if (ACC)
                VLOAD(acc[r], gx + (ih0 + r) * ldx + iw0);
            else
                acc[r] = (VEC){0};
            if (DOGW)
                VLOAD(xv[r], xb + (ih0 + r) * g.wv + iw0);
        }
#pragma GCC unroll 8
        for (int64_t a = 0; a < KH; a++)
#pragma GCC unroll 8
            for (int64_t b = 0; b < KW; b++) {
                const FP_T wf = wc[(KH - 1 - a) * KW + (KW - 1 - b)];
                VEC gw = (VEC){0};
#pragma GCC unroll 4
                for (int r = 0; r < R; r++) {
                    VEC bv;
                    VLOAD(bv, bb + (ih0 + r + a * dh) * g.bw + iw0 + b * dw);
                    acc[r] += wf * bv;
                    if (DOGW)
                        gw += xv[r] * bv;
                }
                if (DOGW)
                    gwacc[a * KW + b] += gw;
            }
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            if (ACC)
                VSTORE(gx + (ih0 + r) * ldx + iw0, acc[r]);
            else
                FP_NAME(dw_store)(gx + (ih0 + r) * ldx + iw0, gx_end, acc[r]);
        }
    }
}

/* One grad_out plane's contribution: grad_x rows (stored, or added when ACC)
 * and its weight-gradient taps (flipped order) into gwacc[KK]. */
#define FP_DWB_PLANE(DOGW, ACC)                                                                           \
    FP_CLONES static void FP_NAME(dwb_plane_##DOGW##ACC)(const fp_conv2d_shape *s, FP_NAME(dwbgeom) g,    \
                                                         const FP_T *xb, const FP_T *bb, const FP_T *wc,  \
                                                         FP_T *gx, int64_t ldx, const FP_T *gx_end,      \
                                                         VEC *gwacc, const FP_T *next_x,                  \
                                                         const FP_T *next_gy)                             \
    {                                                                                                     \
        const int unit = s->dh == 1 && s->dw == 1;                                                        \
        const int k3 = unit && s->kh == 3 && s->kw == 3;                                                  \
        const int64_t nb = s->h / FP_DW_R + 1, sz = (int64_t)sizeof(FP_T);                                \
        int64_t ih = 0;                                                                                   \
        if (k3) {                                                                                         \
            VEC t0 = gwacc[0], t1 = gwacc[1], t2 = gwacc[2], t3 = gwacc[3], t4 = gwacc[4];                \
            VEC t5 = gwacc[5], t6 = gwacc[6], t7 = gwacc[7], t8 = gwacc[8];                               \
            VEC k[9] = {t0, t1, t2, t3, t4, t5, t6, t7, t8};                                              \
            for (; ih + FP_DW_R <= s->h; ih += FP_DW_R) {                                                 \
                FP_NAME(dw_prefetch)(next_x, s->h * s->w * sz, ih / FP_DW_R, nb);                          \
                FP_NAME(dw_prefetch)(next_gy, s->oh * s->ow * sz, ih / FP_DW_R, nb);                       \
                FP_NAME(dwb_block)(FP_DW_R, 3, 3, 1, DOGW, ACC, s, g, xb, bb, wc, gx, ldx, gx_end, ih, k); \
            }                                                                                             \
            for (int q = 0; q < 9; q++) gwacc[q] = k[q];                                                  \
        } else {                                                                                          \
            for (; ih + FP_DW_R <= s->h; ih += FP_DW_R) {                                                 \
                FP_NAME(dw_prefetch)(next_x, s->h * s->w * sz, ih / FP_DW_R, nb);                          \
                FP_NAME(dw_prefetch)(next_gy, s->oh * s->ow * sz, ih / FP_DW_R, nb);                       \
                FP_NAME(dwb_block)(FP_DW_R, 0, 0, 0, DOGW, ACC, s, g, xb, bb, wc, gx, ldx, gx_end, ih,     \
                                   gwacc);                                                                \
            }                                                                                             \
        }                                                                                                 \
        FP_NAME(dw_prefetch)(next_x, s->h * s->w * sz, nb - 1, nb);                                       \
        FP_NAME(dw_prefetch)(next_gy, s->oh * s->ow * sz, nb - 1, nb);                                    \
        for (; ih < s->h; ih++)                                                                           \
            FP_NAME(dwb_block)(1, 0, 0, 0, DOGW, ACC, s, g, xb, bb, wc, gx, ldx, gx_end, ih, gwacc);      \
    }
FP_DWB_PLANE(0, 0)
FP_DWB_PLANE(0, 1)
FP_DWB_PLANE(1, 0)
FP_DWB_PLANE(1, 1)
#undef FP_DWB_PLANE

/* Fused depthwise backward. gw and gb may be NULL (not wanted). Returns FP_ERR_UNSUPPORTED (outputs
 * not to be used) when the shape does not qualify or a
 * non-finite value needs the padding-skipping kernels. */
static int FP_NAME(dw_backward_fused)(const fp_conv2d_shape *s, const FP_T *gy, const FP_T *x, const FP_T *w,
                                      FP_T *gx, FP_T *gw, FP_T *gb, int n_threads)
{
    const int64_t Cig = s->c_in / s->groups, Cog = s->c_out / s->groups;
    const int64_t HW = s->h * s->w, P = s->oh * s->ow, KK = s->kh * s->kw;
    if (Cig != 1 || !gx || s->n == 0 || HW == 0 || P == 0 || KK == 0)
        return FP_ERR_UNSUPPORTED;
    FP_NAME(dwbgeom) g = FP_NAME(dwb_geometry)(s);
    const int64_t xsz = s->h * g.wv, bsz = g.brows * g.bw + FP_VL;
    const int stream = s->n * s->c_in * HW * (int64_t)sizeof(FP_T) > FP_CONV_STREAM_BYTES && fp_stream_supported();
    const int64_t gsz = FP_MAX(Cog > 1 ? xsz : 0, stream ? (HW + 2 * FP_VL) / FP_VL * FP_VL : 0);
    const int64_t per_thread = xsz + bsz + gsz;
    if (per_thread * (int64_t)sizeof(FP_T) > FP_CONV_PLANE_BYTES)
        return FP_ERR_UNSUPPORTED;
    if (!FP_NAME(all_finite)(w, s->c_out * KK))
        return FP_ERR_UNSUPPORTED;
    const int64_t units = s->n * s->c_in, nparts = KK + 1;
    const int nth = fp_conv_threads(s->n * s->c_out * P * KK, units, n_threads);
    FP_T *bufs = malloc((size_t)(nth * per_thread) * sizeof(FP_T));
    FP_T *parts = (gw || gb) ? malloc((size_t)(s->n * s->c_out * nparts) * sizeof(FP_T)) : NULL;
    if (!bufs || ((gw || gb) && !parts)) {
        free(bufs);
        free(parts);
        return FP_ERR_NOMEM;
    }
    int bad = 0;
    #pragma omp parallel num_threads(nth)
    {
        FP_T *xb = bufs + fp_thread_id() * per_thread, *bb = xb + xsz, *gxacc = bb + bsz;
        VEC nonfinite = (VEC){0};
        VEC *gwacc = aligned_alloc(sizeof(VEC), (size_t)FP_MAX(KK, 1) * sizeof(VEC));
        memset(xb, 0, (size_t)per_thread * sizeof(FP_T));
        if (!gwacc) {
            #pragma omp atomic write
            bad = 2;
        }
        #pragma omp for schedule(dynamic, 32) /* as the forward; partial sums are per unit */
        for (int64_t u = 0; u < units; u++) {
            if (!gwacc)
                continue;
            const int64_t ci = u % s->c_in, n = u / s->c_in;
            for (int64_t j = 0; j < Cog; j++) {
                const int64_t co = ci * Cog + j;
                const FP_T *gyc = gy + (n * s->c_out + co) * P;
                VEC gsum;
                FP_NAME(dwb_build)(s, g, gw && j == 0 ? x + u * HW : NULL, xb, x + units * HW, gyc, bb,
                                   gy + s->n * s->c_out * P, (FP_T *)&gsum, (FP_T *)&nonfinite);
                for (int64_t k = 0; k < KK; k++) gwacc[k] = (VEC){0};
                /* grad_x: straight into gx, or via the scratch (accumulated over
                 * the channel multiplier; streamed out) */
                FP_T *dst = Cog > 1 || stream ? gxacc : gx + u * HW;
                const int64_t ldx = Cog > 1 ? g.wv : s->w;
                const FP_T *end = Cog > 1 ? gxacc + xsz : dst + HW;
                const FP_T *wc = w + co * KK;
                const FP_T *nx = j + 1 == Cog && u + 1 < units ? x + (u + 1) * HW : NULL;
                const FP_T *ngy = co + 1 < s->c_out || n + 1 < s->n ? gyc + P : NULL;
                if (gw) {
                    if (j == 0) FP_NAME(dwb_plane_10)(s, g, xb, bb, wc, dst, ldx, end, gwacc, nx, ngy);
                    else FP_NAME(dwb_plane_11)(s, g, xb, bb, wc, dst, ldx, end, gwacc, nx, ngy);
                } else {
                    if (j == 0) FP_NAME(dwb_plane_00)(s, g, xb, bb, wc, dst, ldx, end, gwacc, nx, ngy);
                    else FP_NAME(dwb_plane_01)(s, g, xb, bb, wc, dst, ldx, end, gwacc, nx, ngy);
                }
                if (stream && Cog == 1)
                    fp_stream_bytes(gx + u * HW, gxacc, HW * (int64_t)sizeof(FP_T));
                if (parts) {
                    FP_T *pp = parts + (n * s->c_out + co) * nparts;
                    for (int64_t k = 0; k < KK; k++) { /* tap (a, b) is weight (KH-1-a, KW-1-b) */
                        FP_T total = 0;
                        for (int64_t l = 0; l < FP_VL; l++) total += gwacc[k][l];
                        pp[KK - 1 - k] = total;
                    }
                    FP_T total = 0;
                    for (int64_t l = 0; l < FP_VL; l++) total += gsum[l];
                    pp[KK] = total;
                }
            }
            if (Cog > 1)
                for (int64_t ih = 0; ih < s->h; ih++)
                    memcpy(gx + u * HW + ih * s->w, gxacc + ih * g.wv, (size_t)s->w * sizeof(FP_T));
        }
        if (stream)
            fp_stream_fence();
        FP_T t = 0;
        for (int64_t l = 0; l < FP_VL; l++) t += nonfinite[l];
        if (t != 0) {
            #pragma omp atomic write
            bad = 1;
        }
        free(gwacc);
    }
    if (!bad && parts) {
        const int64_t C = s->c_out, N = s->n;
        int nt = fp_threads_for(N * C * nparts, n_threads);
        #pragma omp parallel for num_threads(nt) schedule(static)
        for (int64_t co = 0; co < C; co++)
            for (int64_t k = 0; k < nparts; k++) {
                FP_T total = 0;
                for (int64_t n = 0; n < N; n++) total += parts[(n * C + co) * nparts + k];
                if (k < KK) {
                    if (gw)
                        gw[co * KK + k] = total;
                } else if (gb) {
                    gb[co] = total;
                }
            }
    }
    free(bufs);
    free(parts);
    return bad == 2 ? FP_ERR_NOMEM : bad ? FP_ERR_UNSUPPORTED : FP_OK;
}

#undef FP_DW_R
