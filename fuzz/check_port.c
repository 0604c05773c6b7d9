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
 *
 * This file decodes the input, sets up the run (port.h) and calls the
 * checks, which live in fuzz/port_*.c, one job per file.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "port.h"

/* The ports' unit roundoffs: float64, float32, bfloat16 and a coarse one. */
static const double unit_pal[4] = {0x1p-53, 0x1p-24, 0x1p-8, 0x1p-40};
static const long prec_pal[4] = {0, 0, SUS_MPFR_MIN_PREC, 128};
/* Multiples of an element's bound for a moved element: inside it, just
 * outside (a bound off by a factor 2 is caught), far outside, non-finite. */
static const double factor_pal[8] = {0.75, -0.25, 1.5, -4.0, 1e6, 1e300, NAN, INFINITY};

static port_choices decode_choices(fz_in *in, const fz_case *fc)
{
    port_choices ch;
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

/* ---- Indexing ------------------------------------------------------------- */

int64_t port_allowed(const sus_attn *a, int64_t i)
{
    return a->causal && i + 1 < a->shape.m ? i + 1 : a->shape.m;
}

int64_t port_row_of(const sus_mask *mk, int64_t e)
{
    int64_t r = 0;
    while (mk->indptr[r + 1] <= e)
        r++;
    return r;
}

const double *port_part_array(const sus_grads *g, int p)
{
    return p == SUS_CHECK_DQ ? g->dq : p == SUS_CHECK_DK ? g->dk : g->dv;
}

size_t port_part_count(const sus_sizes *z, int p)
{
    return p == SUS_CHECK_DQ ? z->q : p == SUS_CHECK_DK ? z->k : z->v;
}

/* ---- The port ------------------------------------------------------------- */

static int port_alloc(port_run *x)
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

static void port_free(port_run *x)
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
void port_reset(port_run *x)
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

int port_check(port_run *x, const sus_check_opts *o, sus_check_report *rep,
               sus_error *err)
{
    return sus_check_port(&x->fc->t.p.a, &x->mk, x->out.dq, x->out.dk, x->out.dv, o,
                          rep, err);
}

/* A check the port must get through: SUS_OK. */
void port_check_ok(port_run *x, const sus_check_opts *o, sus_check_report *rep,
                   const char *what)
{
    sus_error err;
    int rc = port_check(x, o, rep, &err);
    if (rc != SUS_OK)
        fz_fail(x->fc, "%s: sus_check_port %s: %s", what, sus_strerror(rc), err.msg);
}

/* ---- One input ------------------------------------------------------------------ */

static void run_case(port_run *x)
{
    fz_case *fc = x->fc;
    sus_t_problem *p = &fc->t.p;
    sus_error err;
    port_check_uniforms(fc);
    if (!fz_case_finite(fc, 1) || !(fc->c > 0.0)) {
        const int want = !isfinite(p->a.scale)    ? SUS_ERR_INVAL
                         : !fz_case_finite(fc, 1) ? SUS_ERR_NONFINITE
                                                  : SUS_ERR_INVAL;
        port_expect_problem_refused(x, want, "refused problem");
        return;
    }
    int rc = sus_ref_probs(&p->a, fc->rule, fc->c, x->q, x->wt, &err);
    if (rc == SUS_OK)
        rc = sus_ref_mask(&p->a, fc->rule, fc->c, fc->seed, &x->canon, &err);
    if (rc != SUS_OK) {
        sus_mask_free(&x->canon);
        port_expect_problem_refused(x, rc, "the rule refused");
        return;
    }
    rc = sus_ref_estimate(&p->a, &x->canon, &p->got, &err);
    if (rc != SUS_OK) {
        if (x->ch.o.prec == 0)
            port_expect_problem_refused(x, rc, "the estimate refused");
        return;
    }
    if ((rc = sus_ref_estimate_mag(&p->a, &x->canon, &p->mag, &err)))
        fz_fail(fc, "sus_ref_estimate_mag refused what sus_ref_estimate accepted: %s",
                err.msg);
    port_check_honest(x);
    port_check_moved(x);
    port_check_toggled(x);
    port_check_corrupted(x);
    port_check_bad_arguments(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size, 0};
    fz_case fc;
    if (fz_case_decode(&in, "check_port", (fz_limits){2, 12, 4}, SUS_DTYPE_F8, &fc))
        return 0;
    port_run x;
    memset(&x, 0, sizeof x);
    x.fc = &fc;
    x.ch = decode_choices(&in, &fc);
    if (port_alloc(&x) == 0)
        run_case(&x);
    port_free(&x);
    fz_case_free(&fc);
    return 0;
}
