/* check_port.c: sus_check_port, one run of another port against the
 * oracle (sus.h, "Checking one run of another port"; DESIGN.md 3 and 4). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "check_internal.h"

const char *sus_check_part_name(sus_check_part part)
{
    static const char *const names[SUS_CHECK_PARTS] = {"W~", "dQ", "dK", "dV"};
    return (unsigned)part < SUS_CHECK_PARTS ? names[part] : "?";
}

static int check_args(const sus_attn *a, const sus_mask *mk, const double *dq,
                      const double *dk, const double *dv, const sus_check_opts *o,
                      sus_check_report *rep, sus_error *err)
{
    if (!mk || !dq || !dk || !dv || !o || !rep)
        return sus_i_fail(err, SUS_ERR_INVAL, "sus_check_port: NULL argument");
    int rc = sus_attn_check(a, err);
    if (rc)
        return rc;
    if (!(o->c > 0.0))
        return sus_i_fail(err, SUS_ERR_INVAL, "c = %g: the budget must be > 0", o->c);
    if (!(o->u > 0.0 && o->u < 1.0))
        return sus_i_fail(err, SUS_ERR_INVAL,
                          "unit roundoff %g: must be in (0, 1), for example 2^-24 "
                          "for float32",
                          o->u);
    if (o->prec != 0 && (o->prec < SUS_MPFR_MIN_PREC || o->prec > SUS_MPFR_MAX_PREC))
        return sus_i_fail(err, SUS_ERR_INVAL, "prec %ld: must be 0 or in [%d, %d]",
                          o->prec, SUS_MPFR_MIN_PREC, SUS_MPFR_MAX_PREC);
    sus_sizes z;
    sus_shape_sizes(&a->shape, &z, NULL);
    /* The arrays' lengths are the caller's; their contents are the port's
     * and are judged, not refused. */
    if (mk->rows != (int64_t)z.rows)
        return sus_i_fail(err, SUS_ERR_SHAPE,
                          "mask: %lld rows, but the problem has B*H*n = %zu query rows",
                          (long long)mk->rows, z.rows);
    if (!mk->indptr || mk->nnz < 0 || (mk->nnz > 0 && (!mk->indices || !mk->wtilde)))
        return sus_i_fail(err, SUS_ERR_INVAL, "mask: NULL arrays or nnz %lld < 0",
                          (long long)mk->nnz);
    return SUS_OK;
}

/* The oracle's estimate under the port's mask and its magnitudes. */
static int oracle(const sus_attn *a, const sus_mask *mk, long prec, sus_grads *est,
                  sus_grads *mag, sus_check_report *rep, sus_error *err)
{
    if (prec > 0) {
        sus_cert cert = {0, NULL, 0};
        int rc = sus_mpfr_estimate(a, mk, prec, est, mag, &cert, err);
        /* An uncertain element is within 2^-(prec - 16) |y|_mag of its
         * double (sus.h): far inside any port's bound, so only counted. */
        rep->uncertain = cert.uncertain;
        return rc;
    }
    int rc = sus_ref_estimate(a, mk, est, err);
    return rc ? rc : sus_ref_estimate_mag(a, mk, mag, err);
}

static int alloc_grads(sus_grads *g, const sus_sizes *z)
{
    g->o = sus_i_alloc_array(z->o, sizeof(double));
    g->lse = sus_i_alloc_array(z->rows, sizeof(double));
    g->dq = sus_i_alloc_array(z->q, sizeof(double));
    g->dk = sus_i_alloc_array(z->k, sizeof(double));
    g->dv = sus_i_alloc_array(z->v, sizeof(double));
    return g->o && g->lse && g->dq && g->dk && g->dv ? SUS_OK : SUS_ERR_NOMEM;
}

static void free_grads(sus_grads *g)
{
    free(g->o);
    free(g->lse);
    free(g->dq);
    free(g->dk);
    free(g->dv);
}

static int check_outputs(const sus_attn *a, const sus_mask *mk, const double *port[3],
                         const sus_check_opts *o, sus_check_report *rep, sus_error *err)
{
    sus_sizes z;
    sus_shape_sizes(&a->shape, &z, NULL);
    sus_grads est = {0}, mag = {0};
    int rc = alloc_grads(&est, &z) || alloc_grads(&mag, &z) ? SUS_ERR_NOMEM : SUS_OK;
    if (rc)
        rc = sus_i_fail(err, rc, "sus_check_port: out of memory");
    if (!rc)
        rc = oracle(a, mk, o->prec, &est, &mag, rep, err);
    const double *ex[3] = {est.dq, est.dk, est.dv}, *mg[3] = {mag.dq, mag.dk, mag.dv};
    const size_t count[3] = {z.q, z.k, z.v};
    for (int p = 0; p < 3 && !rc; p++) {
        sus_check_stats *st = &rep->part[SUS_CHECK_DQ + p];
        for (size_t t = 0; t < count[p]; t++)
            sus_i_check_record(st, t, port[p][t], ex[p][t],
                               rep->tau * rep->k * rep->u * mg[p][t]);
    }
    free_grads(&est);
    free_grads(&mag);
    return rc;
}

int sus_check_port(const sus_attn *a, const sus_mask *mk, const double *dq,
                   const double *dk, const double *dv, const sus_check_opts *o,
                   sus_check_report *rep, sus_error *err)
{
    int rc = check_args(a, mk, dq, dk, dv, o, rep, err);
    if (rc)
        return rc;
    memset(rep, 0, sizeof *rep);
    rep->tau = SUS_TAU;
    rep->k = sus_bound_k(&a->shape);
    rep->u = o->u;
    sus_error merr;
    if (sus_mask_check(mk, &a->shape, a->causal, &merr) != SUS_OK) {
        /* A malformed mask is the port's failure; nothing else can be
         * compared under it. */
        const char *why = merr.msg;
        if (strncmp(why, "mask: ", 6) == 0)
            why += 6; /* the report says it is the mask */
        memcpy(rep->mask_msg, why, strlen(why) + 1);
        sus_i_ok(err);
        return SUS_OK;
    }
    rep->mask_ok = 1;
    sus_sizes z;
    sus_shape_sizes(&a->shape, &z, NULL);
    sus_i_check_ctx cx = {a,
                          mk,
                          o,
                          o->rule ? o->rule : &sus_rule_minc,
                          sus_i_alloc_array(z.scores, sizeof(double)),
                          sus_i_alloc_array(z.scores, sizeof(double)),
                          rep->tau,
                          rep->k,
                          o->u,
                          o->u >= 0x1p-24 ? (double)FLT_MIN : DBL_MIN};
    if (!cx.q || !cx.wt)
        rc = sus_i_fail(err, SUS_ERR_NOMEM,
                        "sus_check_port: out of memory for %zu scores", z.scores);
    if (!rc)
        rc = sus_ref_probs(a, cx.rule, o->c, cx.q, cx.wt, err);
    if (!rc)
        rc = sus_i_check_mask(&cx, rep, err);
    free(cx.q);
    free(cx.wt);
    const double *port[3] = {dq, dk, dv};
    if (!rc)
        rc = check_outputs(a, mk, port, o, rep, err);
    if (rc)
        return rc;
    rep->pass = rep->canon_mismatch == 0;
    for (int p = 0; p < SUS_CHECK_PARTS; p++)
        rep->pass = rep->pass && rep->part[p].failed == 0;
    sus_i_ok(err);
    return SUS_OK;
}
