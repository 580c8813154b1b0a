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
#define FP_SORT_FN FP_PASTE3(fp_radix_sort, _, FP_KS)

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

/* Unweighted: every sample goes in, in input order. Returns 1 if a score is
 * not finite. */
FP_CLONES static int FP_NAME(clf_keys_chunk)(const FP_T *FP_RESTRICT s, int64_t stride, const uint8_t *FP_RESTRICT pos,
                                             int64_t n, FP_K *FP_RESTRICT keys, uint8_t *FP_RESTRICT lab)
{
    int bad = 0;
    for (int64_t i = 0; i < n; i++) {
        FP_T x = s[i * stride];
        bad |= !(x - x == 0); /* false for NaN and +-Inf */
        keys[i] = FP_NAME(desc_key)(x);
        lab[i] = pos[i] != 0;
    }
    return bad;
}

/* Weighted, pass 1: non-zero weights per chunk (their samples are dropped,
 * as scikit-learn filters them before sorting). */
static int64_t FP_NAME(clf_count_nonzero)(const double *w, int64_t n)
{
    int64_t c = 0;
    for (int64_t i = 0; i < n; i++)
        c += w[i] != 0;
    return c;
}

static int FP_NAME(clf_keys_weighted_chunk)(const FP_T *s, int64_t stride, const uint8_t *pos, const double *w,
                                            int64_t n, FP_K *keys, uint8_t *lab, double *wo)
{
    int bad = 0;
    int64_t o = 0;
    for (int64_t i = 0; i < n; i++) {
        FP_T x = s[i * stride];
        bad |= !(x - x == 0);
        if (w[i] != 0) {
            keys[o] = FP_NAME(desc_key)(x);
            lab[o] = pos[i] != 0;
            wo[o] = w[i];
            o++;
        }
    }
    return bad;
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
    if (mode != FP_CLF_CURVE) {
        int64_t d = 0;
        for (int64_t i = 0; i < m; i++)
            d += keys[i] != keys[i + 1];
        result[3] = (double)d;
    }
}

int FP_NAME(binary_clf)(const FP_T *scores, int64_t score_stride, const uint8_t *is_pos, const double *weights,
                        int64_t n, int mode, double *result, double *tps, double *fps, double *thresholds,
                        int n_threads)
{
    result[0] = result[1] = result[2] = result[3] = 0;
    int64_t cap = n + 1;
    FP_K *keys = (FP_K *)malloc(sizeof(FP_K) * cap);
    FP_K *tkeys = (FP_K *)malloc(sizeof(FP_K) * cap);
    uint8_t *lab = (uint8_t *)malloc(cap);
    uint8_t *tlab = (uint8_t *)malloc(cap);
    double *w = weights ? (double *)malloc(sizeof(double) * cap) : NULL;
    double *tw = weights ? (double *)malloc(sizeof(double) * cap) : NULL;
    int64_t nchunks = (n + FP_CHUNK - 1) / FP_CHUNK;
    int64_t *chunk_off = weights ? (int64_t *)malloc(sizeof(int64_t) * (nchunks + 1)) : NULL;
    int st = FP_OK;
    if (!keys || !tkeys || !lab || !tlab || (weights && (!w || !tw || !chunk_off))) {
        st = FP_ERR_NOMEM;
        goto done;
    }
    int nt = fp_threads_for(n, n_threads);
    int bad = 0;
    int64_t m = n;
    if (!weights) {
        #pragma omp parallel for num_threads(nt) schedule(static) reduction(| : bad)
        for (int64_t c = 0; c < nchunks; c++) {
            int64_t lo = c * FP_CHUNK;
            bad |= FP_NAME(clf_keys_chunk)(scores + lo * score_stride, score_stride, is_pos + lo,
                                           FP_MIN(FP_CHUNK, n - lo), keys + lo, lab + lo);
        }
    } else {
        #pragma omp parallel for num_threads(nt) schedule(static)
        for (int64_t c = 0; c < nchunks; c++) {
            int64_t lo = c * FP_CHUNK;
            chunk_off[c + 1] = FP_NAME(clf_count_nonzero)(weights + lo, FP_MIN(FP_CHUNK, n - lo));
        }
        chunk_off[0] = 0;
        for (int64_t c = 0; c < nchunks; c++)
            chunk_off[c + 1] += chunk_off[c];
        m = chunk_off[nchunks];
        #pragma omp parallel for num_threads(nt) schedule(static) reduction(| : bad)
        for (int64_t c = 0; c < nchunks; c++) {
            int64_t lo = c * FP_CHUNK, o = chunk_off[c];
            bad |= FP_NAME(clf_keys_weighted_chunk)(scores + lo * score_stride, score_stride, is_pos + lo,
                                                    weights + lo, FP_MIN(FP_CHUNK, n - lo), keys + o, lab + o, w + o);
        }
    }
    if (bad) {
        st = FP_ERR_NAN;
        goto done;
    }
    int in_tmp = 0;
    st = FP_SORT_FN(keys, tkeys, lab, tlab, w, tw, m, n_threads, &in_tmp);
    if (st != FP_OK)
        goto done;
    FP_K *sk = in_tmp ? tkeys : keys;
    uint8_t *sl = in_tmp ? tlab : lab;
    double *sw = in_tmp ? tw : w;
    if (m > 0) {
        sk[m] = ~sk[m - 1];
        FP_NAME(clf_walk)(sk, sl, sw, m, mode, result, tps, fps, thresholds);
    }
done:
    free(keys);
    free(tkeys);
    free(lab);
    free(tlab);
    free(w);
    free(tw);
    free(chunk_off);
    return st;
}

#undef FP_KSIGN
#undef FP_SORT_FN
