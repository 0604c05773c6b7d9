/*
 * arith_acsl.h: ACSL lemmas on integer multiplication and division, shared
 * by the Frama-C/WP proofs of the overflow checks "x > MAX / s" (proofs/wp/).
 * SMT solvers do not find these nonlinear facts alone; stated here, each
 * proof that includes this header proves them again, and an assert in the
 * code names the instance it needs. The compiler sees only comments.
 */
#ifndef SUS_CORE_ARITH_ACSL_H
#define SUS_CORE_ARITH_ACSL_H

/*@
  lemma sus_div_mul_le: \forall integer m, s; 0 < s && 0 <= m ==> m / s * s <= m;

  lemma sus_mul_mono: \forall integer x, q, s;
    0 <= s && 0 <= x <= q ==> x * s <= q * s;

  lemma sus_div_mono: \forall integer x, y, d; 0 <= x <= y && d > 0 ==> x / d <= y / d;
*/

#endif
