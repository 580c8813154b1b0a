/* Body of sort.c, included once per key type (FP_K, FP_KS).
 *
 * Hybrid radix sort. Large inputs get one parallel MSD pass: the digit is
 * the 4..11 bits (about 1024 keys per bucket on average) just below the
 * common prefix of all keys (bits every key shares say nothing about order),
 * counted per thread block and scattered stably (per-(digit, block) offsets
 * in block order). Each bucket small enough for the caches is finished by a
 * serial LSD radix sort with 8-bit digits (digits whose value is the same for
 * every key of the bucket are skipped), buckets spread over threads. A bucket
 * still too large (skewed data) goes through the same MSD step again,
 * recursively, on its own varying bits. fp_radix_sort_buckets is the second
 * half alone, for callers (the metrics kernels) that do the MSD pass
 * themselves straight from their input. Every step is stable, so the result
 * is a stable sort and does not depend on the number of threads.
 */
#define FP_SORT_BITS 11
#define FP_SORT_RADIX (1 << FP_SORT_BITS)
#define FP_SORT_NAME(op) FP_PASTE3(fp_##op, _, FP_KS)

/* Small inputs: a stable insertion sort beats 2048-bucket histograms. */
static void FP_SORT_NAME(insertion_sort)(FP_K *k, uint8_t *lab, double *w, int64_t n)
{
    for (int64_t i = 1; i < n; i++) {
        FP_K kv = k[i];
        uint8_t lv = lab ? lab[i] : 0;
        double wv = w ? w[i] : 0.0;
        int64_t j = i;
        while (j > 0 && k[j - 1] > kv) {
            k[j] = k[j - 1];
            if (lab) lab[j] = lab[j - 1];
            if (w) w[j] = w[j - 1];
            j--;
        }
        k[j] = kv;
        if (lab) lab[j] = lv;
        if (w) w[j] = wv;
    }
}

static void FP_SORT_NAME(scatter)(const FP_K *FP_RESTRICT k, const uint8_t *FP_RESTRICT lab,
                                  const double *FP_RESTRICT w, int64_t n, int shift, int64_t *FP_RESTRICT off,
                                  FP_K *FP_RESTRICT ko, uint8_t *FP_RESTRICT labo, double *FP_RESTRICT wo,
                                  FP_K mask)
{
    if (lab && w) {
        for (int64_t i = 0; i < n; i++) {
            int64_t o = off[(k[i] >> shift) & mask]++;
            ko[o] = k[i];
            labo[o] = lab[i];
            wo[o] = w[i];
        }
    } else if (lab) {
        for (int64_t i = 0; i < n; i++) {
            int64_t o = off[(k[i] >> shift) & mask]++;
            ko[o] = k[i];
            labo[o] = lab[i];
        }
    } else if (w) {
        for (int64_t i = 0; i < n; i++) {
            int64_t o = off[(k[i] >> shift) & mask]++;
            ko[o] = k[i];
            wo[o] = w[i];
        }
    } else {
        for (int64_t i = 0; i < n; i++) {
            int64_t o = off[(k[i] >> shift) & mask]++;
            ko[o] = k[i];
        }
    }
}

/* Serial stable LSD radix sort, 8-bit digits; result parity in the return
 * value (1: data in the t* buffers). */
static int FP_SORT_NAME(lsd_serial)(FP_K *k, FP_K *tk, uint8_t *l, uint8_t *tl, double *w, double *tw, int64_t n)
{
    enum { NP = (int)sizeof(FP_K), R = 256 };
    if (n <= 64) {
        FP_SORT_NAME(insertion_sort)(k, l, w, n);
        return 0;
    }
    uint32_t hist[sizeof(FP_K)][256];
    int64_t off[256];
    memset(hist, 0, sizeof hist);
    for (int64_t i = 0; i < n; i++) {
        FP_K v = k[i];
        for (int p = 0; p < NP; p++)
            hist[p][(v >> (8 * p)) & 0xFF]++;
    }
    int in_t = 0;
    for (int p = 0; p < NP; p++) {
        const uint32_t *h = hist[p];
        if (h[(k[0] >> (8 * p)) & 0xFF] == n)
            continue;
        int64_t run = 0;
        for (int d = 0; d < R; d++) {
            off[d] = run;
            run += h[d];
        }
        FP_SORT_NAME(scatter)(k, l, w, n, 8 * p, off, tk, tl, tw, 0xFF);
        FP_K *xk = k; k = tk; tk = xk;
        uint8_t *xl = l; l = tl; tl = xl;
        double *xw = w; w = tw; tw = xw;
        in_t ^= 1;
    }
    return in_t;
}

static void FP_SORT_NAME(count_digit)(const FP_K *k, int64_t n, int shift, int radix, int64_t *hist)
{
    memset(hist, 0, sizeof(int64_t) * radix);
    FP_K mask = (FP_K)(radix - 1);
    for (int64_t i = 0; i < n; i++)
        hist[(k[i] >> shift) & mask]++;
}

static void FP_SORT_NAME(copy_back)(FP_K *dk, const FP_K *sk, uint8_t *dl, const uint8_t *sl, double *dw,
                                    const double *sw, int64_t m)
{
    memcpy(dk, sk, sizeof(FP_K) * m);
    if (dl)
        memcpy(dl, sl, m);
    if (dw)
        memcpy(dw, sw, sizeof(double) * m);
}

/* Buckets up to this many elements are finished serially in cache. */
#define FP_SORT_SERIAL_MAX ((int64_t)1 << 16)

int FP_SORT_NAME(radix_sort)(FP_K *keys, FP_K *tmp_keys, uint8_t *labels, uint8_t *tmp_labels,
                             double *weights, double *tmp_weights, int64_t n, int n_threads,
                             int *result_in_tmp)
{
    *result_in_tmp = 0;
    if (n <= FP_SORT_SERIAL_MAX) {
        *result_in_tmp = FP_SORT_NAME(lsd_serial)(keys, tmp_keys, labels, tmp_labels, weights, tmp_weights, n);
        return FP_OK;
    }
    int nt = fp_threads_for(n, n_threads);
    int64_t max_blocks = FP_MAX((int64_t)1, n >> 15);
    if (nt > max_blocks)
        nt = (int)max_blocks;
    int nb = nt;
    /* Common prefix: the highest bit in which some key differs from keys[0]. */
    FP_K diff = 0, k0 = keys[0];
    #pragma omp parallel for num_threads(nt) schedule(static) reduction(| : diff)
    for (int64_t i = 0; i < n; i++)
        diff |= keys[i] ^ k0;
    if (diff == 0)
        return FP_OK;
    int hb = (int)(sizeof(FP_K) * 8 - 1);
    while (!((diff >> hb) & 1))
        hb--;
    /* Digit width: ~1024 elements per bucket on average, at most 11 bits. */
    int lg = 0;
    while (((int64_t)1 << (lg + 1)) <= n)
        lg++;
    int bits = FP_MIN(FP_SORT_BITS, FP_MAX(4, lg - 10));
    const int R = 1 << bits;
    int shift = FP_MAX(0, hb + 1 - bits);
    int64_t *block_hist = (int64_t *)malloc((size_t)nb * FP_SORT_RADIX * sizeof(int64_t));
    int64_t *bucket_lo = (int64_t *)malloc((FP_SORT_RADIX + 1) * sizeof(int64_t));
    if (!block_hist || !bucket_lo) {
        free(block_hist);
        free(bucket_lo);
        return FP_ERR_NOMEM;
    }
    /* Buckets above this size are sorted after the parallel region with all
     * threads (serial callers: never). */
    int64_t giant = nt > 1 ? n / 4 : n;
    int nomem = 0;
    #pragma omp parallel num_threads(nt)
    {
        #pragma omp for schedule(static, 1)
        for (int b = 0; b < nb; b++) {
            int64_t lo = n * b / nb, hi = n * (b + 1) / nb;
            FP_SORT_NAME(count_digit)(keys + lo, hi - lo, shift, R, block_hist + (int64_t)b * FP_SORT_RADIX);
        }
        #pragma omp single
        fp_radix_block_offsets(block_hist, nb, R, FP_SORT_RADIX, bucket_lo);
        #pragma omp for schedule(static, 1)
        for (int b = 0; b < nb; b++) {
            int64_t lo = n * b / nb, hi = n * (b + 1) / nb;
            FP_SORT_NAME(scatter)(keys + lo, labels ? labels + lo : NULL, weights ? weights + lo : NULL, hi - lo,
                                  shift, block_hist + (int64_t)b * FP_SORT_RADIX, tmp_keys, tmp_labels, tmp_weights,
                                  (FP_K)(R - 1));
        }
        /* Buckets go to threads whole (dynamic: sizes vary): small ones
         * through the serial LSD in cache, larger ones through this function
         * serially. The result must end in the tmp buffers for every bucket. */
        #pragma omp for schedule(dynamic, 1)
        for (int d = 0; d < R; d++) {
            int64_t lo = bucket_lo[d], m = bucket_lo[d + 1] - lo;
            if (m < 2 || m > giant)
                continue;
            int in_keys = 0;
            if (m <= FP_SORT_SERIAL_MAX)
                in_keys = FP_SORT_NAME(lsd_serial)(tmp_keys + lo, keys + lo, tmp_labels ? tmp_labels + lo : NULL,
                                                   labels ? labels + lo : NULL,
                                                   tmp_weights ? tmp_weights + lo : NULL,
                                                   weights ? weights + lo : NULL, m);
            else if (FP_SORT_NAME(radix_sort)(tmp_keys + lo, keys + lo, tmp_labels ? tmp_labels + lo : NULL,
                                              labels ? labels + lo : NULL, tmp_weights ? tmp_weights + lo : NULL,
                                              weights ? weights + lo : NULL, m, 1, &in_keys) != FP_OK)
                nomem = 1;
            if (in_keys)
                FP_SORT_NAME(copy_back)(tmp_keys + lo, keys + lo, tmp_labels ? tmp_labels + lo : NULL,
                                        labels ? labels + lo : NULL, tmp_weights ? tmp_weights + lo : NULL,
                                        weights ? weights + lo : NULL, m);
        }
    }
    /* A bucket holding a large share of the data (skewed scores) gets all
     * threads: the same MSD step again, on its own key bits. */
    int st = nomem ? FP_ERR_NOMEM : FP_OK;
    for (int d = 0; d < R && st == FP_OK; d++) {
        int64_t lo = bucket_lo[d], m = bucket_lo[d + 1] - lo;
        if (m <= giant)
            continue;
        int in_keys = 0;
        st = FP_SORT_NAME(radix_sort)(tmp_keys + lo, keys + lo, tmp_labels ? tmp_labels + lo : NULL,
                                      labels ? labels + lo : NULL, tmp_weights ? tmp_weights + lo : NULL,
                                      weights ? weights + lo : NULL, m, n_threads, &in_keys);
        if (st == FP_OK && in_keys)
            FP_SORT_NAME(copy_back)(tmp_keys + lo, keys + lo, tmp_labels ? tmp_labels + lo : NULL,
                                    labels ? labels + lo : NULL, tmp_weights ? tmp_weights + lo : NULL,
                                    weights ? weights + lo : NULL, m);
    }
    free(block_hist);
    free(bucket_lo);
    *result_in_tmp = 1;
    return st;
}

/* Sorts one bucket in place with the scratch buffers sk/sl/sw (m elements). */
static int FP_SORT_NAME(sort_in_place)(FP_K *k, uint8_t *l, double *w, FP_K *sk, uint8_t *sl, double *sw, int64_t m,
                                       int n_threads)
{
    int in_scratch = 0, st = FP_OK;
    if (m <= FP_SORT_SERIAL_MAX)
        in_scratch = FP_SORT_NAME(lsd_serial)(k, sk, l, sl, w, sw, m);
    else
        st = FP_SORT_NAME(radix_sort)(k, sk, l, sl, w, sw, m, n_threads, &in_scratch);
    if (st == FP_OK && in_scratch)
        FP_SORT_NAME(copy_back)(k, sk, l, sl, w, sw, m);
    return st;
}

static int FP_SORT_NAME(alloc_scratch)(int64_t m, int with_labels, int with_weights, FP_K **sk, uint8_t **sl,
                                       double **sw)
{
    *sk = (FP_K *)malloc(sizeof(FP_K) * (size_t)m);
    *sl = with_labels ? (uint8_t *)malloc((size_t)m) : NULL;
    *sw = with_weights ? (double *)malloc(sizeof(double) * (size_t)m) : NULL;
    if (!*sk || (with_labels && !*sl) || (with_weights && !*sw)) {
        free(*sk);
        free(*sl);
        free(*sw);
        return FP_ERR_NOMEM;
    }
    return FP_OK;
}

int FP_SORT_NAME(radix_sort_buckets)(FP_K *keys, uint8_t *labels, double *weights, const int64_t *bucket_lo,
                                     int n_buckets, int n_threads)
{
    int64_t n = bucket_lo[n_buckets] - bucket_lo[0];
    int nt = fp_threads_for(n, n_threads);
    /* A bucket with a large share of the data gets all threads afterwards. */
    int64_t giant = nt > 1 ? FP_MAX(n / 4, FP_SORT_SERIAL_MAX) : INT64_MAX;
    int nomem = 0;
    #pragma omp parallel num_threads(nt)
    {
        FP_K *sk = NULL;
        uint8_t *sl = NULL;
        double *sw = NULL;
        int ok = FP_SORT_NAME(alloc_scratch)(FP_SORT_SERIAL_MAX, labels != NULL, weights != NULL, &sk, &sl, &sw)
                 == FP_OK;
        #pragma omp for schedule(dynamic, 1)
        for (int d = 0; d < n_buckets; d++) {
            int64_t lo = bucket_lo[d], m = bucket_lo[d + 1] - lo;
            if (m < 2 || m > giant)
                continue;
            if (!ok) {
                nomem = 1;
                continue;
            }
            FP_K *bk = sk;
            uint8_t *bl = sl;
            double *bw = sw;
            if (m > FP_SORT_SERIAL_MAX &&
                FP_SORT_NAME(alloc_scratch)(m, labels != NULL, weights != NULL, &bk, &bl, &bw) != FP_OK) {
                nomem = 1;
                continue;
            }
            if (FP_SORT_NAME(sort_in_place)(keys + lo, labels ? labels + lo : NULL, weights ? weights + lo : NULL,
                                            bk, bl, bw, m, 1) != FP_OK)
                nomem = 1;
            if (bk != sk) {
                free(bk);
                free(bl);
                free(bw);
            }
        }
        free(sk);
        free(sl);
        free(sw);
    }
    if (nomem)
        return FP_ERR_NOMEM;
    for (int d = 0; d < n_buckets; d++) {
        int64_t lo = bucket_lo[d], m = bucket_lo[d + 1] - lo;
        if (m <= giant)
            continue;
        FP_K *bk;
        uint8_t *bl;
        double *bw;
        if (FP_SORT_NAME(alloc_scratch)(m, labels != NULL, weights != NULL, &bk, &bl, &bw) != FP_OK)
            return FP_ERR_NOMEM;
        int st = FP_SORT_NAME(sort_in_place)(keys + lo, labels ? labels + lo : NULL, weights ? weights + lo : NULL,
                                             bk, bl, bw, m, n_threads);
        free(bk);
        free(bl);
        free(bw);
        if (st != FP_OK)
            return st;
    }
    return FP_OK;
}

#undef FP_SORT_BITS
#undef FP_SORT_RADIX
#undef FP_SORT_NAME
#undef FP_SORT_SERIAL_MAX
