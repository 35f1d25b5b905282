/*
 * How many weight rows the bf16 / float32 product kernels should take at a time for a decode step (1 activation row),
 * measured on the memory a step reads: gemma-2-2b's 105 products of one step (26 layers of qkv 4096x2304, o
 * 2304x2048, gate|up 18432x2304, down 2304x9216, and the 256000x2304 head; 5.2 GB as bf16, 10.5 GB as float32, each
 * matrix in its own 2 MiB-aligned huge-page allocation), each variant's step timed between two read passes over the
 * same matrices (steercpu.c's own pass), so a ratio compares a step with the bandwidth at the same moments; the
 * variants (weight rows at a time x accumulators per pair) take turns within each round, so the VM's drifting
 * bandwidth hits them alike. Prints each variant's median
 * (and quartiles) of pass time / step time over the rounds.
 *
 *   gcc -O3 -std=gnu11 -pthread -I$JAVA_HOME/include -I$JAVA_HOME/include/linux tools/bench/gemv-rows.c -o /tmp/gemv-rows -lm
 *   /tmp/gemv-rows [bf16|bf16w|f32] [rounds]   (bf16w: the widening kernel of AVX-512 CPUs without avx512_bf16;
 *                                              needs ~5.3 GB free for bf16, ~10.5 GB for f32; avx512_bf16 for bf16)
 */
#include "../../engine/djl/src/main/c/steercpu.c"
#include <stdio.h>

/* weight rows at a time x accumulators per (weight row, activation row), for one activation row */
#define DP(NAME, RB, A) KERNEL(NAME, "avx512f,avx512bw,avx512bf16", RB, 2, A, __m512, __m512bh, __m512bh, 32, 1, _mm512_setzero_ps(), DP_W, ONE, DP_X, DP_FMA, _mm512_add_ps, _mm512_reduce_add_ps)
#define F32(NAME, RB, A) KERNEL(NAME, "avx512f,avx512bw", RB, 4, A, __m512, __m512, __m512, 16, 1, _mm512_setzero_ps(), AVX512_F32_W, ONE, AVX512_X, AVX512_FMA, _mm512_add_ps, _mm512_reduce_add_ps)
#define BW(NAME, RB, A) KERNEL(NAME, "avx512f,avx512bw", RB, 2, A, __m512, __m512, __m512i, 32, 2, _mm512_setzero_ps(), AVX512_BF16_W, AVX512_HALF, AVX512_XP, AVX512_FMA, _mm512_add_ps, _mm512_reduce_add_ps)
BW(bw_8_1, 8, 1)
BW(bw_1_1, 1, 1)
BW(bw_1_2, 1, 2)
BW(bw_1_4, 1, 4)
BW(bw_2_2, 2, 2)
DP(dp_8_1, 8, 1)
DP(dp_1_1, 1, 1)
DP(dp_1_2, 1, 2)
DP(dp_1_4, 1, 4)
DP(dp_2_2, 2, 2)
F32(f32_4_1, 4, 1)
F32(f32_1_1, 1, 1)
F32(f32_1_2, 1, 2)
F32(f32_1_4, 1, 4)
F32(f32_2_2, 2, 2)

typedef void (*rows_fn)(const gemv_args *, int, int);
static rows_fn variant_fn;

/* the shipped split (gemv_part's): guided chunks of rows taken by whichever thread is free */
static void variant_part(void *ctx, int part, int parts) {
    gemv_args *a = ctx;
    int cap = a->rows / (16 * parts) / PART_ROWS * PART_ROWS;
    int r0 = atomic_load(&a->next);
    while (r0 < a->rows) {
        int n = (a->rows - r0) / (2 * parts) / PART_ROWS * PART_ROWS;
        if (n > cap) n = cap;
        if (n < PART_ROWS) n = PART_ROWS;
        if (atomic_compare_exchange_weak(&a->next, &r0, r0 + n)) {
            variant_fn(a, r0, r0 + n < a->rows ? r0 + n : a->rows);
            r0 = atomic_load(&a->next);
        }
    }
}

int main(int argc, char **argv) {
    int bf16 = argc < 2 || strcmp(argv[1], "f32") != 0, widen = argc > 1 && strcmp(argv[1], "bf16w") == 0;
    int rounds = argc > 2 ? atoi(argv[2]) : 12;
    if (bf16 && !widen && !__builtin_cpu_supports("avx512bf16")) { fprintf(stderr, "this CPU has no avx512_bf16\n"); return 2; }
    if (!__builtin_cpu_supports("avx512f")) { fprintf(stderr, "this CPU has no AVX-512\n"); return 2; }
    enum { NV = 5 };
    rows_fn fns[NV] = {bf16 ? dp_8_1 : f32_4_1, bf16 ? dp_1_1 : f32_1_1, bf16 ? dp_1_2 : f32_1_2, bf16 ? dp_1_4 : f32_1_4, bf16 ? dp_2_2 : f32_2_2};
    if (widen) {
        rows_fn w[NV] = {bw_8_1, bw_1_1, bw_1_2, bw_1_4, bw_2_2};
        memcpy(fns, w, sizeof(w));
    }
    const char *names[NV] = {bf16 ? "8 rows x 1 acc" : "4 rows x 1 acc", "1 row x 1 acc", "1 row x 2 acc", "1 row x 4 acc", "2 rows x 2 acc"};
    size_t es = bf16 ? 2 : 4;
    int shapes[4][2] = {{4096, 2304}, {2304, 2048}, {18432, 2304}, {2304, 9216}};
    enum { L = 26, N = L * 4 + 1 };
    static void *w[N];
    static int R[N], C[N];
    static jlong addr[N], bytes[N];
    double total = 0;
    for (int i = 0; i < N; i++) {
        R[i] = i == N - 1 ? 256000 : shapes[i % 4][0];
        C[i] = i == N - 1 ? 2304 : shapes[i % 4][1];
        size_t b = (size_t) R[i] * C[i] * es, huge = 2u << 20;
        w[i] = aligned_alloc(huge, (b + huge - 1) / huge * huge);
        if (!w[i]) { fprintf(stderr, "out of memory\n"); return 1; }
        madvise(w[i], b, MADV_HUGEPAGE);
        memset(w[i], 0x3c, b);
        addr[i] = (jlong) (intptr_t) w[i];
        bytes[i] = (jlong) b;
        total += (double) b;
    }
    int threads = (int) sysconf(_SC_NPROCESSORS_ONLN);
    pool_resize_locked(threads);
    float *x = calloc(18432, sizeof(float)), *y = malloc(256000 * sizeof(float));
    uint16_t *xb = calloc(18432, sizeof(uint16_t));
    for (int i = 0; i < 18432; i++) {
        x[i] = 0.001f * (i % 97);
        xb[i] = f32_to_bf16(x[i]);
        x[i] = bf16_to_f32(xb[i]);
    }
    regions_args ra = {addr, bytes, N, ISA_AVX512};
    double ratio[NV][64];
    int kept = 0;
    for (int round = 0; round < rounds && kept < 64; round++) {
        long t0 = now_ns();
        pool_run(regions_part, &ra);
        double before = (now_ns() - t0) / 1e9;
        for (int k = 0; k < NV; k++) {
            int v = (k + round) % NV;
            variant_fn = fns[v];
            t0 = now_ns();
            for (int i = 0; i < N; i++) {
                gemv_args a = {w[i], bf16 ? W_BF16 : W_F32, x, xb, x, y, 1, R[i], C[i], bf16 && !widen ? ISA_AVX512_BF16 : ISA_AVX512, 0};
                pool_run(variant_part, &a);
            }
            double step = (now_ns() - t0) / 1e9;
            t0 = now_ns();
            pool_run(regions_part, &ra);
            double after = (now_ns() - t0) / 1e9;
            if (round > 0) ratio[v][kept] = (before + after) / 2 / step;   /* round 0 warms up */
            
            before = after;
        }
        if (round > 0) kept++;
    }
    printf("%s, %.2f GB of weights, %d threads, %d rounds: pass time / step time (median, quartiles)\n",
           widen ? "bf16 widened to float32 (AVX-512)" : bf16 ? "bf16 vdpbf16ps" : "float32 AVX-512",
           total / 1e9, threads, kept);
    for (int v = 0; v < NV; v++) {
        double *r = ratio[v];
        for (int i = 0; i < kept; i++)
            for (int j = i + 1; j < kept; j++)
                if (r[j] < r[i]) { double t = r[i]; r[i] = r[j]; r[j] = t; }
        printf("  %-15s %.1f%% (%.1f-%.1f)\n", names[v], 100 * r[kept / 2], 100 * r[kept / 4], 100 * r[3 * kept / 4]);
    }
    return 0;
}
