/* report_write.c: report.md and report.html, from one emitter with two
 * formats, so that both always say the same thing. The verdict comes
 * first. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"

typedef struct out {
    FILE *f;
    int html;
} out;

static void text(out *o, const char *s)
{
    if (!o->html) {
        fputs(s, o->f);
        return;
    }
    for (; *s; s++) {
        if (*s == '<')
            fputs("&lt;", o->f);
        else if (*s == '>')
            fputs("&gt;", o->f);
        else if (*s == '&')
            fputs("&amp;", o->f);
        else
            fputc(*s, o->f);
    }
}

static void heading(out *o, int level, const char *s)
{
    if (o->html)
        fprintf(o->f, "<h%d>", level);
    else
        fprintf(o->f, "%s%.*s ", level > 1 ? "\n" : "", level, "######");
    text(o, s);
    fputs(o->html ? "</h" : "\n\n", o->f);
    if (o->html)
        fprintf(o->f, "%d>\n", level);
}

static void para_start(out *o)
{
    fputs(o->html ? "<p>" : "", o->f);
}

static void para_end(out *o)
{
    fputs(o->html ? "</p>\n" : "\n\n", o->f);
}

static void para(out *o, const char *s)
{
    para_start(o);
    text(o, s);
    para_end(o);
}

/* A table row; header = 1 for the first row. */
static void row(out *o, int header, int ncols, const char *const *cells)
{
    if (o->html) {
        if (header)
            fputs("<table>\n", o->f);
        fputs("<tr>", o->f);
        for (int i = 0; i < ncols; i++) {
            fputs(header ? "<th>" : "<td>", o->f);
            text(o, cells[i]);
            fputs(header ? "</th>" : "</td>", o->f);
        }
        fputs("</tr>\n", o->f);
        return;
    }
    fputs("|", o->f);
    for (int i = 0; i < ncols; i++) {
        fputc(' ', o->f);
        text(o, cells[i]);
        fputs(" |", o->f);
    }
    fputs("\n", o->f);
    if (header) {
        fputs("|", o->f);
        for (int i = 0; i < ncols; i++)
            fputs("---|", o->f);
        fputs("\n", o->f);
    }
}

static void table_end(out *o)
{
    fputs(o->html ? "</table>\n" : "\n", o->f);
}

static void image(out *o, const char *name, const char *alt)
{
    if (o->html)
        fprintf(o->f, "<p><img src=\"%s.svg\" alt=\"%s\" width=\"900\"></p>\n", name,
                alt);
    else
        fprintf(o->f, "![%s](%s.png)\n\n", alt, name);
}

static void verdict_tables(out *o, const sus_rep_section *secs, size_t nsec)
{
    static const char *hdr[8] = {"test",    "statistic (max abs z)",
                                 "p-value", "fail if p <=",
                                 "result",  "hypotheses",
                                 "worst",   "false alarm holds by"};
    for (size_t i = 0; i < nsec; i++) {
        const sus_rep_section *s = &secs[i];
        char h[256];
        snprintf(h, sizeof h, "%s %s (N = %.0f)", s->pass ? "PASS" : "FAIL", s->label,
                 s->acc.n);
        heading(o, 3, h);
        row(o, 1, 8, hdr);
        for (int k = 0; k < SUS_MC_NTESTS; k++) {
            const sus_mc_test *t = &s->t[k];
            char st[32], p[32], a[32], fam[32];
            snprintf(st, sizeof st, "%.4g", t->stat);
            snprintf(p, sizeof p, "%.3g", t->p);
            snprintf(a, sizeof a, "%.3g", t->alpha);
            snprintf(fam, sizeof fam, "%zu", t->family);
            const char *cells[8] = {t->name,
                                    t->ran ? st : "-",
                                    t->ran ? p : "-",
                                    t->ran ? a : "-",
                                    !t->ran   ? t->skip
                                    : t->pass ? "ok"
                                              : "FAIL",
                                    t->ran ? fam : "-",
                                    t->ran ? t->worst : "-",
                                    t->method};
            row(o, 0, 8, cells);
        }
        table_end(o);
    }
}

static void rho_table(out *o, const sus_rep_rho *rho, size_t nrho)
{
    static const char *hdr[9] = {"workload",       "c",           "expected nnz",
                                 "SUS var minc",   "waterfill c", "SUS var waterfill",
                                 "across-seq var", "rho minc",    "rho waterfill"};
    row(o, 1, 9, hdr);
    for (size_t i = 0; i < nrho; i++)
        for (int ci = 0; ci < SUS_REP_NC; ci++) {
            const sus_rep_rho *r = &rho[i];
            char c[16], nnz[32], vm[32], cw[32], vw[32], sv[32], rm[32], rw[32];
            snprintf(c, sizeof c, "%g", sus_rep_cs[ci]);
            snprintf(nnz, sizeof nnz, "%.1f", r->nnz[ci]);
            snprintf(vm, sizeof vm, "%.4g", r->var_minc[ci]);
            snprintf(cw, sizeof cw, "%.3f", r->wf_c[ci]);
            snprintf(vw, sizeof vw, "%.4g", r->var_wf[ci]);
            snprintf(sv, sizeof sv, "%.4g", r->seq_var);
            snprintf(rm, sizeof rm, "%.4g", r->var_minc[ci] / r->seq_var);
            snprintf(rw, sizeof rw, "%.4g", r->var_wf[ci] / r->seq_var);
            const char *cells[9] = {r->workload, c, nnz, vm, cw, vw, sv, rm, rw};
            row(o, 0, 9, cells);
        }
    table_end(o);
}

static void emit(out *o, const sus_rep_section *secs, size_t nsec,
                 const sus_rep_rho *rho, size_t nrho, double alpha, int pass,
                 int figures, const char *cmdline)
{
    if (o->html)
        fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>sus report"
              "</title><style>body{font-family:sans-serif;max-width:1100px;margin:auto}"
              "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:2px "
              "6px;"
              "font-size:90%}</style></head><body>\n",
              o->f);
    heading(o, 1, "sus report: is the SUS estimator unbiased?");
    char v[256];
    snprintf(v, sizeof v,
             "Verdict: %s. %zu campaign(s), family-wise false-alarm rate %g "
             "(split evenly over campaigns and tests).",
             pass ? "PASS" : "FAIL", nsec, alpha);
    heading(o, 2, v);
    para_start(o);
    text(o, "Reproduce with: ");
    fputs(o->html ? "<code>" : "`", o->f);
    text(o, cmdline);
    fputs(o->html ? "</code>" : "`", o->f);
    para_end(o);
    verdict_tables(o, secs, nsec);
    heading(o, 2, "How the false-alarm rates hold");
    para(o,
         "Means (every element, and random linear functionals with the shared-mask "
         "cross terms) and the mask calibration (keep frequency per bin of q, kept "
         "count per row, joint keeps of pairs in a row) use Bernstein's inequality for "
         "sums of independent bounded terms, with the known range max(1/q - 1, 1)|v| "
         "of each entry's term and the exact variance: the p-value is a bound that "
         "holds for every N, however skewed small kept counts make the samples. "
         "Bonferroni over each family. Variances use the normal approximation of the "
         "sample variance standardized by the fourth moment (the larger of the sample "
         "and the exact one; Sidak over the family): "
         "asymptotic, run only for N >= 500; `sus mc --calibrate` measures its rate. "
         "A rounding allowance of 2 tau k u |y|_mag (DESIGN.md 3) is subtracted from "
         "every deviation of a mean.");
    if (figures) {
        heading(o, 2, "Figures");
        para(o,
             "QQ plot: the sorted z-scores of every element against normal quantiles; "
             "an unbiased estimator stays near y = x (small-count elements are skewed, "
             "which is why the test uses Bernstein, not this normal picture).");
        image(o, "qq", "QQ plot of z-scores");
        para(o,
             "Keep-rate calibration: observed keeps over expected keeps in each bin of "
             "q; the bars are the deviation at which the test fails.");
        image(o, "keep", "keep-rate calibration");
        para(o, "Exact against sample variance, per element.");
        image(o, "variance", "exact vs empirical variance");
        if (nrho)
            image(o, "rho", "rho against c");
    }
    if (nrho) {
        heading(o, 2, "Relative variance increase rho");
        para(
            o,
            "rho = SUS variance (exact, summed over every output element, averaged "
            "over "
            "the workload's sequences, seeds 1..S) / across-sequence variance of the "
            "exact gradient (summed likewise). waterfill runs at the budget that gives "
            "minc's expected nnz on each sequence.");
        rho_table(o, rho, nrho);
    }
    if (o->html)
        fputs("</body></html>\n", o->f);
}

int sus_rep_write(const char *dir, const sus_rep_section *secs, size_t nsec,
                  const sus_rep_rho *rho, size_t nrho, double alpha, int pass,
                  int figures, const char *cmdline, sus_error *err)
{
    static const char *names[2] = {"report.md", "report.html"};
    for (int h = 0; h < 2; h++) {
        char *path = sus_cli_path_join(dir, names[h]);
        FILE *f = path ? fopen(path, "w") : NULL;
        if (!f) {
            int rc = sus_cli_fail(err, SUS_ERR_IO, "%s/%s: %s", dir, names[h],
                                  strerror(errno));
            free(path);
            return rc;
        }
        out o = {f, h};
        emit(&o, secs, nsec, rho, nrho, alpha, pass, figures, cmdline);
        int bad = ferror(f) | (fclose(f) != 0);
        free(path);
        if (bad)
            return sus_cli_fail(err, SUS_ERR_IO, "%s/%s: write error", dir, names[h]);
    }
    return SUS_OK;
}
