/* port_report.c: check_port's checks of every report (port.h): its counts,
 * the sorted worst lists (each entry's ratio from its own values), the
 * borderline and mismatch lists against the seed, the rule and sus.h's band,
 * and pass; and the exact verdict of a port that is the double oracle. */
#include <math.h>

#include "port.h"

static int same_double(double a, double b)
{
    return a == b || (isnan(a) && isnan(b));
}

static void check_stats(port_run *x, const sus_check_report *rep, int p,
                        const double *port, size_t count)
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
        failing += (size_t)port_spec_failed(e);
        if (e->index >= count || !same_double(e->port, port[e->index]) ||
            !same_double(e->ratio, port_spec_ratio(e)) ||
            (w > 0 && e->ratio > st->worst[w - 1].ratio))
            fz_fail(x->fc,
                    "report %s worst[%zu]: index %zu of %zu, port %.17g (array %.17g), "
                    "oracle %.17g, bound %.3g, ratio %.3g (sus.h: %.3g, previous %.3g)",
                    name, w, e->index, count, e->port,
                    e->index < count ? port[e->index] : 0.0, e->oracle, e->bound,
                    e->ratio, port_spec_ratio(e), w ? st->worst[w - 1].ratio : 0.0);
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
static void check_entries(port_run *x, const sus_check_opts *o,
                          const sus_check_entry *list, size_t count, int border)
{
    const sus_shape *sh = &x->fc->t.p.a.shape;
    for (size_t l = 0; l < count; l++) {
        const sus_check_entry *e = &list[l];
        const int64_t r = (e->b * sh->H + e->h) * sh->n + e->i;
        double u = -1.0;
        if (e->b < 0 || e->b >= sh->B || e->h < 0 || e->h >= sh->H || e->i < 0 ||
            e->i >= sh->n || e->j < 0 || e->j >= port_allowed(&x->fc->t.p.a, e->i))
            fz_fail(x->fc, "report: listed entry (%lld, %lld, %lld, %lld) out of range",
                    (long long)e->b, (long long)e->h, (long long)e->i, (long long)e->j);
        sus_canonical_uniform(o->seed, e->b, e->h, e->i, e->j, &u);
        const double q = x->q[(size_t)(r * sh->m + e->j)];
        const int kept = in_mask(&x->mk, r, e->j);
        const double band = port_entry_band(x, r, e->j, o->u);
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

void port_check_report(port_run *x, const sus_check_report *rep,
                       const sus_check_opts *o)
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

/* Against the double oracle the port is the oracle itself: every ratio 0. */
void port_check_exact(port_run *x, const sus_check_report *rep, const char *what)
{
    for (int p = 0; p < SUS_CHECK_PARTS; p++)
        if (rep->part[p].failed || (rep->part[p].nworst && rep->part[p].worst[0].ratio))
            fz_fail(x->fc, "%s: part %s failed %zu, worst ratio %.3g at %zu, want 0",
                    what, sus_check_part_name((sus_check_part)p), rep->part[p].failed,
                    rep->part[p].worst[0].ratio, rep->part[p].worst[0].index);
}
