/*
 * fwd_kern.h: the forward kernel template. Included once per dtype by each
 * SIMD level's file (kern_fwd_portable.c, kern_fwd_avx2.c,
 * kern_fwd_avx512.c), which first defines:
 *
 *   FW(x)      the name x for this level and dtype
 *   real       float or double; REAL_MAX its largest finite value
 *   V, VL      the vector type and its lane count
 *   VI         the integer vector of the same width (lanes as wide as real)
 *   R, NV      the micro-kernels' register block: R rows x NV vectors
 *   VLOADU VSTOREU VSET1 VZERO VADD VSUB VMUL VDIV VMAX VFMA (a b + c)
 *   VHMAX VHSUM (horizontal max and sum, a fixed order: deterministic)
 *   VLT(a, b)  a bitmask of the lanes where a < b
 *   VULO(x)    a lower bound of u for VL keys from their x words: u >= VULO
 *   VCASTI VCASTF (bit casts), VIADD VISUB VISRL VISLL VISET1 (lane ints)
 *   VSCALEF(p, n) optional: p 2^n rounded once (AVX-512's vscalef)
 *   EXP_*      the dtype's exp constants (below)
 *
 * Everything a row computes depends only on the row, the tile sizes and
 * the level, never on the thread that runs it: results are bit-identical
 * for any thread count.
 */

/* ------------------------------------------------------------------------ */
/* exp                                                                      */
/* ------------------------------------------------------------------------ */

#if FW_DOUBLE
#define EXP_LO    (-760.0)
#define EXP_LOG2E 1.4426950408889634074
#define EXP_MAGIC 6755399441055744.0         /* 1.5 2^52 */
#define EXP_LN2HI 6.93147180369123816490e-01 /* 32 significant bits */
#define EXP_LN2LO 1.90821492927058770002e-10
#define EXP_DEG   13
#define EXP_OFF   1024
#define EXP_BIAS  1023
#define EXP_MANT  52
#else
#define EXP_LO    (-110.0f)
#define EXP_LOG2E 1.44269504088896341f
#define EXP_MAGIC 12582912.0f  /* 1.5 2^23 */
#define EXP_LN2HI 0.693359375f /* 9 significant bits */
#define EXP_LN2LO (-2.12194440e-4f)
#define EXP_DEG   7
#define EXP_OFF   128
#define EXP_BIAS  127
#define EXP_MANT  23
#endif

/* 1/k!, k = 0 .. 13 (a float kernel uses the first 8). */
#define EXP_C FW(exp_c)
static const real FW(exp_c)[14] = {
    (real)1.0,
    (real)1.0,
    (real)(1.0 / 2),
    (real)(1.0 / 6),
    (real)(1.0 / 24),
    (real)(1.0 / 120),
    (real)(1.0 / 720),
    (real)(1.0 / 5040),
    (real)(1.0 / 40320),
    (real)(1.0 / 362880),
    (real)(1.0 / 3628800),
    (real)(1.0 / 39916800),
    (real)(1.0 / 479001600),
    (real)(1.0 / 6227020800.0),
};

/* exp(x) for x <= 0 (and up to about 88 for float, 709 for double):
 * x = n ln2 + r with |r| <= ln2/2 (n by the round-to-nearest magic
 * constant, ln2 split in two so that n ln2hi is exact), exp(r) by its
 * Taylor polynomial (degree 7 for float: truncation below 0.1 ulp; degree
 * 13 for double: below 0.05 ulp), then times 2^n in two steps
 * 2^n1 2^n2 (n1 + n2 = n, both normal), so that results in the subnormal
 * range round once, as glibc's do, and -inf (a masked logit) gives 0.
 * x is clamped below at EXP_LO, where the result is 0 anyway. */
static inline V FW(vexp)(V x)
{
    /* max returns its second operand when one is NaN: a NaN logit (0 * inf
     * at scale 0 when Q . K overflows) stays NaN and is reported as
     * SUS_ERR_RANGE, not read as a weight of 0 (found by fuzz/) */
    x = VMAX(VSET1(EXP_LO), x);
    V t = VFMA(x, VSET1(EXP_LOG2E), VSET1(EXP_MAGIC));
    V nf = VSUB(t, VSET1(EXP_MAGIC));
    V r = VFMA(nf, VSET1(-EXP_LN2HI), x);
    r = VFMA(nf, VSET1(-EXP_LN2LO), r);
    V p = VSET1(EXP_C[EXP_DEG]);
    for (int k = EXP_DEG - 1; k >= 0; k--)
        p = VFMA(p, r, VSET1(EXP_C[k]));
#ifdef VSCALEF
    /* One instruction that rounds p 2^n once, subnormals included: the
     * same value as the two steps below (tests/test_fast_exp.c compares
     * them on every float whose exp is near the subnormals), in place of
     * nine integer and two multiply operations. */
    return VSCALEF(p, nf);
#else
    VI n = VISUB(VCASTI(t), VCASTI(VSET1(EXP_MAGIC)));
    /* n1 = floor((n + 2 OFF) / 2) - OFF with n + 2 OFF > 0, so a logical
     * shift does it. */
    VI n1 = VISUB(VISRL(VIADD(n, VISET1(2 * EXP_OFF)), 1), VISET1(EXP_OFF));
    VI n2 = VISUB(n, n1);
    V s1 = VCASTF(VISLL(VIADD(n1, VISET1(EXP_BIAS)), EXP_MANT));
    V s2 = VCASTF(VISLL(VIADD(n2, VISET1(EXP_BIAS)), EXP_MANT));
    return VMUL(VMUL(p, s1), s2);
#endif
}

static inline real FW(sexp)(real x)
{
    real out[VL];
    VSTOREU(out, FW(vexp)(VSET1(x)));
    return out[0];
}

/* vexp on n values, for the tests: the forward's own exp, not a copy. */
void FW(exp_n)(const real *x, real *y, int64_t n);

void FW(exp_n)(const real *x, real *y, int64_t n)
{
    int64_t t = 0;
    for (; t + VL <= n; t += VL)
        VSTOREU(y + t, FW(vexp)(VLOADU(x + t)));
    for (; t < n; t++)
        y[t] = FW(sexp)(x[t]);
}

/* ------------------------------------------------------------------------ */
/* Micro-kernels                                                            */
/* ------------------------------------------------------------------------ */

#define PW (NV * VL) /* keys per packed K panel */

/* S[r][0, PW) = scale * Q_r . K_j for the R rows qr[] and one packed panel
 * kp[d][PW] (K transposed): R x NV accumulators stay in registers, each
 * step loads NV vectors of K and broadcasts R elements of Q. */
static inline void FW(s_panel)(const real *const *qr, const real *kp, int64_t d,
                               real scale, real *s, int64_t ss)
{
    V acc[R][NV];
    for (int r = 0; r < R; r++)
        for (int v = 0; v < NV; v++)
            acc[r][v] = VZERO;
    for (int64_t k = 0; k < d; k++) {
        V b[NV];
        for (int v = 0; v < NV; v++)
            b[v] = VLOADU(kp + k * PW + v * VL);
        for (int r = 0; r < R; r++) {
            V a = VSET1(qr[r][k]);
            for (int v = 0; v < NV; v++)
                acc[r][v] = VFMA(a, b[v], acc[r][v]);
        }
    }
    V sc = VSET1(scale);
    for (int r = 0; r < R; r++)
        for (int v = 0; v < NV; v++)
            VSTOREU(s + r * ss + v * VL, VMUL(acc[r][v], sc));
}

/* O_r = alpha_r O_r + sum_j P[r][j] V_j for R rows over nk keys: the
 * columns in chunks of NV vectors held in registers through the key loop
 * (vp[nk][ldv], oacc[R][ldv], ldv a multiple of VL). */
static inline void FW(pv)(const real *p, int64_t ps, int64_t nk, const real *vp,
                          int64_t ldv, const real *alpha, real *oacc)
{
    int64_t c0 = 0;
    for (; c0 + PW <= ldv; c0 += PW) {
        V acc[R][NV];
        for (int r = 0; r < R; r++) {
            V al = VSET1(alpha[r]);
            for (int v = 0; v < NV; v++)
                acc[r][v] = VMUL(VLOADU(oacc + r * ldv + c0 + v * VL), al);
        }
        for (int64_t j = 0; j < nk; j++) {
            V b[NV];
            for (int v = 0; v < NV; v++)
                b[v] = VLOADU(vp + j * ldv + c0 + v * VL);
            for (int r = 0; r < R; r++) {
                V a = VSET1(p[r * ps + j]);
                for (int v = 0; v < NV; v++)
                    acc[r][v] = VFMA(a, b[v], acc[r][v]);
            }
        }
        for (int r = 0; r < R; r++)
            for (int v = 0; v < NV; v++)
                VSTOREU(oacc + r * ldv + c0 + v * VL, acc[r][v]);
    }
    for (; c0 < ldv; c0 += VL) {
        V acc[R];
        for (int r = 0; r < R; r++)
            acc[r] = VMUL(VLOADU(oacc + r * ldv + c0), VSET1(alpha[r]));
        for (int64_t j = 0; j < nk; j++) {
            V b = VLOADU(vp + j * ldv + c0);
            for (int r = 0; r < R; r++)
                acc[r] = VFMA(VSET1(p[r * ps + j]), b, acc[r]);
        }
        for (int r = 0; r < R; r++)
            VSTOREU(oacc + r * ldv + c0, acc[r]);
    }
}

/* ------------------------------------------------------------------------ */
/* The task: one query block of one head                                    */
/* ------------------------------------------------------------------------ */

static inline int64_t FW(round_up)(int64_t x, int64_t to)
{
    return (x + to - 1) / to * to;
}

/* The candidate lists of a block's rows: row r's held entries are
 * [r cap, r cap + cnt[r]) of j (key), x and y (its Philox words, from
 * which u is exact: fwd.h), s (the logit S in the dtype) and p (P =
 * exp(S - m) for the row's current running max m: a prune reuses it while
 * m stays, which after the first blocks of a row is the common case). */
#ifdef FW_LIST
typedef FW_LIST FW(list); /* the level's own, with its FW_KEEP_* */
#else
typedef struct FW(list) {
    int64_t *j;
    uint32_t *x, *y;
    real *s, *p;
} FW(list);
#endif

typedef struct FW(cands) {
    FW(list) all; /* row 0's lists; row r's start r cap entries later */
    size_t cap;
} FW(cands);

static void FW(cands_view)(FW(cands) * cv, void *base, int64_t rows, size_t cap)
{
    size_t e = (size_t)rows * cap;
    cv->cap = cap;
    cv->all.j = base;
    cv->all.x = (uint32_t *)(cv->all.j + e);
    cv->all.y = cv->all.x + e;
    cv->all.s = (real *)(cv->all.y + e);
    cv->all.p = cv->all.s + e;
}

static FW(list) FW(row_list)(const FW(cands) * cv, int64_t r)
{
    size_t o = (size_t)r * cv->cap;
    FW(list)
    L = {cv->all.j + o, cv->all.x + o, cv->all.y + o, cv->all.s + o, cv->all.p + o};
    return L;
}

/* Room for need entries in every row, moving the rows' held entries to the
 * wider stride (lists are per row, so a new capacity moves each row). The
 * old lists sit in one of the thread's two candidate slots; the new ones
 * go in the other. The sizes: cand_buf.h (proved). */
static int FW(cands_reserve)(sus_fw_thread *th, FW(cands) * cv, int64_t rows,
                             const int64_t *cnt, size_t need)
{
    if (need <= cv->cap)
        return 0;
    size_t bytes;
    const size_t cap = sus_fw_cand_cap(
        cv->cap, need, (size_t)rows,
        sizeof(int64_t) + 2 * sizeof(uint32_t) + 2 * sizeof(real), &bytes);
    if (!cap)
        return -1;
    FW(cands) old = *cv;
    sus_fw_pp *pp = &th->cand;
    int other = 1 - pp->cur;
    void *p = sus_fi_thread_scratch(th->ctx, th->tid, pp->slot[other], bytes);
    if (!p)
        return -1;
    pp->p = p;
    pp->cap = bytes;
    pp->cur = other;
    FW(cands_view)(cv, p, rows, cap);
    th->cand_cap = cap;
    if (old.cap)
        for (int64_t r = 0; r < rows; r++) {
            FW(list) o = FW(row_list)(&old, r), n = FW(row_list)(cv, r);
            size_t k = (size_t)cnt[r];
            memcpy(n.j, o.j, k * sizeof(int64_t));
            memcpy(n.x, o.x, k * sizeof(uint32_t));
            memcpy(n.y, o.y, k * sizeof(uint32_t));
            memcpy(n.s, o.s, k * sizeof(real));
            memcpy(n.p, o.p, k * sizeof(real));
        }
    return 0;
}

/* The threshold T of the candidate tests: key j is a candidate iff
 * u_lo T < P_j, i.e. u_lo < c (1 + gamma) exp(S_j - m) / l, with u_lo
 * (VULO) a lower bound of u. Computed in double and clamped to the dtype's
 * range: a clamped T only ever means c (1 + gamma) / l < 1/REAL_MAX, where
 * no u >= 2^-27 can be kept and u_lo = 0 still passes (0 < P iff P > 0). */
static inline real FW(threshold)(const sus_fw_args *a, real l)
{
    double t = (double)l / a->c_gamma;
    return t > (double)REAL_MAX ? REAL_MAX : (real)t;
}

/* Packs key block blk of head bh: K transposed into panels kt[npan][d][PW]
 * (zero past the block's keys) and V into vp[nk][ldv] (rows padded with
 * zeros), once per head for every task of the head. */
void FW(pack)(const sus_fw_args *a, int64_t bh, int64_t blk, void *ktv, void *vpv);

void FW(pack)(const sus_fw_args *a, int64_t bh, int64_t blk, void *ktv, void *vpv)
{
    const int64_t m = a->m, d = a->d, dv = a->dv, kb0 = blk * a->bk;
    const int64_t nk = a->bk < m - kb0 ? a->bk : m - kb0;
    const int64_t npan = (nk + PW - 1) / PW, ldv = FW(round_up)(dv, VL);
    const real *K = (const real *)a->k + (bh * m + kb0) * d;
    const real *Vv = (const real *)a->v + (bh * m + kb0) * dv;
    real *kt = ktv, *vp = vpv;
    for (int64_t pn = 0; pn < npan; pn++) {
        real *kp = kt + pn * d * PW;
        for (int64_t jj = 0; jj < PW; jj++) {
            int64_t j = pn * PW + jj;
            for (int64_t t = 0; t < d; t++)
                kp[t * PW + jj] = j < nk ? K[j * d + t] : 0;
        }
    }
    for (int64_t j = 0; j < nk; j++) {
        real *dst = vp + j * ldv;
        for (int64_t t = 0; t < dv; t++)
            dst[t] = Vv[j * dv + t];
        for (int64_t t = dv; t < ldv; t++)
            dst[t] = 0;
    }
}

/* Moving the entries a VL-lane mask selects, in lane order, to position
 * `at` of a row's lists; both return at + the number moved. keep_list
 * takes them from the lists themselves at t0 >= at (a prune compacts in
 * place), keep_block from a block's keys jb + lane with their words,
 * logits and P. A level with a register compress (AVX-512) defines both
 * without branches on the mask (FW_KEEP_LIST, FW_KEEP_BLOCK): they store
 * whole vectors, so the lists need VL entries of room past the last one
 * (FW_KEEP_PAD), and they read whole vectors at t0. */
#ifdef FW_KEEP_LIST
#define FW_KEEP_PAD VL
#else
#define FW_KEEP_PAD   0
static inline int64_t FW(keep_list)(const FW(list) * L, int64_t at, int64_t t0,
                                    unsigned mk)
{
    while (mk) {
        int64_t t = t0 + __builtin_ctz(mk);
        mk &= mk - 1;
        L->j[at] = L->j[t];
        L->x[at] = L->x[t];
        L->y[at] = L->y[t];
        L->s[at] = L->s[t];
        L->p[at] = L->p[t];
        at++;
    }
    return at;
}
#define FW_KEEP_LIST  FW(keep_list)

static inline int64_t FW(keep_block)(const FW(list) * L, int64_t at, int64_t jb,
                                     const uint32_t *xs, const uint32_t *ys,
                                     const real *ss, const real *ps, unsigned mk)
{
    while (mk) {
        int t = __builtin_ctz(mk);
        mk &= mk - 1;
        L->j[at] = jb + t;
        L->x[at] = xs[t];
        L->y[at] = ys[t];
        L->s[at] = ss[t];
        L->p[at] = ps[t];
        at++;
    }
    return at;
}
#define FW_KEEP_BLOCK FW(keep_block)
#endif

/* Prunes one row's held candidates [0, held) against the running
 * normalizer (vT its threshold), keeping their order; returns the new
 * count. If the running max changed (newmax), each held P is recomputed
 * as exp(S - vm) first, the same value the block's own keys got, so a
 * candidate's test never depends on when it was inserted. VL candidates
 * at a time; a partial last chunk is padded with entries that fail
 * (P = 0, u_lo = 0). */
static int64_t FW(prune)(const FW(list) * L, int64_t held, V vT, V vm, int newmax,
                         real *tp, uint32_t *tx)
{
    if (newmax)
        for (int64_t t0 = 0; t0 < held; t0 += VL) {
            if (held - t0 >= VL) {
                VSTOREU(L->p + t0, FW(vexp)(VSUB(VLOADU(L->s + t0), vm)));
            } else {
                for (int64_t t = t0; t < held; t++)
                    tp[t - t0] = L->s[t];
                VSTOREU(tp, FW(vexp)(VSUB(VLOADU(tp), vm)));
                for (int64_t t = t0; t < held; t++)
                    L->p[t] = tp[t - t0];
            }
        }
    int64_t kept = 0;
    for (int64_t t0 = 0; t0 < held; t0 += VL) {
        int64_t tn = held - t0 < VL ? held - t0 : VL;
        const real *pp = L->p + t0;
        const uint32_t *xp = L->x + t0;
        if (tn < VL) {
            for (int64_t t = 0; t < VL; t++) {
                tp[t] = t < tn ? pp[t] : 0;
                tx[t] = t < tn ? xp[t] : 0;
            }
            pp = tp;
            xp = tx;
        }
        unsigned mk = VLT(VMUL(VULO(xp), vT), VLOADU(pp));
        kept = FW_KEEP_LIST(L, kept, t0, mk);
    }
    return kept;
}

int FW(task)(const sus_fw_args *a, sus_fw_thread *th, int64_t task,
             sus_fw_task_out *out);

int FW(task)(const sus_fw_args *a, sus_fw_thread *th, int64_t task,
             sus_fw_task_out *out)
{
    const int64_t n = a->n, m = a->m, d = a->d, dv = a->dv;
    const int64_t bh = task / a->nqb, qb = task % a->nqb;
    const int64_t i0 = qb * a->bq;
    const int64_t nq = a->bq < n - i0 ? a->bq : n - i0;
    const int64_t bk = a->bk;
    const int64_t bkp = FW(round_up)(bk, PW);
    const int64_t ldv = FW(round_up)(dv, VL);
    const int64_t nqp = FW(round_up)(nq, R);
    const int mode = a->mode;
    const uint32_t hb = (uint32_t)(bh % a->H), bb = (uint32_t)(bh / a->H);
    const real scale = (real)a->scale;

    const real *Q = (const real *)a->q + (bh * n + i0) * d;
    const real *KT = (const real *)a->kt + (size_t)(bh - a->bh0) * a->kt_head;
    const real *VP = (const real *)a->vp + (size_t)(bh - a->bh0) * a->vp_head;
    real *O = (real *)a->o + (bh * n + i0) * dv;
    real *LSE = (real *)a->lse + bh * n + i0;

    out->tid = th->tid;
    out->arena_off = th->arena_len;
    out->candidates = 0;
    out->max_in_flight = 0;
    out->range = 0;

    /* The workspace, carved in 64-byte pieces: the S and P tiles of one
     * row group, O accumulators, the running max and sum, candidate
     * counts, the Philox words of a block, a zero row for padding rows of
     * Q, and room for one padded chunk of candidates. */
    size_t xw = (size_t)bkp + 2 * 64;
    size_t sizes[] = {
        (size_t)R * (size_t)bkp * sizeof(real),         /* s */
        (size_t)R * (size_t)bkp * sizeof(real),         /* p */
        (size_t)nqp * (size_t)ldv * sizeof(real),       /* oacc */
        (size_t)nqp * sizeof(real),                     /* mrow */
        (size_t)nqp * sizeof(real),                     /* lrow */
        (size_t)nqp * sizeof(int64_t),                  /* cnt */
        xw * sizeof(uint32_t),                          /* xb */
        xw * sizeof(uint32_t),                          /* yb */
        (size_t)d * sizeof(real),                       /* zrow */
        (size_t)VL * sizeof(real),                      /* ts */
        (size_t)VL * sizeof(uint32_t),                  /* tx */
        (size_t)bkp / VL * sizeof(unsigned),            /* mb */
        ((size_t)bkp / VL / 64 + 1) * sizeof(uint64_t), /* nzw */
    };
    enum { NS = sizeof sizes / sizeof sizes[0] };
    size_t offs[NS], total = 0;
    for (int t = 0; t < NS; t++) {
        offs[t] = total;
        total += (sizes[t] + 63) / 64 * 64;
    }
    char *ws = sus_fi_thread_scratch(th->ctx, th->tid, SUS_FI_SLOT_FWD0, total);
    if (!ws)
        return -1;
    real *sb = (real *)(ws + offs[0]);
    real *pb = (real *)(ws + offs[1]);
    real *oacc = (real *)(ws + offs[2]);
    real *mrow = (real *)(ws + offs[3]);
    real *lrow = (real *)(ws + offs[4]);
    int64_t *cnt = (int64_t *)(ws + offs[5]);
    uint32_t *xb = (uint32_t *)(ws + offs[6]);
    uint32_t *yb = (uint32_t *)(ws + offs[7]);
    real *zrow = (real *)(ws + offs[8]);
    real *ts = (real *)(ws + offs[9]);
    uint32_t *tx = (uint32_t *)(ws + offs[10]);
    unsigned *mb = (unsigned *)(ws + offs[11]);
    uint64_t *nzw = (uint64_t *)(ws + offs[12]);

    for (int64_t t = 0; t < d; t++)
        zrow[t] = 0;
    for (int64_t t = 0; t < nqp * ldv; t++)
        oacc[t] = 0;
    for (int64_t r = 0; r < nqp; r++) {
        mrow[r] = -(real)INFINITY;
        lrow[r] = 0;
        cnt[r] = 0;
    }

    FW(cands) cv = {0};
    if (mode != SUS_FW_NONE) {
        size_t cap0 = th->cand_cap;
        if (cap0 < (size_t)bk + 64)
            cap0 = (size_t)bk + 64;
        if (FW(cands_reserve)(th, &cv, nq, cnt, cap0))
            return -1;
    }

    /* Causal: the block's last row sees keys [0, i0 + nq). */
    const int64_t kend = a->causal ? (m < i0 + nq ? m : i0 + nq) : m;
    for (int64_t kb0 = 0, blk = 0; kb0 < kend; kb0 += bk, blk++) {
        const int64_t nk = bk < kend - kb0 ? bk : kend - kb0;
        const real *kt = KT + (size_t)blk * (size_t)(bkp * d);
        const real *vp = VP + (size_t)kb0 * (size_t)ldv;

        for (int64_t rg = 0; rg < nq; rg += R) {
            const int64_t nr = R < nq - rg ? R : nq - rg;
            /* The group's keys: causal rows stop at their own index. */
            int64_t nkg = nk;
            if (a->causal) {
                int64_t lim = i0 + rg + nr - kb0; /* keys <= last row */
                if (lim < nkg)
                    nkg = lim;
            }
            if (nkg <= 0)
                continue; /* no row of the group sees this block */
            const real *qr[R];
            for (int r = 0; r < R; r++)
                qr[r] = r < nr ? Q + (rg + r) * d : zrow;
            const int64_t npg = (nkg + PW - 1) / PW;
            for (int64_t pn = 0; pn < npg; pn++)
                FW(s_panel)(qr, kt + pn * d * PW, d, scale, sb + pn * PW, bkp);

            real alpha[R];
            for (int r = 0; r < R; r++) {
                real *S = sb + r * bkp, *P = pb + r * bkp;
                alpha[r] = 1;
                const int64_t gi = i0 + rg + r;
                int64_t nkr = nk;
#if SUS_MUTANT == 1 /* planted bug for fuzz/: causal limit off by one */
                if (a->causal && gi + 2 - kb0 < nkr)
                    nkr = gi + 2 - kb0;
#else
                if (a->causal && gi + 1 - kb0 < nkr)
                    nkr = gi + 1 - kb0;
#endif
                if (r >= nr || nkr <= 0) {
                    for (int64_t j = 0; j < nkg; j++)
                        P[j] = 0;
                    continue;
                }
                const int64_t nkv = FW(round_up)(nkr, VL);
                for (int64_t j = nkr; j < nkv; j++)
                    S[j] = -(real)INFINITY;

                /* Online softmax: the new running max, P = exp(S - m),
                 * the old sum rescaled. */
                V vm = VLOADU(S);
                for (int64_t j = VL; j < nkv; j += VL)
                    vm = VMAX(vm, VLOADU(S + j));
                real bm = VHMAX(vm);
                real mold = mrow[rg + r];
                real mnew = bm > mold ? bm : mold;
                V vmn = VSET1(mnew);
                V vs = VZERO;
                for (int64_t j = 0; j < nkv; j += VL) {
                    V e = FW(vexp)(VSUB(VLOADU(S + j), vmn));
                    VSTOREU(P + j, e);
                    vs = VADD(vs, e);
                }
                for (int64_t j = nkv; j < nkg; j++)
                    P[j] = 0;
                real al = FW(sexp)(mold - mnew); /* 0 for the first block */
                real l = lrow[rg + r] * al + VHSUM(vs);
                lrow[rg + r] = l;
                mrow[rg + r] = mnew;
                alpha[r] = al;

                if (mode == SUS_FW_NONE)
                    continue;
                int64_t held = cnt[rg + r];
                if ((size_t)(held + nkv + FW_KEEP_PAD) > cv.cap &&
                    FW(cands_reserve)(th, &cv, nq, cnt,
                                      (size_t)(held + nkv + FW_KEEP_PAD)))
                    return -1;
                const FW(list) L = FW(row_list)(&cv, rg + r);

                if (mode == SUS_FW_ALL) {
                    for (int64_t j = 0; j < nkr; j++) {
                        L.j[held + j] = kb0 + j;
                        L.s[held + j] = S[j];
                    }
                    held += nkr;
                    out->candidates += nkr;
                } else {
                    /* Prune the held candidates against the updated
                     * running normalizer (this block included), then
                     * test the block's keys against the same one. */
                    const V vT = VSET1(FW(threshold)(a, l));
                    held = FW(prune)(&L, held, vT, vmn, mnew != mold, ts, tx);

                    /* The block's words: pairs from key kb0 & ~1 on. */
                    int64_t js = kb0 & ~(int64_t)1;
                    int64_t off = kb0 - js;
                    int64_t npairs = (off + nkv + 1) / 2;
                    PHILOX_XY(a->rk, (uint32_t)gi, hb, bb, (uint32_t)(js / 2), npairs,
                              xb, yb);
                    const uint32_t *xo = xb + off, *yo = yb + off;
                    /* First every vector's mask, then only the vectors
                     * that hold a candidate (a few per block) are moved:
                     * no branch per vector to mispredict. */
                    const int64_t nvec = nkv / VL, nw = (nvec + 63) / 64;
                    for (int64_t w = 0; w < nw; w++)
                        nzw[w] = 0;
                    for (int64_t v = 0; v < nvec; v++) {
                        unsigned mk =
                            VLT(VMUL(VULO(xo + v * VL), vT), VLOADU(P + v * VL));
                        mb[v] = mk;
                        nzw[v >> 6] |= (uint64_t)(mk != 0) << (v & 63);
                    }
                    const int64_t held0 = held;
                    for (int64_t w = 0; w < nw; w++) {
                        for (uint64_t bits = nzw[w]; bits; bits &= bits - 1) {
                            int64_t j = (w * 64 + __builtin_ctzll(bits)) * VL;
                            held = FW_KEEP_BLOCK(&L, held, kb0 + j, xo + j, yo + j,
                                                 S + j, P + j, mb[j / VL]);
                        }
                    }
                    out->candidates += held - held0;
                }
                cnt[rg + r] = held;
                if (held > out->max_in_flight)
                    out->max_in_flight = held;
            }
            FW(pv)(pb, bkp, nkg, vp, ldv, alpha, oacc + rg * ldv);
        }
    }

    /* Finish the rows: O = acc / l, lse = m + log l, and the final test of
     * each candidate with the final W = exp(S - m) / l. */
    for (int64_t r = 0; r < nq; r++) {
        const int64_t gi = i0 + r;
        real l = lrow[r], mx = mrow[r];
        double lse = (double)mx + log((double)l);
        LSE[r] = (real)lse;
        real inv = (real)1 / l;
        const real *acc = oacc + r * ldv;
        real *orow = O + r * dv;
        int bad = !isfinite((real)lse);
        for (int64_t t = 0; t < dv; t++) {
            orow[t] = acc[t] * inv;
            bad |= !isfinite(orow[t]);
        }
        out->range |= bad;
        int64_t keep = 0;
        if (mode != SUS_FW_NONE) {
            int64_t held = cnt[r];
            size_t need;
            if (!sus_fw_arena_bytes(th->arena_len, (size_t)held, sizeof(sus_fw_kept),
                                    &need))
                return -1;
            if (need > th->arena.cap &&
                !sus_fw_pp_grow(th, &th->arena, th->arena_len * sizeof(sus_fw_kept),
                                need))
                return -1;
            /* no entry held: the arena may still be NULL (fuzz/ found the
             * null + 0 by UBSan) */
            sus_fw_kept *dst = held ? (sus_fw_kept *)th->arena.p + th->arena_len : NULL;
            const FW(list) L = FW(row_list)(&cv, r);
            const int64_t *cj = L.j;
            const uint32_t *cx = L.x, *cy = L.y;
            const real *cs = L.s;
            V vmx = VSET1(mx), vl = VSET1(l);
            for (int64_t t0 = 0; t0 < held; t0 += VL) {
                int64_t tn = held - t0 < VL ? held - t0 : VL;
                for (int64_t t = 0; t < VL; t++)
                    ts[t] = t < tn ? cs[t0 + t] : 0;
                VSTOREU(ts, VDIV(FW(vexp)(VSUB(VLOADU(ts), vmx)), vl));
                for (int64_t t = 0; t < tn; t++) {
                    double w = (double)ts[t];
                    if (mode == SUS_FW_ALL) {
                        dst[keep].j = cj[t0 + t];
                        dst[keep].w = w;
                        keep++;
                    } else {
                        double q = a->c * w;
                        double u = sus_fw_uniform(cx[t0 + t], cy[t0 + t]);
#if SUS_MUTANT == 2 /* planted bug for fuzz/: u <= q keeps u == q */
                        if (u <= (q < 1.0 ? q : 1.0)) {
#else
                        if (u < (q < 1.0 ? q : 1.0)) {
#endif
                            dst[keep].j = cj[t0 + t];
#if SUS_MUTANT == 3 /* planted bug for fuzz/: minc without its cap, W~ = w / (c w) */
                            dst[keep].w = w / q;
#else
                            dst[keep].w = w > a->inv_c ? w : a->inv_c;
#endif
                            keep++;
                        }
                    }
                }
            }
            th->arena_len += (size_t)keep;
        }
        a->rowcnt[bh * n + gi] = keep;
    }
    return 0;
}

#undef PW
#undef EXP_LO
#undef EXP_LOG2E
#undef EXP_MAGIC
#undef EXP_LN2HI
#undef EXP_LN2LO
#undef EXP_DEG
#undef EXP_OFF
#undef EXP_BIAS
#undef EXP_MANT
#undef EXP_C
#undef FW_KEEP_PAD
#undef FW_KEEP_LIST
#undef FW_KEEP_BLOCK
#undef FW_LIST

/* The level file defines these afresh for the next dtype. */
#undef FW
#undef FW_DOUBLE
#undef real
#undef REAL_MAX
#undef V
#undef VI
#undef VL
#undef R
#undef NV
#undef VLOADU
#undef VSTOREU
#undef VSET1
#undef VZERO
#undef VADD
#undef VSUB
#undef VMUL
#undef VDIV
#undef VMAX
#undef VFMA
#undef VHMAX
#undef VHSUM
#undef VLT
#undef VULO
#undef VCASTI
#undef VCASTF
#undef VIADD
#undef VISUB
#undef VISRL
#undef VISLL
#undef VISET1
#undef VSCALEF
