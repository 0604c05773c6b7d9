/* ref_run.c: the double reference's driver over heads, shared by the exact
 * gradient and the SUS estimator under a mask (DESIGN.md 2.2): the exact
 * forward, then the backward with W (exact) or W~ (mask) in the backward,
 * with D_i = dO_i . O_i from the exact O in both cases. */
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "ref_internal.h"

/* Expands the head's mask rows into dense n*m W~ and kept flags. */
static void expand_head(const sus_mask *mk, const sus_shape *sh, int64_t b, int64_t h,
                        double *Wt, unsigned char *kept)
{
    const int64_t n = sh->n, m = sh->m;
    memset(Wt, 0, (size_t)(n * m) * sizeof(double));
    memset(kept, 0, (size_t)(n * m));
    for (int64_t i = 0; i < n; i++) {
        int64_t r = (b * sh->H + h) * n + i;
        for (int64_t e = mk->indptr[r]; e < mk->indptr[r + 1]; e++) {
            Wt[i * m + mk->indices[e]] = mk->wtilde[e];
            kept[i * m + mk->indices[e]] = 1;
        }
    }
}

typedef struct scratch {
    sus_i_head_fwd f;
    double *Wt, *D, *dS, *Wm, *Wbm;
    unsigned char *kept;
} scratch;

static int scratch_alloc(scratch *s, const sus_shape *sh)
{
    const size_t nm = (size_t)(sh->n * sh->m), n = (size_t)sh->n;
    s->f.S = sus_i_alloc_array(nm, sizeof(double));
    s->f.W = sus_i_alloc_array(nm, sizeof(double));
    s->f.lse = sus_i_alloc_array(n, sizeof(double));
    s->Wt = sus_i_alloc_array(nm, sizeof(double));
    s->D = sus_i_alloc_array(n, sizeof(double));
    s->dS = sus_i_alloc_array(nm, sizeof(double));
    s->Wm = sus_i_alloc_array(nm, sizeof(double));
    s->Wbm = sus_i_alloc_array(nm, sizeof(double));
    s->kept = sus_i_alloc_array(nm, 1);
    return s->f.S && s->f.W && s->f.lse && s->Wt && s->D && s->dS && s->Wm && s->Wbm &&
                   s->kept
               ? 0
               : -1;
}

static void scratch_free(scratch *s)
{
    free(s->f.S);
    free(s->f.W);
    free(s->f.lse);
    free(s->Wt);
    free(s->D);
    free(s->dS);
    free(s->Wm);
    free(s->Wbm);
    free(s->kept);
}

int sus_i_ref_run(const sus_attn *a, const sus_mask *mk, sus_grads *out, int want_mag,
                  sus_error *err)
{
    int rc = sus_attn_check(a, err);
    if (rc)
        return rc;
    if (mk && (rc = sus_mask_check(mk, &a->shape, a->causal, err)))
        return rc;
    if (!out || !out->o || !out->lse || !out->dq || !out->dk || !out->dv)
        return sus_i_fail(err, SUS_ERR_INVAL, "reference: NULL output array");
    const sus_shape *sh = &a->shape;
    scratch s = {0};
    if (scratch_alloc(&s, sh)) {
        scratch_free(&s);
        return sus_i_fail(err, SUS_ERR_NOMEM,
                          "reference: out of memory for %lld x %lld scores",
                          (long long)sh->n, (long long)sh->m);
    }
    for (int64_t b = 0; b < sh->B && !rc; b++)
        for (int64_t h = 0; h < sh->H && !rc; h++) {
            if ((rc = sus_i_ref_head_forward(a, b, h, &s.f, err)))
                break;
            const double *Wb = s.f.W;
            const unsigned char *kept = NULL;
            if (mk) {
                expand_head(mk, sh, b, h, s.Wt, s.kept);
                Wb = s.Wt;
                kept = s.kept;
            }
            if (want_mag)
                sus_i_ref_head_mag(a, b, h, &s.f, Wb, kept, s.Wm, s.Wbm, s.D, s.dS,
                                   out);
            else
                sus_i_ref_head_backward(a, b, h, &s.f, Wb, s.D, s.dS, out);
        }
    if (!rc && !want_mag) {
        sus_sizes z;
        sus_shape_sizes(sh, &z, NULL);
        rc = sus_i_ref_check_finite_out(out, &z, err);
    }
    if (!rc)
        sus_i_ok(err);
    scratch_free(&s);
    return rc;
}
