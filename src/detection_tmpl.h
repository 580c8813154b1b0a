/* Body of detection.c, included once per dtype (FP_T, FP_S).
 *
 * IoU is computed exactly as torchvision's CPU NMS does, in the boxes' dtype:
 * inter = max(0, min(x2) - max(x1)) * max(0, min(y2) - max(y1)),
 * iou = inter / ((area_i + area_j) - inter), so kept lists are identical to
 * torchvision's (and IoU(i, j) == IoU(j, i) bit for bit). Areas of degenerate
 * boxes (x2 < x1 or y2 < y1) are clamped to 0 instead of going negative; a
 * zero-area box intersects nothing, so it has IoU 0 with every box, never
 * suppresses and is never suppressed (torchvision's kernel gives the same
 * kept list: its IoU there is 0, -0 or NaN, none of which is > threshold).
 *
 * The grid. The n boxes of one NMS problem (one class) are binned by their
 * lower-left corner into uniform grids of doubling cell size cs_l =
 * cs * 2^l; a box whose larger side is <= 0.99 * cs_l lives on level l (the
 * smallest such l). A box j that overlaps box i (x2_j > x1_i, x1_j < x2_i)
 * then has x1_j in (x1_i - M_l, x2_i), M_l <= cs_l the largest side on level
 * l, so on level l only the cell columns cell(x1_i - M_l) .. cell(x2_i) can
 * hold it (same for rows): the prune is exact (cell() is monotone, and a 1%
 * slack on M_l covers rounding of the cell arithmetic, done in double). The base cell size is the size octave at the
 * first quartile of box sizes, raised until the grid has at most ~n/2 cells (a
 * few boxes per cell: sparse grids cost branch mispredictions on empty rows);
 * the top level is a single cell. Within a cell boxes stay in score order,
 * and cells are row-major, so the cells a query touches on one row of one
 * level are one contiguous block of the structure-of-arrays layout: the
 * inner loops are branch-free IoU sweeps over contiguous blocks (FP_CLONES).
 */

#define FP_DET_MAXLEV 40
/* Cells of level l are cs_l / FP_DET_SUB wide: the query window on a level is
 * then (box + cs_l + cs_l / SUB) wide instead of (box + 2 cs_l). */
#define FP_DET_SUB 4
/* Candidate blocks are short (tens of boxes), so a block sweep runs to the
 * next multiple of LANES with the lanes past the block masked off: the
 * vector loop then never falls into a scalar tail. Every array a sweep
 * touches has LANES elements of padding after its end. */
#define FP_DET_LANES 16

typedef struct {
    int64_t n, n_grid;           /* boxes; the first n_grid (area > 0) are in cells */
    int nlev;
    double ox, oy;               /* grid origin: min corner of the boxes */
    double cs[FP_DET_MAXLEV], inv[FP_DET_MAXLEV];
    double margin[FP_DET_MAXLEV]; /* how far left/below a query a level's corners can lie */
    int64_t gx[FP_DET_MAXLEV], gy[FP_DET_MAXLEV], off[FP_DET_MAXLEV], cnt[FP_DET_MAXLEV];
    int64_t max_rows;            /* sum of gy: bound on the blocks of one query */
    int64_t *cell_start;         /* cells + 1 entries; the zero-area tail follows */
    FP_T *x1, *y1, *x2, *y2, *area; /* layout order */
    int64_t *pos;                /* rank -> layout position */
    int64_t *rank;               /* layout position -> rank */
} FP_NAME(det_grid);

static void FP_NAME(grid_free)(FP_NAME(det_grid) *g)
{
    free(g->cell_start);
    free(g->x1);
    free(g->y1);
    free(g->x2);
    free(g->y2);
    free(g->area);
    free(g->pos);
    free(g->rank);
    memset(g, 0, sizeof *g);
}

static inline FP_T FP_NAME(clamped_area)(FP_T x1, FP_T y1, FP_T x2, FP_T y2)
{
    /* `w < 0 ? 0 : w` keeps NaN (box_area propagates it, as torch does). */
    FP_T w = x2 - x1, h = y2 - y1;
    w = w < 0 ? (FP_T)0 : w;
    h = h < 0 ? (FP_T)0 : h;
    return w * h;
}

/* Boxes given in rank order (SoA, finite). */
static int FP_NAME(grid_build)(FP_NAME(det_grid) *g, const FP_T *x1, const FP_T *y1, const FP_T *x2,
                               const FP_T *y2, int64_t n)
{
    enum { HOFF = 1100, HLEN = 2200 };
    int st = FP_ERR_NOMEM;
    memset(g, 0, sizeof *g);
    g->n = n;
    size_t tb = (size_t)(n > 0 ? n : 1) * sizeof(FP_T), ib = (size_t)(n > 0 ? n : 1) * sizeof(int64_t);
    size_t pb = (size_t)(n + FP_DET_LANES) * sizeof(FP_T); /* block sweeps read up to LANES-1 past the end */
    FP_T *area_r = malloc(tb);
    int64_t *cell = malloc(ib);
    int64_t *hist = calloc(HLEN, sizeof *hist);
    g->x1 = calloc(1, pb); g->y1 = calloc(1, pb); g->x2 = calloc(1, pb); g->y2 = calloc(1, pb);
    g->area = calloc(1, pb); g->pos = malloc(ib); g->rank = malloc(ib);
    if (!area_r || !cell || !hist || !g->x1 || !g->y1 || !g->x2 || !g->y2 || !g->area || !g->pos || !g->rank)
        goto done;

    double minx = INFINITY, miny = INFINITY, maxx = -INFINITY, maxy = -INFINITY;
    int64_t ng = 0;
    for (int64_t r = 0; r < n; r++) {
        FP_T a = FP_NAME(clamped_area)(x1[r], y1[r], x2[r], y2[r]);
        area_r[r] = a;
        if (!(a > 0))
            continue;
        ng++;
        minx = FP_MIN(minx, (double)x1[r]);
        miny = FP_MIN(miny, (double)y1[r]);
        maxx = FP_MAX(maxx, (double)x2[r]);
        maxy = FP_MAX(maxy, (double)y2[r]);
        double m = FP_MAX((double)x2[r] - (double)x1[r], (double)y2[r] - (double)y1[r]);
        int e = ilogb(m); /* INT_MAX for an overflowed (infinite) size */
        int hb = e >= HLEN - HOFF ? HLEN - 1 : (e < -HOFF ? 0 : e + HOFF);
        hist[hb]++;
    }
    g->n_grid = ng;
    int64_t total_cells = 0;
    if (ng > 0) {
        double extx = maxx - minx, exty = maxy - miny, ext = FP_MAX(extx, exty);
        int64_t need = (ng + 3) / 4, cum = 0;
        int e = 0;
        for (int hb = 0; hb < HLEN; hb++) {
            cum += hist[hb];
            if (cum >= need) {
                e = hb - HOFF;
                break;
            }
        }
        double cs = ldexp(1.0, e + 1);
        /* Cells must stay well above the coordinates' rounding error. */
        double scale = FP_MAX(FP_MAX(fabs(minx), fabs(maxx)), FP_MAX(fabs(miny), fabs(maxy)));
        while (cs < scale * 1e-12)
            cs *= 2;
        while ((floor(extx * FP_DET_SUB / cs) + 1) * (floor(exty * FP_DET_SUB / cs) + 1) > 0.5 * (double)ng + 16)
            cs *= 2;
        int top = 0;
        while (top < FP_DET_MAXLEV - 1 && 0.99 * ldexp(cs, top) < ext)
            top++;
        g->nlev = top + 1;
        g->ox = minx;
        g->oy = miny;
        g->max_rows = 0;
        for (int l = 0; l <= top; l++) {
            g->cs[l] = ldexp(cs, l);
            g->inv[l] = FP_DET_SUB / g->cs[l];
            g->gx[l] = l == top ? 1 : (int64_t)floor(extx * g->inv[l]) + 1;
            g->gy[l] = l == top ? 1 : (int64_t)floor(exty * g->inv[l]) + 1;
            g->off[l] = total_cells;
            total_cells += g->gx[l] * g->gy[l];
            g->max_rows += g->gy[l];
        }
        for (int64_t r = 0; r < n; r++) {
            if (!(area_r[r] > 0)) {
                cell[r] = total_cells; /* zero-area tail, after every cell */
                continue;
            }
            double m = FP_MAX((double)x2[r] - (double)x1[r], (double)y2[r] - (double)y1[r]);
            int l = 0;
            while (l < top && m > 0.99 * g->cs[l])
                l++;
            g->cnt[l]++;
            g->margin[l] = FP_MAX(g->margin[l], m);
            int64_t cx = fp_det_cell((double)x1[r] - minx, g->inv[l], g->gx[l]);
            int64_t cy = fp_det_cell((double)y1[r] - miny, g->inv[l], g->gy[l]);
            cell[r] = g->off[l] + cy * g->gx[l] + cx;
        }
        /* The level's largest side plus slack, capped at cs_l: the slack
         * (1% of it plus 1% of cs_l, far above the rounding of the double
         * cell arithmetic since cs >= 1e-12 * |coordinates|) keeps the
         * prune exact while a sparse or capped grid scans no wider than its
         * boxes need. */
        for (int l = 0; l <= top; l++)
            g->margin[l] = FP_MIN(g->cs[l], 1.01 * g->margin[l] + 0.01 * g->cs[l]);
    } else {
        for (int64_t r = 0; r < n; r++)
            cell[r] = 0;
    }

    /* Stable counting sort by cell: a[c] ends up as the start of cell c. */
    int64_t *a = calloc((size_t)total_cells + 3, sizeof *a);
    if (!a)
        goto done;
    for (int64_t r = 0; r < n; r++)
        a[cell[r] + 2]++;
    for (int64_t c = 1; c < total_cells + 3; c++)
        a[c] += a[c - 1];
    for (int64_t r = 0; r < n; r++) {
        int64_t p = a[cell[r] + 1]++;
        g->pos[r] = p;
        g->rank[p] = r;
        g->x1[p] = x1[r];
        g->y1[p] = y1[r];
        g->x2[p] = x2[r];
        g->y2[p] = y2[r];
        g->area[p] = area_r[r];
    }
    g->cell_start = a;
    st = FP_OK;
done:
    free(area_r);
    free(cell);
    free(hist);
    if (st != FP_OK)
        FP_NAME(grid_free)(g);
    return st;
}

/* Layout blocks [ranges[2k], ranges[2k+1]) holding every grid box that can
 * overlap the query box (a superset); returns the number of blocks. */
static int64_t FP_NAME(grid_query)(const FP_NAME(det_grid) *g, FP_T bx1, FP_T by1, FP_T bx2, FP_T by2,
                                   int64_t *ranges)
{
    double u1 = (double)bx1 - g->ox, u2 = (double)bx2 - g->ox;
    double v1 = (double)by1 - g->oy, v2 = (double)by2 - g->oy;
    int64_t k = 0;
    for (int l = 0; l < g->nlev; l++) {
        if (g->cnt[l] == 0)
            continue;
        int64_t gx = g->gx[l], gy = g->gy[l];
        int64_t cx0 = fp_det_cell(u1 - g->margin[l], g->inv[l], gx), cx1 = fp_det_cell(u2, g->inv[l], gx);
        int64_t cy0 = fp_det_cell(v1 - g->margin[l], g->inv[l], gy), cy1 = fp_det_cell(v2, g->inv[l], gy);
        const int64_t *cs = g->cell_start + g->off[l];
        for (int64_t cy = cy0; cy <= cy1; cy++) {
            int64_t a = cs[cy * gx + cx0], b = cs[cy * gx + cx1 + 1];
            if (b > a) {
                ranges[2 * k] = a;
                ranges[2 * k + 1] = b;
                k++;
            }
        }
    }
    return k;
}

/* IoU of box b against n candidates (SoA), in torchvision's arithmetic. */
#define FP_DET_IOU(k)                                                                 \
    FP_T xx1 = x1[k] > bx1 ? x1[k] : bx1, yy1 = y1[k] > by1 ? y1[k] : by1;            \
    FP_T xx2 = x2[k] < bx2 ? x2[k] : bx2, yy2 = y2[k] < by2 ? y2[k] : by2;            \
    FP_T w = xx2 - xx1, h = yy2 - yy1;                                                \
    w = w > 0 ? w : (FP_T)0;                                                          \
    h = h > 0 ? h : (FP_T)0;                                                          \
    FP_T inter = w * h;                                                               \
    FP_T iou = inter / ((barea + area[k]) - inter);

FP_CLONES static void FP_NAME(nms_suppress_block)(FP_T bx1, FP_T by1, FP_T bx2, FP_T by2, FP_T barea,
                                                  const FP_T *FP_RESTRICT x1, const FP_T *FP_RESTRICT y1,
                                                  const FP_T *FP_RESTRICT x2, const FP_T *FP_RESTRICT y2,
                                                  const FP_T *FP_RESTRICT area, FP_NAME(flag) *FP_RESTRICT dead,
                                                  int64_t n, FP_T thr)
{
    int64_t padded = (n + FP_DET_LANES - 1) & ~(int64_t)(FP_DET_LANES - 1);
    #pragma omp simd
    for (int64_t k = 0; k < padded; k++) {
        FP_DET_IOU(k)
        dead[k] |= (FP_NAME(flag))((iou > thr) & (k < n));
    }
}

/* Greedy NMS of n boxes given in descending-score order (SoA, readable up to
 * LANES elements past n). Writes the kept positions (0..n-1, ascending) to
 * keep. Suppression needs no "later than me" test: a box kept earlier has
 * IoU <= thr with the current one (else the current one would be dead), so
 * only undecided boxes die. */
#define FP_DET_SMALL 64
static int FP_NAME(nms_sorted)(const FP_T *x1, const FP_T *y1, const FP_T *x2, const FP_T *y2, int64_t n,
                               FP_T thr, int64_t max_keep, int64_t *keep, int64_t *n_keep)
{
    int64_t k = 0;
    *n_keep = 0;
    if (n == 0 || max_keep == 0)
        return FP_OK;
    if (n <= FP_DET_SMALL) { /* a grid costs more than the n^2/2 tests */
        FP_T area[FP_DET_SMALL + FP_DET_LANES] = {0};
        FP_NAME(flag) dead[FP_DET_SMALL + FP_DET_LANES] = {0};
        for (int64_t i = 0; i < n; i++)
            area[i] = FP_NAME(clamped_area)(x1[i], y1[i], x2[i], y2[i]);
        for (int64_t i = 0; i < n; i++) {
            if (dead[i])
                continue;
            keep[k++] = i;
            if (k == max_keep)
                break;
            if (area[i] > 0)
                FP_NAME(nms_suppress_block)(x1[i], y1[i], x2[i], y2[i], area[i], x1 + i + 1, y1 + i + 1,
                                            x2 + i + 1, y2 + i + 1, area + i + 1, dead + i + 1, n - i - 1, thr);
        }
        *n_keep = k;
        return FP_OK;
    }
    FP_NAME(det_grid) g;
    int st = FP_NAME(grid_build)(&g, x1, y1, x2, y2, n);
    if (st != FP_OK)
        return st;
    FP_NAME(flag) *dead = calloc((size_t)(n + FP_DET_LANES), sizeof *dead);
    int64_t *ranges = malloc((size_t)(2 * g.max_rows + 2) * sizeof *ranges);
    if (!dead || !ranges) {
        st = FP_ERR_NOMEM;
        goto done;
    }
    for (int64_t r = 0; r < n; r++) {
        int64_t p = g.pos[r];
        if (dead[p])
            continue;
        keep[k++] = r;
        if (k == max_keep)
            break;
        if (p >= g.n_grid)
            continue; /* zero area: overlaps nothing */
        FP_T bx1 = g.x1[p], by1 = g.y1[p], bx2 = g.x2[p], by2 = g.y2[p], ba = g.area[p];
        int64_t nr = FP_NAME(grid_query)(&g, bx1, by1, bx2, by2, ranges);
        for (int64_t q = 0; q < nr; q++) {
            int64_t lo = ranges[2 * q], hi = ranges[2 * q + 1];
            FP_NAME(nms_suppress_block)(bx1, by1, bx2, by2, ba, g.x1 + lo, g.y1 + lo, g.x2 + lo, g.y2 + lo,
                                        g.area + lo, dead + lo, hi - lo, thr);
        }
    }
    *n_keep = k;
done:
    free(dead);
    free(ranges);
    FP_NAME(grid_free)(&g);
    return st;
}

/* Candidates (score filter) sorted by descending score, stable: order[0..m). */
static int FP_NAME(sort_candidates)(const FP_T *scores, int64_t n, int mode, double thr, int64_t *order,
                                    int64_t *m_out)
{
    /* mode 0: all; 1: score > thr; 2: score >= thr */
    uint64_t *k0 = malloc((size_t)(n > 0 ? n : 1) * sizeof *k0);
    uint64_t *k1 = malloc((size_t)(n > 0 ? n : 1) * sizeof *k1);
    int64_t *v1 = malloc((size_t)(n > 0 ? n : 1) * sizeof *v1);
    int st = FP_ERR_NOMEM;
    if (!k0 || !k1 || !v1)
        goto done;
    FP_T gt = FP_PASTE3(fp_det_below, _, FP_S)(thr), ge = FP_PASTE3(fp_det_above, _, FP_S)(thr);
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        FP_T s = scores[i];
        if ((mode == 1 && !(s > gt)) || (mode == 2 && !(s >= ge)))
            continue;
        k0[m] = FP_PASTE3(fp_det_desc_key, _, FP_S)(s);
        order[m++] = i;
    }
    st = fp_det_radix_sort(k0, order, k1, v1, m);
    *m_out = m;
done:
    free(k0);
    free(k1);
    free(v1);
    return st;
}

int FP_NAME(batched_nms)(const FP_T *boxes, const FP_T *scores, const int64_t *class_ids, int64_t n_classes,
                         int64_t n, int use_score_thr, double score_thr, double iou_threshold, int64_t max_out,
                         int64_t *out, int64_t *n_out, int n_threads)
{
    *n_out = 0;
    if (n == 0 || max_out == 0)
        return FP_OK;
    if (max_out < 0)
        max_out = n;
    if (!class_ids)
        n_classes = 1;
    FP_T thr = FP_PASTE3(fp_det_below, _, FP_S)(iou_threshold);
    size_t nb = (size_t)n;
    int64_t *order = malloc(nb * sizeof *order), *perm = malloc(nb * sizeof *perm);
    int64_t *keep = malloc(nb * sizeof *keep);
    int64_t *cstart = calloc((size_t)n_classes + 1, sizeof *cstart);
    int64_t *corder = malloc((size_t)n_classes * sizeof *corder);
    uint64_t *ckey = malloc((size_t)n_classes * 2 * sizeof *ckey);
    int64_t *cscratch = malloc((size_t)n_classes * sizeof *cscratch);
    size_t pb = (nb + FP_DET_LANES) * sizeof(FP_T);
    FP_T *sx1 = calloc(1, pb), *sy1 = calloc(1, pb), *sx2 = calloc(1, pb), *sy2 = calloc(1, pb);
    uint8_t *kept = calloc(nb, 1);
    int st = FP_ERR_NOMEM;
    if (!order || !perm || !keep || !cstart || !corder || !ckey || !cscratch || !sx1 || !sy1 || !sx2 || !sy2
        || !kept)
        goto done;
    int64_t m;
    st = FP_NAME(sort_candidates)(scores, n, use_score_thr ? 1 : 0, score_thr, order, &m);
    if (st != FP_OK)
        goto done;

    /* Partition the score-sorted candidates by class, stably (counting sort),
     * so each class's slice is itself in descending-score order. */
    if (n_classes == 1) {
        for (int64_t r = 0; r < m; r++)
            perm[r] = r;
        cstart[1] = m;
    } else {
        for (int64_t r = 0; r < m; r++)
            cstart[class_ids[order[r]] + 1]++;
        for (int64_t c = 0; c < n_classes; c++)
            cstart[c + 1] += cstart[c];
        for (int64_t r = 0; r < m; r++)
            perm[cstart[class_ids[order[r]]]++] = r;
        for (int64_t c = n_classes; c > 0; c--)
            cstart[c] = cstart[c - 1];
        cstart[0] = 0;
    }
    for (int64_t q = 0; q < m; q++) {
        const FP_T *b = boxes + 4 * order[perm[q]];
        sx1[q] = b[0];
        sy1[q] = b[1];
        sx2[q] = b[2];
        sy2[q] = b[3];
    }
    /* Largest classes first, so the dynamic schedule balances the threads. */
    for (int64_t c = 0; c < n_classes; c++) {
        ckey[c] = ~(uint64_t)(cstart[c + 1] - cstart[c]);
        corder[c] = c;
    }
    st = fp_det_radix_sort(ckey, corder, ckey + n_classes, cscratch, n_classes);
    if (st != FP_OK)
        goto done;

    /* Classes run in parallel only when the total is large: a parallel
     * region costs a thread wake-up, which on a loaded machine can take
     * milliseconds, more than a whole small NMS. */
    int nt = n_classes > 1 ? fp_threads_for(m, n_threads) : 1;
    int err = FP_OK;
    #pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (int64_t q = 0; q < n_classes; q++) {
        int64_t c = corder[q], s = cstart[c], len = cstart[c + 1] - cstart[c], nk = 0;
        if (len == 0)
            continue;
        int cst = FP_NAME(nms_sorted)(sx1 + s, sy1 + s, sx2 + s, sy2 + s, len, thr, max_out, keep + s, &nk);
        if (cst != FP_OK) {
            #pragma omp atomic write
            err = cst;
            continue;
        }
        for (int64_t k = 0; k < nk; k++)
            kept[perm[s + keep[s + k]]] = 1;
    }
    st = err;
    if (st != FP_OK)
        goto done;
    /* Merge: kept ranks in rank order = descending score, ties by index. */
    int64_t k = 0;
    for (int64_t r = 0; r < m && k < max_out; r++)
        if (kept[r])
            out[k++] = order[r];
    *n_out = k;
done:
    free(order); free(perm); free(keep); free(cstart); free(corder); free(ckey); free(cscratch);
    free(sx1); free(sy1); free(sx2); free(sy2); free(kept);
    return st;
}

/* ---- Soft-NMS ---- */

FP_CLONES static void FP_NAME(soft_rescore_block)(FP_T bx1, FP_T by1, FP_T bx2, FP_T by2, FP_T barea,
                                                  const FP_T *FP_RESTRICT x1, const FP_T *FP_RESTRICT y1,
                                                  const FP_T *FP_RESTRICT x2, const FP_T *FP_RESTRICT y2,
                                                  const FP_T *FP_RESTRICT area, FP_T *FP_RESTRICT score,
                                                  FP_NAME(flag) *FP_RESTRICT alive, int64_t n, int method, FP_T sigma,
                                                  FP_T nt, FP_T keep_ge)
{
    /* Weights are 1 exactly where IoU is 0 (exp(-0) == 1), so boxes that do
     * not overlap keep their score bit for bit; dead boxes are rescored too
     * (branch-free) but can never be picked again. Lanes past n leave score
     * and alive as they were. */
#define FP_DET_RESCORE(k, weight)                                            \
    {                                                                        \
        FP_DET_IOU(k)                                                        \
        FP_T s0 = score[k], s = k < n ? s0 * (weight) : s0;                  \
        score[k] = s;                                                        \
        alive[k] &= (FP_NAME(flag))(s >= keep_ge);                           \
    }
    int64_t padded = (n + FP_DET_LANES - 1) & ~(int64_t)(FP_DET_LANES - 1);
    if (method == FP_SOFT_NMS_GAUSSIAN) {
        #pragma omp simd
        for (int64_t k = 0; k < padded; k++)
            FP_DET_RESCORE(k, fp_exp(-(iou * iou) / sigma))
    } else {
        #pragma omp simd
        for (int64_t k = 0; k < padded; k++)
            FP_DET_RESCORE(k, iou > nt ? (FP_T)1 - iou : (FP_T)1)
    }
#undef FP_DET_RESCORE
}

/* Max "tournament" tree over layout positions, the winner's key copied into
 * every node (score ts, original index to, layout position tl) so a node is
 * recomputed from its two adjacent children without chasing indices. Best =
 * higher score, then lower original index; dead leaves hold -inf (live
 * scores are finite).
 *
 * The tree is lazy: rescoring only lowers scores and does not touch the
 * tree, so leaf keys are upper bounds of the current scores. When the root's
 * winner is stale (its score went down, or it died) its leaf is refreshed
 * and the root recomputed; once the root's winner is fresh it is the true
 * maximum, since every other box's current key is <= its stored key <= the
 * root's. Only boxes that surface at the root pay the O(log n) update, not
 * every rescored box. */
typedef struct {
    FP_T *ts;
    int64_t *to, *tl;
    int64_t P;
} FP_NAME(soft_tree);

static inline void FP_NAME(soft_node)(FP_NAME(soft_tree) *t, int64_t v)
{
    int64_t a = 2 * v, b = a + 1;
    int64_t c = (t->ts[b] > t->ts[a] || (t->ts[b] == t->ts[a] && t->to[b] < t->to[a])) ? b : a;
    t->ts[v] = t->ts[c];
    t->to[v] = t->to[c];
    t->tl[v] = t->tl[c];
}

/* Leaf p gets key (score, alive); recompute its whole path to the root. */
static void FP_NAME(soft_tree_set)(FP_NAME(soft_tree) *t, int64_t p, FP_T score, int64_t alive)
{
    t->ts[t->P + p] = alive ? score : (FP_T)-INFINITY;
    for (int64_t v = (t->P + p) >> 1; v >= 1; v >>= 1)
        FP_NAME(soft_node)(t, v);
}

int FP_NAME(soft_nms)(const FP_T *boxes, const FP_T *scores, int64_t n, int method, double sigma,
                      double iou_threshold, double score_thr, int64_t max_out, int64_t *out_index,
                      FP_T *out_score, int64_t *n_out)
{
    *n_out = 0;
    if (n == 0 || max_out == 0)
        return FP_OK;
    if (max_out < 0)
        max_out = n;
    size_t nb = (size_t)n;
    int64_t *order = malloc(nb * sizeof *order);
    FP_T *sx1 = malloc(nb * sizeof *sx1), *sy1 = malloc(nb * sizeof *sy1);
    FP_T *sx2 = malloc(nb * sizeof *sx2), *sy2 = malloc(nb * sizeof *sy2);
    FP_T *ls = calloc(nb + FP_DET_LANES, sizeof *ls);
    int64_t *orig = malloc(nb * sizeof *orig), *ranges = NULL;
    FP_NAME(soft_tree) tr = {NULL, NULL, NULL, 0};
    FP_NAME(flag) *alive = calloc(nb + FP_DET_LANES, sizeof *alive);
    FP_NAME(det_grid) g;
    memset(&g, 0, sizeof g);
    int st = FP_ERR_NOMEM;
    if (!order || !sx1 || !sy1 || !sx2 || !sy2 || !ls || !orig || !alive)
        goto done;
    int64_t m;
    st = FP_NAME(sort_candidates)(scores, n, 2, score_thr, order, &m);
    if (st != FP_OK || m == 0)
        goto done;
    for (int64_t r = 0; r < m; r++) {
        const FP_T *b = boxes + 4 * order[r];
        sx1[r] = b[0];
        sy1[r] = b[1];
        sx2[r] = b[2];
        sy2[r] = b[3];
    }
    st = FP_NAME(grid_build)(&g, sx1, sy1, sx2, sy2, m);
    if (st != FP_OK)
        goto done;
    st = FP_ERR_NOMEM;
    int64_t P = 1;
    while (P < m)
        P <<= 1;
    tr.P = P;
    tr.ts = malloc((size_t)(2 * P) * sizeof *tr.ts);
    tr.to = malloc((size_t)(2 * P) * sizeof *tr.to);
    tr.tl = malloc((size_t)(2 * P) * sizeof *tr.tl);
    ranges = malloc((size_t)(2 * g.max_rows + 2) * sizeof *ranges);
    if (!tr.ts || !tr.to || !tr.tl || !ranges)
        goto done;
    for (int64_t p = 0; p < m; p++) {
        orig[p] = order[g.rank[p]];
        ls[p] = scores[orig[p]];
        alive[p] = 1;
    }
    for (int64_t p = 0; p < P; p++) {
        tr.ts[P + p] = p < m ? ls[p] : (FP_T)-INFINITY;
        tr.to[P + p] = p < m ? orig[p] : INT64_MAX;
        tr.tl[P + p] = p;
    }
    for (int64_t v = P - 1; v >= 1; v--)
        FP_NAME(soft_node)(&tr, v);

    FP_T keep_ge = FP_PASTE3(fp_det_above, _, FP_S)(score_thr);
    FP_T nt = FP_PASTE3(fp_det_below, _, FP_S)(iou_threshold);
    FP_T sg = (FP_T)sigma;
    int64_t k = 0;
    while (k < max_out) {
        if (tr.ts[1] == -INFINITY)
            break;
        int64_t b = tr.tl[1];
        if (!alive[b] || tr.ts[1] != ls[b]) { /* stale: refresh and look again */
            FP_NAME(soft_tree_set)(&tr, b, ls[b], alive[b]);
            continue;
        }
        out_index[k] = orig[b];
        out_score[k] = ls[b];
        k++;
        alive[b] = 0;
        FP_NAME(soft_tree_set)(&tr, b, ls[b], 0);
        if (b >= g.n_grid)
            continue; /* zero area: overlaps nothing, rescales nothing */
        FP_T bx1 = g.x1[b], by1 = g.y1[b], bx2 = g.x2[b], by2 = g.y2[b], ba = g.area[b];
        int64_t nr = FP_NAME(grid_query)(&g, bx1, by1, bx2, by2, ranges);
        for (int64_t q = 0; q < nr; q++) {
            int64_t lo = ranges[2 * q], hi = ranges[2 * q + 1];
            FP_NAME(soft_rescore_block)(bx1, by1, bx2, by2, ba, g.x1 + lo, g.y1 + lo, g.x2 + lo, g.y2 + lo,
                                        g.area + lo, ls + lo, alive + lo, hi - lo, method, sg, nt, keep_ge);
        }
    }
    *n_out = k;
    st = FP_OK;
done:
    free(order); free(sx1); free(sy1); free(sx2); free(sy2); free(ls); free(orig); free(alive);
    free(tr.ts); free(tr.to); free(tr.tl); free(ranges);
    FP_NAME(grid_free)(&g);
    return st;
}

/* ---- box_iou / box_area / box_convert ---- */

FP_CLONES static void FP_NAME(box_iou_row)(FP_T bx1, FP_T by1, FP_T bx2, FP_T by2, FP_T barea,
                                           const FP_T *FP_RESTRICT x1, const FP_T *FP_RESTRICT y1,
                                           const FP_T *FP_RESTRICT x2, const FP_T *FP_RESTRICT y2,
                                           const FP_T *FP_RESTRICT area, FP_T *FP_RESTRICT out, int64_t m)
{
    for (int64_t k = 0; k < m; k++) {
        /* NaN coordinates make an area NaN, hence the union and the IoU NaN
         * (as torchvision); both areas 0 (union 0) is defined as IoU 0. */
        FP_DET_IOU(k)
        FP_T uni = (barea + area[k]) - inter;
        out[k] = uni == 0 ? (FP_T)0 : iou;
    }
}

int FP_NAME(box_iou)(const FP_T *boxes1, int64_t n, const FP_T *boxes2, int64_t m, FP_T *out, int n_threads)
{
    if (n == 0 || m == 0)
        return FP_OK;
    size_t mb = (size_t)m * sizeof(FP_T);
    FP_T *x1 = malloc(mb), *y1 = malloc(mb), *x2 = malloc(mb), *y2 = malloc(mb), *area = malloc(mb);
    int st = FP_ERR_NOMEM;
    if (!x1 || !y1 || !x2 || !y2 || !area)
        goto done;
    for (int64_t j = 0; j < m; j++) {
        const FP_T *b = boxes2 + 4 * j;
        x1[j] = b[0];
        y1[j] = b[1];
        x2[j] = b[2];
        y2[j] = b[3];
        area[j] = FP_NAME(clamped_area)(b[0], b[1], b[2], b[3]);
    }
    int nt = fp_threads_for(n * m, n_threads);
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        const FP_T *b = boxes1 + 4 * i;
        FP_NAME(box_iou_row)(b[0], b[1], b[2], b[3], FP_NAME(clamped_area)(b[0], b[1], b[2], b[3]), x1, y1, x2,
                             y2, area, out + i * m, m);
    }
    st = FP_OK;
done:
    free(x1); free(y1); free(x2); free(y2); free(area);
    return st;
}

int FP_NAME(box_area)(const FP_T *boxes, int64_t n, FP_T *out, int n_threads)
{
    int nt = fp_threads_for(4 * n, n_threads);
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        const FP_T *b = boxes + 4 * i;
        out[i] = FP_NAME(clamped_area)(b[0], b[1], b[2], b[3]);
    }
    return FP_OK;
}

int FP_NAME(box_convert)(const FP_T *boxes, int64_t n, int in_fmt, int out_fmt, FP_T *out, int n_threads)
{
    /* Through xyxy, in torchvision's arithmetic (its box_convert does the same). */
    int nt = fp_threads_for(4 * n, n_threads);
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        const FP_T *b = boxes + 4 * i;
        FP_T *o = out + 4 * i;
        FP_T x1, y1, x2, y2;
        if (in_fmt == FP_BOX_XYWH) {
            x1 = b[0]; y1 = b[1]; x2 = b[0] + b[2]; y2 = b[1] + b[3];
        } else if (in_fmt == FP_BOX_CXCYWH) {
            x1 = b[0] - (FP_T)0.5 * b[2]; y1 = b[1] - (FP_T)0.5 * b[3];
            x2 = b[0] + (FP_T)0.5 * b[2]; y2 = b[1] + (FP_T)0.5 * b[3];
        } else {
            x1 = b[0]; y1 = b[1]; x2 = b[2]; y2 = b[3];
        }
        if (out_fmt == FP_BOX_XYWH) {
            o[0] = x1; o[1] = y1; o[2] = x2 - x1; o[3] = y2 - y1;
        } else if (out_fmt == FP_BOX_CXCYWH) {
            o[0] = (x1 + x2) / 2; o[1] = (y1 + y2) / 2; o[2] = x2 - x1; o[3] = y2 - y1;
        } else {
            o[0] = x1; o[1] = y1; o[2] = x2; o[3] = y2;
        }
    }
    return FP_OK;
}

#undef FP_DET_IOU
#undef FP_DET_SMALL
#undef FP_DET_MAXLEV
#undef FP_DET_SUB
#undef FP_DET_LANES
