/* port_mask.c: check_port's teeth on the mask (port.h): a canonical entry
 * dropped or added must be the one listed disagreement, a wrong seed lists
 * only real ones, and a corrupted CSR is refused exactly when
 * sus_mask_check refuses it. */
#include <math.h>
#include <string.h>

#include "port.h"

/* ---- The canonical mask: one entry dropped or added, a wrong seed ---------- */

/* Drops entry (r, j) if kept, else inserts it with the rule's W~. Returns
 * 1 if it was added. */
static int toggle(port_run *x, int64_t r, int64_t j)
{
    sus_mask *mk = &x->mk;
    const int64_t m = x->fc->t.p.a.shape.m;
    int64_t e = mk->indptr[r];
    while (e < mk->indptr[r + 1] && mk->indices[e] < j)
        e++;
    const int kept = e < mk->indptr[r + 1] && mk->indices[e] == j;
    const size_t tail = (size_t)(mk->nnz - e - kept);
    const int64_t dst = kept ? e : e + 1, src = kept ? e + 1 : e;
    memmove(mk->indices + dst, mk->indices + src, tail * sizeof(int64_t));
    memmove(mk->wtilde + dst, mk->wtilde + src, tail * sizeof(double));
    if (!kept) {
        mk->indices[e] = j;
        mk->wtilde[e] = x->wt[(size_t)(r * m + j)];
    }
    for (int64_t s = r + 1; s <= mk->rows; s++)
        mk->indptr[s] += kept ? -1 : 1;
    mk->nnz += kept ? -1 : 1;
    return !kept;
}

void port_check_toggled(port_run *x)
{
    const sus_attn *a = &x->fc->t.p.a;
    const sus_shape *sh = &a->shape;
    sus_check_opts o = x->ch.o;
    o.prec = 0;
    o.canonical = 1;
    port_reset(x);
    const int64_t r = (int64_t)x->ch.row % x->mk.rows, i = r % sh->n;
    const int64_t j = (int64_t)x->ch.key % port_allowed(a, i);
    const int added = toggle(x, r, j);
    sus_error err;
    if (sus_ref_estimate(a, &x->mk, &x->out, &err) != SUS_OK)
        return;
    sus_check_report rep;
    port_check_ok(x, &o, &rep, "entry toggled");
    port_check_report(x, &rep, &o);
    const int border = rep.canon_borderline == 1;
    const sus_check_entry *e = border ? rep.borderline : rep.mismatch;
    if (rep.canon_borderline + rep.canon_mismatch != 1 ||
        rep.canon_same != x->canon.nnz - !added || rep.pass != border ||
        e->b != r / sh->n / sh->H || e->h != r / sh->n % sh->H || e->i != i ||
        e->j != j || e->port_kept != added)
        fz_fail(x->fc,
                "canonical entry (row %lld, j %lld) %s: same %lld, borderline %lld, "
                "mismatch %lld, pass %d; listed (%lld, %lld, %lld, %lld) port kept %d",
                (long long)r, (long long)j, added ? "added" : "dropped",
                (long long)rep.canon_same, (long long)rep.canon_borderline,
                (long long)rep.canon_mismatch, rep.pass, (long long)e->b,
                (long long)e->h, (long long)e->i, (long long)e->j, e->port_kept);
    port_check_exact(x, &rep, "entry toggled");
    /* the honest port judged against another seed's canonical mask */
    port_reset(x);
    o.seed = x->fc->seed ^ (1 + (uint64_t)x->ch.key);
    port_check_ok(x, &o, &rep, "wrong seed");
    port_check_report(x, &rep, &o);
    port_check_exact(x, &rep, "wrong seed");
}

/* ---- A corrupted CSR --------------------------------------------------------- */

static void corrupt(port_run *x)
{
    sus_mask *mk = &x->mk;
    const sus_attn *a = &x->fc->t.p.a;
    const int64_t e = mk->nnz ? x->ch.at % mk->nnz : 0;
    const int64_t r = x->ch.at % (mk->rows + 1), v = x->ch.value;
    switch (x->ch.op % 9) {
    case 0:
        if (mk->nnz)
            mk->indices[e] = v & 1 ? a->shape.m : -1 - v;
        break;
    case 1:
        if (e + 1 < mk->nnz)
            mk->indices[e + 1] = mk->indices[e] - (v & 1);
        break;
    case 2:
        mk->indptr[r] += 1 + v % 3;
        break;
    case 3:
        mk->indptr[r] = v & 1 ? -1 - v : INT64_MAX - v;
        break;
    case 4:
        mk->nnz += 1;
        break;
    case 5:
        if (mk->nnz)
            mk->wtilde[e] = v % 3 == 0   ? NAN
                            : v % 3 == 1 ? -INFINITY
                                         : -mk->wtilde[e] - 1;
        break;
    case 6:
        /* beyond the causal limit, or any j when not causal */
        if (mk->nnz)
            mk->indices[mk->indptr[port_row_of(mk, e) + 1] - 1] =
                port_allowed(a, port_row_of(mk, e) % a->shape.n) + v % 2;
        break;
    case 7:
        if (mk->nnz > 1 && e + 1 < mk->nnz) {
            int64_t s = mk->indices[e];
            mk->indices[e] = mk->indices[e + 1];
            mk->indices[e + 1] = s;
        }
        break;
    default:
        mk->indptr[0] = 1 + v % 2;
        break;
    }
}

void port_check_corrupted(port_run *x)
{
    const sus_attn *a = &x->fc->t.p.a;
    sus_check_opts o = x->ch.o;
    o.prec = 0;
    port_reset(x);
    corrupt(x);
    sus_error merr;
    const int well = sus_mask_check(&x->mk, &a->shape, a->causal, &merr) == SUS_OK;
    sus_check_report rep;
    sus_error err;
    const int rc = port_check(x, &o, &rep, &err);
    if (well && rc == SUS_ERR_RANGE)
        return; /* still well-formed, and the estimate under it overflows */
    if (rc != SUS_OK)
        fz_fail(x->fc, "corrupted mask (op %d): sus_check_port %s: %s", x->ch.op % 9,
                sus_strerror(rc), err.msg);
    if (rep.mask_ok != well || (!well && !strstr(merr.msg, rep.mask_msg)))
        fz_fail(x->fc, "corrupted mask (op %d): mask_ok %d (%s), sus_mask_check: %s",
                x->ch.op % 9, rep.mask_ok, rep.mask_msg, well ? "accepts" : merr.msg);
    port_check_report(x, &rep, &o);
}
