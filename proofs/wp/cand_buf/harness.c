/* The harness of proofs/wp/cand_buf: Frama-C parses the header that
 * fast/fwd_kern.h and fast/fwd.c include, and WP proves the contracts of
 * its static inline functions. Compiled by nothing else. */
#include "../../../fast/cand_buf.h"
