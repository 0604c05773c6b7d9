/* mc_campaign.c: campaign setup, shard ranges and the text verdict
 * (mc_campaign.h). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "mc_campaign.h"

int sus_mc_setup_open(sus_mc_setup *s, const sus_mc_campaign *cp, int use_mpfr,
                      sus_error *err)
{
    *s = (sus_mc_setup){0};
    const sus_rule *rule = sus_rule_find(cp->rule);
    if (!rule)
        return sus_cli_fail(err, SUS_ERR_INVAL, "unknown rule '%s'", cp->rule);
    int rc = sus_wl_make(cp->workload, cp->wseed, &s->wl, err);
    if (rc)
        return rc;
    sus_attn a = sus_wl_problem(&s->wl);
    rc = sus_mc_exact_init(&s->x, &a, rule, cp->c, use_mpfr, 0x1p-53, err);
    if (rc)
        sus_wl_free(&s->wl);
    return rc;
}

void sus_mc_setup_close(sus_mc_setup *s)
{
    sus_mc_exact_free(&s->x);
    sus_wl_free(&s->wl);
}

void sus_mc_shard_range(int64_t N, int64_t k, int64_t K, int64_t *first, int64_t *count)
{
    /* N < 2^62 and K <= N keep these products in range. */
    int64_t base = N / K, extra = N % K;
    *first = k * base + (k < extra ? k : extra);
    *count = base + (k < extra ? 1 : 0);
}

int sus_mc_parse_shard(const char *text, int64_t *k, int64_t *K, char *msg)
{
    const char *slash = strchr(text, '/');
    char kbuf[32];
    if (!slash || (size_t)(slash - text) >= sizeof kbuf) {
        sus_cli_bad(msg, "--shard: '%s' is not k/K", text);
        return 0;
    }
    memcpy(kbuf, text, (size_t)(slash - text));
    kbuf[slash - text] = '\0';
    if (!sus_cli_parse_i64("--shard K", slash + 1, 1, INT64_C(1) << 30, K, msg) ||
        !sus_cli_parse_i64("--shard k", kbuf, 0, *K - 1, k, msg))
        return 0;
    return 1;
}

void sus_mc_print_verdict(FILE *f, const char *label, const sus_mc_test *t, int pass,
                          double n)
{
    fprintf(f, "%s %s (N = %.0f)\n", pass ? "PASS" : "FAIL", label, n);
    for (int i = 0; i < SUS_MC_NTESTS; i++) {
        if (!t[i].ran) {
            fprintf(f, "  %-4s %-34s not run (%s)\n", "-", t[i].name, t[i].skip);
            continue;
        }
        fprintf(f,
                "  %-4s %-34s max|z| = %-8.3g p = %-9.3g fail if p <= %.3g  [%s; %zu "
                "hyp.; worst %s]\n",
                t[i].pass ? "ok" : "FAIL", t[i].name, t[i].stat, t[i].p, t[i].alpha,
                t[i].method, t[i].family, t[i].worst);
    }
}
