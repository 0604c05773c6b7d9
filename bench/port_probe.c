/*
 * port_probe.c: which AVX-512 instructions compete with the FMAs for
 * execution ports on this CPU. A loop of 8 independent 512-bit FMA chains
 * is timed alone, then with 8 independent operations of one kind added per
 * iteration: where the kind issues on other ports, the loop keeps its FMA
 * time; where it shares the FMAs' ports, their counts add up. Cycles are
 * estimated from a dependent chain of scalar adds (one cycle each).
 *
 *   cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -mavx512f -mavx512dq \
 *      bench/port_probe.c -o build/port_probe && build/port_probe
 *
 * It needs a CPU with AVX-512 F and DQ (it does not check).
 */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define N 100000000L

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Cycles per second, from 4 dependent adds per iteration. */
static double clock_hz(void)
{
    long x = 0;
    double t0 = now();
    for (long i = 0; i < N; i++)
        __asm__ volatile("add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0"
                         : "+r"(x));
    return 4.0 * (double)N / (now() - t0);
}

#define FMA8                                                                           \
    a0 = _mm512_fmadd_ps(a0, m, c);                                                    \
    a1 = _mm512_fmadd_ps(a1, m, c);                                                    \
    a2 = _mm512_fmadd_ps(a2, m, c);                                                    \
    a3 = _mm512_fmadd_ps(a3, m, c);                                                    \
    a4 = _mm512_fmadd_ps(a4, m, c);                                                    \
    a5 = _mm512_fmadd_ps(a5, m, c);                                                    \
    a6 = _mm512_fmadd_ps(a6, m, c);                                                    \
    a7 = _mm512_fmadd_ps(a7, m, c);
#define OP8(f)                                                                         \
    i0 = f(i0);                                                                        \
    i1 = f(i1);                                                                        \
    i2 = f(i2);                                                                        \
    i3 = f(i3);                                                                        \
    i4 = f(i4);                                                                        \
    i5 = f(i5);                                                                        \
    i6 = f(i6);                                                                        \
    i7 = f(i7);
#define MUL(x)    _mm512_mul_epu32(x, M)
#define TERN(x)   _mm512_ternarylogic_epi64(x, M, M2, 0x96)
#define SRL(x)    _mm512_srli_epi64(x, 3)
#define ADD(x)    _mm512_add_epi64(x, M)
#define XOR(x)    _mm512_xor_si512(x, M)
#define SHUF(x)   _mm512_shuffle_epi32(x, 0xB1)
#define CVT(x)    _mm512_castps_si512(_mm512_cvtepi32_ps(x))
#define MULPS(x)  _mm512_castps_si512(_mm512_mul_ps(_mm512_castsi512_ps(x), mf))
#define SCALEF(x) _mm512_castps_si512(_mm512_scalef_ps(_mm512_castsi512_ps(x), mf))

int main(int argc, char **argv)
{
    (void)argv;
    const double hz = clock_hz();
    /* distinct starting values, so that the compiler cannot merge chains */
    const __m512 m = _mm512_set1_ps(1.0000001f),
                 c = _mm512_set1_ps((float)argc * 1e-9f);
    const __m512 mf = _mm512_set1_ps(0.5f);
    const __m512i M = _mm512_set1_epi64(0xD2511F53), M2 = _mm512_set1_epi64(7);
    __m512 a0 = c, a1 = _mm512_add_ps(c, m), a2 = _mm512_add_ps(a1, m),
           a3 = _mm512_add_ps(a2, m), a4 = _mm512_add_ps(a3, m),
           a5 = _mm512_add_ps(a4, m), a6 = _mm512_add_ps(a5, m),
           a7 = _mm512_add_ps(a6, m);
    __m512i i0 = _mm512_set1_epi64(argc), i1 = _mm512_set1_epi64(argc + 1),
            i2 = _mm512_set1_epi64(argc + 2), i3 = _mm512_set1_epi64(argc + 3),
            i4 = _mm512_set1_epi64(argc + 4), i5 = _mm512_set1_epi64(argc + 5),
            i6 = _mm512_set1_epi64(argc + 6), i7 = _mm512_set1_epi64(argc + 7);
    printf("clock %.3f GHz (from dependent scalar adds)\n", hz / 1e9);
    double t0;
#define RUN(name, BODY)                                                                \
    t0 = now();                                                                        \
    for (long k = 0; k < N / 10; k++) {                                                \
        BODY                                                                           \
    }                                                                                  \
    printf("%-22s %5.1f cycles per iteration\n", name,                                 \
           (now() - t0) / (double)(N / 10) * hz);
    RUN("8 FMA", FMA8)
    RUN("8 FMA + 8 vpmuludq", FMA8 OP8(MUL))
    RUN("8 FMA + 8 vpternlogq", FMA8 OP8(TERN))
    RUN("8 FMA + 8 vscalefps", FMA8 OP8(SCALEF))
    RUN("8 FMA + 8 vmulps", FMA8 OP8(MULPS))
    RUN("8 FMA + 8 vpsrlq", FMA8 OP8(SRL))
    RUN("8 FMA + 8 vpaddq", FMA8 OP8(ADD))
    RUN("8 FMA + 8 vpxorq", FMA8 OP8(XOR))
    RUN("8 FMA + 8 vpshufd", FMA8 OP8(SHUF))
    RUN("8 FMA + 8 vcvtdq2ps", FMA8 OP8(CVT))
    /* keep every chain live */
    __m512 fs =
        _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                      _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    __m512i is = _mm512_add_epi64(
        _mm512_add_epi64(_mm512_add_epi64(i0, i1), _mm512_add_epi64(i2, i3)),
        _mm512_add_epi64(_mm512_add_epi64(i4, i5), _mm512_add_epi64(i6, i7)));
    printf("(checksums %g %lld)\n", (double)_mm512_reduce_add_ps(fs),
           (long long)_mm512_reduce_add_epi64(is));
    return 0;
}
