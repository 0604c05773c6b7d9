/* fz_fail.c: the one canonical failure line of every harness (fz.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "fz.h"

static FZ_NORETURN void finish(const char *fmt, va_list ap)
{
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    fflush(stderr);
    abort();
}

void fz_fail(const fz_case *fc, const char *fmt, ...)
{
    const sus_attn *a = &fc->t.p.a;
    const sus_shape *s = &a->shape;
    fprintf(stderr,
            "sus-fuzz FAIL %s shape=(%lld,%lld,%lld,%lld,%lld,%lld) causal=%d "
            "dtype=%s scale=%a c=%.17g seed=%llu variant=(%d,%s,%lldx%lld) rule=%s: ",
            fc->target, (long long)s->B, (long long)s->H, (long long)s->n,
            (long long)s->m, (long long)s->d, (long long)s->dv, a->causal,
            sus_tf_name(fc->t.dtype), a->scale, fc->c, (unsigned long long)fc->seed,
            fc->var.threads, sus_simd_name(fc->var.simd), (long long)fc->var.block_q,
            (long long)fc->var.block_k, fc->rule ? fc->rule->name : "-");
    va_list ap;
    va_start(ap, fmt);
    finish(fmt, ap);
}

void fz_fail_plain(const char *target, const char *fmt, ...)
{
    fprintf(stderr, "sus-fuzz FAIL %s: ", target);
    va_list ap;
    va_start(ap, fmt);
    finish(fmt, ap);
}
