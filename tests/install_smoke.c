/* install_smoke.c: compiled against an installed sus (make install-check)
 * to show that the header, the library and sus.pc work together. */
#include <stdio.h>
#include <string.h>

#include <sus.h>

int main(void)
{
    const double q[2] = {0.5, -1.0}, k[2] = {1.0, 2.0}, v[2] = {3.0, 4.0},
                 dout[2] = {1.0, 1.0};
    double o[2], lse[2], dq[2], dk[2], dv[2];
    sus_attn a = {{1, 1, 2, 2, 1, 1}, 1.0, 1, q, k, v, dout};
    sus_grads g = {o, lse, dq, dk, dv};
    sus_error err;
    if (strcmp(sus_version(), SUS_VERSION_STRING) != 0) {
        fprintf(stderr, "version mismatch: %s vs %s\n", sus_version(),
                SUS_VERSION_STRING);
        return 1;
    }
    if (sus_ref_grad(&a, &g, &err) != SUS_OK) {
        fprintf(stderr, "sus_ref_grad: %s\n", err.msg);
        return 1;
    }
    /* causal row 0 sees key 0 only: O_0 = V_0 exactly */
    if (o[0] != 3.0) {
        fprintf(stderr, "O[0] = %g, expected 3\n", o[0]);
        return 1;
    }
    printf("install_smoke: 1 passed, 0 failed\n");
    return 0;
}
