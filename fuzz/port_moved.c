/* port_moved.c: check_port's teeth on the outputs (port.h): one element of
 * W~, dQ, dK or dV moved by a multiple of its bound must pass inside the
 * bound and fail outside it, in that part alone, at that index. */
#include <math.h>

#include "port.h"

/* The moved element's verdict: the worst of its part (every other ratio
 * 0), failed exactly when it fails; nothing else fails. */
static void expect_moved(port_run *x, const sus_check_report *rep, int part,
                         size_t index, int fails, const char *what)
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

static void move_wtilde(port_run *x, sus_check_opts *o)
{
    sus_mask *mk = &x->mk;
    if (mk->nnz == 0)
        return;
    const int64_t e = (int64_t)(x->ch.index % (uint64_t)mk->nnz);
    const int64_t r = port_row_of(mk, e);
    const double f = fabs(x->ch.factor), w = mk->wtilde[e];
    const double bound = port_wtilde_bound(x, r, mk->indices[e], o->u);
    const double moved = isfinite(f) ? w + f * bound : f;
    if (moved == w)
        return;
    mk->wtilde[e] = moved;
    sus_check_report rep;
    sus_error err;
    if (!isfinite(moved)) {
        port_check_ok(x, o, &rep, "W~ made non-finite");
        port_check_report(x, &rep, o);
        if (rep.mask_ok)
            fz_fail(x->fc, "W~[%lld] = %g accepted as well-formed", (long long)e,
                    moved);
        return;
    }
    /* the outputs follow the port's W~, so that only W~ is off */
    if (sus_ref_estimate(&x->fc->t.p.a, mk, &x->out, &err) != SUS_OK)
        return;
    port_check_ok(x, o, &rep, "W~ moved");
    port_check_report(x, &rep, o);
    expect_moved(x, &rep, SUS_CHECK_WTILDE, (size_t)e, f > 1.0, "W~ moved by f bound:");
    /* the moved entry is the worst: its bound is sus.h's */
    const sus_check_elem *we = &rep.part[SUS_CHECK_WTILDE].worst[0];
    if (!(we->bound == bound || fabs(we->bound - bound) <= 0x1p-30 * bound))
        fz_fail(x->fc, "W~[%lld]: report's bound %.17g, sus.h's formula %.17g",
                (long long)e, we->bound, bound);
}

static void move_output(port_run *x, sus_check_opts *o)
{
    const int part = x->ch.part;
    const sus_t_problem *p = &x->fc->t.p;
    double *y = (double *)port_part_array(&x->out, part);
    const size_t count = port_part_count(&p->z, part);
    const size_t t = (size_t)(x->ch.index % count);
    const double f = x->ch.factor;
    const double bound =
        SUS_TAU * sus_bound_k(&p->a.shape) * o->u * port_part_array(&p->mag, part)[t];
    const double was = y[t];
    y[t] = isfinite(f) ? was + f * bound : f;
    if (y[t] == was)
        return;
    const sus_check_elem e = {t, y[t], was, bound, 0.0};
    const int fails = port_spec_failed(&e);
    /* the arithmetic has margin (the bound is at least 56 ulp of y): 3/4 of
     * a finite bound stays inside it, 3/2 goes outside (unless the bound is
     * inf: then only NaN fails) */
    if (isfinite(bound) && isfinite(y[t]) && fails != (fabs(f) > 1.0))
        fz_fail(x->fc, "harness: %s[%zu] %.17g moved by %g x %.3g to %.17g: fails %d",
                sus_check_part_name((sus_check_part)part), t, was, f, bound, y[t],
                fails);
    sus_check_report rep;
    port_check_ok(x, o, &rep, "output moved");
    port_check_report(x, &rep, o);
    expect_moved(x, &rep, part, t, fails, "output moved by f bound:");
}

void port_check_moved(port_run *x)
{
    sus_check_opts o = x->ch.o;
    o.prec = 0;
    port_reset(x);
    if (x->ch.part == SUS_CHECK_WTILDE)
        move_wtilde(x, &o);
    else
        move_output(x, &o);
}
