/*
 * check_port: sus_check_port and sus_canonical_uniforms (sus.h, "Checking
 * one run of another port") on small decoded problems, with ports made from
 * the double reference, so that every verdict is known in advance:
 *  - the canonical uniforms of the whole problem equal sus_canonical_uniform
 *    element by element and fast/'s independent sus_fast_uniforms bit for
 *    bit;
 *  - a problem the reference refuses (non-finite input, c <= 0, a rule or
 *    an estimate it cannot compute) is refused with the reference's status;
 *  - the honest port (the canonical mask, sus_ref_estimate under it)
 *    passes with every ratio 0 against the double oracle (prec 0); against
 *    MPFR its failed and uncertain counts are those of a recount, and no
 *    element fails where the double reference's own error (diff_ref_mpfr's
 *    bound) is inside half the port's bound;
 *  - one element of W~, dQ, dK or dV moved by f times its bound (W~: sus.h's
 *    bound with cond and tiny, the outputs recomputed under the moved W~):
 *    |f| <= 3/4 passes; |f| >= 3/2, NaN and inf fail that part alone, once,
 *    at that index;
 *  - one entry dropped from or added to the canonical mask: exactly one
 *    canonical disagreement, listed with its (b, h, i, j), failing unless
 *    borderline; a wrong seed: every listed disagreement real;
 *  - a corrupted CSR: mask_ok exactly when sus_mask_check accepts it, and
 *    if not, nothing is compared and the check fails;
 *  - bad arguments are refused with their status;
 *  - every report: counts, the sorted worst lists (each entry's ratio from
 *    its own values), the borderline and mismatch lists (u, q, the kept
 *    flag and the band against sus.h's formula), pass.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fz.h"

/* The ports' unit roundoffs: float64, float32, bfloat16 and a coarse one. */
static const double unit_pal[4] = {0x1p-53, 0x1p-24, 0x1p-8, 0x1p-40};
static const long prec_pal[4] = {0, 0, SUS_MPFR_MIN_PREC, 128};
/* Multiples of an element's bound for a moved element: inside it, just
 * outside (a bound off by a factor 2 is caught), far outside, non-finite. */
static const double factor_pal[8] = {0.75, -0.25, 1.5, -4.0, 1e6, 1e300, NAN, INFINITY};

/* What the rest of the input decodes to, read before anything runs so that
 * the layout does not depend on the problem. */
typedef struct choices {
    sus_check_opts o; /* u, canonical, prec (rule, c, seed: the case's) */
    int part;         /* the part to move an element of */
    double factor;
    uint64_t index;
    uint8_t row, key;      /* the entry to drop or add */
    uint8_t op, at, value; /* the CSR corruption */
} choices;

/* One input's state: the case, the rule's dense q and W~, the canonical
 * mask, and the port being judged (a copy of the mask with room for one
 * more entry, and its outputs). */
typedef struct run {
    fz_case *fc;
    choices ch;
    double *q, *wt;
    sus_mask canon;
    sus_mask mk;
    sus_grads out;  /* the port's outputs */
    sus_grads mmag; /* MPFR magnitudes for the recount */
} run;

static choices decode_choices(fz_in *in, const fz_case *fc)
{
    choices ch;
    const uint8_t b = fz_u8(in), p = fz_u8(in);
    ch.o = (sus_check_opts){fc->rule,     fc->c,    unit_pal[b & 3],
                            (b >> 2) & 1, fc->seed, prec_pal[(b >> 3) & 3]};
    ch.part = p & 3;
    ch.factor = factor_pal[(p >> 2) & 7];
    ch.index = fz_u64(in);
    ch.row = fz_u8(in);
    ch.key = fz_u8(in);
    ch.op = fz_u8(in);
    ch.at = fz_u8(in);
    ch.value = fz_u8(in);
    return ch;
}

static int64_t allowed(const sus_attn *a, int64_t i)
{
    return a->causal && i + 1 < a->shape.m ? i + 1 : a->shape.m;
}

/* ---- The canonical uniforms ----------------------------------------------- */

static void check_uniforms(fz_case *fc)
{
    const sus_shape *sh = &fc->t.p.a.shape;
    double *u = malloc(fc->t.p.z.scores * sizeof *u);
    double *row = malloc((size_t)sh->m * sizeof *row);
    sus_fast_ctx *ctx = fz_case_ctx(fc); /* NULL: the best level */
    sus_error err;
    if (!u || !row)
        goto done;
    int rc = sus_canonical_uniforms(fc->seed, sh, u, &err);
    if (rc != SUS_OK)
        fz_fail(fc, "sus_canonical_uniforms refused: %s", err.msg);
    size_t t = 0;
    for (int64_t b = 0; b < sh->B; b++)
        for (int64_t h = 0; h < sh->H; h++)
            for (int64_t i = 0; i < sh->n; i++) {
                rc = sus_fast_uniforms(ctx, fc->seed, b, h, i, 0, sh->m, row);
                if (rc != SUS_OK)
                    fz_fail(fc, "sus_fast_uniforms(b %lld, h %lld, i %lld) refused: %s",
                            (long long)b, (long long)h, (long long)i, sus_strerror(rc));
                for (int64_t j = 0; j < sh->m; j++, t++) {
                    double want = -1.0;
                    sus_canonical_uniform(fc->seed, b, h, i, j, &want);
                    if (u[t] != want || row[j] != want)
                        fz_fail(fc,
                                "uniform (b %lld, h %lld, i %lld, j %lld): whole "
                                "problem %a, fast %a, want %a bound=0",
                                (long long)b, (long long)h, (long long)i, (long long)j,
                                u[t], row[j], want);
                }
            }
done:
    sus_fast_ctx_free(ctx);
    free(u);
    free(row);
}

/* ---- The port ------------------------------------------------------------- */

static int port_alloc(run *x)
{
    const sus_sizes *z = &x->fc->t.p.z;
    const size_t cap = z->scores + 2;
    x->mk.indptr = calloc(z->rows + 2, sizeof(int64_t));
    x->mk.indices = calloc(cap, sizeof(int64_t));
    x->mk.wtilde = calloc(cap, sizeof(double));
    x->q = calloc(z->scores, sizeof(double));
    x->wt = calloc(z->scores, sizeof(double));
    return !x->mk.indptr || !x->mk.indices || !x->mk.wtilde || !x->q || !x->wt ||
           sus_tf_grads_alloc(&x->out, z) || sus_tf_grads_alloc(&x->mmag, z);
}

static void port_free(run *x)
{
    sus_mask_free(&x->mk);
    sus_mask_free(&x->canon);
    free(x->q);
    free(x->wt);
    sus_tf_grads_free(&x->out);
    sus_tf_grads_free(&x->mmag);
}

/* The port's mask := the canonical mask (an empty one if there is none),
 * its outputs := the honest ones (fc->t.p.got). */
static void port_reset(run *x)
{
    const sus_sizes *z = &x->fc->t.p.z;
    sus_mask *mk = &x->mk;
    mk->rows = (int64_t)z->rows;
    mk->nnz = x->canon.indptr ? x->canon.nnz : 0;
    if (x->canon.indptr) {
        memcpy(mk->indptr, x->canon.indptr, (z->rows + 1) * sizeof(int64_t));
        memcpy(mk->indices, x->canon.indices, (size_t)mk->nnz * sizeof(int64_t));
        memcpy(mk->wtilde, x->canon.wtilde, (size_t)mk->nnz * sizeof(double));
    } else {
        memset(mk->indptr, 0, (z->rows + 1) * sizeof(int64_t));
    }
    sus_tf_grads_copy(&x->out, &x->fc->t.p.got, z);
}

static int port_check(run *x, const sus_check_opts *o, sus_check_report *rep,
                      sus_error *err)
{
    return sus_check_port(&x->fc->t.p.a, &x->mk, x->out.dq, x->out.dk, x->out.dv, o,
                          rep, err);
}

/* A check the port must get through: SUS_OK. */
static void port_check_ok(run *x, const sus_check_opts *o, sus_check_report *rep,
                          const char *what)
{
    sus_error err;
    int rc = port_check(x, o, rep, &err);
    if (rc != SUS_OK)
        fz_fail(x->fc, "%s: sus_check_port %s: %s", what, sus_strerror(rc), err.msg);
}

/* ---- sus.h's formulas ---------------------------------------------------------- */

/* The conditioning of q and W~ of entry (r, j): 1 + |S_rj|_mag + sigma_r,
 * plus 1 + 2 sigma_r for rules other than minc. */
static double entry_cond(const run *x, int64_t r, int64_t j)
{
    const sus_attn *a = &x->fc->t.p.a;
    const sus_shape *sh = &a->shape;
    const int64_t i = r % sh->n, bh = r / sh->n;
    const double *qi = a->q + (size_t)(r * sh->d);
    const double *kh = a->k + (size_t)(bh * sh->m * sh->d);
    double sigma = 0.0, smag = 0.0;
    for (int64_t jj = 0; jj < allowed(a, i); jj++) {
        double dot = 0.0;
        for (int64_t t = 0; t < sh->d; t++)
            dot += fabs(qi[t]) * fabs(kh[jj * sh->d + t]);
        const double s = fabs(a->scale) * dot;
        sigma = fmax(sigma, s);
        if (jj == j)
            smag = s;
    }
    double cond = 1.0 + smag + sigma;
    if (x->ch.o.rule != &sus_rule_minc)
        cond += 1.0 + 2.0 * sigma;
    return cond;
}

/* coef x, and 0 where x is 0 whatever coef (cond is inf where |S|_mag
 * overflows): an exact 0 has no relative error. */
static double rel_term(double coef, double x)
{
    return x == 0.0 ? 0.0 : coef * x;
}

/* The smallest normal number of the port's format. */
static double tiny_of(double u)
{
    return u >= 0x1p-24 ? (double)FLT_MIN : DBL_MIN;
}

/* The borderline band of entry (r, j): tau k u cond q + tiny max_j'(q/W~). */
static double entry_band(const run *x, int64_t r, int64_t j, double u)
{
    const sus_shape *sh = &x->fc->t.p.a.shape;
    const double *q = x->q + (size_t)(r * sh->m), *wt = x->wt + (size_t)(r * sh->m);
    double inv_t = 0.0;
    for (int64_t jj = 0; jj < allowed(&x->fc->t.p.a, r % sh->n); jj++)
        if (wt[jj] > 0.0)
            inv_t = fmax(inv_t, q[jj] / wt[jj]);
    return rel_term(SUS_TAU * sus_bound_k(sh) * u * entry_cond(x, r, j), q[j]) +
           tiny_of(u) * inv_t;
}

/* ---- Every report ------------------------------------------------------------ */

/* The ratio sus.h defines for one element. */
static double spec_ratio(const sus_check_elem *e)
{
    if (e->port == e->oracle)
        return 0.0;
    if (!isfinite(e->port) || !(e->bound > 0.0))
        return INFINITY;
    return fabs(e->port - e->oracle) / e->bound;
}

static int spec_failed(const sus_check_elem *e)
{
    return isnan(e->port) || isnan(e->oracle) ||
           !(e->port == e->oracle || fabs(e->port - e->oracle) <= e->bound);
}

static int same_double(double a, double b)
{
    return a == b || (isnan(a) && isnan(b));
}

static void check_stats(run *x, const sus_check_report *rep, int p, const double *port,
                        size_t count)
{
    const sus_check_stats *st = &rep->part[p];
    const char *name = sus_check_part_name((sus_check_part)p);
    const size_t want_n = count < SUS_CHECK_WORST ? count : SUS_CHECK_WORST;
    if (st->count != count || st->failed > count || st->nworst != want_n)
        fz_fail(x->fc,
                "report %s: count %zu (want %zu), failed %zu, nworst %zu (want %zu)",
                name, st->count, count, st->failed, st->nworst, want_n);
    size_t failing = 0;
    for (size_t w = 0; w < st->nworst; w++) {
        const sus_check_elem *e = &st->worst[w];
        failing += (size_t)spec_failed(e);
        if (e->index >= count || !same_double(e->port, port[e->index]) ||
            !same_double(e->ratio, spec_ratio(e)) ||
            (w > 0 && e->ratio > st->worst[w - 1].ratio))
            fz_fail(x->fc,
                    "report %s worst[%zu]: index %zu of %zu, port %.17g (array %.17g), "
                    "oracle %.17g, bound %.3g, ratio %.3g (sus.h: %.3g, previous %.3g)",
                    name, w, e->index, count, e->port,
                    e->index < count ? port[e->index] : 0.0, e->oracle, e->bound,
                    e->ratio, spec_ratio(e), w ? st->worst[w - 1].ratio : 0.0);
        for (size_t v = 0; v < w; v++)
            if (st->worst[v].index == e->index)
                fz_fail(x->fc, "report %s: index %zu listed twice among the worst",
                        name, e->index);
    }
    if (failing > st->failed)
        fz_fail(x->fc, "report %s: %zu listed elements fail but failed = %zu", name,
                failing, st->failed);
}

static int in_mask(const sus_mask *mk, int64_t r, int64_t j)
{
    for (int64_t e = mk->indptr[r]; e < mk->indptr[r + 1]; e++)
        if (mk->indices[e] == j)
            return 1;
    return 0;
}

/* The listed canonical disagreements: real (u < q differs from the port's
 * kept flag), with the rule's q and the seed's u, and on the right side of
 * their band. */
static void check_entries(run *x, const sus_check_opts *o, const sus_check_entry *list,
                          size_t count, int border)
{
    const sus_shape *sh = &x->fc->t.p.a.shape;
    for (size_t l = 0; l < count; l++) {
        const sus_check_entry *e = &list[l];
        const int64_t r = (e->b * sh->H + e->h) * sh->n + e->i;
        double u = -1.0;
        if (e->b < 0 || e->b >= sh->B || e->h < 0 || e->h >= sh->H || e->i < 0 ||
            e->i >= sh->n || e->j < 0 || e->j >= allowed(&x->fc->t.p.a, e->i))
            fz_fail(x->fc, "report: listed entry (%lld, %lld, %lld, %lld) out of range",
                    (long long)e->b, (long long)e->h, (long long)e->i, (long long)e->j);
        sus_canonical_uniform(o->seed, e->b, e->h, e->i, e->j, &u);
        const double q = x->q[(size_t)(r * sh->m + e->j)];
        const int kept = in_mask(&x->mk, r, e->j);
        const double band = entry_band(x, r, e->j, o->u);
        if (e->u != u || e->q != q || e->port_kept != kept || (u < q) == kept ||
            (fabs(u - q) <= e->band) != border ||
            !(e->band == band || fabs(e->band - band) <= 0x1p-30 * band))
            fz_fail(
                x->fc,
                "report: %s entry (b %lld, h %lld, i %lld, j %lld): u %a (want %a), "
                "q %a (want %a), port kept %d (mask %d), band %.17g (sus.h: %.17g)",
                border ? "borderline" : "mismatched", (long long)e->b, (long long)e->h,
                (long long)e->i, (long long)e->j, e->u, u, e->q, q, e->port_kept, kept,
                e->band, band);
    }
}

static size_t listed(int64_t n)
{
    return n < SUS_CHECK_LISTED ? (size_t)n : SUS_CHECK_LISTED;
}

static void check_report(run *x, const sus_check_report *rep, const sus_check_opts *o)
{
    const fz_case *fc = x->fc;
    const sus_sizes *z = &fc->t.p.z;
    if (rep->tau != SUS_TAU || rep->k != sus_bound_k(&fc->t.p.a.shape) ||
        rep->u != o->u || (o->prec == 0 && rep->uncertain != 0))
        fz_fail(x->fc, "report: tau %g k %g u %a uncertain %zu (want %g %g %a)",
                rep->tau, rep->k, rep->u, rep->uncertain, SUS_TAU,
                sus_bound_k(&fc->t.p.a.shape), o->u);
    if (!rep->mask_ok) {
        int any = rep->pass || rep->canon_same || rep->canon_borderline ||
                  rep->canon_mismatch || rep->nborderline || rep->nmismatch ||
                  !rep->mask_msg[0];
        for (int p = 0; p < SUS_CHECK_PARTS; p++)
            any |= rep->part[p].count || rep->part[p].nworst;
        if (any)
            fz_fail(x->fc,
                    "report of a malformed mask (%s) passes or compares something",
                    rep->mask_msg);
        return;
    }
    check_stats(x, rep, SUS_CHECK_WTILDE, x->mk.wtilde, (size_t)x->mk.nnz);
    check_stats(x, rep, SUS_CHECK_DQ, x->out.dq, z->q);
    check_stats(x, rep, SUS_CHECK_DK, x->out.dk, z->k);
    check_stats(x, rep, SUS_CHECK_DV, x->out.dv, z->v);
    if (!o->canonical && (rep->canon_same || rep->canon_borderline ||
                          rep->canon_mismatch || rep->nborderline || rep->nmismatch))
        fz_fail(x->fc, "report: canonical counts without canonical");
    if (rep->canon_same < 0 || rep->canon_same > x->mk.nnz ||
        rep->canon_borderline < 0 || rep->canon_mismatch < 0 ||
        rep->nborderline != listed(rep->canon_borderline) ||
        rep->nmismatch != listed(rep->canon_mismatch))
        fz_fail(
            x->fc,
            "report: canonical same %lld of nnz %lld, borderline %lld (listed %zu), "
            "mismatch %lld (listed %zu)",
            (long long)rep->canon_same, (long long)x->mk.nnz,
            (long long)rep->canon_borderline, rep->nborderline,
            (long long)rep->canon_mismatch, rep->nmismatch);
    check_entries(x, o, rep->borderline, rep->nborderline, 1);
    check_entries(x, o, rep->mismatch, rep->nmismatch, 0);
    int pass = rep->canon_mismatch == 0;
    for (int p = 0; p < SUS_CHECK_PARTS; p++)
        pass = pass && rep->part[p].failed == 0;
    if (rep->pass != pass)
        fz_fail(x->fc,
                "report: pass %d, but mismatches %lld and failures %zu %zu %zu %zu",
                rep->pass, (long long)rep->canon_mismatch, rep->part[0].failed,
                rep->part[1].failed, rep->part[2].failed, rep->part[3].failed);
}

/* ---- The honest port ------------------------------------------------------- */

static const double *part_array(const sus_grads *g, int p)
{
    return p == SUS_CHECK_DQ ? g->dq : p == SUS_CHECK_DK ? g->dk : g->dv;
}

static size_t part_count(const sus_sizes *z, int p)
{
    return p == SUS_CHECK_DQ ? z->q : p == SUS_CHECK_DK ? z->k : z->v;
}

/* Against the double oracle the port is the oracle itself: every ratio 0. */
static void check_exact(run *x, const sus_check_report *rep, const char *what)
{
    for (int p = 0; p < SUS_CHECK_PARTS; p++)
        if (rep->part[p].failed || (rep->part[p].nworst && rep->part[p].worst[0].ratio))
            fz_fail(x->fc, "%s: part %s failed %zu, worst ratio %.3g at %zu, want 0",
                    what, sus_check_part_name((sus_check_part)p), rep->part[p].failed,
                    rep->part[p].worst[0].ratio, rep->part[p].worst[0].index);
}

/* Against MPFR: the report's outputs recounted from sus_mpfr_estimate at
 * the same precision. An element must pass where the double reference's
 * error, within tau k (2^-53 mag + eta G) where the first-order model
 * applies (diff_ref_mpfr checks that bound), plus MPFR's own
 * 2^-(prec - 16) mag, is within half the port's bound. */
static void check_recount(run *x, const sus_check_report *rep, const sus_check_opts *o)
{
    fz_case *fc = x->fc;
    sus_t_problem *p = &fc->t.p;
    sus_cert cert = {0, NULL, 0};
    sus_error err;
    if (sus_mpfr_estimate(&p->a, &x->mk, o->prec, &p->exact, &x->mmag, &cert, &err))
        fz_fail(fc, "sus_mpfr_estimate refused what sus_check_port used: %s", err.msg);
    if (cert.uncertain != rep->uncertain)
        fz_fail(fc, "report: %zu uncertain elements, the recount %zu", rep->uncertain,
                cert.uncertain);
    const int sure = fz_case_linear(fc) && !fz_case_may_overflow(fc);
    const double floor = DBL_TRUE_MIN * fz_case_growth(fc),
                 mp = ldexp(1.0, 16 - (int)o->prec);
    const double tk = rep->tau * rep->k;
    for (int part = SUS_CHECK_DQ; part < SUS_CHECK_PARTS; part++) {
        const double *got = part_array(&x->out, part),
                     *ex = part_array(&p->exact, part);
        const double *mag = part_array(&x->mmag, part);
        size_t failed = 0;
        for (size_t t = 0; t < part_count(&p->z, part); t++) {
            const sus_check_elem e = {t, got[t], ex[t], tk * rep->u * mag[t], 0.0};
            const int bad = spec_failed(&e);
            failed += (size_t)bad;
            const double err_ref = tk * (0x1p-53 * mag[t] + floor) + mp * mag[t];
            if (bad && sure && 2.0 * err_ref <= e.bound)
                fz_fail(
                    fc,
                    "honest port: %s[%zu] got=%.17g want=%.17g |diff|=%.3g bound=%.3g "
                    "(MPFR at %ld bits; the double reference's error is within %.3g)",
                    sus_check_part_name((sus_check_part)part), t, got[t], ex[t],
                    fabs(got[t] - ex[t]), e.bound, o->prec, err_ref);
        }
        if (failed != rep->part[part].failed)
            fz_fail(fc, "report %s: failed %zu, the recount %zu",
                    sus_check_part_name((sus_check_part)part), rep->part[part].failed,
                    failed);
    }
}

static void check_honest(run *x)
{
    const sus_check_opts *o = &x->ch.o;
    sus_check_report rep;
    sus_error err;
    port_reset(x);
    int rc = port_check(x, o, &rep, &err);
    if (rc == SUS_ERR_RANGE && o->prec > 0)
        return; /* MPFR's estimate overflows double where the double one did not */
    if (rc != SUS_OK)
        fz_fail(x->fc, "honest port: sus_check_port %s: %s", sus_strerror(rc), err.msg);
    check_report(x, &rep, o);
    if (!rep.mask_ok || rep.canon_same != (o->canonical ? x->mk.nnz : 0) ||
        rep.canon_borderline || rep.canon_mismatch)
        fz_fail(x->fc,
                "honest port: mask_ok %d, canonical same %lld of %lld, "
                "borderline %lld, mismatch %lld",
                rep.mask_ok, (long long)rep.canon_same, (long long)x->mk.nnz,
                (long long)rep.canon_borderline, (long long)rep.canon_mismatch);
    /* the canonical mask's W~ is the rule's, bit for bit */
    if (rep.part[SUS_CHECK_WTILDE].failed ||
        (rep.part[SUS_CHECK_WTILDE].nworst &&
         rep.part[SUS_CHECK_WTILDE].worst[0].ratio))
        fz_fail(x->fc, "honest port: W~ failed %zu, worst ratio %.3g",
                rep.part[SUS_CHECK_WTILDE].failed,
                rep.part[SUS_CHECK_WTILDE].worst[0].ratio);
    if (o->prec == 0) {
        check_exact(x, &rep, "honest port");
        if (!rep.pass)
            fz_fail(x->fc, "honest port fails against the double oracle");
    } else {
        check_recount(x, &rep, o);
    }
}

/* ---- Teeth: one element moved by a multiple of its bound -------------------- */

/* sus.h's bound of the W~ of entry (r, j): tau k u cond W~ + tiny. */
static double wtilde_bound(const run *x, int64_t r, int64_t j, double u)
{
    const sus_shape *sh = &x->fc->t.p.a.shape;
    return rel_term(SUS_TAU * sus_bound_k(sh) * u * entry_cond(x, r, j),
                    x->wt[(size_t)(r * sh->m + j)]) +
           tiny_of(u);
}

static int64_t row_of(const sus_mask *mk, int64_t e)
{
    int64_t r = 0;
    while (mk->indptr[r + 1] <= e)
        r++;
    return r;
}

/* The moved element's verdict: the worst of its part (every other ratio
 * 0), failed exactly when it fails; nothing else fails. */
static void expect_moved(run *x, const sus_check_report *rep, int part, size_t index,
                         int fails, const char *what)
{
    for (int p = 0; p < SUS_CHECK_PARTS; p++) {
        const sus_check_stats *st = &rep->part[p];
        const size_t want = p == part && fails, first = p == part;
        int bad =
            st->failed != want || st->nworst < first ||
            (first && (st->worst[0].index != index || !(st->worst[0].ratio > 0.0)));
        if (st->nworst > first && st->worst[first].ratio != 0.0)
            bad = 1;
        if (bad)
            fz_fail(x->fc,
                    "%s %s[%zu]: part %s failed %zu (want %zu), worst %zu ratio %.3g, "
                    "next ratio %.3g (want 0)",
                    what, sus_check_part_name((sus_check_part)part), index,
                    sus_check_part_name((sus_check_part)p), st->failed, want,
                    st->nworst ? st->worst[0].index : 0,
                    st->nworst ? st->worst[0].ratio : 0.0,
                    st->nworst > first ? st->worst[first].ratio : 0.0);
    }
    if (rep->pass != !fails || rep->canon_mismatch)
        fz_fail(x->fc, "%s %s[%zu]: pass %d, want %d", what,
                sus_check_part_name((sus_check_part)part), index, rep->pass, !fails);
}

static void move_wtilde(run *x, sus_check_opts *o)
{
    sus_mask *mk = &x->mk;
    if (mk->nnz == 0)
        return;
    const int64_t e = (int64_t)(x->ch.index % (uint64_t)mk->nnz);
    const int64_t r = row_of(mk, e);
    const double f = fabs(x->ch.factor), w = mk->wtilde[e];
    const double bound = wtilde_bound(x, r, mk->indices[e], o->u);
    const double moved = isfinite(f) ? w + f * bound : f;
    if (moved == w)
        return;
    mk->wtilde[e] = moved;
    sus_check_report rep;
    sus_error err;
    if (!isfinite(moved)) {
        port_check_ok(x, o, &rep, "W~ made non-finite");
        check_report(x, &rep, o);
        if (rep.mask_ok)
            fz_fail(x->fc, "W~[%lld] = %g accepted as well-formed", (long long)e,
                    moved);
        return;
    }
    /* the outputs follow the port's W~, so that only W~ is off */
    if (sus_ref_estimate(&x->fc->t.p.a, mk, &x->out, &err) != SUS_OK)
        return;
    port_check_ok(x, o, &rep, "W~ moved");
    check_report(x, &rep, o);
    expect_moved(x, &rep, SUS_CHECK_WTILDE, (size_t)e, f > 1.0, "W~ moved by f bound:");
    /* the moved entry is the worst: its bound is sus.h's */
    const sus_check_elem *we = &rep.part[SUS_CHECK_WTILDE].worst[0];
    if (!(we->bound == bound || fabs(we->bound - bound) <= 0x1p-30 * bound))
        fz_fail(x->fc, "W~[%lld]: report's bound %.17g, sus.h's formula %.17g",
                (long long)e, we->bound, bound);
}

static void move_output(run *x, sus_check_opts *o)
{
    const int part = x->ch.part;
    const sus_t_problem *p = &x->fc->t.p;
    double *y = (double *)part_array(&x->out, part);
    const size_t count = part_count(&p->z, part);
    const size_t t = (size_t)(x->ch.index % count);
    const double f = x->ch.factor;
    const double bound =
        SUS_TAU * sus_bound_k(&p->a.shape) * o->u * part_array(&p->mag, part)[t];
    const double was = y[t];
    y[t] = isfinite(f) ? was + f * bound : f;
    if (y[t] == was)
        return;
    const sus_check_elem e = {t, y[t], was, bound, 0.0};
    const int fails = spec_failed(&e);
    /* the arithmetic has margin (the bound is at least 56 ulp of y): 3/4 of
     * a finite bound stays inside it, 3/2 goes outside (unless the bound is
     * inf: then only NaN fails) */
    if (isfinite(bound) && isfinite(y[t]) && fails != (fabs(f) > 1.0))
        fz_fail(x->fc, "harness: %s[%zu] %.17g moved by %g x %.3g to %.17g: fails %d",
                sus_check_part_name((sus_check_part)part), t, was, f, bound, y[t],
                fails);
    sus_check_report rep;
    port_check_ok(x, o, &rep, "output moved");
    check_report(x, &rep, o);
    expect_moved(x, &rep, part, t, fails, "output moved by f bound:");
}

static void check_moved(run *x)
{
    sus_check_opts o = x->ch.o;
    o.prec = 0;
    port_reset(x);
    if (x->ch.part == SUS_CHECK_WTILDE)
        move_wtilde(x, &o);
    else
        move_output(x, &o);
}

/* ---- The canonical mask: one entry dropped or added, a wrong seed ---------- */

/* Drops entry (r, j) if kept, else inserts it with the rule's W~. Returns
 * 1 if it was added. */
static int toggle(run *x, int64_t r, int64_t j)
{
    sus_mask *mk = &x->mk;
    const int64_t m = x->fc->t.p.a.shape.m;
    int64_t e = mk->indptr[r];
    while (e < mk->indptr[r + 1] && mk->indices[e] < j)
        e++;
    const int kept = e < mk->indptr[r + 1] && mk->indices[e] == j;
    const size_t tail = (size_t)(mk->nnz - e - kept);
    const int64_t dst = kept ? e : e + 1, src = kept ? e + 1 : e;
    memmove(mk->indices + dst, mk->indices + src, tail * sizeof(int64_t));
    memmove(mk->wtilde + dst, mk->wtilde + src, tail * sizeof(double));
    if (!kept) {
        mk->indices[e] = j;
        mk->wtilde[e] = x->wt[(size_t)(r * m + j)];
    }
    for (int64_t s = r + 1; s <= mk->rows; s++)
        mk->indptr[s] += kept ? -1 : 1;
    mk->nnz += kept ? -1 : 1;
    return !kept;
}

static void check_toggled(run *x)
{
    const sus_attn *a = &x->fc->t.p.a;
    const sus_shape *sh = &a->shape;
    sus_check_opts o = x->ch.o;
    o.prec = 0;
    o.canonical = 1;
    port_reset(x);
    const int64_t r = (int64_t)x->ch.row % x->mk.rows, i = r % sh->n;
    const int64_t j = (int64_t)x->ch.key % allowed(a, i);
    const int added = toggle(x, r, j);
    sus_error err;
    if (sus_ref_estimate(a, &x->mk, &x->out, &err) != SUS_OK)
        return;
    sus_check_report rep;
    port_check_ok(x, &o, &rep, "entry toggled");
    check_report(x, &rep, &o);
    const int border = rep.canon_borderline == 1;
    const sus_check_entry *e = border ? rep.borderline : rep.mismatch;
    if (rep.canon_borderline + rep.canon_mismatch != 1 ||
        rep.canon_same != x->canon.nnz - !added || rep.pass != border ||
        e->b != r / sh->n / sh->H || e->h != r / sh->n % sh->H || e->i != i ||
        e->j != j || e->port_kept != added)
        fz_fail(x->fc,
                "canonical entry (row %lld, j %lld) %s: same %lld, borderline %lld, "
                "mismatch %lld, pass %d; listed (%lld, %lld, %lld, %lld) port kept %d",
                (long long)r, (long long)j, added ? "added" : "dropped",
                (long long)rep.canon_same, (long long)rep.canon_borderline,
                (long long)rep.canon_mismatch, rep.pass, (long long)e->b,
                (long long)e->h, (long long)e->i, (long long)e->j, e->port_kept);
    check_exact(x, &rep, "entry toggled");
    /* the honest port judged against another seed's canonical mask */
    port_reset(x);
    o.seed = x->fc->seed ^ (1 + (uint64_t)x->ch.key);
    port_check_ok(x, &o, &rep, "wrong seed");
    check_report(x, &rep, &o);
    check_exact(x, &rep, "wrong seed");
}

/* ---- A corrupted CSR --------------------------------------------------------- */

static void corrupt(run *x)
{
    sus_mask *mk = &x->mk;
    const sus_attn *a = &x->fc->t.p.a;
    const int64_t e = mk->nnz ? x->ch.at % mk->nnz : 0;
    const int64_t r = x->ch.at % (mk->rows + 1), v = x->ch.value;
    switch (x->ch.op % 9) {
    case 0:
        if (mk->nnz)
            mk->indices[e] = v & 1 ? a->shape.m : -1 - v;
        break;
    case 1:
        if (e + 1 < mk->nnz)
            mk->indices[e + 1] = mk->indices[e] - (v & 1);
        break;
    case 2:
        mk->indptr[r] += 1 + v % 3;
        break;
    case 3:
        mk->indptr[r] = v & 1 ? -1 - v : INT64_MAX - v;
        break;
    case 4:
        mk->nnz += 1;
        break;
    case 5:
        if (mk->nnz)
            mk->wtilde[e] = v % 3 == 0   ? NAN
                            : v % 3 == 1 ? -INFINITY
                                         : -mk->wtilde[e] - 1;
        break;
    case 6:
        /* beyond the causal limit, or any j when not causal */
        if (mk->nnz)
            mk->indices[mk->indptr[row_of(mk, e) + 1] - 1] =
                allowed(a, row_of(mk, e) % a->shape.n) + v % 2;
        break;
    case 7:
        if (mk->nnz > 1 && e + 1 < mk->nnz) {
            int64_t s = mk->indices[e];
            mk->indices[e] = mk->indices[e + 1];
            mk->indices[e + 1] = s;
        }
        break;
    default:
        mk->indptr[0] = 1 + v % 2;
        break;
    }
}

static void check_corrupted(run *x)
{
    const sus_attn *a = &x->fc->t.p.a;
    sus_check_opts o = x->ch.o;
    o.prec = 0;
    port_reset(x);
    corrupt(x);
    sus_error merr;
    const int well = sus_mask_check(&x->mk, &a->shape, a->causal, &merr) == SUS_OK;
    sus_check_report rep;
    sus_error err;
    const int rc = port_check(x, &o, &rep, &err);
    if (well && rc == SUS_ERR_RANGE)
        return; /* still well-formed, and the estimate under it overflows */
    if (rc != SUS_OK)
        fz_fail(x->fc, "corrupted mask (op %d): sus_check_port %s: %s", x->ch.op % 9,
                sus_strerror(rc), err.msg);
    if (rep.mask_ok != well || (!well && !strstr(merr.msg, rep.mask_msg)))
        fz_fail(x->fc, "corrupted mask (op %d): mask_ok %d (%s), sus_mask_check: %s",
                x->ch.op % 9, rep.mask_ok, rep.mask_msg, well ? "accepts" : merr.msg);
    check_report(x, &rep, &o);
}

/* ---- Bad arguments -------------------------------------------------------------- */

static void expect_refused(run *x, int rc, int want, const sus_error *err,
                           const char *what)
{
    if (rc != want || !err->msg[0])
        fz_fail(x->fc, "%s: %s (%s), want %s", what, sus_strerror(rc), err->msg,
                sus_strerror(want));
}

static void check_bad_arguments(run *x)
{
    const sus_attn *a = &x->fc->t.p.a;
    const sus_check_opts good = x->ch.o;
    sus_check_report rep;
    sus_error err;
    port_reset(x);
    const double *dq = x->out.dq, *dk = x->out.dk, *dv = x->out.dv;
    int rc = sus_check_port(a, NULL, dq, dk, dv, &good, &rep, &err);
    expect_refused(x, rc, SUS_ERR_INVAL, &err, "NULL mask");
    rc = sus_check_port(a, &x->mk, dq, NULL, dv, &good, &rep, &err);
    expect_refused(x, rc, SUS_ERR_INVAL, &err, "NULL dK");
    rc = sus_check_port(a, &x->mk, dq, dk, dv, NULL, &rep, &err);
    expect_refused(x, rc, SUS_ERR_INVAL, &err, "NULL options");
    rc = sus_check_port(a, &x->mk, dq, dk, dv, &good, NULL, &err);
    expect_refused(x, rc, SUS_ERR_INVAL, &err, "NULL report");
    const double bad_c[3] = {0.0, -x->fc->c, NAN}, bad_u[4] = {0.0, 1.0, -0x1p-53, NAN};
    const long bad_prec[3] = {1, SUS_MPFR_MIN_PREC - 1, SUS_MPFR_MAX_PREC + 1};
    for (int t = 0; t < 4; t++) {
        sus_check_opts o = good;
        if (t < 3) {
            o.c = bad_c[t];
            rc = sus_check_port(a, &x->mk, dq, dk, dv, &o, &rep, &err);
            expect_refused(x, rc, SUS_ERR_INVAL, &err, "c out of range");
            o = good;
            o.prec = bad_prec[t];
            rc = sus_check_port(a, &x->mk, dq, dk, dv, &o, &rep, &err);
            expect_refused(x, rc, SUS_ERR_INVAL, &err, "prec out of range");
            o = good;
        }
        o.u = bad_u[t];
        rc = sus_check_port(a, &x->mk, dq, dk, dv, &o, &rep, &err);
        expect_refused(x, rc, SUS_ERR_INVAL, &err, "u out of range");
    }
    for (int64_t d = -1; d <= 1; d += 2) {
        x->mk.rows += d;
        rc = sus_check_port(a, &x->mk, dq, dk, dv, &good, &rep, &err);
        x->mk.rows -= d;
        expect_refused(x, rc, SUS_ERR_SHAPE, &err, "mask rows");
    }
    x->mk.nnz = -1;
    rc = sus_check_port(a, &x->mk, dq, dk, dv, &good, &rep, &err);
    x->mk.nnz = 0;
    expect_refused(x, rc, SUS_ERR_INVAL, &err, "nnz < 0");
    sus_shape empty = a->shape;
    empty.n = 0;
    rc = sus_canonical_uniforms(good.seed, &a->shape, NULL, &err);
    expect_refused(x, rc, SUS_ERR_INVAL, &err, "sus_canonical_uniforms NULL output");
    rc = sus_canonical_uniforms(good.seed, &empty, x->q, &err);
    expect_refused(x, rc, SUS_ERR_SHAPE, &err, "sus_canonical_uniforms n = 0");
    static const char *const names[SUS_CHECK_PARTS + 1] = {"W~", "dQ", "dK", "dV", "?"};
    for (int p = 0; p <= SUS_CHECK_PARTS; p++)
        if (strcmp(sus_check_part_name((sus_check_part)p), names[p]) != 0)
            fz_fail(x->fc, "sus_check_part_name(%d) = %s, want %s", p,
                    sus_check_part_name((sus_check_part)p), names[p]);
}

/* ---- One input ------------------------------------------------------------------ */

/* A problem the reference refuses is refused alike: any port, here an
 * empty mask and zero outputs. */
static void expect_problem_refused(run *x, int want, const char *why)
{
    sus_check_report rep;
    sus_error err;
    port_reset(x);
    int rc = port_check(x, &x->ch.o, &rep, &err);
    if (rc != want)
        fz_fail(x->fc, "%s: sus_check_port %s (%s), want %s", why, sus_strerror(rc),
                rc ? err.msg : "", sus_strerror(want));
}

static void run_case(run *x)
{
    fz_case *fc = x->fc;
    sus_t_problem *p = &fc->t.p;
    sus_error err;
    check_uniforms(fc);
    if (!fz_case_finite(fc, 1) || !(fc->c > 0.0)) {
        const int want = !isfinite(p->a.scale)    ? SUS_ERR_INVAL
                         : !fz_case_finite(fc, 1) ? SUS_ERR_NONFINITE
                                                  : SUS_ERR_INVAL;
        expect_problem_refused(x, want, "refused problem");
        return;
    }
    int rc = sus_ref_probs(&p->a, fc->rule, fc->c, x->q, x->wt, &err);
    if (rc == SUS_OK)
        rc = sus_ref_mask(&p->a, fc->rule, fc->c, fc->seed, &x->canon, &err);
    if (rc != SUS_OK) {
        sus_mask_free(&x->canon);
        expect_problem_refused(x, rc, "the rule refused");
        return;
    }
    rc = sus_ref_estimate(&p->a, &x->canon, &p->got, &err);
    if (rc != SUS_OK) {
        if (x->ch.o.prec == 0)
            expect_problem_refused(x, rc, "the estimate refused");
        return;
    }
    if ((rc = sus_ref_estimate_mag(&p->a, &x->canon, &p->mag, &err)))
        fz_fail(fc, "sus_ref_estimate_mag refused what sus_ref_estimate accepted: %s",
                err.msg);
    check_honest(x);
    check_moved(x);
    check_toggled(x);
    check_corrupted(x);
    check_bad_arguments(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size, 0};
    fz_case fc;
    if (fz_case_decode(&in, "check_port", (fz_limits){2, 12, 4}, SUS_DTYPE_F8, &fc))
        return 0;
    run x;
    memset(&x, 0, sizeof x);
    x.fc = &fc;
    x.ch = decode_choices(&in, &fc);
    if (port_alloc(&x) == 0)
        run_case(&x);
    port_free(&x);
    fz_case_free(&fc);
    return 0;
}
