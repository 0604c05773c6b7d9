/* fz_case.c: the structured-input decoder for attention cases (fz.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fz.h"

/* Tile sizes (block_q x block_k; 0 is fast/'s default): 1 and odd sizes
 * make every row and key a tile edge, larger ones a single tile. */
static const int64_t tiles[16][2] = {
    {0, 0},   {1, 1},  {2, 3},  {4, 8},  {8, 16}, {16, 16}, {3, 5},    {7, 13},
    {32, 64}, {1, 48}, {48, 1}, {5, 32}, {0, 8},  {8, 0},   {64, 128}, {2, 2}};

static fz_variant decode_variant(uint8_t v)
{
    fz_variant var;
    var.threads = 1 + (v & 3) % 3;
    var.simd = (sus_simd)((v >> 2) & 3);
    var.block_q = tiles[v >> 4][0];
    var.block_k = tiles[v >> 4][1];
    return var;
}

static double decode_scale(fz_in *in, int mode, int64_t d)
{
    switch (mode) {
    case 10:
        return 0.0;
    case 11:
        return -sus_default_scale(d);
    case 12:
        return 1e-3;
    case 13:
        return 8.0;
    case 14:
        return 1e200;
    case 15:
        return fz_raw_double(in);
    default:
        return sus_default_scale(d);
    }
}

static int64_t allowed(int causal, int64_t i, int64_t m)
{
    return causal && i + 1 < m ? i + 1 : m;
}

/* The budget. The tie mode makes q_ij = c W_ij equal u_ij exactly where
 * the row's weights are all 1/len (equal logits, len a power of two): the
 * one place where u < q and u <= q differ. */
static double decode_budget(fz_in *in, const sus_shape *sh, int causal, uint64_t seed)
{
    static const double pal[16] = {
        INFINITY, 1.0,  0.5,  2.0,    3.0, 1.5,   8.0,
        32.0,     0.25, 1e-3, 1e-300, 1e6, 1e300, 1.7976931348623157e308,
        4.9e-324, 5.0};
    uint8_t mode = fz_u8(in);
    if (mode < 16)
        return pal[mode];
    if (mode < 32) {
        int64_t b = fz_pick(in, sh->B), h = fz_pick(in, sh->H), i = fz_pick(in, sh->n);
        int64_t len = allowed(causal, i, sh->m), j = fz_pick(in, len);
        double u = 0.0;
        sus_canonical_uniform(seed, b, h, i, j, &u);
        int pow2 = (len & (len - 1)) == 0;
        return pow2 ? u * (double)len : ldexp(u, mode % 7);
    }
    if (mode < 128)
        return (double)(mode - 31) / 8.0;
    if (mode < 192)
        return (double)(mode - 127);
    return fz_raw_double(in);
}

/* Fills one array of heads x rows x width elements by the fill byte's
 * mode. */
static void fill(fz_in *in, double *x, int64_t heads, int64_t rows, int64_t width)
{
    uint8_t f = fz_u8(in);
    const double mag = fz_magnitude((uint8_t)(f >> 3));
    const size_t count = (size_t)(heads * rows * width);
    switch (f & 7) {
    case 1:
    case 6: {
        sus_t_rng r = {fz_u64(in)};
        sus_t_fill_normal(&r, x, count, 1.0);
        for (size_t t = 0; t < count; t++)
            x[t] = ((f & 7) == 6 ? round(4.0 * x[t]) / 4.0 : x[t]) * mag;
        break;
    }
    case 2: {
        double v = fz_element(in, mag);
        for (size_t t = 0; t < count; t++)
            x[t] = v;
        break;
    }
    case 3:
    case 4:
        /* identical rows (exact ties), or row r scaled by r + 1 (logits
         * that grow along the keys: the sampler's worst case) */
        for (int64_t t = 0; t < width; t++)
            x[t] = fz_element(in, mag);
        for (size_t t = (size_t)width; t < count; t++) {
            int64_t r = (int64_t)(t / (size_t)width) % rows;
            x[t] = (f & 7) == 3 ? x[t % (size_t)width]
                                : (double)(r + 1) * x[t % (size_t)width];
        }
        break;
    case 5:
        memset(x, 0, count * sizeof *x);
        break;
    default:
        for (size_t t = 0; t < count; t++)
            x[t] = fz_element(in, mag);
        break;
    }
}

int fz_case_decode(fz_in *in, const char *target, fz_limits lim, sus_dtype force_dtype,
                   fz_case *fc)
{
    memset(fc, 0, sizeof *fc);
    fc->target = target;
    const uint8_t b0 = fz_u8(in);
    sus_shape sh;
    sh.B = 1 + (b0 & 1) % lim.bh;
    sh.H = 1 + ((b0 >> 1) & 1) % lim.bh;
    const int causal = (b0 >> 2) & 1;
    sus_dtype dt = force_dtype     ? force_dtype
                   : (b0 >> 3) & 1 ? SUS_DTYPE_F4
                                   : SUS_DTYPE_F8;
    sh.n = 1 + fz_pick(in, lim.nm);
    sh.m = 1 + fz_pick(in, lim.nm);
    const uint8_t b3 = fz_u8(in);
    sh.d = 1 + (b3 & 15) % lim.d;
    sh.dv = 1 + (b3 >> 4) % lim.d;
    const double scale = decode_scale(in, b0 >> 4, sh.d);
    fc->seed = fz_u64(in);
    fc->c = decode_budget(in, &sh, causal, fc->seed);
    fc->var = decode_variant(fz_u8(in));
    fc->rule = fz_u8(in) & 1 ? &sus_rule_waterfill : &sus_rule_minc;
    if (sus_tf_alloc(&fc->t, sh, dt, causal)) {
        sus_tf_free(&fc->t);
        return -1;
    }
    sus_t_problem *p = &fc->t.p;
    p->a.scale = scale;
    const int64_t heads = sh.B * sh.H;
    fill(in, p->q, heads, sh.n, sh.d);
    fill(in, p->k, heads, sh.m, sh.d);
    fill(in, p->v, heads, sh.m, sh.dv);
    fill(in, p->dout, heads, sh.n, sh.dv);
    sus_tf_sync(&fc->t);
    return 0;
}

void fz_case_free(fz_case *fc)
{
    sus_tf_free(&fc->t);
}

sus_fast_ctx *fz_case_ctx(const fz_case *fc)
{
    sus_fast_config cfg = {fc->var.threads, fc->var.simd, fc->var.block_q,
                           fc->var.block_k};
    sus_fast_ctx *ctx = NULL;
    sus_error err;
    int rc = sus_fast_ctx_new(&cfg, &ctx, &err);
    if (rc == SUS_ERR_UNSUPPORTED && fc->var.simd > SUS_SIMD_PORTABLE)
        return NULL;
    if (rc != SUS_OK)
        fz_fail(fc, "sus_fast_ctx_new refused a valid configuration: %s", err.msg);
    return ctx;
}

static int all_finite(const double *x, size_t count)
{
    for (size_t t = 0; t < count; t++)
        if (!isfinite(x[t]))
            return 0;
    return 1;
}

int fz_case_finite(const fz_case *fc, int with_dout)
{
    const sus_t_problem *p = &fc->t.p;
    return isfinite(p->a.scale) && all_finite(p->q, p->z.q) &&
           all_finite(p->k, p->z.k) && all_finite(p->v, p->z.v) &&
           (!with_dout || all_finite(p->dout, p->z.o));
}

/* max over allowed (i, j) of sum_t |x_it| |y_jt| (rows of width w). */
static double max_dot_mag(const sus_attn *a, const double *x, const double *y,
                          int64_t w)
{
    const sus_shape *sh = &a->shape;
    const int64_t n = sh->n, m = sh->m;
    double mx = 0.0;
    for (int64_t bh = 0; bh < sh->B * sh->H; bh++)
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < allowed(a->causal, i, m); j++) {
                const double *xi = x + (size_t)((bh * n + i) * w);
                const double *yj = y + (size_t)((bh * m + j) * w);
                double acc = 0.0;
                for (int64_t t = 0; t < w; t++)
                    acc += fabs(xi[t]) * fabs(yj[t]);
                mx = fmax(mx, acc);
            }
    return mx;
}

int fz_case_linear(const fz_case *fc)
{
    const sus_attn *a = &fc->t.p.a;
    const sus_shape *sh = &a->shape;
    const double smax = fabs(a->scale) * max_dot_mag(a, a->q, a->k, sh->d);
    const double cond = 1.0 + 2.0 * smax;
    return SUS_TAU * sus_bound_k(sh) * sus_tf_unit(fc->t.dtype) * cond <= 1.0 / 16;
}

static double max1(const double *x, size_t count)
{
    double m = 1.0;
    for (size_t t = 0; t < count; t++)
        m = fmax(m, fabs(x[t]));
    return m;
}

double fz_case_growth(const fz_case *fc)
{
    const sus_t_problem *p = &fc->t.p;
    const sus_shape *sh = &p->a.shape;
    const double len = (double)(sh->n + sh->m + sh->d + sh->dv);
    const double c = fc->c > 0 ? fc->c : 1.0;
    double a = fmax(1.0, fabs(p->a.scale)) * fmax(1.0, 1.0 / c) * len * len;
    a *= max1(p->q, p->z.q) * max1(p->k, p->z.k);
    a *= max1(p->v, p->z.v) * max1(p->dout, p->z.o);
    return a;
}

int fz_case_may_overflow(const fz_case *fc)
{
    return fz_may_overflow(fc->t.dtype, fz_case_growth(fc));
}
