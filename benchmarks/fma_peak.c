/* FP32 FMA throughput of one core: 12 independent chains of vector FMAs (enough to hide
 * the 4-cycle latency on two FMA ports), AVX-512 when compiled with -mavx512f, else AVX2.
 * Prints GFLOP/s (2 FLOP per lane per FMA). benchmarks/machine.py compiles and runs it,
 * one copy per core at once, to check the peak derived from the CPU's description. */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifdef __AVX512F__
typedef __m512 vec;
#define LANES 16
#define SET1 _mm512_set1_ps
#define FMA _mm512_fmadd_ps
#define ADD _mm512_add_ps
#define STORE _mm512_storeu_ps
#else
typedef __m256 vec;
#define LANES 8
#define SET1 _mm256_set1_ps
#define FMA _mm256_fmadd_ps
#define ADD _mm256_add_ps
#define STORE _mm256_storeu_ps
#endif

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    long iterations = argc > 1 ? atol(argv[1]) : 100000000L;
    /* distinct starting values, so that the compiler cannot merge the chains */
    float seed = argc > 2 ? (float)atof(argv[2]) : 1.0f;
    vec a0 = SET1(seed), a1 = SET1(seed + 1), a2 = SET1(seed + 2), a3 = SET1(seed + 3);
    vec a4 = SET1(seed + 4), a5 = SET1(seed + 5), a6 = SET1(seed + 6), a7 = SET1(seed + 7);
    vec a8 = SET1(seed + 8), a9 = SET1(seed + 9), a10 = SET1(seed + 10), a11 = SET1(seed + 11);
    vec m = SET1(0.9999999f), c = SET1(1e-7f);
    double start = now();
    for (long i = 0; i < iterations; i++) {
        a0 = FMA(a0, m, c); a1 = FMA(a1, m, c); a2 = FMA(a2, m, c); a3 = FMA(a3, m, c);
        a4 = FMA(a4, m, c); a5 = FMA(a5, m, c); a6 = FMA(a6, m, c); a7 = FMA(a7, m, c);
        a8 = FMA(a8, m, c); a9 = FMA(a9, m, c); a10 = FMA(a10, m, c); a11 = FMA(a11, m, c);
    }
    double seconds = now() - start;
    vec s = ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7)));
    s = ADD(s, ADD(ADD(a8, a9), ADD(a10, a11)));
    float out[LANES];
    STORE(out, s);
    printf("%.3f %d %g\n", iterations * 12.0 * LANES * 2 / seconds / 1e9, LANES, out[0]);
    return 0;
}
