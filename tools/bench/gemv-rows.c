/*
 * How many weight rows (and activation rows) the bf16 / float32 product kernels should take at a time for a decode
 * step of m activation rows (the batch), measured on the memory a step reads: gemma-2-2b's 105 products of one step (26 layers of qkv 4096x2304, o
 * 2304x2048, gate|up 18432x2304, down 2304x9216, and the 256000x2304 head; 5.2 GB as bf16, 10.5 GB as float32, each
 * matrix in its own 2 MiB-aligned huge-page allocation), each variant's step timed between two read passes over the
 * same matrices (steercpu.c's own pass), so a ratio compares a step with the bandwidth at the same moments; the
 * variants (weight rows x activation rows at a time x accumulators per pair) take turns within each round, so the VM's drifting
 * bandwidth hits them alike. Prints each variant's median
 * (and quartiles) of pass time / step time over the rounds.
 *
 *   gcc -O3 -std=gnu11 -pthread -I$JAVA_HOME/include -I$JAVA_HOME/include/linux tools/bench/gemv-rows.c -o /tmp/gemv-rows -lm
 *   /tmp/gemv-rows [bf16|bf16w|f32|avx2-f32|avx2-bf16] [rounds] [m]
 *     bf16: vdpbf16ps (avx512_bf16); bf16w: the widening kernel of AVX-512 CPUs without avx512_bf16; avx2-*: the
 *     AVX2 kernels (CPUs without AVX-512: most laptops); m: activation rows, 1-16 (default 1). Needs ~5.3 GB free
 *     for the bf16 modes, ~10.5 GB for the float32 ones.
 */
#include "../../engine/djl/src/main/c/steercpu.c"
#include <stdio.h>

/* weight rows at a time (RB) x activation rows at a time (MB) x accumulators per (weight row, activation row) (A) */
#define DP(NAME, RB, MB, A) KERNEL(NAME, "avx512f,avx512bw,avx512bf16", RB, MB, A, __m512, __m512bh, __m512bh, 32, 1, _mm512_setzero_ps(), DP_W, ONE, DP_X, DP_FMA, _mm512_add_ps, _mm512_reduce_add_ps)
#define F32(NAME, RB, MB, A) KERNEL(NAME, "avx512f,avx512bw", RB, MB, A, __m512, __m512, __m512, 16, 1, _mm512_setzero_ps(), AVX512_F32_W, ONE, AVX512_X, AVX512_FMA, _mm512_add_ps, _mm512_reduce_add_ps)
#define BW(NAME, RB, MB, A) KERNEL(NAME, "avx512f,avx512bw", RB, MB, A, __m512, __m512, __m512i, 32, 2, _mm512_setzero_ps(), AVX512_BF16_W, AVX512_HALF, AVX512_XP, AVX512_FMA, _mm512_add_ps, _mm512_reduce_add_ps)
#define A2F(NAME, RB, MB, A) KERNEL(NAME, "avx2,fma", RB, MB, A, __m256, __m256, __m256, 8, 1, _mm256_setzero_ps(), AVX2_F32_W, ONE, AVX2_X, AVX2_FMA, _mm256_add_ps, hsum256)
#define A2B(NAME, RB, MB, A) KERNEL(NAME, "avx2,fma", RB, MB, A, __m256, __m256, __m256i, 16, 2, _mm256_setzero_ps(), AVX2_BF16_W, AVX2_HALF, AVX2_XP, AVX2_FMA, _mm256_add_ps, hsum256)
BW(bw_8_2_1, 8, 2, 1)
BW(bw_1_2_1, 1, 2, 1)
BW(bw_1_2_2, 1, 2, 2)
BW(bw_1_4_1, 1, 4, 1)
BW(bw_2_4_1, 2, 4, 1)
DP(dp_8_2_1, 8, 2, 1)
DP(dp_1_2_1, 1, 2, 1)
DP(dp_1_2_2, 1, 2, 2)
DP(dp_4_4_1, 4, 4, 1)
DP(dp_1_4_1, 1, 4, 1)
DP(dp_2_4_1, 2, 4, 1)
F32(f32_4_4_1, 4, 4, 1)
F32(f32_1_2_1, 1, 2, 1)
F32(f32_1_2_2, 1, 2, 2)
F32(f32_1_4_1, 1, 4, 1)
F32(f32_2_4_1, 2, 4, 1)
A2F(a2f_4_2_1, 4, 2, 1)
A2F(a2f_1_2_1, 1, 2, 1)
A2F(a2f_1_2_2, 1, 2, 2)
A2F(a2f_1_4_1, 1, 4, 1)
A2F(a2f_2_4_1, 2, 4, 1)
A2B(a2b_4_1_1, 4, 1, 1)
A2B(a2b_1_1_1, 1, 1, 1)
A2B(a2b_1_1_2, 1, 1, 2)
A2B(a2b_1_2_1, 1, 2, 1)
A2B(a2b_1_4_1, 1, 4, 1)
A2B(a2b_2_2_1, 2, 2, 1)

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

typedef struct {
    const char *mode, *name;
    rows_fn fn;
} variant;

/* the kernel each mode ships today first (steercpu.c's gemv_rows for 1-3 and for 4+ activation rows) */
static const variant VARIANTS[] = {
    {"bf16", "8 x 2 x 1", dp_8_2_1}, {"bf16", "1 x 2 x 1 (m<4)", dp_1_2_1}, {"bf16", "1 x 2 x 2", dp_1_2_2},
    {"bf16", "4 x 4 x 1 (m>=4)", dp_4_4_1}, {"bf16", "1 x 4 x 1", dp_1_4_1}, {"bf16", "2 x 4 x 1", dp_2_4_1},
    {"bf16w", "8 x 2 x 1 (m>=4)", bw_8_2_1}, {"bf16w", "1 x 2 x 1 (m<4)", bw_1_2_1}, {"bf16w", "1 x 2 x 2", bw_1_2_2},
    {"bf16w", "1 x 4 x 1", bw_1_4_1}, {"bf16w", "2 x 4 x 1", bw_2_4_1},
    {"f32", "4 x 4 x 1 (m>=4)", f32_4_4_1}, {"f32", "1 x 2 x 1 (m<4)", f32_1_2_1}, {"f32", "1 x 2 x 2", f32_1_2_2},
    {"f32", "1 x 4 x 1", f32_1_4_1}, {"f32", "2 x 4 x 1", f32_2_4_1},
    {"avx2-f32", "4 x 2 x 1 (all m)", a2f_4_2_1}, {"avx2-f32", "1 x 2 x 1", a2f_1_2_1}, {"avx2-f32", "1 x 2 x 2", a2f_1_2_2},
    {"avx2-f32", "1 x 4 x 1", a2f_1_4_1}, {"avx2-f32", "2 x 4 x 1", a2f_2_4_1},
    {"avx2-bf16", "4 x 1 x 1 (all m)", a2b_4_1_1}, {"avx2-bf16", "1 x 1 x 1", a2b_1_1_1}, {"avx2-bf16", "1 x 1 x 2", a2b_1_1_2},
    {"avx2-bf16", "1 x 2 x 1", a2b_1_2_1}, {"avx2-bf16", "1 x 4 x 1", a2b_1_4_1}, {"avx2-bf16", "2 x 2 x 1", a2b_2_2_1},
};
enum { NALL = sizeof(VARIANTS) / sizeof(VARIANTS[0]), MAXM = 16 };

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "bf16";
    int rounds = argc > 2 ? atoi(argv[2]) : 12, m = argc > 3 ? atoi(argv[3]) : 1;
    int bf16 = strcmp(mode, "f32") != 0 && strcmp(mode, "avx2-f32") != 0, avx2 = strncmp(mode, "avx2", 4) == 0;
    int isa = avx2 ? ISA_AVX2 : strcmp(mode, "bf16") == 0 ? ISA_AVX512_BF16 : ISA_AVX512;
    if (m < 1 || m > MAXM) { fprintf(stderr, "activation rows: 1..%d\n", MAXM); return 2; }
    if (isa == ISA_AVX512_BF16 && !__builtin_cpu_supports("avx512bf16")) { fprintf(stderr, "this CPU has no avx512_bf16\n"); return 2; }
    if (avx2 ? !__builtin_cpu_supports("avx2") : !__builtin_cpu_supports("avx512f")) { fprintf(stderr, "this CPU lacks the mode's instruction set\n"); return 2; }
    rows_fn fns[8];
    const char *names[8];
    int NV = 0;
    for (int i = 0; i < NALL; i++)
        if (strcmp(VARIANTS[i].mode, mode) == 0) { fns[NV] = VARIANTS[i].fn; names[NV++] = VARIANTS[i].name; }
    if (NV == 0) { fprintf(stderr, "mode: bf16, bf16w, f32, avx2-f32 or avx2-bf16\n"); return 2; }
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
    float *x = calloc((size_t) MAXM * 18432, sizeof(float)), *y = malloc((size_t) MAXM * 256000 * sizeof(float));
    uint16_t *xb = calloc((size_t) MAXM * 18432, sizeof(uint16_t));
    for (int i = 0; i < MAXM * 18432; i++) {
        x[i] = 0.001f * (i % 97);
        xb[i] = f32_to_bf16(x[i]);
        x[i] = bf16_to_f32(xb[i]);
    }
    regions_args ra = {addr, bytes, N, ISA_AVX512};
    double ratio[8][64];
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
                gemv_args a = {w[i], bf16 ? W_BF16 : W_F32, x, xb, x, y, m, R[i], C[i], isa, 0};
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
    printf("%s, %d activation rows, %.2f GB of weights, %d threads, %d rounds: pass time / step time (median, quartiles)\n",
           mode, m, total / 1e9, threads, kept);
    for (int v = 0; v < NV; v++) {
        double *r = ratio[v];
        for (int i = 0; i < kept; i++)
            for (int j = i + 1; j < kept; j++)
                if (r[j] < r[i]) { double t = r[i]; r[i] = r[j]; r[j] = t; }
        printf("  %-20s %.1f%% (%.1f-%.1f)\n", names[v], 100 * r[kept / 2], 100 * r[kept / 4], 100 * r[3 * kept / 4]);
    }
    return 0;
}
