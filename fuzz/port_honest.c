/* port_honest.c: check_port's honest port (port.h): the canonical mask and
 * sus_ref_estimate under it. The double oracle passes it with every ratio
 * 0; against MPFR the report's counts must be those of a recount. */
#include <float.h>
#include <math.h>

#include "port.h"

/* Against MPFR: the report's outputs recounted from sus_mpfr_estimate at
 * the same precision. An element must pass where the double reference's
 * error, within tau k (2^-53 mag + eta G) where the first-order model
 * applies (diff_ref_mpfr checks that bound), plus MPFR's own
 * 2^-(prec - 16) mag, is within half the port's bound. */
static void check_recount(port_run *x, const sus_check_report *rep,
                          const sus_check_opts *o)
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
        const double *got = port_part_array(&x->out, part),
                     *ex = port_part_array(&p->exact, part);
        const double *mag = port_part_array(&x->mmag, part);
        size_t failed = 0;
        for (size_t t = 0; t < port_part_count(&p->z, part); t++) {
            const sus_check_elem e = {t, got[t], ex[t], tk * rep->u * mag[t], 0.0};
            const int bad = port_spec_failed(&e);
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

void port_check_honest(port_run *x)
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
    port_check_report(x, &rep, o);
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
        port_check_exact(x, &rep, "honest port");
        if (!rep.pass)
            fz_fail(x->fc, "honest port fails against the double oracle");
    } else {
        check_recount(x, &rep, o);
    }
}
