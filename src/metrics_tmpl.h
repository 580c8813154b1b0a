/* Ranking-metric body of metrics.c, included once per score dtype
 * (FP_T/FP_S, with FP_K the unsigned key of the same width and FP_KS its
 * sort suffix).
 *
 * Key map: for a float with bits b, the ascending key is b | sign for
 * non-negative floats and ~b for negative ones; descending order is its
 * complement. -0.0 is folded into +0.0 first (they compare equal, so
 * scikit-learn puts them in one threshold). NaN's key would be the all-ones
 * value; NaN/Inf are rejected before the sort, which makes all-ones free to
 * serve as the end sentinel of the sorted run.
 */
#define FP_KSIGN ((FP_K)1 << (sizeof(FP_K) * 8 - 1))
#define FP_SORT_BUCKETS_FN FP_PASTE3(fp_radix_sort_buckets, _, FP_KS)

FP_INLINE FP_K FP_NAME(desc_key)(FP_T x)
{
    FP_K b;
    x = x == 0 ? (FP_T)0 : x;
    memcpy(&b, &x, sizeof b);
    FP_K asc = (b & FP_KSIGN) ? ~b : (b | FP_KSIGN);
    return ~asc;
}

FP_INLINE double FP_NAME(key_value)(FP_K desc)
{
    FP_K asc = ~desc;
    FP_K b = (asc & FP_KSIGN) ? (asc ^ FP_KSIGN) : ~asc;
    FP_T x;
    memcpy(&x, &b, sizeof x);
    return (double)x;
}

/* The sort input is never materialized: three passes over the scores
 * compute keys on the fly. Pass 1 finds which key bits vary (OR and AND of
 * all keys) and rejects non-finite scores; pass 2 counts the MSD digit (the
 * bits just below the common prefix) per thread block; pass 3 scatters key,
 * label and weight straight into their bucket, stably. Samples of zero
 * weight are skipped in every pass (scikit-learn drops them). The buckets are
 * then finished in cache by fp_radix_sort_buckets. */
typedef struct {
    FP_K or_acc, and_acc;
    int64_t count;
    int bad;
} FP_NAME(clf_span);

FP_CLONES static void FP_NAME(clf_span_block)(const FP_T *FP_RESTRICT s, int64_t stride, const double *FP_RESTRICT w,
                                              int64_t n, FP_NAME(clf_span) *out)
{
    FP_K o = 0, a = ~(FP_K)0;
    int64_t c = 0;
    int bad = 0;
    for (int64_t i = 0; i < n; i++) {
        FP_T x = s[i * stride];
        bad |= !(x - x == 0); /* false for NaN and +-Inf */
        FP_K k = FP_NAME(desc_key)(x);
        int valid = !w || w[i] != 0;
        o |= valid ? k : 0;
        a &= valid ? k : ~(FP_K)0;
        c += valid;
    }
    out->or_acc = o;
    out->and_acc = a;
    out->count = c;
    out->bad = bad;
}

static void FP_NAME(clf_count_block)(const FP_T *s, int64_t stride, const double *w, int64_t n, int shift,
                                     FP_K mask, int64_t *hist, int radix)
{
    memset(hist, 0, sizeof(int64_t) * radix);
    if (w) {
        for (int64_t i = 0; i < n; i++)
            if (w[i] != 0)
                hist[(FP_NAME(desc_key)(s[i * stride]) >> shift) & mask]++;
    } else {
        for (int64_t i = 0; i < n; i++)
            hist[(FP_NAME(desc_key)(s[i * stride]) >> shift) & mask]++;
    }
}

static void FP_NAME(clf_scatter_block)(const FP_T *FP_RESTRICT s, int64_t stride, const uint8_t *FP_RESTRICT pos,
                                       const double *FP_RESTRICT w, int64_t n, int shift, FP_K mask,
                                       int64_t *FP_RESTRICT off, FP_K *FP_RESTRICT ko, uint8_t *FP_RESTRICT lo,
                                       double *FP_RESTRICT wo)
{
    if (w) {
        for (int64_t i = 0; i < n; i++) {
            if (w[i] == 0)
                continue;
            FP_K k = FP_NAME(desc_key)(s[i * stride]);
            int64_t o = off[(k >> shift) & mask]++;
            ko[o] = k;
            lo[o] = pos[i] != 0;
            wo[o] = w[i];
        }
    } else {
        for (int64_t i = 0; i < n; i++) {
            FP_K k = FP_NAME(desc_key)(s[i * stride]);
            int64_t o = off[(k >> shift) & mask]++;
            ko[o] = k;
            lo[o] = pos[i] != 0;
        }
    }
}

/* Unweighted AUC/AP in parallel: integer counts (fps = samples so far -
 * tps), the AUC numerator exact in 128-bit integers, AP as
 * sum(dtp * precision) / P with one division per threshold; both equal
 * scikit-learn's float evaluation to a few ulps. The sorted run is cut into
 * fixed chunks; a first pass gives each chunk's positives and its last
 * threshold, a scan turns them into each chunk's starting counts and
 * previous threshold, then the chunks are walked independently and their
 * partial sums combined in chunk order (exact for AUC; for AP the same
 * for every thread count). */
#define FP_WALK_CHUNK ((int64_t)1 << 16)
typedef struct {
    int64_t pos, last_b, pos_to_b;  /* positives; last threshold index (-1: none); positives up to it */
    int64_t t0, tprev, fprev;       /* counts before the chunk, and at the previous threshold */
    unsigned __int128 area;
    double s, c;
} FP_NAME(walk_chunk);

static int FP_NAME(clf_walk_counts)(const FP_K *keys, const uint8_t *lab, int64_t m, int mode, double *result,
                                    int n_threads)
{
    int64_t nch = (m + FP_WALK_CHUNK - 1) / FP_WALK_CHUNK;
    FP_NAME(walk_chunk) *ch = (FP_NAME(walk_chunk) *)malloc(sizeof(*ch) * nch);
    if (!ch)
        return FP_ERR_NOMEM;
    int nt = fp_threads_for(m, n_threads);
    #pragma omp parallel num_threads(nt)
    {
        #pragma omp for schedule(static)
        for (int64_t c = 0; c < nch; c++) {
            int64_t lo = c * FP_WALK_CHUNK, hi = FP_MIN(m, lo + FP_WALK_CHUNK), p = 0, after = 0;
            for (int64_t i = lo; i < hi; i++)
                p += lab[i];
            int64_t b = hi - 1;
            while (b >= lo && keys[b] == keys[b + 1])
                after += lab[b--];
            ch[c].pos = p;
            ch[c].last_b = b >= lo ? b : -1;
            ch[c].pos_to_b = p - after;
        }
        #pragma omp single
        {
            int64_t t = 0, lt = 0, lf = 0;
            for (int64_t c = 0; c < nch; c++) {
                ch[c].t0 = t;
                ch[c].tprev = lt;
                ch[c].fprev = lf;
                if (ch[c].last_b >= 0) {
                    lt = t + ch[c].pos_to_b;
                    lf = ch[c].last_b + 1 - lt;
                }
                t += ch[c].pos;
            }
        }
        #pragma omp for schedule(static)
        for (int64_t c = 0; c < nch; c++) {
            int64_t lo = c * FP_WALK_CHUNK, hi = FP_MIN(m, lo + FP_WALK_CHUNK);
            int64_t ti = ch[c].t0, tprev = ch[c].tprev, fprev = ch[c].fprev;
            unsigned __int128 area = 0;
            double s = 0, comp = 0;
            if (mode == FP_CLF_AUC) {
                for (int64_t i = lo; i < hi; i++) {
                    ti += lab[i];
                    if (keys[i] != keys[i + 1]) {
                        int64_t fi = i + 1 - ti;
                        area += (unsigned __int128)(uint64_t)(fi - fprev) * (uint64_t)(ti + tprev);
                        tprev = ti;
                        fprev = fi;
                    }
                }
            } else {
                for (int64_t i = lo; i < hi; i++) {
                    ti += lab[i];
                    if (keys[i] != keys[i + 1] && ti != tprev) {
                        double term = (double)(ti - tprev) * ((double)ti / (double)(i + 1));
                        double t = s + term;
                        comp += fabs(s) >= fabs(term) ? (s - t) + term : (term - t) + s;
                        s = t;
                        tprev = ti;
                    }
                }
            }
            ch[c].area = area;
            ch[c].s = s;
            ch[c].c = comp;
        }
    }
    unsigned __int128 area = 0;
    double s = 0, comp = 0;
    int64_t total = 0;
    for (int64_t c = 0; c < nch; c++) {
        area += ch[c].area;
        double parts[2] = {ch[c].s, ch[c].c};
        for (int k = 0; k < 2; k++) {
            double t = s + parts[k];
            comp += fabs(s) >= fabs(parts[k]) ? (s - t) + parts[k] : (parts[k] - t) + s;
            s = t;
        }
        total += ch[c].pos;
    }
    free(ch);
    double tp = (double)total, fp = (double)(m - total);
    if (mode == FP_CLF_AUC)
        result[0] = (double)area / (2.0 * tp * fp);
    else
        result[0] = total == 0 ? 0.0 : (s + comp) / tp;
    result[1] = tp;
    result[2] = fp;
    return FP_OK;
}

/* The walk over the sorted run. keys[m] is a sentinel that differs from
 * keys[m - 1]. The running sums are plain sequential double sums in sorted
 * order: scikit-learn's cumsum of y*w and (1-y)*w (adding the exact zeros it
 * adds for the other class changes nothing), so every tps/fps value is
 * bit-identical to scikit-learn's. */
static void FP_NAME(clf_walk)(const FP_K *keys, const uint8_t *lab, const double *w, int64_t m, int mode,
                              double *result, double *tps, double *fps, double *thr)
{
    double tp = 0, fp = 0;
    if (mode == FP_CLF_AUC) {
        /* Trapezoids over distinct thresholds in count units; normalizing
         * once at the end equals the normalized trapezoid sum up to rounding.
         * Neumaier compensation keeps the sum within a few ulps. */
        double tp_prev = 0, fp_prev = 0, s = 0, c = 0;
        for (int64_t i = 0; i < m; i++) {
            double wi = w ? w[i] : 1.0;
            tp += lab[i] ? wi : 0.0;
            fp += lab[i] ? 0.0 : wi;
            if (keys[i] != keys[i + 1]) {
                double term = (fp - fp_prev) * (tp + tp_prev);
                double t = s + term;
                c += fabs(s) >= fabs(term) ? (s - t) + term : (term - t) + s;
                s = t;
                tp_prev = tp;
                fp_prev = fp;
            }
        }
        result[0] = 0.5 * (s + c) / (tp * fp);
    } else if (mode == FP_CLF_AP) {
        /* The recall denominator is tps[-1]; the positives' running sum in
         * the same order reproduces it exactly. */
        double total = 0;
        for (int64_t i = 0; i < m; i++)
            total += lab[i] ? (w ? w[i] : 1.0) : 0.0;
        double r_prev = 0, s = 0, c = 0;
        for (int64_t i = 0; i < m; i++) {
            double wi = w ? w[i] : 1.0;
            tp += lab[i] ? wi : 0.0;
            fp += lab[i] ? 0.0 : wi;
            if (keys[i] != keys[i + 1]) {
                double r = total == 0 ? 1.0 : tp / total;
                double ps = tp + fp;
                double p = ps != 0 ? tp / ps : 0.0;
                double term = (r - r_prev) * p;
                double t = s + term;
                c += fabs(s) >= fabs(term) ? (s - t) + term : (term - t) + s;
                s = t;
                r_prev = r;
            }
        }
        result[0] = s + c;
    } else if (!w) {
        /* Unweighted curves: integer counts (exact, like scikit-learn's
         * cumsum of ones and its fps = 1 + index - tps); the second
         * differences of integers are exact, so testing them in integers is
         * the same test as scikit-learn's float np.diff(_, 2) != 0. */
        int64_t ti = 0, o = 0, j = 0, t1 = 0, f1 = 0, t2 = 0, f2 = 0;
        FP_K k1 = 0;
        int drop = mode == FP_CLF_ROC_DROP;
        for (int64_t i = 0; i < m; i++) {
            ti += lab[i];
            if (keys[i] != keys[i + 1]) {
                int64_t fi = i + 1 - ti;
                if (!drop) {
                    tps[o] = (double)ti;
                    fps[o] = (double)fi;
                    thr[o++] = FP_NAME(key_value)(keys[i]);
                    continue;
                }
                if (j == 0) {
                    tps[o] = (double)ti;
                    fps[o] = (double)fi;
                    thr[o++] = FP_NAME(key_value)(keys[i]);
                } else if (j >= 2 && ((fi - f1) != (f1 - f2) || (ti - t1) != (t1 - t2))) {
                    tps[o] = (double)t1;
                    fps[o] = (double)f1;
                    thr[o++] = FP_NAME(key_value)(k1);
                }
                f2 = f1; t2 = t1;
                f1 = fi; t1 = ti; k1 = keys[i];
                j++;
            }
        }
        if (drop && j >= 2) {
            tps[o] = (double)t1;
            fps[o] = (double)f1;
            thr[o++] = FP_NAME(key_value)(k1);
        }
        tp = (double)ti;
        fp = (double)(m - ti);
        result[3] = (double)o;
    } else if (mode == FP_CLF_ROC_DROP) {
        /* roc_curve's drop_intermediate, streamed: point j-1 is kept when
         * np.diff(fps, 2) or np.diff(tps, 2) is non-zero there (the same
         * float expression), the first and last points always. Only kept
         * points are written, so untouched output pages are never faulted. */
        int64_t o = 0, j = 0;
        double f2 = 0, t2 = 0, f1 = 0, t1 = 0;
        FP_K k1 = 0;
        for (int64_t i = 0; i < m; i++) {
            double wi = w ? w[i] : 1.0;
            tp += lab[i] ? wi : 0.0;
            fp += lab[i] ? 0.0 : wi;
            if (keys[i] != keys[i + 1]) {
                if (j == 0) {
                    tps[o] = tp;
                    fps[o] = fp;
                    thr[o++] = FP_NAME(key_value)(keys[i]);
                } else if (j >= 2 && (((fp - f1) - (f1 - f2)) != 0 || ((tp - t1) - (t1 - t2)) != 0)) {
                    tps[o] = t1;
                    fps[o] = f1;
                    thr[o++] = FP_NAME(key_value)(k1);
                }
                f2 = f1; t2 = t1;
                f1 = fp; t1 = tp; k1 = keys[i];
                j++;
            }
        }
        if (j >= 2) {
            tps[o] = t1;
            fps[o] = f1;
            thr[o++] = FP_NAME(key_value)(k1);
        }
        result[3] = (double)o;
    } else {
        int64_t o = 0;
        for (int64_t i = 0; i < m; i++) {
            double wi = w ? w[i] : 1.0;
            tp += lab[i] ? wi : 0.0;
            fp += lab[i] ? 0.0 : wi;
            /* Written every step, kept only when the run of equal keys ends. */
            tps[o] = tp;
            fps[o] = fp;
            o += keys[i] != keys[i + 1];
        }
        for (int64_t j = 0, i = 0; i < m; i++)
            if (keys[i] != keys[i + 1])
                thr[j++] = FP_NAME(key_value)(keys[i]);
        result[3] = (double)o;
    }
    result[1] = tp;
    result[2] = fp;
}

int FP_NAME(binary_clf)(const FP_T *scores, int64_t score_stride, const uint8_t *is_pos, const double *weights,
                        int64_t n, int mode, double *result, double *tps, double *fps, double *thresholds,
                        int n_threads)
{
    result[0] = result[1] = result[2] = result[3] = 0;
    int nt = fp_threads_for(n, n_threads);
    int nb = (int)FP_MIN((int64_t)nt, FP_MAX((int64_t)1, n >> 15));
    nt = nb;
    FP_NAME(clf_span) span[nb];
    #pragma omp parallel for num_threads(nt) schedule(static, 1)
    for (int b = 0; b < nb; b++) {
        int64_t lo = n * b / nb, hi = n * (b + 1) / nb;
        FP_NAME(clf_span_block)(scores + lo * score_stride, score_stride, weights ? weights + lo : NULL, hi - lo,
                                &span[b]);
    }
    FP_K or_acc = 0, and_acc = ~(FP_K)0;
    int64_t m = 0;
    for (int b = 0; b < nb; b++) {
        if (span[b].bad)
            return FP_ERR_NAN;
        or_acc |= span[b].or_acc;
        and_acc &= span[b].and_acc;
        m += span[b].count;
    }
    if (m == 0)
        return FP_OK;
    /* MSD digit: ~512 samples per bucket on average (measured best at 1e7:
     * buckets stay in L1/L2 and the scatter has few enough targets), at
     * most 14 bits. */
    FP_K diff = or_acc ^ and_acc;
    int hb = -1;
    for (int bit = (int)(sizeof(FP_K) * 8) - 1; bit >= 0; bit--)
        if ((diff >> bit) & 1) {
            hb = bit;
            break;
        }
    int lg = 0;
    while (((int64_t)1 << (lg + 1)) <= m)
        lg++;
    int bits = hb < 0 ? 0 : FP_MIN(14, FP_MAX(4, lg - 9));
    int shift = FP_MAX(0, hb + 1 - bits);
    int radix = 1 << bits;
    FP_K mask = (FP_K)(radix - 1);

    /* One workspace: weights, keys, labels (m + 1 each, the last a sentinel;
     * in this order so that each array is aligned for its type). */
    size_t wbytes = weights ? sizeof(double) * (size_t)(m + 1) : 0;
    size_t ws_bytes = wbytes + (size_t)(m + 1) * (sizeof(FP_K) + 1);
    int ws_cached = 0;
    char *ws = (char *)fp_ws_acquire(ws_bytes, &ws_cached);
    double *w = weights && ws ? (double *)ws : NULL;
    FP_K *keys = ws ? (FP_K *)(ws + wbytes) : NULL;
    uint8_t *lab = ws ? (uint8_t *)(ws + wbytes + sizeof(FP_K) * (m + 1)) : NULL;
    int64_t *hist = (int64_t *)malloc(sizeof(int64_t) * (size_t)radix * nb);
    int64_t *bucket_lo = (int64_t *)malloc(sizeof(int64_t) * (radix + 1));
    int st = FP_OK;
    if (!ws || !hist || !bucket_lo) {
        st = FP_ERR_NOMEM;
        goto done;
    }
    #pragma omp parallel num_threads(nt)
    {
        #pragma omp for schedule(static, 1)
        for (int b = 0; b < nb; b++) {
            int64_t lo = n * b / nb, hi = n * (b + 1) / nb;
            FP_NAME(clf_count_block)(scores + lo * score_stride, score_stride, weights ? weights + lo : NULL, hi - lo,
                                     shift, mask, hist + (int64_t)b * radix, radix);
        }
        #pragma omp single
        fp_radix_block_offsets(hist, nb, radix, radix, bucket_lo);
        #pragma omp for schedule(static, 1)
        for (int b = 0; b < nb; b++) {
            int64_t lo = n * b / nb, hi = n * (b + 1) / nb;
            FP_NAME(clf_scatter_block)(scores + lo * score_stride, score_stride, is_pos + lo,
                                       weights ? weights + lo : NULL, hi - lo, shift, mask, hist + (int64_t)b * radix,
                                       keys, lab, w);
        }
    }
    if (hb >= 0) {
        st = FP_SORT_BUCKETS_FN(keys, lab, w, bucket_lo, radix, n_threads);
        if (st != FP_OK)
            goto done;
    }
    keys[m] = ~keys[m - 1];
    if (!w && (mode == FP_CLF_AUC || mode == FP_CLF_AP))
        st = FP_NAME(clf_walk_counts)(keys, lab, m, mode, result, n_threads);
    else
        FP_NAME(clf_walk)(keys, lab, w, m, mode, result, tps, fps, thresholds);
done:
    if (ws)
        fp_ws_release(ws, ws_cached);
    free(hist);
    free(bucket_lo);
    return st;
}

#undef FP_KSIGN
#undef FP_WALK_CHUNK
#undef FP_SORT_BUCKETS_FN
