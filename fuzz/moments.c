/*
 * moments: the estimator's exact moments (ref/moments.c, mp_moments.c,
 * mp_enumerate.c) on tiny decoded problems, for minc and waterfill:
 *  - the closed forms (sus_mpfr_moments) against exhaustive enumeration
 *    (sus_mpfr_enumerate) where at most 10 entries have 0 < q < 1: means
 *    and variances within the DESIGN.md 3 bound (the variance is a sum of
 *    nonnegative terms: its own magnitude), and the same expected nnz;
 *  - E[estimator] = the exact gradient (sus_mpfr_grad) within the bound;
 *  - the functional variance with a one-hot R_V equals Var(dV) there (no
 *    cross terms).
 */
#include <math.h>
#include <stdlib.h>

#include "fz.h"

#define PREC 128

/* The number of entries with 0 < q < 1, and the largest 1/q - 1 among them. */
static int uncertain(const fz_case *fc, double *q, double *wt, double *max_a)
{
    if (sus_ref_probs(&fc->t.p.a, fc->rule, fc->c, q, wt, NULL) != SUS_OK)
        return -1;
    int count = 0;
    *max_a = 0.0;
    for (size_t s = 0; s < fc->t.p.z.scores; s++)
        if (q[s] > 0.0 && q[s] < 1.0) {
            count++;
            *max_a = fmax(*max_a, 1.0 / q[s] - 1.0);
        }
    return count;
}

/* Variances. Each side computes at PREC bits and is exact only to about
 * 2^-PREC of its magnitudes: enumeration sums p (X - E X)^2 over masks,
 * which resolves a variance down to about 2^-PREC mag^2 (mag: the mean's
 * magnitude); the closed form sum a (s dS K)^2 carries dS's rounding,
 * 2^-PREC |dS|_mag, amplified by a = 1/q - 1 (a row whose dS is exactly 0,
 * identical values, gets a variance of 1e178 at a = 1e250). The variance's
 * magnitude is therefore var + (1 + max a) 2^-57 mag^2 + 2^-48 G^2: with
 * u = 2^-53 that allows tau k (2^-110 (1 + max a) mag^2 + 2^-101 G^2)
 * beyond the bound. Enumeration's Gray-code sums also leave an absolute
 * residue of 2^-PREC times the kept values W~ dO, which can exceed the
 * mean itself by far where q is tiny (W~ = 1/c, W = 1e-89): G, the growth
 * bound of fz_case_growth, bounds those values, so means get 2^-100 G. */
static void check_var(fz_case *fc, const char *name, const double *got,
                      const double *want, const double *mean_mag, size_t count,
                      double max_a)
{
    const double floor = 0x1p-24 * fz_case_growth(fc);
    double *vm = malloc(count * sizeof *vm);
    if (!vm)
        return;
    for (size_t t = 0; t < count; t++)
        vm[t] = want[t] + (1.0 + max_a) * 0x1p-57 * mean_mag[t] * mean_mag[t] +
                floor * floor;
    fz_check_array(fc, name, got, want, vm, count, 0x1p-53);
    free(vm);
}

static void check_mean(fz_case *fc, const char *name, const double *got,
                       const double *want, const double *mag, size_t count)
{
    double *vm = malloc(count * sizeof *vm);
    if (!vm)
        return;
    for (size_t t = 0; t < count; t++)
        vm[t] = mag[t] + 0x1p-47 * fz_case_growth(fc);
    fz_check_array(fc, name, got, want, vm, count, 0x1p-53);
    free(vm);
}

static void run(fz_case *fc, sus_moments *a, sus_moments *b, double *q, double *wt)
{
    const sus_attn *at = &fc->t.p.a;
    const sus_sizes *z = &fc->t.p.z;
    sus_error err;
    int ra = sus_mpfr_moments(at, fc->rule, fc->c, PREC, a, &err);
    if (!fz_case_finite(fc, 1) || !(fc->c > 0) || !fz_case_linear(fc))
        return;
    if (ra == SUS_ERR_RANGE)
        return;
    if (ra)
        fz_fail(fc, "sus_mpfr_moments refused: %s", err.msg);
    sus_grads *ex = &fc->t.p.exact, *mag = &fc->t.p.mag;
    sus_cert cert;
    if (sus_mpfr_grad(at, PREC, ex, mag, &cert, &err) != SUS_OK)
        return;
    const double u = 0x1p-53;
    fz_check_array(fc, "E[dQ~]", a->mean.dq, ex->dq, mag->dq, z->q, u);
    fz_check_array(fc, "E[dK~]", a->mean.dk, ex->dk, mag->dk, z->k, u);
    fz_check_array(fc, "E[dV~]", a->mean.dv, ex->dv, mag->dv, z->v, u);
    double max_a = 0.0;
    const int unc = uncertain(fc, q, wt, &max_a);
    if (unc >= 0 && unc <= 10) {
        int rb = sus_mpfr_enumerate(at, fc->rule, fc->c, PREC, b, &err);
        if (rb != SUS_OK)
            fz_fail(fc, "sus_mpfr_enumerate refused %d uncertain entries: %s", unc,
                    err.msg);
        check_mean(fc, "enumerated E[dQ~]", b->mean.dq, a->mean.dq, mag->dq, z->q);
        check_mean(fc, "enumerated E[dV~]", b->mean.dv, a->mean.dv, mag->dv, z->v);
        check_var(fc, "enumerated Var(dQ~)", b->var.dq, a->var.dq, mag->dq, z->q,
                  max_a);
        check_var(fc, "enumerated Var(dK~)", b->var.dk, a->var.dk, mag->dk, z->k,
                  max_a);
        check_var(fc, "enumerated Var(dV~)", b->var.dv, a->var.dv, mag->dv, z->v,
                  max_a);
        double one = a->nnz_total;
        fz_check_array(fc, "enumerated nnz", &b->nnz_total, &one, &one, 1, u);
    }
    double *rv = calloc(z->v, sizeof *rv), fv = 0.0;
    if (!rv)
        return;
    const size_t pick = (size_t)(fc->seed % z->v);
    rv[pick] = 1.0;
    if (sus_mpfr_functional_var(at, fc->rule, fc->c, NULL, NULL, rv, PREC, &fv, &err) ==
        SUS_OK)
        fz_check_array(fc, "Var(<e_j, dV~>)", &fv, &a->var.dv[pick], &a->var.dv[pick],
                       1, u);
    free(rv);
}

static int alloc_moments(sus_moments *mo, const sus_sizes *z)
{
    mo->nnz_row = calloc(z->rows, sizeof(double));
    return sus_tf_grads_alloc(&mo->mean, z) || sus_tf_grads_alloc(&mo->var, z) ||
           !mo->nnz_row;
}

static void free_moments(sus_moments *mo)
{
    sus_tf_grads_free(&mo->mean);
    sus_tf_grads_free(&mo->var);
    free(mo->nnz_row);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size, 0};
    fz_case fc;
    if (fz_case_decode(&in, "moments", (fz_limits){1, 5, 3}, SUS_DTYPE_F8, &fc))
        return 0;
    sus_moments a = {0}, b = {0};
    const sus_sizes *z = &fc.t.p.z;
    double *q = calloc(z->scores, sizeof *q), *wt = calloc(z->scores, sizeof *wt);
    if (q && wt && !alloc_moments(&a, z) && !alloc_moments(&b, z))
        run(&fc, &a, &b, q, wt);
    free(q);
    free(wt);
    free_moments(&a);
    free_moments(&b);
    fz_case_free(&fc);
    return 0;
}
