/* port_refused.c: what check_port expects refused (port.h): a problem the
 * reference refuses, whatever the port, and every bad argument of
 * sus_check_port and sus_canonical_uniforms, each with its status. */
#include <math.h>
#include <string.h>

#include "port.h"

/* A problem the reference refuses is refused alike: any port, here an
 * empty mask and zero outputs. */
void port_expect_problem_refused(port_run *x, int want, const char *why)
{
    sus_check_report rep;
    sus_error err;
    port_reset(x);
    int rc = port_check(x, &x->ch.o, &rep, &err);
    if (rc != want)
        fz_fail(x->fc, "%s: sus_check_port %s (%s), want %s", why, sus_strerror(rc),
                rc ? err.msg : "", sus_strerror(want));
}

static void expect_refused(port_run *x, int rc, int want, const sus_error *err,
                           const char *what)
{
    if (rc != want || !err->msg[0])
        fz_fail(x->fc, "%s: %s (%s), want %s", what, sus_strerror(rc), err->msg,
                sus_strerror(want));
}

void port_check_bad_arguments(port_run *x)
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
