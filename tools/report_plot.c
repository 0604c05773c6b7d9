/* report_plot.c: the report's figures (issue 6, item 4), drawn by gnuplot
 * from data files written here: the QQ plot of the element z-scores, the
 * keep-rate calibration with its bands, exact against empirical variance,
 * and rho against c. Each figure is written as PNG (pngcairo) and SVG. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"

#define MAX_POINTS 1500

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The standard normal quantile of p, by bisection on erfc (plotting only). */
static double normal_quantile(double p)
{
    double lo = -40.0, hi = 40.0;
    for (int it = 0; it < 100; it++) {
        double mid = 0.5 * (lo + hi);
        if (0.5 * erfc(-mid / sqrt(2.0)) < p)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

static FILE *open_in(const char *dir, const char *name)
{
    char *p = sus_cli_path_join(dir, name);
    FILE *f = p ? fopen(p, "w") : NULL;
    free(p);
    return f;
}

static void write_qq(FILE *f, const sus_rep_section *s)
{
    size_t E = s->setup.x.E, M = 0;
    double *z = malloc((E ? E : 1) * sizeof(double));
    if (!z)
        return;
    for (size_t e = 0; e < E; e++)
        if (!isnan(s->z[e]))
            z[M++] = s->z[e];
    qsort(z, M, sizeof(double), cmp_double);
    size_t P = M < MAX_POINTS ? M : MAX_POINTS;
    fprintf(f, "# %s: normal quantile, sorted z\n", s->label);
    for (size_t t = 0; t < P; t++) {
        size_t k =
            P > 1 ? (size_t)llround((double)t * (double)(M - 1) / (double)(P - 1)) : 0;
        fprintf(f, "%.6g %.6g\n", normal_quantile(((double)k + 0.5) / (double)M), z[k]);
    }
    fprintf(f, "\n\n");
    free(z);
}

/* Observed / expected keeps per bin of q, with the band of the test's
 * Bernstein threshold (the deviation at which it would fail). */
static void write_keep(FILE *f, const sus_rep_section *s)
{
    const sus_mc_exact *x = &s->setup.x;
    const sus_mc_test *t = &s->t[SUS_MC_T_KEEP_BIN];
    double n = s->acc.n;
    fprintf(f, "# %s: mean q, observed/expected, band low, band high\n", s->label);
    for (int b = 0; b < SUS_MC_NBINS && s->acc.has_mask; b++) {
        if (x->bin_n[b] == 0.0)
            continue;
        double L = log(2.0 * (double)(t->family ? t->family : 1) / t->alpha);
        double V = n * x->bin_sqq[b], eps = L / 3.0 + sqrt(L * L / 9.0 + 2.0 * V * L);
        double expct = n * x->bin_sq[b];
        fprintf(f, "%.6g %.6g %.6g %.6g\n", x->bin_sq[b] / x->bin_n[b],
                s->acc.bin[b] / expct, 1.0 - eps / expct, 1.0 + eps / expct);
    }
    fprintf(f, "\n\n");
}

static void write_var(FILE *f, const sus_rep_section *s)
{
    const sus_mc_exact *x = &s->setup.x;
    size_t E = x->E, step = E > MAX_POINTS ? E / MAX_POINTS : 1;
    fprintf(f, "# %s: exact variance, sample variance\n", s->label);
    for (size_t e = 0; e < E; e += step)
        if (x->var[e] > 0.0 && s->acc.n > 1.0)
            fprintf(f, "%.6g %.6g\n", x->var[e],
                    s->acc.el[2 * e + 1] / (s->acc.n - 1.0));
    fprintf(f, "\n\n");
}

static void write_rho(FILE *f, const sus_rep_rho *r)
{
    fprintf(f, "# %s: c, rho minc, rho waterfill (equal nnz)\n", r->workload);
    for (int ci = 0; ci < SUS_REP_NC; ci++)
        fprintf(f, "%g %.6g %.6g\n", sus_rep_cs[ci], r->var_minc[ci] / r->seq_var,
                r->var_wf[ci] / r->seq_var);
    fprintf(f, "\n\n");
}

static void term(FILE *g, const char *name, int svg)
{
    if (svg)
        fprintf(g, "set terminal svg size 900,600 dynamic font 'Sans,12'\n");
    else
        fprintf(g, "set terminal pngcairo size 900,600 font 'Sans,11'\n");
    fprintf(g, "set output '%s.%s'\n", name, svg ? "svg" : "png");
}

/* One figure in both formats: plot holds the plot command. */
static void figure(FILE *g, const char *name, const char *setup, const char *plot)
{
    for (int svg = 0; svg < 2; svg++) {
        fprintf(g, "reset\nset key below\nset grid\n");
        term(g, name, svg);
        fprintf(g, "%s\n%s\nunset output\n", setup, plot);
    }
}

/* "plot" over the data blocks of file, one per section, with style. */
static char *series(const char *file, const char *using, const char *style,
                    const char *const *titles, size_t count, const char *extra)
{
    size_t cap = 256 + strlen(extra) +
                 count * (strlen(file) + strlen(using) + strlen(style) + 200);
    char *p = malloc(cap);
    if (!p)
        return NULL;
    size_t len = (size_t)snprintf(p, cap, "plot %s", extra);
    for (size_t i = 0; i < count; i++)
        len += (size_t)snprintf(p + len, cap - len,
                                ", '%s' index %zu using %s %s lc %zu title \"%s\"",
                                file, i, using, style, i + 1, titles[i]);
    return p;
}

static int run_gnuplot(const char *dir, char *why, size_t whylen)
{
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, whylen, "cannot start gnuplot");
        return -1;
    }
    if (pid == 0) {
        if (chdir(dir) != 0 || !freopen("gnuplot.log", "w", stderr))
            _exit(126);
        execlp("gnuplot", "gnuplot", "figures.gp", (char *)NULL);
        _exit(127);
    }
    int st = 0;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        snprintf(why, whylen, "%s",
                 code == 127 ? "gnuplot is not installed (apt-get install gnuplot-nox)"
                             : "gnuplot failed: see gnuplot.log");
        return -1;
    }
    return 0;
}

int sus_rep_plot(const char *dir, const sus_rep_section *secs, size_t nsec,
                 const sus_rep_rho *rho, size_t nrho, char *why, size_t whylen)
{
    FILE *fq = open_in(dir, "qq.dat"), *fk = open_in(dir, "keep.dat");
    FILE *fv = open_in(dir, "variance.dat"), *fr = open_in(dir, "rho.dat");
    FILE *g = open_in(dir, "figures.gp");
    const char **titles = calloc(nsec + nrho + 1, sizeof(char *));
    int rc = -1;
    if (!fq || !fk || !fv || !fr || !g || !titles) {
        snprintf(why, whylen, "cannot write the figures' data in %s", dir);
        goto done;
    }
    size_t nmask = 0;
    for (size_t i = 0; i < nsec; i++) {
        titles[i] = secs[i].label;
        write_qq(fq, &secs[i]);
        write_var(fv, &secs[i]);
        if (secs[i].acc.has_mask)
            write_keep(fk, &secs[i]), nmask++;
    }
    char *p = series("qq.dat", "1:2", "with points pt 7 ps 0.4", titles, nsec,
                     "x with lines lc rgb 'black' dt 2 title 'y = x'");
    figure(g, "qq",
           "set title 'QQ plot of the element z-scores against N(0,1)'\n"
           "set xlabel 'N(0,1) quantile'\nset ylabel 'sorted z = (mean - mu) / "
           "sqrt(var / N)'",
           p ? p : "");
    free(p);
    p = series("variance.dat", "1:2", "with points pt 7 ps 0.4", titles, nsec,
               "x with lines lc rgb 'black' dt 2 title 'y = x'");
    figure(
        g, "variance",
        "set title 'Sample variance against the exact variance, per element'\n"
        "set logscale xy\nset format xy '%.0e'\nset xlabel 'exact variance (DESIGN.md "
        "2.5)'\nset ylabel 'sample variance over N samples'",
        p ? p : "");
    free(p);
    if (nmask) {
        const char **mt = calloc(nsec, sizeof(char *));
        size_t k = 0;
        for (size_t i = 0; mt && i < nsec; i++)
            if (secs[i].acc.has_mask)
                mt[k++] = secs[i].label;
        p = mt ? series("keep.dat", "1:2:3:4", "with yerrorlines pt 7 ps 0.6", mt,
                        nmask, "1 with lines lc rgb 'black' dt 2 title 'calibrated'")
               : NULL;
        figure(g, "keep",
               "set title 'Keep frequency / q per bin of q (bars: the test''s "
               "fail threshold)'\nset logscale x\nset xlabel 'mean q in the bin'\n"
               "set ylabel 'observed keeps / expected keeps'",
               p ? p : "");
        free(p);
        free(mt);
    }
    if (nrho) {
        size_t cap = 256 + nrho * 400, len;
        p = malloc(cap);
        if (p) {
            len = (size_t)snprintf(p, cap, "plot ");
            for (size_t i = 0; i < nrho; i++) {
                write_rho(fr, &rho[i]);
                len += (size_t)snprintf(
                    p + len, cap - len,
                    "%s'rho.dat' index %zu using 1:2 with linespoints lw 2 pt 7 lc %zu "
                    "title '%s minc', '' index %zu using 1:3 with linespoints dt 2 pt "
                    "6 "
                    "lc %zu title '%s waterfill'",
                    i ? ", " : "", i, i + 1, rho[i].workload, i, i + 1,
                    rho[i].workload);
            }
            figure(g, "rho",
                   "set title 'Relative variance increase rho = SUS variance / "
                   "across-sequence variance'\nset logscale xy\nset xrange [3:90]\nset "
                   "xtics (4, 8, 16, 32, "
                   "64)\nset xlabel 'c (waterfill at the same expected nnz)'\n"
                   "set ylabel 'rho'",
                   p);
            free(p);
        }
    }
    rc = 0;
done:
    free(titles);
    int bad = 0;
    FILE *all[5] = {fq, fk, fv, fr, g};
    for (int i = 0; i < 5; i++)
        if (all[i])
            bad |= fclose(all[i]) != 0;
    if (!rc && bad) {
        snprintf(why, whylen, "cannot write the figures' data in %s", dir);
        rc = -1;
    }
    if (!rc)
        rc = run_gnuplot(dir, why, whylen);
    return rc;
}
