/* ref_forward.c: one head's softmax forward in double, written plainly. */
#include <math.h>

#include "../core/internal.h"
#include "ref_internal.h"

sus_i_head_off sus_i_head_offsets(const sus_shape *s, int64_t b, int64_t h)
{
    /* The caller has validated the shape with sus_shape_sizes, so these
     * products cannot overflow. */
    size_t head = (size_t)(b * s->H + h);
    sus_i_head_off off;
    off.q = head * (size_t)(s->n * s->d);
    off.k = head * (size_t)(s->m * s->d);
    off.v = head * (size_t)(s->m * s->dv);
    off.o = head * (size_t)(s->n * s->dv);
    off.row = head * (size_t)s->n;
    return off;
}

int sus_i_ref_head_forward(const sus_attn *a, int64_t b, int64_t h, sus_i_head_fwd *f,
                           sus_error *err)
{
    const sus_shape *sh = &a->shape;
    const int64_t n = sh->n, m = sh->m, d = sh->d;
    const sus_i_head_off off = sus_i_head_offsets(sh, b, h);
    const double *Q = a->q + off.q, *K = a->k + off.k;
    const double s = a->scale;

    /* S_ij = s Q_i.K_j */
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < m; j++) {
            double *Sij = &f->S[i * m + j];
            if (!sus_i_allowed(a->causal, i, j)) {
                *Sij = -INFINITY;
                continue;
            }
            double dot = 0.0;
            for (int64_t t = 0; t < d; t++)
                dot += Q[i * d + t] * K[j * d + t];
            *Sij = s * dot;
            if (!isfinite(*Sij))
                return sus_i_fail(err, SUS_ERR_RANGE,
                                  "logit S[%lld, %lld, %lld, %lld] overflows double",
                                  (long long)b, (long long)h, (long long)i,
                                  (long long)j);
        }
    }

    /* lse_i = M_i + log sum_j exp(S_ij - M_i), M_i the row max, so that
     * large logits neither overflow nor produce inf - inf. Row i always
     * has key 0 allowed, so M_i is finite. */
    for (int64_t i = 0; i < n; i++) {
        double M = -INFINITY;
        for (int64_t j = 0; j < m; j++)
            M = fmax(M, f->S[i * m + j]);
        double Z = 0.0;
        for (int64_t j = 0; j < m; j++)
            Z += sus_i_allowed(a->causal, i, j) ? exp(f->S[i * m + j] - M) : 0.0;
        f->lse[i] = M + log(Z);
        /* W_ij = exp(S_ij - M_i) / Z_i */
        for (int64_t j = 0; j < m; j++)
            f->W[i * m + j] =
                sus_i_allowed(a->causal, i, j) ? exp(f->S[i * m + j] - M) / Z : 0.0;
    }
    return SUS_OK;
}
