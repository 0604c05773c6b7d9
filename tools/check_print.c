/* check_print.c: the report of `sus check`: a one-line verdict naming what
 * failed, then one line per check and the worst elements. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check_cmd.h"

/* A flat index of an output as the inputs' multi-index, "[0, 1, 3, 2]". */
static void index_text(const sus_chk_port *p, sus_check_part part, size_t t, char *buf,
                       size_t len)
{
    static const sus_cli_out_kind kind[SUS_CHECK_PARTS] = {
        SUS_CLI_OUT_Q, SUS_CLI_OUT_Q, SUS_CLI_OUT_K, SUS_CLI_OUT_V};
    int64_t shape[4], idx[4];
    int nd = sus_cli_attn_out_shape(&p->in, kind[part], shape);
    for (int ax = nd - 1; ax >= 0; ax--) {
        idx[ax] = (int64_t)(t % (size_t)shape[ax]);
        t /= (size_t)shape[ax];
    }
    sus_cli_format_shape(idx, nd, buf, len);
    buf[0] = '[';
    buf[strlen(buf) - 1] = ']';
}

/* The (b, h, i, j) of entry e of the mask. */
static void entry_text(const sus_chk_port *p, size_t e, char *buf, size_t len)
{
    const sus_shape *sh = &p->in.shape;
    int64_t r = 0;
    while (r + 1 < p->mk.rows && (size_t)p->mk.indptr[r + 1] <= e)
        r++;
    snprintf(buf, len, "[entry %zu: b %lld, h %lld, i %lld, j %lld]", e,
             (long long)(r / sh->n / sh->H), (long long)(r / sh->n % sh->H),
             (long long)(r % sh->n), (long long)p->mk.indices[e]);
}

static void print_worst(const sus_chk_port *p, sus_check_part part,
                        const sus_check_stats *st, size_t most)
{
    for (size_t w = 0; w < st->nworst && w < most; w++) {
        const sus_check_elem *e = &st->worst[w];
        char at[128];
        if (part == SUS_CHECK_WTILDE)
            entry_text(p, e->index, at, sizeof at);
        else
            index_text(p, part, e->index, at, sizeof at);
        printf("  %s%s  port %.17g  oracle %.17g  bound %.3g  ratio %.3g\n",
               sus_check_part_name(part), at, e->port, e->oracle, e->bound, e->ratio);
    }
}

/* The report stays short: the first few entries of a list, then a count. */
enum { SHOWN = 5 };

static void print_entries(const char *what, const sus_check_entry *list, size_t n,
                          int64_t total, const char *cmp)
{
    if (n > SHOWN)
        n = SHOWN;
    for (size_t t = 0; t < n; t++) {
        const sus_check_entry *e = &list[t];
        printf("  %s (b %lld, h %lld, i %lld, j %lld): kept by %s only; u %.17g, "
               "q %.17g, |u - q| %.3g %s band %.3g\n",
               what, (long long)e->b, (long long)e->h, (long long)e->i, (long long)e->j,
               e->port_kept ? "the port" : "the canonical mask", e->u, e->q,
               fabs(e->u - e->q), cmp, e->band);
    }
    if (total > (int64_t)n)
        printf("  ... and %lld more %s entries\n", (long long)(total - (int64_t)n),
               what);
}

static void print_verdict(const sus_check_report *rep)
{
    if (rep->pass) {
        printf("sus check: PASS\n");
        return;
    }
    printf("sus check: FAIL (");
    const char *sep = "";
    if (!rep->mask_ok) {
        printf("mask");
        sep = ", ";
    }
    for (int q = 0; q < SUS_CHECK_PARTS; q++)
        if (rep->part[q].failed) {
            printf("%s%s", sep, sus_check_part_name((sus_check_part)q));
            sep = ", ";
        }
    if (rep->canon_mismatch)
        printf("%scanonical", sep);
    printf(")\n");
}

static const char *dtype_name(sus_dtype dt)
{
    return dt == SUS_DTYPE_F4 ? "float32" : "float64";
}

void sus_chk_print(const sus_chk_opts *o, const sus_chk_port *p, const sus_attn *a,
                   const sus_check_opts *co, const sus_check_report *rep)
{
    const sus_shape *sh = &a->shape;
    print_verdict(rep);
    printf("problem: B %lld, H %lld, n %lld, m %lld, d %lld, dv %lld, %s, scale %.17g, "
           "rule %s, c %g\n",
           (long long)sh->B, (long long)sh->H, (long long)sh->n, (long long)sh->m,
           (long long)sh->d, (long long)sh->dv, a->causal ? "causal" : "not causal",
           a->scale, co->rule->name, co->c);
    printf("bound: |port - oracle| <= tau k u |y|_mag, tau %g, k %g, u %.3g (%s; "
           "outputs %s %s %s); oracle: %s",
           rep->tau, rep->k, rep->u,
           o->has_u ? "--unit-roundoff" : "the outputs' dtype",
           dtype_name(p->out_dtype[0]), dtype_name(p->out_dtype[1]),
           dtype_name(p->out_dtype[2]), co->prec ? "MPFR" : "the double reference");
    if (co->prec)
        printf(" at %ld bits", co->prec);
    printf("\n");
    if (!rep->mask_ok) {
        printf("mask: not well-formed: %s\n", rep->mask_msg);
        printf("nothing else was compared: the oracle needs a well-formed mask\n");
        return;
    }
    printf("mask: %lld kept entries in %lld rows, well-formed\n", (long long)p->mk.nnz,
           (long long)p->mk.rows);
    if (co->canonical) {
        printf("canonical (seed %llu): %lld kept by both, %lld borderline, %lld "
               "mismatched%s\n",
               (unsigned long long)co->seed, (long long)rep->canon_same,
               (long long)rep->canon_borderline, (long long)rep->canon_mismatch,
               rep->canon_mismatch ? ": FAIL" : ": ok");
        print_entries("mismatch", rep->mismatch, rep->nmismatch, rep->canon_mismatch,
                      ">");
        print_entries("borderline", rep->borderline, rep->nborderline,
                      rep->canon_borderline, "<=");
    }
    for (int q = 0; q < SUS_CHECK_PARTS; q++) {
        const sus_check_stats *st = &rep->part[q];
        printf("%-3s %zu %s, %zu outside the bound, worst ratio %.3g: %s\n",
               sus_check_part_name((sus_check_part)q), st->count,
               q == SUS_CHECK_WTILDE ? "entries" : "elements", st->failed,
               st->nworst ? st->worst[0].ratio : 0.0, st->failed ? "FAIL" : "ok");
    }
    if (rep->uncertain)
        printf("note: %zu oracle elements not certified by MPFR (each within about "
               "2^-%ld |y|_mag)\n",
               rep->uncertain, co->prec - 16);
    printf("worst elements (index, port value, oracle value, bound, ratio):\n");
    for (int q = 0; q < SUS_CHECK_PARTS; q++)
        /* the failing parts' worst; when all pass, each part's worst one */
        if (rep->part[q].failed || rep->pass)
            print_worst(p, (sus_check_part)q, &rep->part[q], rep->pass ? 1 : 3);
}
