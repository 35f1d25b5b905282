/*
 * How the product kernels should read the weights for a decode step of m activation rows (the batch), measured on
 * the memory a step reads: gemma-2-2b's 105 products of one step (26 layers of qkv 4096x2304, o 2304x2048, gate|up
 * 18432x2304, down 2304x9216, and the 256000x2304 head; 5.2 GB as bf16; the float32 modes take 13 layers, 5.8 GB,
 * so both copies below fit in 23 GB), each matrix in its own 2 MiB-aligned huge-page allocation, held twice: row
 * by row, and in steercpu.c's packed layout (4-row blocks interleaved in 64-byte units). Each variant's step is timed
 * between read passes over the copy it reads (steercpu.c's own pass: one stream before, the 8 KiB and 32 KiB
 * windows after, the fastest counting, as in bench's floor; until 2026-12-03 the mean of two one-stream passes, then
 * until that afternoon one stream and the 8 KiB window only), so a ratio compares a step with the bandwidth at the
 * same moments; the variants take turns within each round, so the VM's drifting bandwidth hits them alike. Prints
 * each variant's median (and quartiles) over the rounds of its round's ratio to the shipped packed kernel's ("paired")
 * and of pass time / step time, and the pass's bandwidth of each round.
 *
 * Variants: the kernels steercpu.c ships (row by row: "rows", as gemv_rows picks them for m; packed: "packed", with
 * the L2 prefetch distance prefetch_for(m, isa) gives), then any named on the command line as
 * packed@BYTES (the packed kernel with the prefetch that far ahead; 0: none), packed:MB (the packed kernel taking MB
 * activation rows a pass over a block: bf16 1, 2, 4, and x2, x3, x4: the 1-row loop over 2-4 blocks; f32 2; for avx2-bf16 also "loads", the access pattern alone,
 * see pa2b_loads) or rows:RBxMB (row by row, RB weight rows by MB
 * activation rows at a time, of 1x2, 4x4, 8x2 and for AVX2 4x2, 4x1; for bf16 also amx1, amx2, amx3: AMX tiles of
 * 16 rows, 1-3 blocks at once, and amx1p, amx2p: the same with a 4 KiB L2 prefetch of every row, a probe of what
 * amx_bf16 would give, not shipped). Before timing, each variant's products of the first matrix are compared with
 * the shipped row-by-row kernel's (max |difference|: 0 for the shipped kernels, the summation order's for AMX).
 *
 *   gcc -O3 -std=gnu11 -pthread -I$JAVA_HOME/include -I$JAVA_HOME/include/linux tools/bench/gemv-rows.c -o /tmp/gemv-rows -lm
 *   /tmp/gemv-rows MODE [rounds] [m] [variant ...]
 *     MODE: bf16 (vdpbf16ps, avx512_bf16), bf16w (the widening kernel of AVX-512 CPUs without avx512_bf16), f32,
 *     avx2-f32, avx2-bf16 (the AVX2 kernels: CPUs without AVX-512, most laptops); m: activation rows, 1-16 (default
 *     1). Needs ~10.5 GB free for the bf16 modes, ~11.6 GB for the float32 ones.
 */
#include "../../engine/djl/src/main/c/steercpu.c"
#include <stdio.h>
#include <sys/syscall.h>

/* row-by-row alternatives: RB weight rows x MB activation rows at a time, one accumulator a pair */
#define DP(NAME, RB, MB) KERNEL(NAME, "avx512f,avx512bw,avx512bf16", RB, MB, 1, __m512, __m512bh, __m512bh, 32, 1, _mm512_setzero_ps(), DP_W, ONE, DP_X, DP_FMA, _mm512_add_ps, _mm512_reduce_add_ps)
#define F32(NAME, RB, MB) KERNEL(NAME, "avx512f,avx512bw", RB, MB, 1, __m512, __m512, __m512, 16, 1, _mm512_setzero_ps(), AVX512_F32_W, ONE, AVX512_X, AVX512_FMA, _mm512_add_ps, _mm512_reduce_add_ps)
#define BW(NAME, RB, MB) KERNEL(NAME, "avx512f,avx512bw", RB, MB, 1, __m512, __m512, __m512i, 32, 2, _mm512_setzero_ps(), AVX512_BF16_W, AVX512_HALF, AVX512_XP, AVX512_FMA, _mm512_add_ps, _mm512_reduce_add_ps)
#define A2F(NAME, RB, MB) KERNEL(NAME, "avx2,fma", RB, MB, 1, __m256, __m256, __m256, 8, 1, _mm256_setzero_ps(), AVX2_F32_W, ONE, AVX2_X, AVX2_FMA, _mm256_add_ps, hsum256)
#define A2B(NAME, RB, MB) KERNEL(NAME, "avx2,fma", RB, MB, 1, __m256, __m256, __m256i, 16, 2, _mm256_setzero_ps(), AVX2_BF16_W, AVX2_HALF, AVX2_XP, AVX2_FMA, _mm256_add_ps, hsum256)
DP(dp_1x2, 1, 2) DP(dp_4x4, 4, 4) DP(dp_8x2, 8, 2)
F32(f32_1x2, 1, 2) F32(f32_4x4, 4, 4) F32(f32_8x2, 8, 2)
BW(bw_1x2, 1, 2) BW(bw_4x4, 4, 4) BW(bw_8x2, 8, 2)
A2F(a2f_1x2, 1, 2) A2F(a2f_4x2, 4, 2) A2F(a2f_4x1, 4, 1)
A2B(a2b_1x2, 1, 2) A2B(a2b_4x2, 4, 2) A2B(a2b_4x1, 4, 1)
/* packed alternatives: MB activation rows a pass over a block (the shipped ones: see steercpu.c's PKERNEL lines) */
PKERNEL(pdp_1, "avx512f,avx512bw,avx512bf16", 1, 0, 2, __m512, __m512bh, __m512bh, 32, 32, 1, _mm512_setzero_ps(), DP_W, ONE, DP_X, DP_FMA, _mm512_reduce_add_ps)
PKERNEL(pdp_2, "avx512f,avx512bw,avx512bf16", 2, 0, 2, __m512, __m512bh, __m512bh, 32, 32, 1, _mm512_setzero_ps(), DP_W, ONE, DP_X, DP_FMA, _mm512_reduce_add_ps)
PKERNEL(pdp_4, "avx512f,avx512bw,avx512bf16", 4, 0, 2, __m512, __m512bh, __m512bh, 32, 32, 1, _mm512_setzero_ps(), DP_W, ONE, DP_X, DP_FMA, _mm512_reduce_add_ps)
PKERNEL(pa2b_w, "avx2,fma", 2, 0, 2, __m256, __m256, __m256i, 16, 32, 2, _mm256_setzero_ps(), AVX2_BF16_W, AVX2_HALF, AVX2_XP, AVX2_FMA, hsum256)
PKERNEL(pa2f_w, "avx2,fma", 2, 0, 4, __m256, __m256, __m256, 8, 16, 1, _mm256_setzero_ps(), AVX2_F32_W, ONE, AVX2_X, AVX2_FMA, hsum256)
PKERNEL(pa2b_1b, "avx2,fma", 2, 1, 2, __m256, __m256, __m256i, 16, 32, 2, _mm256_setzero_ps(), AVX2_BF16_W, AVX2_HALF, AVX2_XP, AVX2_FMA, hsum256)
PKERNEL(pa2b_4b, "avx2,fma", 2, 4, 2, __m256, __m256, __m256i, 16, 32, 2, _mm256_setzero_ps(), AVX2_BF16_W, AVX2_HALF, AVX2_XP, AVX2_FMA, hsum256)
PKERNEL(pa2b_3b, "avx2,fma", 2, 3, 2, __m256, __m256, __m256i, 16, 32, 2, _mm256_setzero_ps(), AVX2_BF16_W, AVX2_HALF, AVX2_XP, AVX2_FMA, hsum256)
PKERNEL(pa2f_3, "avx2,fma", 3, 1, 4, __m256, __m256, __m256, 8, 16, 1, _mm256_setzero_ps(), AVX2_F32_W, ONE, AVX2_X, AVX2_FMA, hsum256)
/* a ceiling, not a product: at 1 activation row, the loads of the shipped AVX2 bf16 1-row loop (3 blocks, a unit at a
 * time) summed as integers, with no widening and no multiply-add ("packed:loads"; its sums are wrong). What the
 * access pattern alone reaches of the read pass: on the Zen 3 (2026-12-03, 13 rounds, the three-pattern floor)
 * 89.7% (quartiles 88.5-93.1), where the products read 85.6% (82.2-91.4) */
__attribute__((target("avx2"))) static void pa2b_loads(const gemv_args *a, int r0, int r1) {
    const int C = a->cols;
    int r = r0;
    for (; r + 3 * PACK_ROWS <= r1; r += 3 * PACK_ROWS) {
        size_t ob[3] = {(size_t) r * C, (size_t) (r + PACK_ROWS) * C, (size_t) (r + 2 * PACK_ROWS) * C};
        __m256i s[12];
        for (int k = 0; k < 12; k++) s[k] = _mm256_setzero_si256();
        for (int c0 = 0; c0 < C; c0 += 32) {
            _Pragma("GCC unroll 2") for (int h = 0; h < 2; h++)
                _Pragma("GCC unroll 12") for (int k = 0; k < 12; k++)
                    s[k] = _mm256_add_epi64(s[k], AVX2_BF16_W(ob[k / PACK_ROWS] + (size_t) ((k % PACK_ROWS) * 32 + h * 16)));
            for (int b = 0; b < 3; b++) ob[b] += PACK_ROWS * 32;
        }
        for (int k = 0; k < 12; k++) a->y[r + k] = (float) _mm256_extract_epi64(s[k], 0);
    }
    if (r < r1) packed_avx2_bf16(a, r, r1);
}
PKERNEL(pdp_x2, "avx512f,avx512bw,avx512bf16", 4, 2, 2, __m512, __m512bh, __m512bh, 32, 32, 1, _mm512_setzero_ps(), DP_W, ONE, DP_X, DP_FMA, _mm512_reduce_add_ps)
PKERNEL(pdp_x3, "avx512f,avx512bw,avx512bf16", 4, 3, 2, __m512, __m512bh, __m512bh, 32, 32, 1, _mm512_setzero_ps(), DP_W, ONE, DP_X, DP_FMA, _mm512_reduce_add_ps)
PKERNEL(pdp_x4, "avx512f,avx512bw,avx512bf16", 4, 4, 2, __m512, __m512bh, __m512bh, 32, 32, 1, _mm512_setzero_ps(), DP_W, ONE, DP_X, DP_FMA, _mm512_reduce_add_ps)
PKERNEL(pf32_2, "avx512f,avx512bw", 2, 0, 4, __m512, __m512, __m512, 16, 16, 1, _mm512_setzero_ps(), AVX512_F32_W, ONE, AVX512_X, AVX512_FMA, _mm512_reduce_add_ps)


/* AMX (amx_bf16) on the row-by-row copy: tiles of 16 weight rows x 32 columns (A, loaded with the row stride) times
 * the activations' 32 columns arranged as bf16 pairs (B: 16 pair rows x m columns), into 16 x m float32 (C); NB
 * blocks of 16 rows at once, each row's stream prefetched PF bytes ahead into L2 (0: none). A probe: the sums are
 * the tile unit's order, not the other kernels', and the rearranged activations are kept per thread by their address
 * and width (the harness never changes x) */
typedef struct { uint8_t palette, start_row, reserved[14]; uint16_t colsb[16]; uint8_t rows[16]; } amx_cfg;
static __thread int amx_m;
static __thread const uint16_t *amx_src;
static __thread int amx_cols;
static __thread uint16_t *amx_xb;
#define AMX_ROWS(NAME, NB, PF)                                                                                         \
    __attribute__((target("amx-tile,amx-bf16,avx512f"))) static void NAME(const gemv_args *a, int r0, int r1) {       \
        const int m = a->m, C = a->cols;                                                                               \
        if (amx_m != m) {                                                                                              \
            amx_cfg cfg;                                                                                               \
            memset(&cfg, 0, sizeof cfg);                                                                               \
            cfg.palette = 1;                                                                                           \
            for (int t = 0; t < 3; t++) { cfg.rows[t] = 16; cfg.colsb[t] = (uint16_t) (m * 4); }      /* C */          \
            for (int t = 3; t < 6; t++) { cfg.rows[t] = 16; cfg.colsb[t] = 64; }                     /* A */          \
            cfg.rows[6] = 16; cfg.colsb[6] = (uint16_t) (m * 4);                                     /* B */          \
            _tile_loadconfig(&cfg);                                                                                    \
            amx_m = m;                                                                                                 \
            amx_src = NULL;                                                                                            \
        }                                                                                                              \
        if (amx_src != a->xb || amx_cols != C) {                                                                       \
            free(amx_xb);                                                                                              \
            amx_xb = malloc((size_t) C * m * 2);                                                                       \
            for (int c0 = 0; c0 < C; c0 += 32)                                                                         \
                for (int kp = 0; kp < 16; kp++)                                                                        \
                    for (int j = 0; j < m; j++)                                                                        \
                        for (int t = 0; t < 2; t++)                                                                    \
                            amx_xb[(size_t) c0 * m + kp * 2 * m + j * 2 + t] = a->xb[(size_t) j * C + c0 + 2 * kp + t];  \
            amx_src = a->xb;                                                                                           \
            amx_cols = C;                                                                                              \
        }                                                                                                              \
        const size_t stride = (size_t) C * 2;                                                                          \
        float out[16 * (NB)][16];                                                                                      \
        int r = r0;                                                                                                    \
        for (; r + 16 * (NB) <= r1; r += 16 * (NB)) {                                                                  \
            const uint16_t *w0 = W16((size_t) r * C);                                                                  \
            _tile_zero(0);                                                                                             \
            if ((NB) > 1) _tile_zero(1);                                                                               \
            if ((NB) > 2) _tile_zero(2);                                                                               \
            for (int c0 = 0; c0 < C; c0 += 32) {                                                                       \
                if (PF) for (int i = 0; i < 16 * (NB); i++) _mm_prefetch((const char *) (w0 + c0) + i * stride + (PF), _MM_HINT_T1); \
                _tile_loadd(6, amx_xb + (size_t) c0 * m, m * 4);                                                       \
                _tile_loadd(3, w0 + c0, stride);                                                                       \
                if ((NB) > 1) _tile_loadd(4, w0 + 16 * (size_t) C + c0, stride);                                       \
                if ((NB) > 2) _tile_loadd(5, w0 + 32 * (size_t) C + c0, stride);                                       \
                _tile_dpbf16ps(0, 3, 6);                                                                               \
                if ((NB) > 1) _tile_dpbf16ps(1, 4, 6);                                                                 \
                if ((NB) > 2) _tile_dpbf16ps(2, 5, 6);                                                                 \
            }                                                                                                          \
            _tile_stored(0, out[0], 64);                                                                               \
            if ((NB) > 1) _tile_stored(1, out[16], 64);                                                                \
            if ((NB) > 2) _tile_stored(2, out[32], 64);                                                                \
            for (int i = 0; i < 16 * (NB); i++)                                                                        \
                for (int j = 0; j < m; j++) a->y[(size_t) j * a->rows + r + i] = out[i][j];                           \
        }                                                                                                              \
        if (r < r1) rows_avx512_dpbf16(a, r, r1);                                                                      \
    }
AMX_ROWS(amx_1, 1, 0) AMX_ROWS(amx_2, 2, 0) AMX_ROWS(amx_3, 3, 0) AMX_ROWS(amx_2p, 2, 4096) AMX_ROWS(amx_1p, 1, 4096)
typedef void (*rows_fn)(const gemv_args *, int, int);
static const struct {
    const char *mode, *name;
    rows_fn fn;
} ALTERNATIVES[] = {
    {"bf16", "1x2", dp_1x2}, {"bf16", "amx1", amx_1}, {"bf16", "amx2", amx_2}, {"bf16", "amx3", amx_3}, {"bf16", "amx2p", amx_2p}, {"bf16", "amx1p", amx_1p}, {"bf16", "4x4", dp_4x4}, {"bf16", "8x2", dp_8x2},
    {"f32", "1x2", f32_1x2}, {"f32", "4x4", f32_4x4}, {"f32", "8x2", f32_8x2},
    {"bf16w", "1x2", bw_1x2}, {"bf16w", "4x4", bw_4x4}, {"bf16w", "8x2", bw_8x2},
    {"avx2-f32", "1x2", a2f_1x2}, {"avx2-f32", "4x2", a2f_4x2}, {"avx2-f32", "4x1", a2f_4x1},
    {"avx2-bf16", "1x2", a2b_1x2}, {"avx2-bf16", "4x2", a2b_4x2}, {"avx2-bf16", "4x1", a2b_4x1},
};
static const struct {
    const char *mode, *name;
    rows_fn fn;
} PACKED_ALTERNATIVES[] = {
    {"bf16", "1", pdp_1}, {"bf16", "2", pdp_2}, {"bf16", "4", pdp_4}, {"bf16", "x2", pdp_x2}, {"bf16", "x3", pdp_x3}, {"bf16", "x4", pdp_x4}, {"f32", "2", pf32_2},
    {"avx2-bf16", "2w", pa2b_w}, {"avx2-bf16", "1b", pa2b_1b}, {"avx2-bf16", "3b", pa2b_3b}, {"avx2-bf16", "4b", pa2b_4b}, {"avx2-f32", "2w", pa2f_w}, {"avx2-f32", "3", pa2f_3}, {"avx2-bf16", "loads", pa2b_loads}
};
enum { NPALT = sizeof(PACKED_ALTERNATIVES) / sizeof(PACKED_ALTERNATIVES[0]) };
enum { NALT = sizeof(ALTERNATIVES) / sizeof(ALTERNATIVES[0]), MAXM = 16, MAXV = 12 };

typedef struct {
    char name[48];
    int packed, prefetch;   /* prefetch: bytes ahead for the packed kernel */
    rows_fn fn;             /* a row-by-row alternative, or NULL: gemv_rows as shipped */
} variant;
static const variant *current;

static void run_rows(const gemv_args *a, int r0, int r1) {
    if (current->fn) current->fn(a, r0, r1);
    else gemv_rows(a, r0, r1);
}

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
            run_rows(a, r0, r0 + n < a->rows ? r0 + n : a->rows);
            r0 = atomic_load(&a->next);
        }
    }
}

/* ascending, in place (a few dozen rounds) */
static void sort_doubles(double *d, int n) {
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (d[j] < d[i]) { double t = d[i]; d[i] = d[j]; d[j] = t; }
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "bf16";
    int rounds = argc > 2 ? atoi(argv[2]) : 12, m = argc > 3 ? atoi(argv[3]) : 1;
    int bf16 = strcmp(mode, "f32") != 0 && strcmp(mode, "avx2-f32") != 0, avx2 = strncmp(mode, "avx2", 4) == 0;
    int isa = avx2 ? ISA_AVX2 : strcmp(mode, "bf16") == 0 ? ISA_AVX512_BF16 : ISA_AVX512;
    if (m < 1 || m > MAXM) { fprintf(stderr, "activation rows: 1..%d\n", MAXM); return 2; }
    if (isa == ISA_AVX512_BF16 && !__builtin_cpu_supports("avx512bf16")) { fprintf(stderr, "this CPU has no avx512_bf16\n"); return 2; }
    if (avx2 ? !__builtin_cpu_supports("avx2") : !__builtin_cpu_supports("avx512f")) { fprintf(stderr, "this CPU lacks the mode's instruction set\n"); return 2; }
    if (strcmp(mode, "bf16") && strcmp(mode, "bf16w") && strcmp(mode, "f32") && strcmp(mode, "avx2-f32") && strcmp(mode, "avx2-bf16")) {
        fprintf(stderr, "mode: bf16, bf16w, f32, avx2-f32 or avx2-bf16\n");
        return 2;
    }
    if (__builtin_cpu_supports("amx-bf16") && syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XTILEDATA */))
        fprintf(stderr, "no AMX tile data permission\n");
    static variant vs[MAXV];
    int nv = 0;
    vs[nv++] = (variant) {"rows (shipped)", 0, 0, NULL};
    vs[nv++] = (variant) {"packed (shipped)", 1, prefetch_for(m, isa), NULL};
    for (int i = 4; i < argc && nv < MAXV; i++) {
        variant v = {"", 0, 0, NULL};
        snprintf(v.name, sizeof v.name, "%s", argv[i]);
        if (strncmp(argv[i], "packed@", 7) == 0) {
            v.packed = 1;
            v.prefetch = atoi(argv[i] + 7);
        } else if (strncmp(argv[i], "packed:", 7) == 0) {
            v.packed = 1;
            const char *at = strchr(argv[i] + 7, '@');
            size_t len = at ? (size_t) (at - (argv[i] + 7)) : strlen(argv[i] + 7);
            v.prefetch = at ? atoi(at + 1) : prefetch_for(m, isa);
            for (int k = 0; k < NPALT; k++)
                if (strcmp(PACKED_ALTERNATIVES[k].mode, mode) == 0 && strlen(PACKED_ALTERNATIVES[k].name) == len
                    && strncmp(PACKED_ALTERNATIVES[k].name, argv[i] + 7, len) == 0) v.fn = PACKED_ALTERNATIVES[k].fn;
            if (!v.fn) { fprintf(stderr, "%s: no such packed alternative for %s\n", argv[i], mode); return 2; }
        } else if (strncmp(argv[i], "rows:", 5) == 0) {
            for (int k = 0; k < NALT; k++)
                if (strcmp(ALTERNATIVES[k].mode, mode) == 0 && strcmp(ALTERNATIVES[k].name, argv[i] + 5) == 0) v.fn = ALTERNATIVES[k].fn;
            if (!v.fn) { fprintf(stderr, "%s: no such row-by-row alternative for %s\n", argv[i], mode); return 2; }
            if (strncmp(argv[i] + 5, "amx", 3) == 0 && !__builtin_cpu_supports("amx-bf16")) { fprintf(stderr, "%s: this CPU has no amx_bf16\n", argv[i]); return 2; }
        } else {
            fprintf(stderr, "%s: expected packed@BYTES, packed:MB[@BYTES] or rows:RBxMB\n", argv[i]);
            return 2;
        }
        vs[nv++] = v;
    }
    size_t es = bf16 ? 2 : 4;
    int shapes[4][2] = {{4096, 2304}, {2304, 2048}, {18432, 2304}, {2304, 9216}};
    const int L = bf16 ? 26 : 13, N = L * 4 + 1;
    static void *w[2][26 * 4 + 1];
    static int R[26 * 4 + 1], C[26 * 4 + 1];
    static jlong addr[2][26 * 4 + 1], bytes[26 * 4 + 1];
    double total = 0;
    for (int i = 0; i < N; i++) {
        R[i] = i == N - 1 ? 256000 : shapes[i % 4][0];
        C[i] = i == N - 1 ? 2304 : shapes[i % 4][1];
        size_t b = (size_t) R[i] * C[i] * es, huge = 2u << 20, ab = (b + huge - 1) / huge * huge;
        for (int p = 0; p < 2; p++) {
            w[p][i] = aligned_alloc(huge, ab);
            if (!w[p][i]) { fprintf(stderr, "out of memory\n"); return 1; }
            madvise(w[p][i], ab, MADV_HUGEPAGE);
            if (bf16) for (size_t e = 0; e < b / 2; e++) ((uint16_t *) w[p][i])[e] = (uint16_t) (0x3c00 + e % 61);
            else for (size_t e = 0; e < b / 4; e++) ((float *) w[p][i])[e] = 0.001f * (float) (e % 61);
            addr[p][i] = (jlong) (intptr_t) w[p][i];
        }
        bytes[i] = (jlong) b;
        total += (double) b;
    }
    int threads = (int) sysconf(_SC_NPROCESSORS_ONLN);
    pool_resize_locked(threads);
    for (int i = 0; i < N; i++)
        if (Java_dev_steer_engine_djl_CpuKernels_pack(NULL, NULL, addr[1][i], bf16 ? W_BF16 : W_F32, R[i], C[i]) != 1) { fprintf(stderr, "pack\n"); return 1; }
    float *x = calloc((size_t) MAXM * 18432, sizeof(float)), *y = malloc((size_t) MAXM * 256000 * sizeof(float));
    uint16_t *xb = calloc((size_t) MAXM * 18432, sizeof(uint16_t));
    for (int i = 0; i < MAXM * 18432; i++) {
        xb[i] = f32_to_bf16(0.001f * (float) (i % 97));
        x[i] = bf16_to_f32(xb[i]);
    }
    {   /* each variant's products of the first matrix against the shipped row-by-row kernel's (max |difference|,
         * relative to the largest |product|): a probe with wrong sums shows here */
        float *ref = malloc((size_t) m * R[0] * sizeof(float));
        for (int v = 0; v < nv; v++) {
            current = &vs[v];
            gemv_args a = {w[vs[v].packed][0], bf16 ? W_BF16 : W_F32, x, xb, x, y, m, R[0], C[0], isa, vs[v].packed, vs[v].prefetch, 0};
            pool_run(variant_part, &a);
            if (v == 0) memcpy(ref, y, (size_t) m * R[0] * sizeof(float));
            double dmax = 0, ymax = 0;
            for (size_t i = 0; i < (size_t) m * R[0]; i++) {
                double d = fabs((double) y[i] - ref[i]);
                if (d > dmax) dmax = d;
                if (fabs(ref[i]) > ymax) ymax = fabs(ref[i]);
            }
            printf("  %-26s products of matrix 0: max |diff| %.3g of max |y| %.3g\n", vs[v].name, dmax, ymax);
        }
        free(ref);
    }
    static double ratio[MAXV][64];
    int kept = 0;
    for (int round = 0; round < rounds && kept < 64; round++) {
        double pass_sum = 0;
        for (int k = 0; k < nv; k++) {
            int v = (k + round) % nv;
            current = &vs[v];
            regions_args ra = {addr[vs[v].packed], bytes, N, isa, 0};
            long t0 = now_ns();
            pool_run(regions_part, &ra);
            double before = (now_ns() - t0) / 1e9;
            t0 = now_ns();
            for (int i = 0; i < N; i++) {
                gemv_args a = {w[vs[v].packed][i], bf16 ? W_BF16 : W_F32, x, xb, x, y, m, R[i], C[i], isa, vs[v].packed, vs[v].prefetch, 0};
                pool_run(variant_part, &a);
            }
            double step = (now_ns() - t0) / 1e9;
            double after = 1e30;   /* the passes after: the 8 KiB and 32 KiB windows (bench's floor takes the fastest) */
            for (int p = 1; p <= 2; p++) {
                ra.pattern = p;
                t0 = now_ns();
                pool_run(regions_part, &ra);
                double s = (now_ns() - t0) / 1e9;
                pass_sum += s;
                if (s < after) after = s;
            }
            pass_sum += before;
            if (round > 0) ratio[v][kept] = (before < after ? before : after) / step;   /* round 0 warms up */
        }
        printf("  round %d: passes at %.1f GB/s\n", round, total / (pass_sum / (3 * nv)) / 1e9);
        if (round > 0) kept++;
    }
    printf("%s, %d activation rows, %.2f GB of weights, %d threads, %d rounds: pass time / step time (median, quartiles)\n",
           mode, m, total / 1e9, threads, kept);
    /* each round's ratio over the shipped packed kernel's in the same round: the VM's bandwidth drifts between rounds,
     * much less between variants of one round */
    static double paired[MAXV][64];
    for (int v = 0; v < nv; v++) {
        double *q = paired[v];
        for (int i = 0; i < kept; i++) q[i] = ratio[v][i] / ratio[1][i];
        sort_doubles(q, kept);
        printf("  paired %-20s x%.3f (%.3f-%.3f) of packed (shipped)\n", vs[v].name, q[kept / 2], q[kept / 4], q[3 * kept / 4]);
    }
    for (int v = 0; v < nv; v++) {
        double *r = ratio[v];
        sort_doubles(r, kept);
        printf("  %-20s %.1f%% (%.1f-%.1f)\n", vs[v].name, 100 * r[kept / 2], 100 * r[kept / 4], 100 * r[3 * kept / 4]);
    }
    return 0;
}
