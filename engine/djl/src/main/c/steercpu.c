/*
 * steer's CPU kernels: the decode step's matrix-vector products (a few activation rows against a weight matrix,
 * float32 or bf16 weights) and the read-bandwidth pass that sets bench's floor, both on one pool of threads.
 *
 * Why: at M = 1..8 rows PyTorch's CPU GEMM reads a gemma-2-2b weight at about half the machine's read bandwidth
 * (BENCHMARKS.md, "CPU after issue #18"); a decode step is a stream over every weight once, so these loops do
 * nothing but stream each weight row once against the activation rows held in cache.
 *
 * Each kernel exists per instruction set, chosen at run time (cpuid): AVX512_BF16 (bf16 dot products, vdpbf16ps),
 * AVX-512F, AVX2+FMA, and plain C. Every variant computes the same products: bf16 weights times activations
 * rounded to bf16 (round to nearest even), float32 weights times float32 activations, float32 accumulation; they
 * differ only in summation order. Built by engine/djl's pom with gcc; loaded by CpuKernels.java.
 */
#include <jni.h>
#include <immintrin.h>
#include <linux/futex.h>
#include <pthread.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { ISA_SCALAR = 0, ISA_AVX2 = 1, ISA_AVX512 = 2, ISA_AVX512_BF16 = 3 };
enum { W_F32 = 0, W_BF16 = 1, W_PACKED = 2 };
#define MAX_ROWS_M 8

/* ------------------------------------------------------------------ instruction set */

static int isa_detect(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")) {
        if (__builtin_cpu_supports("avx512bf16")) return ISA_AVX512_BF16;
        return ISA_AVX512;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return ISA_AVX2;
    return ISA_SCALAR;
}

/* whether the CPU is Intel's (cpuid's vendor string): the L2 prefetch distance at 1-2 rows differs (prefetch_for).
 * __builtin_cpu_init returns at once after its first call and __builtin_cpu_is reads the vendor it stored, so
 * nothing to cache here */
static int cpu_is_intel(void) {
    __builtin_cpu_init();
    return __builtin_cpu_is("intel");
}

/* the CPU's best variant, detected once (every kernel call resolves its variant against it) */
static int isa_best(void) {
    static _Atomic int best = -1;
    int b = atomic_load_explicit(&best, memory_order_relaxed);
    if (b < 0) atomic_store_explicit(&best, b = isa_detect(), memory_order_relaxed);
    return b;
}


/* ------------------------------------------------------------------ thread pool */

typedef void (*task_fn)(void *ctx, int part, int parts);

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static int pool_size = 1;               /* threads taking part in a task, the caller included */
static pthread_t *pool_threads;
static _Atomic int pool_gen;            /* bumped once per task; workers wait on it */
static _Atomic int pool_left;           /* workers still running the current task */
static _Atomic int pool_stop;
static int pool_base_gen;              /* pool_gen when the workers were made: where each starts waiting */
static task_fn pool_fn;
static void *pool_ctx;
/* how long an idle worker spins before sleeping in the kernel: decode's products come every few hundred us */
#define SPIN_NS 200000L

static long futex(_Atomic int *addr, int op, int val) {
    return syscall(SYS_futex, (int *) addr, op, val, NULL, NULL, 0);
}

static long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

static void *worker(void *arg) {
    int part = (int) (intptr_t) arg;
    /* not pool_gen itself: a task posted before this thread first ran would be missed, and its caller wait forever */
    int seen = pool_base_gen;
    for (;;) {
        long start = now_ns();
        int spins = 0;
        while (atomic_load_explicit(&pool_gen, memory_order_acquire) == seen) {
            if (atomic_load(&pool_stop)) return NULL;
            if ((++spins & 63) == 0 && now_ns() - start > SPIN_NS) futex(&pool_gen, FUTEX_WAIT_PRIVATE, seen);
            else _mm_pause();
        }
        seen = atomic_load(&pool_gen);
        if (atomic_load(&pool_stop)) return NULL;
        pool_fn(pool_ctx, part, pool_size);
        atomic_fetch_sub_explicit(&pool_left, 1, memory_order_release);
    }
}

static void pool_resize_locked(int n) {
    if (n < 1) n = 1;
    if (n == pool_size && (n == 1 || pool_threads)) return;
    if (pool_threads) {
        atomic_store(&pool_stop, 1);
        atomic_fetch_add(&pool_gen, 1);
        futex(&pool_gen, FUTEX_WAKE_PRIVATE, 1 << 30);
        for (int i = 1; i < pool_size; i++) pthread_join(pool_threads[i], NULL);
        free(pool_threads);
        pool_threads = NULL;
        atomic_store(&pool_stop, 0);
    }
    pool_size = n;
    pool_base_gen = atomic_load(&pool_gen);
    if (n > 1) {
        pool_threads = calloc((size_t) n, sizeof(pthread_t));
        int made = 1;
        while (made < n && pthread_create(&pool_threads[made], NULL, worker, (void *) (intptr_t) made) == 0) made++;
        pool_size = made;   /* a thread the system refused: the pool runs with the ones it has (a task waits for pool_size - 1) */
        if (made == 1) {
            free(pool_threads);
            pool_threads = NULL;
        }
    }
}

/* Runs fn(ctx, part, parts) for every part on the pool, part 0 on the caller; returns when all are done. */
static void pool_run(task_fn fn, void *ctx) {
    pthread_mutex_lock(&pool_lock);
    if (pool_size == 1) {
        fn(ctx, 0, 1);
    } else {
        pool_fn = fn;
        pool_ctx = ctx;
        atomic_store(&pool_left, pool_size - 1);
        atomic_fetch_add_explicit(&pool_gen, 1, memory_order_release);
        futex(&pool_gen, FUTEX_WAKE_PRIVATE, 1 << 30);
        fn(ctx, 0, pool_size);
        while (atomic_load_explicit(&pool_left, memory_order_acquire) > 0) _mm_pause();
    }
    pthread_mutex_unlock(&pool_lock);
}

/* ------------------------------------------------------------------ bf16 */

static inline uint16_t f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t) ((u >> 16) | 0x40);   /* NaN stays NaN */
    u += 0x7fffu + ((u >> 16) & 1u);                                              /* round to nearest even */
    return (uint16_t) (u >> 16);
}

static inline float bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t) h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* ------------------------------------------------------------------ products */

/*
 * y[i][r] = sum_c w[r][c] * x[i][c] for rows r in [r0, r1), activation rows i < m. xf: the activations as float32
 * (for bf16 weights already rounded to bf16 values); bf16 weights only: xb the same as bf16 bits, xp the same as
 * float32 permuted per chunk of pair_chunk(isa) columns (the chunk's even columns, then its odd ones).
 */
typedef struct {
    const void *w;
    int wtype;
    const float *xf;
    const uint16_t *xb;
    const float *xp;
    float *y;
    int m, rows, cols, isa;
    int packed;                 /* w in the packed layout (packed_index) */
    int prefetch;               /* packed only: bytes ahead of the stream the loop asks into L2, 0 for none */
    _Atomic int next;           /* the first row no thread has taken yet */
} gemv_args;

/*
 * The packed layout of a weight matrix: blocks of PACK_ROWS rows, each block's rows interleaved in PACK_BYTES units
 * (unit u of row 0, of row 1, .., of row 3, then unit u + 1), so a kernel taking the block's 4 rows at once reads one
 * sequential stream, and each activation vector it loads serves 4 rows. Only for rows a multiple of PACK_ROWS and
 * columns a multiple of a unit (then no product has a column tail). Row r's column c is at packed_index.
 */
#define PACK_ROWS 4
#define PACK_BYTES 64

static inline size_t packed_index(int r, int c, int cols, int es) {
    const int u = PACK_BYTES / es;
    return (size_t) (r / PACK_ROWS * PACK_ROWS) * cols + (size_t) (c / u) * (PACK_ROWS * u) + (size_t) (r % PACK_ROWS) * u + c % u;
}

static inline int packable(int rows, int cols, int es) {
    return rows > 0 && cols > 0 && rows % PACK_ROWS == 0 && cols % (PACK_BYTES / es) == 0;
}

/* element i of a weight's memory as float32 (bf16 widened exactly) */
static inline float weight_elem(const void *w, int wtype, size_t i) {
    return (wtype & W_BF16) ? bf16_to_f32(((const uint16_t *) w)[i]) : ((const float *) w)[i];
}

/* element (r, c) of a's weights, packed or not */
static inline float weight_at(const gemv_args *a, int r, int c) {
    const int es = a->wtype == W_F32 ? 4 : 2;
    return weight_elem(a->w, a->wtype, a->packed ? packed_index(r, c, a->cols, es) : (size_t) r * a->cols + c);
}

static void rows_scalar(const gemv_args *a, int r0, int r1) {
    const int C = a->cols;
    for (int r = r0; r < r1; r++) {
        for (int i = 0; i < a->m; i++) {
            const float *x = a->xf + (size_t) i * C;
            float s = 0;
            if (a->packed) {
                for (int c = 0; c < C; c++) s += weight_at(a, r, c) * x[c];
            } else if (a->wtype == W_F32) {
                const float *w = (const float *) a->w + (size_t) r * C;
                for (int c = 0; c < C; c++) s += w[c] * x[c];
            } else {
                const uint16_t *w = (const uint16_t *) a->w + (size_t) r * C;
                for (int c = 0; c < C; c++) s += bf16_to_f32(w[c]) * x[c];
            }
            a->y[(size_t) i * a->rows + r] = s;
        }
    }
}

/* the scalar tail of row r for activation row i, from column c0 */
static inline float tail(const gemv_args *a, int r, int i, int c0) {
    const int C = a->cols;
    const float *x = a->xf + (size_t) i * C;
    float s = 0;
    if (a->wtype == W_F32) {
        const float *w = (const float *) a->w + (size_t) r * C;
        for (int c = c0; c < C; c++) s += w[c] * x[c];
    } else {
        const uint16_t *w = (const uint16_t *) a->w + (size_t) r * C;
        for (int c = c0; c < C; c++) s += bf16_to_f32(w[c]) * x[c];
    }
    return s;
}

/* Rows past r1 in a kernel's last block repeat row r1 - 1 and are not stored; columns past the last whole chunk are
 * summed in plain C (tail). A thread's rows are whole multiples of PART_ROWS. */
#define PART_ROWS 8
/* multiply-adds under which a product runs on the calling thread only */
#define SMALL_PRODUCT (1u << 18)

__attribute__((target("avx2,fma")))
static inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/*
 * One kernel body per instruction set: RB weight rows at a time, each weight vector loaded once and used for up to
 * MB activation rows (RB x MB x A accumulators, sized to the registers the instruction set has), the activation rows
 * in groups of MB, expanded for NM = 1..MB (constants, so the accumulators stay in registers). Each chunk of V
 * columns is one load per weight row giving one operand (OPS 1) or two (OPS 2: a bf16 chunk widened without
 * shuffles into its even and odd elements, multiplied by the activation's even and odd elements, see xp). A
 * accumulators per (weight row, activation row) take the chunks in turn (chunk c into accumulator c mod A), so one
 * weight row can be streamed alone without one long chain of dependent multiply-adds; they are added in order
 * (0 + 1, then + 2, ...) before the horizontal sum, then the columns past the last whole A chunks in plain C.
 * The sum of a (weight row, activation row) depends on V, A and OPS only, never on RB, MB or the rows beside it.
 */
#define KERNEL(NAME, TARGET, RB, MB, A, VEC, OPV, RAW, V, OPS, ZERO, LOADW, OPERAND, LOADX, FMA, ADDV, HSUM)            \
    __attribute__((target(TARGET), always_inline)) static inline void NAME##_nm(const gemv_args *a, int r, int nr,     \
                                                                                int i0, const int NM) {                \
        const int C = a->cols, main = C / ((V) * (A)) * ((V) * (A));                                                   \
        size_t off[RB];                                                                                                \
        for (int k = 0; k < (RB); k++) off[k] = (size_t) (r + (k < nr ? k : nr - 1)) * C;                             \
        VEC acc[RB][MB][A];                                                                                            \
        _Pragma("GCC unroll 8") for (int k = 0; k < (RB); k++)                                                        \
        _Pragma("GCC unroll 4") for (int i = 0; i < NM; i++)                                                          \
        _Pragma("GCC unroll 4") for (int j = 0; j < (A); j++) acc[k][i][j] = ZERO;                                    \
        for (int c0 = 0; c0 < main; c0 += (V) * (A)) {                                                                 \
            _Pragma("GCC unroll 4") for (int j = 0; j < (A); j++) {                                                   \
                const int c = c0 + j * (V);                                                                            \
                RAW wr[RB];                                                                                            \
                _Pragma("GCC unroll 8") for (int k = 0; k < (RB); k++) wr[k] = LOADW(off[k] + c);                     \
                _Pragma("GCC unroll 2") for (int o = 0; o < (OPS); o++) {                                              \
                    OPV wv[RB];                                                                                        \
                    _Pragma("GCC unroll 8") for (int k = 0; k < (RB); k++) wv[k] = OPERAND(wr[k], o);                 \
                    _Pragma("GCC unroll 4") for (int i = 0; i < NM; i++) {                                            \
                        OPV xv = LOADX((size_t) (i0 + i) * C + c, o);                                                  \
                        _Pragma("GCC unroll 8") for (int k = 0; k < (RB); k++)                                        \
                            acc[k][i][j] = FMA(acc[k][i][j], wv[k], xv);                                               \
                    }                                                                                                  \
                }                                                                                                      \
            }                                                                                                          \
        }                                                                                                              \
        for (int k = 0; k < nr; k++)                                                                                   \
            for (int i = 0; i < NM; i++) {                                                                             \
                VEC s = acc[k][i][0];                                                                                  \
                for (int j = 1; j < (A); j++) s = ADDV(s, acc[k][i][j]);                                               \
                a->y[(size_t) (i0 + i) * a->rows + r + k] = HSUM(s) + tail(a, r + k, i0 + i, main);                   \
            }                                                                                                          \
    }                                                                                                                  \
    __attribute__((target(TARGET))) static void NAME(const gemv_args *a, int r0, int r1) {                             \
        for (int r = r0; r < r1; r += (RB)) {                                                                          \
            int nr = r1 - r < (RB) ? r1 - r : (RB);                                                                    \
            for (int i0 = 0; i0 < a->m; i0 += (MB)) {                                                                  \
                int nm = a->m - i0 < (MB) ? a->m - i0 : (MB);                                                          \
                if (nm == 1 || (MB) == 1) NAME##_nm(a, r, nr, i0, 1);                                                  \
                else if (nm == 2 || (MB) == 2) NAME##_nm(a, r, nr, i0, 2);                                             \
                else if (nm == 3) NAME##_nm(a, r, nr, i0, 3);                                                          \
                else NAME##_nm(a, r, nr, i0, 4);                                                                       \
            }                                                                                                          \
        }                                                                                                              \
    }

#define ONE(w, o) (w)
#define W32(i) ((const float *) a->w + (i))
#define W16(i) ((const uint16_t *) a->w + (i))

/* float32 weights */
#define AVX2_F32_W(i) _mm256_loadu_ps(W32(i))
#define AVX2_X(i, o) _mm256_loadu_ps(a->xf + (i))
#define AVX2_FMA(acc, w, x) _mm256_fmadd_ps(w, x, acc)
KERNEL(rows_avx2_f32, "avx2,fma", 4, 2, 1, __m256, __m256, __m256, 8, 1, _mm256_setzero_ps(), AVX2_F32_W, ONE, AVX2_X, AVX2_FMA, _mm256_add_ps, hsum256)

#define AVX512_F32_W(i) _mm512_loadu_ps(W32(i))
#define AVX512_X(i, o) _mm512_loadu_ps(a->xf + (i))
#define AVX512_FMA(acc, w, x) _mm512_fmadd_ps(w, x, acc)
/* one weight row at a time for 1-3 activation rows (one sequential stream, as bf16's below: a decode step's products
 * ahead of 4 rows at a time in two of three harness runs, 92.5% of the read pass against 76.4%, but 80.4 against
 * 87.6% in one, tools/bench/gemv-rows.c; 95.0% of the pass in place, tools/bench/InSituProducts.java; BENCHMARKS.md),
 * 4 x 4 from 4 rows (prefill: each weight vector feeds 4 rows); the same sums either way */
KERNEL(rows_avx512_f32, "avx512f,avx512bw", 1, 2, 1, __m512, __m512, __m512, 16, 1, _mm512_setzero_ps(), AVX512_F32_W, ONE, AVX512_X, AVX512_FMA, _mm512_add_ps, _mm512_reduce_add_ps)
KERNEL(rows_avx512_f32_m4, "avx512f,avx512bw", 4, 4, 1, __m512, __m512, __m512, 16, 1, _mm512_setzero_ps(), AVX512_F32_W, ONE, AVX512_X, AVX512_FMA, _mm512_add_ps, _mm512_reduce_add_ps)

/*
 * bf16 weights widened to float32 (exact) against activations rounded to bf16: a chunk's 32-bit lanes hold the
 * pairs (2j, 2j + 1); shifted left 16 the lane is element 2j, masked to its high half element 2j + 1. xp holds the
 * activation permuted to match: per chunk the even elements, then the odd.
 */
#define AVX2_BF16_W(i) _mm256_loadu_si256((const __m256i *) W16(i))
#define AVX2_HALF(w, o) ((o) == 0 ? _mm256_castsi256_ps(_mm256_slli_epi32(w, 16)) \
                                  : _mm256_castsi256_ps(_mm256_and_si256(w, _mm256_set1_epi32((int) 0xffff0000u))))
#define AVX2_XP(i, o) _mm256_loadu_ps(a->xp + (i) + 8 * (o))
KERNEL(rows_avx2_bf16, "avx2,fma", 4, 1, 1, __m256, __m256, __m256i, 16, 2, _mm256_setzero_ps(), AVX2_BF16_W, AVX2_HALF, AVX2_XP, AVX2_FMA, _mm256_add_ps, hsum256)

#define AVX512_BF16_W(i) _mm512_loadu_si512((const void *) W16(i))
#define AVX512_HALF(w, o) ((o) == 0 ? _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)) \
                                    : _mm512_castsi512_ps(_mm512_and_si512(w, _mm512_set1_epi32((int) 0xffff0000u))))
#define AVX512_XP(i, o) _mm512_loadu_ps(a->xp + (i) + 16 * (o))
/* one weight row at a time for 1-3 activation rows (85.4% of the read pass against 73.7% for 8 rows at a time,
 * tools/bench/gemv-rows.c bf16w on this AMD EPYC), 8 x 2 from 4 rows; the same sums either way */
KERNEL(rows_avx512_bf16w, "avx512f,avx512bw", 1, 2, 1, __m512, __m512, __m512i, 32, 2, _mm512_setzero_ps(), AVX512_BF16_W, AVX512_HALF, AVX512_XP, AVX512_FMA, _mm512_add_ps, _mm512_reduce_add_ps)
KERNEL(rows_avx512_bf16w_m4, "avx512f,avx512bw", 8, 2, 1, __m512, __m512, __m512i, 32, 2, _mm512_setzero_ps(), AVX512_BF16_W, AVX512_HALF, AVX512_XP, AVX512_FMA, _mm512_add_ps, _mm512_reduce_add_ps)

/* bf16 dot products: 32 bf16 pairs a vdpbf16ps, the activations as bf16 bits. One weight row at a time for 1-3
 * activation rows: the weights are then read as one sequential stream, as the read pass reads them (8 rows at a time
 * read 8 streams 4.6 KB apart, a new 8 every 72 cache lines: gemma-2-2b's bf16 products of a decode step at a
 * median 84.6-88.0% of the pass over the same matrices on this AMD EPYC, one row 90.4-98.3%, four runs of
 * tools/bench/gemv-rows.c). The
 * sums are the same: each (weight row, activation row) has its own accumulator, chunk by chunk, whatever the block. */
#define DP_W(i) ((__m512bh) _mm512_loadu_si512((const void *) W16(i)))
#define DP_X(i, o) ((__m512bh) _mm512_loadu_si512((const void *) (a->xb + (i))))
#define DP_FMA(acc, w, x) _mm512_dpbf16_ps(acc, w, x)
KERNEL(rows_avx512_dpbf16, "avx512f,avx512bw,avx512bf16", 1, 2, 1, __m512, __m512bh, __m512bh, 32, 1, _mm512_setzero_ps(), DP_W, ONE, DP_X, DP_FMA, _mm512_add_ps, _mm512_reduce_add_ps)
/* the same for 4 or more activation rows: each weight vector feeds 4 rows' dot products, so prefill re-reads the
 * weights from cache half as often (measured at 64 rows: see BENCHMARKS.md) */
KERNEL(rows_avx512_dpbf16_m4, "avx512f,avx512bw,avx512bf16", 4, 4, 1, __m512, __m512bh, __m512bh, 32, 1, _mm512_setzero_ps(), DP_W, ONE, DP_X, DP_FMA, _mm512_add_ps, _mm512_reduce_add_ps)

/*
 * The same products on packed weights (see packed_index): the block's PACK_ROWS rows at a time, MB activation rows,
 * U columns a unit (V or 2V). Each (weight row, activation row) sums chunk by chunk into one accumulator as KERNEL
 * with A = 1 does, so a product is bit for bit the one on the unpacked matrix (+ 0.0f as KERNEL's empty column tail
 * adds: a -0 sum, which vdpbf16ps gives for tiny negative products, is stored as +0 by both). With a->prefetch the loop asks for the
 * stream that many bytes ahead into L2: from 3 activation rows on, 3-8 multiply-adds per weight vector leave the
 * loop's own loads too few in flight to keep the memory busy (tools/bench/gemv-rows.c, gemma-2-2b's bf16 products
 * on this AMD EPYC, of the read pass: 3 rows 56% without, 83% at 16 KiB; 4 rows 47% / 68%; 8 rows 55% / 85% at 32
 * KiB); at 1-2 rows it only costs (2 rows 94% without, 89% at 8 KiB).
 * XREG 1 loads a chunk's activation vectors once into registers and takes the block's rows one at a time (weight
 * load, operands, multiply-adds), XREG 0 loads the block's 4 weight vectors first: the same multiply-adds in the same
 * order per accumulator, so the same sums. AVX2 has 16 vector registers, and its widening bf16 kernel in the second
 * order spilled (4 raw + 4 widened weights + 8 accumulators + the mask): on an AMD EPYC Zen 3 without AVX-512, the
 * first order took gemma-2-2b's bf16 products of 2 / 4 / 8 activation rows from 80.6 / 65.1 / 34.6% of the read pass
 * to 90.0 / 74.2 / 42.8% (tools/bench/gemv-rows.c, one run each, BENCHMARKS.md). The AVX-512 kernels (32 registers)
 * keep the second order, as measured on the AMD EPYC with AVX-512 they were tuned on. XREG N >= 2 is the first order,
 * and at 1 activation row it takes N consecutive blocks at once (NAME##_m1; each accumulator still sums its own row
 * chunk by chunk, so again the same sums): one block's 4 chains of dependent multiply-adds (2 a chunk for bf16's even
 * and odd halves) were too few to keep the weight loads flowing. Shipped: 3 for AVX2 bf16 (12 accumulators), 2 for
 * AVX2 float32. NAME##_m1 bumps one offset per block a unit at a time, with no prefetch: until 2026-12-03 the 1-row
 * path was this _nm loop over N blocks, whose per-chunk index arithmetic (and the 12 L2 prefetches a unit) was work in
 * the loop that held back the weight loads. gemma-2-2b's products at 1 row on the Zen 3, of the faster of the one-
 * stream and 8 KiB-window passes, rounds paired (tools/bench/gemv-rows.c, 2026-12-03): bf16 87.8 / 89.4% against
 * 72.9 / 81.8% for the earlier loop (x0.827 / x0.908 paired, 20 and 24 rounds); float32 100.5% against 82.7% (x0.808,
 * 20 rounds; hence the read pass's third pattern). Without the index arithmetic the prefetch only cost at 1 row (the
 * 1-row loop with the 2 KiB L2 prefetch: x0.883 of the same loop without, 512 B into L1: x0.929). Earlier, with the
 * index arithmetic, at 1 row against one-stream passes: two blocks 90.0 / 92.5 / 87.5 / 88.5%, one block 79.2 /
 * 88.2 / 85.1 / 90.1%, three 90.7 / 91.7% (2026-12-02); four blocks (16 accumulators) spill.
 */
/* the prefetch distance for m activation rows on instruction set isa (see above; AVX2's measured on the AMD EPYC
 * Zen 3 without AVX-512, gemma-2-2b's bf16 products in one run of tools/bench/gemv-rows.c each, of the read pass:
 * 2 rows 70.9% without, 85.8% at 2 KiB, 81.0% at 8 KiB; 4 rows 58.5% at 16 KiB, 63.3% at 8 KiB, 56.6% at 2 KiB;
 * 8 rows 45.5% at 32 and at 8 KiB, 41.7% at 2 KiB; 1 row: none, NAME##_m1 has no prefetch). AVX-512 at 1-2 rows:
 * none on AMD (the EPYC the kernels were tuned on, see above), 8 KiB on Intel: on a 2-vCPU Intel Xeon (family 6
 * model 167, AVX512_BF16 and AMX, 2026-12-03), gemma-2-2b's products of 1 row, of the three-pattern read pass, 7-9
 * rounds paired: vdpbf16ps 75.8% without, 91.9 / 94.6 / 94.5 / 92.2% at 2 / 4 / 8 / 16 KiB (x1.25 paired at 8 KiB),
 * widening bf16 67.6% / 86.3% at 8 KiB, float32 85.2% / 95.2%; 2 rows (vdpbf16ps) 56.6% / 81.1%. From 4 rows on the
 * distance moved nothing there (4 rows 69-72%, 8 rows 45.6-46.9% at 2-32 KiB), so the AMD figures stay. */
static int prefetch_for(int m, int isa) {
    if (isa == ISA_AVX2) return m == 1 ? 0 : m <= 2 ? 2048 : m <= 4 ? 8192 : 32768;
    if (m <= 2) return cpu_is_intel() ? 8192 : 0;
    return m <= 4 ? 16384 : 32768;
}

#define PKERNEL(NAME, TARGET, MB, XREG, ES, VEC, OPV, RAW, V, U, OPS, ZERO, LOADW, OPERAND, LOADX, FMA, HSUM)          \
    __attribute__((target(TARGET), always_inline)) static inline void NAME##_nm(const gemv_args *a, int r, int i0,     \
                                                                                const int NM) {                        \
        const int C = a->cols;                                                                                         \
        const size_t base = (size_t) r * C;                                                                            \
        VEC acc[PACK_ROWS][MB];                                                                                        \
        _Pragma("GCC unroll 4") for (int k = 0; k < PACK_ROWS; k++)                                                    \
        _Pragma("GCC unroll 4") for (int i = 0; i < NM; i++) acc[k][i] = ZERO;                                         \
        for (int c0 = 0; c0 < C; c0 += (V)) {                                                                          \
            const size_t at = base + (size_t) (c0 / (U)) * (PACK_ROWS * (U)) + c0 % (U);                               \
            if (a->prefetch && c0 % (U) == 0)                                                                          \
                _Pragma("GCC unroll 4") for (int k = 0; k < PACK_ROWS; k++)                                            \
                    _mm_prefetch((const char *) a->w + (at + (size_t) k * (U)) * (ES) + a->prefetch, _MM_HINT_T1);     \
            if (XREG) {                                                                                                \
                OPV xv[MB][OPS];                                                                                       \
                _Pragma("GCC unroll 4") for (int i = 0; i < NM; i++)                                                   \
                _Pragma("GCC unroll 2") for (int o = 0; o < (OPS); o++) xv[i][o] = LOADX((size_t) (i0 + i) * C + c0, o); \
                _Pragma("GCC unroll 4") for (int k = 0; k < PACK_ROWS; k++) {                                          \
                    RAW wr = LOADW(at + (size_t) k * (U));                                                             \
                    _Pragma("GCC unroll 2") for (int o = 0; o < (OPS); o++) {                                          \
                        OPV wv = OPERAND(wr, o);                                                                       \
                        _Pragma("GCC unroll 4") for (int i = 0; i < NM; i++) acc[k][i] = FMA(acc[k][i], wv, xv[i][o]); \
                    }                                                                                                  \
                }                                                                                                      \
            } else {                                                                                                   \
                RAW wr[PACK_ROWS];                                                                                     \
                _Pragma("GCC unroll 4") for (int k = 0; k < PACK_ROWS; k++) wr[k] = LOADW(at + k * (U));               \
                _Pragma("GCC unroll 2") for (int o = 0; o < (OPS); o++) {                                              \
                    OPV wv[PACK_ROWS];                                                                                 \
                    _Pragma("GCC unroll 4") for (int k = 0; k < PACK_ROWS; k++) wv[k] = OPERAND(wr[k], o);             \
                    _Pragma("GCC unroll 4") for (int i = 0; i < NM; i++) {                                             \
                        OPV xv = LOADX((size_t) (i0 + i) * C + c0, o);                                                 \
                        _Pragma("GCC unroll 4") for (int k = 0; k < PACK_ROWS; k++)                                    \
                            acc[k][i] = FMA(acc[k][i], wv[k], xv);                                                     \
                    }                                                                                                  \
                }                                                                                                      \
            }                                                                                                          \
        }                                                                                                              \
        for (int k = 0; k < PACK_ROWS; k++)                                                                            \
            for (int i = 0; i < NM; i++) a->y[(size_t) (i0 + i) * a->rows + r + k] = HSUM(acc[k][i]) + 0.0f;           \
    }                                                                                                                  \
    /* 1 activation row, XREG consecutive blocks in the first order: each block's offset bumped a unit at a time, so  \
     * the loop has no index arithmetic and no prefetch (see above) */                                                 \
    __attribute__((target(TARGET), always_inline)) static inline void NAME##_m1(const gemv_args *a, int r) {           \
        enum { NB = (XREG) > 1 ? (XREG) : 1 };                                                                         \
        const int C = a->cols;                                                                                         \
        size_t ob[NB];                                                                                                 \
        _Pragma("GCC unroll 4") for (int b = 0; b < NB; b++) ob[b] = (size_t) (r + b * PACK_ROWS) * C;                \
        VEC acc[NB * PACK_ROWS];                                                                                       \
        _Pragma("GCC unroll 16") for (int k = 0; k < NB * PACK_ROWS; k++) acc[k] = ZERO;                               \
        for (int c0 = 0; c0 < C; c0 += (U)) {                                                                          \
            _Pragma("GCC unroll 4") for (int h = 0; h < (U) / (V); h++) {                                              \
                OPV xv[OPS];                                                                                           \
                _Pragma("GCC unroll 2") for (int o = 0; o < (OPS); o++) xv[o] = LOADX((size_t) c0 + h * (V), o);      \
                _Pragma("GCC unroll 16") for (int k = 0; k < NB * PACK_ROWS; k++) {                                    \
                    RAW wr = LOADW(ob[k / PACK_ROWS] + (size_t) ((k % PACK_ROWS) * (U) + h * (V)));                   \
                    _Pragma("GCC unroll 2") for (int o = 0; o < (OPS); o++) acc[k] = FMA(acc[k], OPERAND(wr, o), xv[o]); \
                }                                                                                                      \
            }                                                                                                          \
            _Pragma("GCC unroll 4") for (int b = 0; b < NB; b++) ob[b] += PACK_ROWS * (U);                             \
        }                                                                                                              \
        for (int k = 0; k < NB * PACK_ROWS; k++) a->y[r + k] = HSUM(acc[k]) + 0.0f;                                    \
    }                                                                                                                  \
    __attribute__((target(TARGET))) static void NAME(const gemv_args *a, int r0, int r1) {                             \
        for (int r = r0; r < r1; r += PACK_ROWS) {                                                                     \
            if ((XREG) >= 2 && a->m == 1 && r + (XREG) * PACK_ROWS <= r1) {                                            \
                NAME##_m1(a, r);                                                                                       \
                r += ((XREG) - 1) * PACK_ROWS;                                                                         \
                continue;                                                                                              \
            }                                                                                                          \
            for (int i0 = 0; i0 < a->m; i0 += (MB)) {                                                                  \
                int nm = a->m - i0 < (MB) ? a->m - i0 : (MB);                                                          \
                if (nm == 1 || (MB) == 1) NAME##_nm(a, r, i0, 1);                                                      \
                else if (nm == 2 || (MB) == 2) NAME##_nm(a, r, i0, 2);                                                 \
                else if (nm == 3) NAME##_nm(a, r, i0, 3);                                                              \
                else NAME##_nm(a, r, i0, 4);                                                                           \
            }                                                                                                          \
        }                                                                                                              \
    }

PKERNEL(packed_avx2_f32, "avx2,fma", 2, 2, 4, __m256, __m256, __m256, 8, 16, 1, _mm256_setzero_ps(), AVX2_F32_W, ONE, AVX2_X, AVX2_FMA, hsum256)
PKERNEL(packed_avx2_bf16, "avx2,fma", 2, 3, 2, __m256, __m256, __m256i, 16, 32, 2, _mm256_setzero_ps(), AVX2_BF16_W, AVX2_HALF, AVX2_XP, AVX2_FMA, hsum256)
PKERNEL(packed_avx512_f32, "avx512f,avx512bw", 4, 0, 4, __m512, __m512, __m512, 16, 16, 1, _mm512_setzero_ps(), AVX512_F32_W, ONE, AVX512_X, AVX512_FMA, _mm512_reduce_add_ps)
PKERNEL(packed_avx512_bf16w, "avx512f,avx512bw", 4, 0, 2, __m512, __m512, __m512i, 32, 32, 2, _mm512_setzero_ps(), AVX512_BF16_W, AVX512_HALF, AVX512_XP, AVX512_FMA, _mm512_reduce_add_ps)
PKERNEL(packed_avx512_dpbf16, "avx512f,avx512bw,avx512bf16", 4, 0, 2, __m512, __m512bh, __m512bh, 32, 32, 1, _mm512_setzero_ps(), DP_W, ONE, DP_X, DP_FMA, _mm512_reduce_add_ps)

/* the chunk (columns) the widening kernels permute xp by, for an instruction set */
static int pair_chunk(int isa) {
    return isa == ISA_AVX2 ? 16 : isa == ISA_AVX512 ? 32 : 0;
}

/* the packed kernels by instruction set (ISA_*) and weight type (W_F32, W_BF16); the scalar loop reads either layout */
static void (*const PACKED_ROWS[4][2])(const gemv_args *, int, int) = {
    {rows_scalar, rows_scalar},
    {packed_avx2_f32, packed_avx2_bf16},
    {packed_avx512_f32, packed_avx512_bf16w},
    {packed_avx512_f32, packed_avx512_dpbf16},
};

static void gemv_rows(const gemv_args *a, int r0, int r1) {
    if (a->packed) {
        PACKED_ROWS[a->isa][a->wtype](a, r0, r1);
        return;
    }
    switch (a->isa) {
        case ISA_AVX512_BF16:
            if (a->wtype == W_BF16) {
                if (a->m >= 4) rows_avx512_dpbf16_m4(a, r0, r1);
                else rows_avx512_dpbf16(a, r0, r1);
                break;
            }
            __attribute__((fallthrough)); /* float32 weights have no bf16 dot product */
        case ISA_AVX512:
            if (a->wtype == W_BF16 && a->m >= 4) rows_avx512_bf16w_m4(a, r0, r1);
            else if (a->wtype == W_BF16) rows_avx512_bf16w(a, r0, r1);
            else if (a->m >= 4) rows_avx512_f32_m4(a, r0, r1);
            else rows_avx512_f32(a, r0, r1);
            break;
        case ISA_AVX2:
            if (a->wtype == W_BF16) rows_avx2_bf16(a, r0, r1);
            else rows_avx2_f32(a, r0, r1);
            break;
        default: rows_scalar(a, r0, r1); break;
    }
}

/*
 * The pool's threads take chunks of rows in turn until none is left, rather than a fixed share each: on a shared
 * 2-core VM a thread is often slowed (another process, PyTorch's OpenMP threads spinning after an op) and a fixed
 * half made the other wait for it (the caller's wait was 5.6% of a bf16 decode step's samples in perf). Each row is
 * still computed whole by one thread with the same code, so which thread takes it changes no bit.
 */
static void gemv_part(void *ctx, int part, int parts) {
    gemv_args *a = ctx;
    if (parts == 1) {
        gemv_rows(a, 0, a->rows);
        return;
    }
    /* guided: a chunk is a share of what is left (down to PART_ROWS rows), so the threads finish within a few rows of
     * each other, and at most 1 / (16 parts) of the product, so a thread the system preempts in a chunk holds up the
     * others for no more than that */
    int cap = a->rows / (16 * parts) / PART_ROWS * PART_ROWS;
    int r0 = atomic_load_explicit(&a->next, memory_order_relaxed);
    while (r0 < a->rows) {
        int n = (a->rows - r0) / (2 * parts) / PART_ROWS * PART_ROWS;
        if (n > cap) n = cap;
        if (n < PART_ROWS) n = PART_ROWS;
        if (atomic_compare_exchange_weak_explicit(&a->next, &r0, r0 + n, memory_order_relaxed, memory_order_relaxed)) {
            gemv_rows(a, r0, r0 + n < a->rows ? r0 + n : a->rows);
            r0 = atomic_load_explicit(&a->next, memory_order_relaxed);
        }
    }
}

/* ------------------------------------------------------------------ the decode step's other ops */

/*
 * The ops between the products at a decode step's few rows, where PyTorch spends 15-900 us an op in dispatch
 * (BENCHMARKS.md): plain C on the caller's thread, float32 throughout, the same formulas as DjlBackend's PyTorch
 * forms (which remain the path for prefill).
 */

/* y = x / sqrt(mean(x^2) + eps) * w1 over rows of n (w1 = 1 + the norm's weight) */
static void rms_norm(const float *x, const float *w1, float *y, int m, int n, float eps) {
    for (int i = 0; i < m; i++) {
        const float *xi = x + (size_t) i * n;
        float *yi = y + (size_t) i * n;
        double ss = 0;
        for (int c = 0; c < n; c++) ss += (double) xi[c] * xi[c];
        float inv = 1.0f / sqrtf((float) (ss / n) + eps);
        for (int c = 0; c < n; c++) yi[c] = xi[c] * inv * w1[c];
    }
}

/* res = h + rms_norm(x, w1post); y = rms_norm(res, w1pre): a Gemma-2 layer's residual add between its norms */
static void add_rms_norm(const float *h, const float *x, const float *w1post, const float *w1pre, float *res, float *y, int m, int n,
                         float eps) {
    rms_norm(x, w1post, res, m, n, eps);
    for (size_t i = 0; i < (size_t) m * n; i++) res[i] += h[i];
    rms_norm(res, w1pre, y, m, n, eps);
}

/*
 * exp(x) for x in about [-87, 88] (clamped), within 2 ulp: x = n ln2 + r with |r| <= ln2 / 2 (ln2 split in two
 * parts, Cody-Waite), e^r by its degree-6 Taylor polynomial (a relative error under 2e-7 for |r| <= ln2 / 2), 2^n put into the exponent bits. Plain arithmetic, so
 * the compiler vectorizes the loops that call it (libm's expf/tanhf would be a call per element).
 */
static inline float exp_approx(float x) {
    x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;   /* comparisons, not fminf/fmaxf: a NaN stays NaN */
    /* round to nearest: adding and taking away 1.5 * 2^23 leaves the integer part (no fast-math here to fold it) */
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t bits = ((int32_t) n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, 4);
    return p * scale;
}

/* the same exp, 16 and 8 lanes at a time */
__attribute__((target("avx512f"))) static inline __m512 exp512(__m512 x) {
    /* max/min return their second operand when one is NaN: x second, so a NaN stays NaN */
    x = _mm512_min_ps(_mm512_set1_ps(88.0f), _mm512_max_ps(_mm512_set1_ps(-87.0f), x));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.0f / 720.0f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

__attribute__((target("avx2,fma"))) static inline __m256 exp256(__m256 x) {
    x = _mm256_min_ps(_mm256_set1_ps(88.0f), _mm256_max_ps(_mm256_set1_ps(-87.0f), x));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.0f / 720.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}

static inline float gelu_tanh_mul1(float x, float u) {
    float z = 0.7978845608028654f * (x + 0.044715f * x * x * x);   /* sqrt(2 / pi) (x + 0.044715 x^3) */
    float th = 1.0f - 2.0f / (exp_approx(2.0f * z) + 1.0f);         /* tanh(z) */
    return 0.5f * x * (1.0f + th) * u;
}

__attribute__((target("avx512f"))) static int gelu512(const float *g, const float *u, float *y, int n) {
    const __m512 k = _mm512_set1_ps(0.7978845608028654f), c3 = _mm512_set1_ps(0.044715f), one = _mm512_set1_ps(1.0f),
                 two = _mm512_set1_ps(2.0f), half = _mm512_set1_ps(0.5f);
    int c = 0;
    for (; c + 16 <= n; c += 16) {
        __m512 x = _mm512_loadu_ps(g + c);
        __m512 z = _mm512_mul_ps(k, _mm512_fmadd_ps(_mm512_mul_ps(c3, x), _mm512_mul_ps(x, x), x));
        __m512 th = _mm512_sub_ps(one, _mm512_div_ps(two, _mm512_add_ps(exp512(_mm512_mul_ps(two, z)), one)));
        _mm512_storeu_ps(y + c, _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(half, x), _mm512_add_ps(one, th)), _mm512_loadu_ps(u + c)));
    }
    return c;
}

__attribute__((target("avx2,fma"))) static int gelu256(const float *g, const float *u, float *y, int n) {
    const __m256 k = _mm256_set1_ps(0.7978845608028654f), c3 = _mm256_set1_ps(0.044715f), one = _mm256_set1_ps(1.0f),
                 two = _mm256_set1_ps(2.0f), half = _mm256_set1_ps(0.5f);
    int c = 0;
    for (; c + 8 <= n; c += 8) {
        __m256 x = _mm256_loadu_ps(g + c);
        __m256 z = _mm256_mul_ps(k, _mm256_fmadd_ps(_mm256_mul_ps(c3, x), _mm256_mul_ps(x, x), x));
        __m256 th = _mm256_sub_ps(one, _mm256_div_ps(two, _mm256_add_ps(exp256(_mm256_mul_ps(two, z)), one)));
        _mm256_storeu_ps(y + c, _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(half, x), _mm256_add_ps(one, th)), _mm256_loadu_ps(u + c)));
    }
    return c;
}

/* rows of [gate | up] (2 * inner) -> gelu_pytorch_tanh(gate) * up (inner), tanh(z) = 1 - 2 / (e^{2z} + 1) */
static void gelu_tanh_mul_packed(const float *gu, float *y, int m, int inner, int isa) {
    for (int i = 0; i < m; i++) {
        const float *g = gu + (size_t) i * 2 * inner, *u = g + inner;
        float *yi = y + (size_t) i * inner;
        int c = isa >= ISA_AVX512 ? gelu512(g, u, yi, inner) : isa == ISA_AVX2 ? gelu256(g, u, yi, inner) : 0;
        for (; c < inner; c++) yi[c] = gelu_tanh_mul1(g[c], u[c]);
    }
}

/* y = cap tanh(x / cap), tanh(z) = 1 - 2 / (e^{2z} + 1) (final-logit softcapping) */
__attribute__((target("avx512f"))) static size_t softcap512(const float *x, float *y, size_t n, float cap) {
    const __m512 one = _mm512_set1_ps(1.0f), two = _mm512_set1_ps(2.0f), c = _mm512_set1_ps(cap), k = _mm512_set1_ps(2.0f / cap);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 e = exp512(_mm512_mul_ps(k, _mm512_loadu_ps(x + i)));
        _mm512_storeu_ps(y + i, _mm512_mul_ps(c, _mm512_sub_ps(one, _mm512_div_ps(two, _mm512_add_ps(e, one)))));
    }
    return i;
}

__attribute__((target("avx2,fma"))) static size_t softcap256(const float *x, float *y, size_t n, float cap) {
    const __m256 one = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f), c = _mm256_set1_ps(cap), k = _mm256_set1_ps(2.0f / cap);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 e = exp256(_mm256_mul_ps(k, _mm256_loadu_ps(x + i)));
        _mm256_storeu_ps(y + i, _mm256_mul_ps(c, _mm256_sub_ps(one, _mm256_div_ps(two, _mm256_add_ps(e, one)))));
    }
    return i;
}

static void softcap_all(const float *x, float *y, size_t n, float cap, int isa) {
    size_t i = isa >= ISA_AVX512 ? softcap512(x, y, n, cap) : isa == ISA_AVX2 ? softcap256(x, y, n, cap) : 0;
    for (; i < n; i++) y[i] = cap * (1.0f - 2.0f / (exp_approx(2.0f * x[i] / cap) + 1.0f));
}

/*
 * Gemma-2 attention of a step's rows from packed q|k|v [B, T, (H + 2 kvH) D]: rotary on q and k (table [B, T, D]:
 * cos of the D/2 frequencies, then their sin; halves rotated as x1 cos - x2 sin | x2 cos + x1 sin), k and v written
 * into the caches [B, kvH, cap, D] at slots past .. past + T, then per query head (kv head h / group) softmax over
 * the visible slots j (padLeft[b] <= j <= past + t, and past + t - j < window when window > 0) of
 * scale q.k (softcapped: cap tanh(s / cap) when cap > 0), times v. A query with no visible slot (a pad position)
 * averages every slot up to its own, as the additive -1e30 mask does in the PyTorch form.
 */
__attribute__((target("avx512f"))) static float dot512(const float *a, const float *b, int n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = s0;
    int c = 0;
    for (; c + 32 <= n; c += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + c), _mm512_loadu_ps(b + c), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + c + 16), _mm512_loadu_ps(b + c + 16), s1);
    }
    float s = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
    for (; c < n; c++) s += a[c] * b[c];
    return s;
}

__attribute__((target("avx2,fma"))) static float dot256(const float *a, const float *b, int n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0;
    int c = 0;
    for (; c + 16 <= n; c += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + c), _mm256_loadu_ps(b + c), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + c + 8), _mm256_loadu_ps(b + c + 8), s1);
    }
    float s = hsum256(_mm256_add_ps(s0, s1));
    for (; c < n; c++) s += a[c] * b[c];
    return s;
}

/* a . b in the instruction set's fixed order (the same for a row whatever the batch) */
static inline float dot(int isa, const float *a, const float *b, int n) {
    if (isa >= ISA_AVX512) return dot512(a, b, n);
    if (isa == ISA_AVX2) return dot256(a, b, n);
    float s = 0;
    for (int c = 0; c < n; c++) s += a[c] * b[c];
    return s;
}

static void attention_packed(const float *qkv, const float *rope, float *kc, float *vc, float *out, const int *pad_left,
                             int b0, int B, int kv0, int kv1, int T, int past, int cap, int H, int KV, int D, float scale, float softcap,
                             int window, float *scratch, int isa) {
    const int group = H / KV, half = D / 2, width = (H + 2 * KV) * D;
    float *q = scratch, *scores = scratch + D;
    for (int b = b0; b < B; b++) {
        for (int t = 0; t < T; t++) {
            const float *row = qkv + ((size_t) b * T + t) * width;
            const float *cs = rope + ((size_t) b * T + t) * D, *sn = cs + half;
            int pos = past + t;
            for (int h = kv0; h < kv1; h++) {
                const float *k = row + (size_t) (H + h) * D, *v = row + (size_t) (H + KV + h) * D;
                float *kd = kc + (((size_t) b * KV + h) * cap + pos) * D, *vd = vc + (((size_t) b * KV + h) * cap + pos) * D;
                for (int c = 0; c < half; c++) {
                    kd[c] = k[c] * cs[c] - k[c + half] * sn[c];
                    kd[c + half] = k[c + half] * cs[c] + k[c] * sn[c];
                }
                memcpy(vd, v, (size_t) D * sizeof(float));
            }
        }
    }
    for (int b = b0; b < B; b++) {
        for (int t = 0; t < T; t++) {
            const float *row = qkv + ((size_t) b * T + t) * width;
            const float *cs = rope + ((size_t) b * T + t) * D, *sn = cs + half;
            int pos = past + t;
            int lo = pad_left[b];
            if (window > 0 && pos - window + 1 > lo) lo = pos - window + 1;
            int hi = pos;                                   /* inclusive */
            int none = lo > hi;
            if (none) { lo = 0; }
            for (int h = kv0 * group; h < kv1 * group; h++) {
                const float *qs = row + (size_t) h * D;
                for (int c = 0; c < half; c++) {
                    q[c] = qs[c] * cs[c] - qs[c + half] * sn[c];
                    q[c + half] = qs[c + half] * cs[c] + qs[c] * sn[c];
                }
                int kvh = h / group;
                const float *kbase = kc + ((size_t) b * KV + kvh) * cap * D, *vbase = vc + ((size_t) b * KV + kvh) * cap * D;
                float *o = out + ((size_t) b * T + t) * H * D + (size_t) h * D;
                if (none) {
                    /* uniform over slots 0 .. past + T - 1, as softmax of equal masked scores */
                    int slots = past + T;
                    for (int c = 0; c < D; c++) o[c] = 0;
                    for (int j = 0; j < slots; j++) for (int c = 0; c < D; c++) o[c] += vbase[(size_t) j * D + c];
                    for (int c = 0; c < D; c++) o[c] /= (float) slots;
                    continue;
                }
                float mx = -INFINITY;
                for (int j = lo; j <= hi; j++) {
                    float s = dot(isa, q, kbase + (size_t) j * D, D) * scale;
                    if (softcap > 0) s = softcap * tanhf(s / softcap);
                    scores[j - lo] = s;
                    if (s > mx) mx = s;
                }
                float sum = 0;
                for (int j = lo; j <= hi; j++) {
                    float e = expf(scores[j - lo] - mx);
                    scores[j - lo] = e;
                    sum += e;
                }
                for (int c = 0; c < D; c++) o[c] = 0;
                for (int j = lo; j <= hi; j++) {
                    const float p = scores[j - lo] / sum, *vj = vbase + (size_t) j * D;
                    for (int c = 0; c < D; c++) o[c] += p * vj[c];
                }
            }
        }
    }
}

/* ------------------------------------------------------------------ read bandwidth */

typedef struct {
    const char *base;
    size_t bytes;
    int touch, isa, pattern;
    double sums[256];
} read_args;

/*
 * The read pass's loops: [lo, hi) (whole 256-byte blocks) as 4 streams w bytes apart, moving 4 * w bytes at a time.
 * w = READ_STREAM (64) is one sequential stream of 256-byte steps; w = READ_WINDOW the second pattern: 4 streams
 * 8 KiB apart, as the float32 row-by-row kernel reads 4 weight rows (9 KiB apart for gemma-2-2b) at once. On the
 * Zen 3 VM (AVX2, 2 threads, 4 GiB on huge pages, 10 passes each, 2026-12-03) the window read 28.1-32.4 GB/s against
 * 28.3-32.2 for one stream, and the float32 decode step ran at 101.6-106.0% of a one-stream pass timed beside each
 * step: a floor the products beat is no floor, so the passes alternate between the two patterns (read_pattern).
 * w = READ_WIDE the third pattern, 4 streams 32 KiB apart, as the packed kernels read 2-3 blocks of 4 rows (18-36 KiB
 * apart for gemma-2-2b) at once: on the same VM (2026-12-03, 12 rounds of each pattern in turn over 4 GiB) windows of
 * 16-64 KiB read 1.3-3.7% faster than the 8 KiB one (32 KiB: x1.029 median, paired by round), and the float32 decode
 * products reached 100.5% (median) of the faster of the first two patterns (tools/bench/gemv-rows.c).
 * w is a constant at every call (the functions inline), so the one-stream loop is the plain 256-byte loop.
 */
#define READ_STREAM 64
#define READ_WINDOW 8192
#define READ_WIDE 32768

__attribute__((target("avx512f"), always_inline))
static inline double read_w_avx512(const char *lo, const char *hi, const size_t w) {
    __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
    for (const char *b = lo; b + 4 * w <= hi; b += 4 * w)
        for (size_t k = 0; k < w; k += 64) {
            s0 = _mm512_add_epi64(s0, _mm512_loadu_si512((const void *) (b + k)));
            s1 = _mm512_add_epi64(s1, _mm512_loadu_si512((const void *) (b + w + k)));
            s2 = _mm512_add_epi64(s2, _mm512_loadu_si512((const void *) (b + 2 * w + k)));
            s3 = _mm512_add_epi64(s3, _mm512_loadu_si512((const void *) (b + 3 * w + k)));
        }
    return (double) _mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_add_epi64(s0, s1), _mm512_add_epi64(s2, s3)));
}

__attribute__((target("avx2"), always_inline))
static inline double read_w_avx2(const char *lo, const char *hi, const size_t w) {
    __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
    for (const char *b = lo; b + 4 * w <= hi; b += 4 * w)
        for (size_t k = 0; k < w; k += 64) {
            s0 = _mm256_add_epi64(s0, _mm256_loadu_si256((const __m256i *) (b + k)));
            s1 = _mm256_add_epi64(s1, _mm256_loadu_si256((const __m256i *) (b + k + 32)));
            s2 = _mm256_add_epi64(s2, _mm256_loadu_si256((const __m256i *) (b + w + k)));
            s3 = _mm256_add_epi64(s3, _mm256_loadu_si256((const __m256i *) (b + w + k + 32)));
            s4 = _mm256_add_epi64(s4, _mm256_loadu_si256((const __m256i *) (b + 2 * w + k)));
            s5 = _mm256_add_epi64(s5, _mm256_loadu_si256((const __m256i *) (b + 2 * w + k + 32)));
            s6 = _mm256_add_epi64(s6, _mm256_loadu_si256((const __m256i *) (b + 3 * w + k)));
            s7 = _mm256_add_epi64(s7, _mm256_loadu_si256((const __m256i *) (b + 3 * w + k + 32)));
        }
    __m256i t = _mm256_add_epi64(_mm256_add_epi64(_mm256_add_epi64(s0, s1), _mm256_add_epi64(s2, s3)),
                                 _mm256_add_epi64(_mm256_add_epi64(s4, s5), _mm256_add_epi64(s6, s7)));
    __m128i h = _mm_add_epi64(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
    return (double) (uint64_t) (_mm_cvtsi128_si64(h) + _mm_extract_epi64(h, 1));
}

/* where a pattern's whole windows end: the rest (under 4 windows) is read as one stream */
static const char *read_windows_end(const char *lo, const char *hi, size_t w) {
    return lo + (size_t) (hi - lo) / (4 * w) * (4 * w);
}

/* pattern 0: one stream; 1 and 2: the 8 KiB and 32 KiB windows, the rest (under 4 windows) as one stream. Each call
 * of READ_W has a constant w, so every pattern's loop is compiled for its own window. */
#define READ_PATTERNS(NAME, TARGET, READ_W)                                                                           \
    __attribute__((target(TARGET))) static double NAME(int pattern, const char *lo, const char *hi) {                  \
        if (!pattern) return READ_W(lo, hi, READ_STREAM);                                                              \
        const char *e = read_windows_end(lo, hi, pattern == 2 ? READ_WIDE : READ_WINDOW);                              \
        return (pattern == 2 ? READ_W(lo, e, READ_WIDE) : READ_W(lo, e, READ_WINDOW)) + READ_W(e, hi, READ_STREAM);     \
    }
READ_PATTERNS(read_avx512, "avx512f", read_w_avx512)
READ_PATTERNS(read_avx2, "avx2", read_w_avx2)

static double read_scalar(const char *lo, const char *hi) {
    const uint64_t *p = (const uint64_t *) lo, *e = (const uint64_t *) hi;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    for (; p + 8 <= e; p += 8) {
        s0 += p[0]; s1 += p[1]; s2 += p[2]; s3 += p[3];
        s4 += p[4]; s5 += p[5]; s6 += p[6]; s7 += p[7];
    }
    return (double) (s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7);
}

/* the read pass at the widest loads the CPU has; pattern 1: the 8 KiB window, 2: the 32 KiB one (plain C has one) */
static double read_isa(int isa, int pattern, const char *lo, const char *hi) {
    if (isa >= ISA_AVX512) return read_avx512(pattern, lo, hi);
    if (isa == ISA_AVX2) return read_avx2(pattern, lo, hi);
    return read_scalar(lo, hi);
}

/* pass p's pattern: one stream, the 8 KiB window, the 32 KiB window, in turn (so the best of 3 passes is the best of
 * the three) */
static int read_pattern(int pass) {
    return pass % 3;
}


static void read_part(void *ctx, int part, int parts) {
    read_args *a = ctx;
    size_t n = a->bytes / 256;                               /* 256-byte blocks */
    size_t lo = n * part / parts * 256, hi = n * (part + 1) / parts * 256;
    if (a->touch) {
        memset((char *) a->base + lo, part + 1, hi - lo);
        return;
    }
    double s = read_isa(a->isa, a->pattern, a->base + lo, a->base + hi);
    if (part < 256) a->sums[part] = s;
}

/* the same sum over a list of regions (a model's weights), each split across the threads */
typedef struct {
    const jlong *addr, *bytes;
    int count, isa, pattern;
    double sums[256];
} regions_args;

static void regions_part(void *ctx, int part, int parts) {
    regions_args *a = ctx;
    double s = 0;
    for (int r = 0; r < a->count; r++) {
        size_t blocks = (size_t) a->bytes[r] / 256;
        const char *base = (const char *) (intptr_t) a->addr[r];
        const char *lo = base + blocks * part / parts * 256, *hi = base + blocks * (part + 1) / parts * 256;
        s += read_isa(a->isa, a->pattern, lo, hi);
    }
    if (part < 256) a->sums[part] = s;
}

/* ------------------------------------------------------------------ JNI */

#define JNI(name) JNICALL Java_dev_steer_engine_djl_CpuKernels_##name

JNIEXPORT jint JNI(bestIsa)(JNIEnv *env, jclass cls) {
    return isa_best();
}

/* A variant index as asked (negative or past what the CPU has: the best it has). */
static int resolve_isa(int isa) {
    int best = isa_best();
    return isa < 0 || isa > best ? best : isa;
}

JNIEXPORT jint JNI(resolveIsa)(JNIEnv *env, jclass cls, jint isa) {
    return resolve_isa(isa);
}

JNIEXPORT jint JNI(useThreads)(JNIEnv *env, jclass cls, jint n) {
    pthread_mutex_lock(&pool_lock);
    pool_resize_locked(n);
    int size = pool_size;
    pthread_mutex_unlock(&pool_lock);
    return size;
}

JNIEXPORT jlong JNI(address)(JNIEnv *env, jclass cls, jobject buffer) {
    return (jlong) (intptr_t) (*env)->GetDirectBufferAddress(env, buffer);
}

/* Asks the kernel for 2 MiB pages over [address, address + bytes) (whole huge pages inside it only). */
JNIEXPORT jint JNI(adviseHugePages)(JNIEnv *env, jclass cls, jlong address, jlong bytes) {
    const uintptr_t huge = 2u << 20;
    uintptr_t lo = ((uintptr_t) address + huge - 1) & ~(huge - 1), hi = ((uintptr_t) address + (uintptr_t) bytes) & ~(huge - 1);
    if (hi <= lo) return 0;
    return madvise((void *) lo, hi - lo, MADV_HUGEPAGE) == 0 ? 1 : -1;
}

static void throw_oom(JNIEnv *env, const char *what) {
    (*env)->ThrowNew(env, (*env)->FindClass(env, "java/lang/OutOfMemoryError"), what);
}

/* y [m, rows] = x [m, cols] . w^T on the pool (see JNI gemv); 0, or -1 when its scratch could not be allocated */
static int gemv_run(int isa, const void *w, int wtype, const float *x, float *y, int m, int rows, int cols) {
    gemv_args a = {w, wtype & W_BF16, x, NULL, NULL, y, m, rows, cols, isa, (wtype & W_PACKED) != 0, prefetch_for(m, isa), 0};
    wtype &= W_BF16;
    float *xr = NULL, *xp = NULL;
    uint16_t *xb = NULL;
    if (wtype == W_BF16) {
        size_t n = (size_t) m * cols;
        int chunk = pair_chunk(isa);
        xr = malloc(n * sizeof(float));
        xb = malloc(n * sizeof(uint16_t));
        if (chunk > 0) xp = malloc(n * sizeof(float));
        if (!xr || !xb || (chunk > 0 && !xp)) {
            free(xr);
            free(xb);
            free(xp);
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            xb[i] = f32_to_bf16(x[i]);
            xr[i] = bf16_to_f32(xb[i]);
        }
        if (chunk > 0) {
            for (int i = 0; i < m; i++) {
                const float *src = xr + (size_t) i * cols;
                float *dst = xp + (size_t) i * cols;
                int main = cols / chunk * chunk, half = chunk / 2;
                for (int c = 0; c < main; c += chunk)
                    for (int j = 0; j < half; j++) {
                        dst[c + j] = src[c + 2 * j];
                        dst[c + half + j] = src[c + 2 * j + 1];
                    }
                for (int c = main; c < cols; c++) dst[c] = src[c];
            }
        }
        a.xf = xr;
        a.xb = xb;
        a.xp = xp;
    }
    /* a small product (the tiny test model's) costs less on the caller alone than the hand-off to the pool */
    if ((size_t) m * rows * cols < SMALL_PRODUCT) gemv_part(&a, 0, 1);
    else pool_run(gemv_part, &a);
    free(xr);
    free(xb);
    free(xp);
    return 0;
}

/*
 * y [m, rows] = x [m, cols] · wᵀ, w [rows, cols] at address w (wtype 0 float32, 1 bf16), x and y direct buffers
 * of float32. bf16 weights: x is rounded to bf16 first (into a buffer of this call).
 */
JNIEXPORT void JNI(gemv)(JNIEnv *env, jclass cls, jint isa, jlong w, jint wtype, jobject x, jobject y, jint m, jint rows, jint cols) {
    if (gemv_run(resolve_isa(isa), (const void *) (intptr_t) w, wtype, (*env)->GetDirectBufferAddress(env, x),
                 (*env)->GetDirectBufferAddress(env, y), m, rows, cols) != 0)
        throw_oom(env, "steercpu: product scratch");
}

/*
 * The read bandwidth of the pool's threads: each sums its slice of a buffer of `bytes` (first touched by the same
 * thread, so its pages are local to it), best of `passes` timed passes, in bytes a second.
 */
JNIEXPORT jdouble JNI(readBandwidth)(JNIEnv *env, jclass cls, jint isa, jlong bytes, jint passes) {
    read_args *a = calloc(1, sizeof(read_args));
    a->isa = resolve_isa(isa);
    size_t n = (size_t) bytes / 64 * 64;
    char *buf = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) {
        free(a);
        return -1;
    }
    /* huge pages where the system gives them on request, as the weights get (adviseHugePages): the same kind of
     * memory as a step reads */
    madvise(buf, n, MADV_HUGEPAGE);
    a->base = buf;
    a->bytes = n;
    a->touch = 1;
    pool_run(read_part, a);
    a->touch = 0;
    double best = 0, sink = 0;
    for (int p = 0; p < passes; p++) {
        a->pattern = read_pattern(p);
        long t0 = now_ns();
        pool_run(read_part, a);
        double s = (now_ns() - t0) / 1e9;
        if (n / s > best) best = n / s;
        for (int i = 0; i < 256; i++) sink += a->sums[i];
    }
    munmap(buf, n);
    free(a);
    return sink == -1 ? 0 : best;
}






/*
 * Read bandwidth over given memory regions (a model's weight matrices, read in place, in whole 256-byte blocks), by
 * the pool's threads, best of `passes`, in bytes a second of the bytes read.
 */
JNIEXPORT jdouble JNI(readRegions)(JNIEnv *env, jclass cls, jint isa, jlongArray addresses, jlongArray sizes, jint passes) {
    regions_args *a = calloc(1, sizeof(regions_args));
    a->count = (*env)->GetArrayLength(env, addresses);
    a->addr = (*env)->GetLongArrayElements(env, addresses, NULL);
    a->bytes = (*env)->GetLongArrayElements(env, sizes, NULL);
    a->isa = resolve_isa(isa);
    double total = 0, best = 0, sink = 0;
    for (int r = 0; r < a->count; r++) total += (double) ((size_t) a->bytes[r] / 256 * 256);
    for (int p = 0; p < passes; p++) {
        a->pattern = read_pattern(p);
        long t0 = now_ns();
        pool_run(regions_part, a);
        double s = (now_ns() - t0) / 1e9;
        if (total / s > best) best = total / s;
        for (int i = 0; i < 256; i++) sink += a->sums[i];
    }
    (*env)->ReleaseLongArrayElements(env, addresses, (jlong *) a->addr, JNI_ABORT);
    (*env)->ReleaseLongArrayElements(env, sizes, (jlong *) a->bytes, JNI_ABORT);
    free(a);
    return sink == -1 ? 0 : best;
}

/* ------------------------------------------------------------------ row-wise ops on the pool */

/*
 * The row-wise ops over rows i0 .. i1: each row's result is computed by one thread with the same code whatever the
 * rows beside it, so from 16 rows on they are split across the pool without changing a bit.
 */
enum { OP_RMS, OP_ADD_RMS, OP_GELU, OP_SOFTCAP };
typedef struct {
    int op, m, n, isa;
    const float *a, *b, *c, *d;
    float *y, *z, eps;
} rows_args;

static void rows_range(const rows_args *r, int i0, int i1) {
    size_t n = (size_t) r->n, k = (size_t) i0;
    int rows = i1 - i0;
    switch (r->op) {
        case OP_RMS: rms_norm(r->a + k * n, r->b, r->y + k * n, rows, r->n, r->eps); break;
        case OP_ADD_RMS: add_rms_norm(r->a + k * n, r->b + k * n, r->c, r->d, r->y + k * n, r->z + k * n, rows, r->n, r->eps); break;
        case OP_GELU: gelu_tanh_mul_packed(r->a + k * 2 * n, r->y + k * n, rows, r->n, r->isa); break;
        default: softcap_all(r->a + k * n, r->y + k * n, (size_t) rows * n, r->eps, r->isa); break;
    }
}

static void rows_part(void *ctx, int part, int parts) {
    const rows_args *r = ctx;
    int i0 = (int) ((long) r->m * part / parts), i1 = (int) ((long) r->m * (part + 1) / parts);
    if (i0 < i1) rows_range(r, i0, i1);
}

/* softcap of fewer rows than that, each split into column ranges starting at multiples of 16 from the row's start
 * (so every element takes the same vector or scalar path as in one call over the row) */
static void softcap_cols_part(void *ctx, int part, int parts) {
    const rows_args *r = ctx;
    int c0 = (int) ((long) r->n * part / parts) / 16 * 16, c1 = part + 1 == parts ? r->n : (int) ((long) r->n * (part + 1) / parts) / 16 * 16;
    if (c0 >= c1) return;
    for (int i = 0; i < r->m; i++)
        softcap_all(r->a + (size_t) i * r->n + c0, r->y + (size_t) i * r->n + c0, (size_t) (c1 - c0), r->eps, r->isa);
}

static void rows_run(rows_args *r) {
    if (r->m >= 16) pool_run(rows_part, r);
    else if (r->op == OP_SOFTCAP && r->n >= 65536) pool_run(softcap_cols_part, r);   /* a decode step's 256,000 logits */
    else rows_range(r, 0, r->m);
}

#define BUF(o) ((float *) (*env)->GetDirectBufferAddress(env, o))

JNIEXPORT void JNI(rmsNorm)(JNIEnv *env, jclass cls, jobject x, jobject w1, jobject y, jint m, jint n, jfloat eps) {
    rows_args r = {OP_RMS, m, n, 0, BUF(x), BUF(w1), NULL, NULL, BUF(y), NULL, eps};
    rows_run(&r);
}

JNIEXPORT void JNI(addRmsNorm)(JNIEnv *env, jclass cls, jobject h, jobject x, jobject w1post, jobject w1pre, jobject res, jobject y,
                               jint m, jint n, jfloat eps) {
    rows_args r = {OP_ADD_RMS, m, n, 0, BUF(h), BUF(x), BUF(w1post), BUF(w1pre), BUF(res), BUF(y), eps};
    rows_run(&r);
}

JNIEXPORT void JNI(geluTanhMulPacked)(JNIEnv *env, jclass cls, jint isa, jobject gu, jobject y, jint m, jint inner) {
    rows_args r = {OP_GELU, m, inner, resolve_isa(isa), BUF(gu), NULL, NULL, NULL, BUF(y), NULL, 0};
    rows_run(&r);
}

JNIEXPORT void JNI(softcap)(JNIEnv *env, jclass cls, jint isa, jobject x, jobject y, jint m, jint n, jfloat cap) {
    rows_args r = {OP_SOFTCAP, m, n, resolve_isa(isa), BUF(x), NULL, NULL, NULL, BUF(y), NULL, cap};
    rows_run(&r);
}

/* attention split across the pool: by batch rows from 2 rows on, else (a single row: a decode step at batch 1, or one
 * prompt's prefill) by kv heads, each with its group of query heads; either way each head of a row is computed whole by
 * one thread with the same code, so the split changes no bit */
typedef struct {
    const float *qkv, *rope;
    float *kc, *vc, *out;
    const jint *pad;
    int B, T, past, cap, H, KV, D, window, isa, failed;
    float scale, softcap;
} attention_args;

static void attention_part(void *ctx, int part, int parts) {
    attention_args *a = ctx;
    int b0 = 0, b1 = a->B, kv0 = 0, kv1 = a->KV;
    if (a->B >= 2) {
        b0 = (int) ((long) a->B * part / parts);
        b1 = (int) ((long) a->B * (part + 1) / parts);
    } else {
        kv0 = (int) ((long) a->KV * part / parts);
        kv1 = (int) ((long) a->KV * (part + 1) / parts);
    }
    if (b0 >= b1 || kv0 >= kv1) return;
    float *scratch = malloc(((size_t) a->D + (size_t) a->past + a->T) * sizeof(float));
    if (!scratch) {
        a->failed = 1;
        return;
    }
    attention_packed(a->qkv, a->rope, a->kc, a->vc, a->out, (const int *) a->pad, b0, b1, kv0, kv1, a->T, a->past, a->cap, a->H, a->KV,
                     a->D, a->scale, a->softcap, a->window, scratch, a->isa);
    free(scratch);
}

/* multiply-adds of q.k under which attention runs on the calling thread only (the tiny test model's) */
#define SMALL_ATTENTION (1u << 14)

static void attention_run(attention_args *a) {
    size_t work = (size_t) a->B * a->T * a->H * (size_t) (a->past + a->T) * a->D;
    if ((a->B >= 2 || a->KV >= 2) && work >= SMALL_ATTENTION) pool_run(attention_part, a);
    else attention_part(a, 0, 1);
}

JNIEXPORT void JNI(attentionPacked)(JNIEnv *env, jclass cls, jint isa, jobject qkv, jobject rope, jlong keys, jlong values, jobject out,
                                    jintArray padLeft, jint B, jint T, jint past, jint cap, jint H, jint KV, jint D,
                                    jfloat scale, jfloat softcap, jint window) {
    jint *pad = (*env)->GetIntArrayElements(env, padLeft, NULL);
    attention_args a = {BUF(qkv), BUF(rope), (float *) (intptr_t) keys, (float *) (intptr_t) values, BUF(out), pad, B, T, past, cap, H,
                        KV, D, window, resolve_isa(isa), 0, scale, softcap};
    attention_run(&a);
    (*env)->ReleaseIntArrayElements(env, padLeft, pad, JNI_ABORT);
    if (a.failed) throw_oom(env, "steercpu: attention scratch");
}

/* ------------------------------------------------------------------ a whole decode layer, and argmax */

/* this thread's scratch for decode_layer's intermediates, grown when a call needs more, kept between calls */
static __thread float *layer_scratch;
static __thread size_t layer_scratch_n;

/*
 * One Gemma-2 decoder layer of a decode step (T = 1, any batch B) in one call, with exactly the functions the op-by-op
 * path calls (so the same bits): qkv = n . Wqkv^T; attention (attention_packed: rotary, cache write, softcap, window,
 * padding); h1 = h + rms(attn . Wo^T; postAttn); n2 = rms(h1; preFfn); act = gelu(n2 . Wgu^T); m = act . Wdown^T;
 * hOut = h1 + rms(m; postFfn); nOut = rms(hOut; next). The ops between the products then cost no tensor of their
 * own: issued one by one each cost ~100 us of allocation and dispatch with caches the weight stream just emptied.
 * Norm weights are 1 + w. w[0..3]: Wqkv, Wo, Wgu, Wdown. Returns 0, or -1 when scratch could not be allocated.
 */
static int decode_layer(int isa, const void *const *w, int wtype, const float *h, const float *n, const float *post_attn,
                        const float *pre_ffn, const float *post_ffn, const float *next, const float *rope, float *kc, float *vc,
                        const jint *pad, float *h_out, float *n_out, int B, int past, int cap, int hidden, int heads, int KV, int D,
                        int inner, float scale, float softcap, int window, float eps) {
    const size_t qkv_w = (size_t) (heads + 2 * KV) * D, att_w = (size_t) heads * D;
    size_t need = (size_t) B * (qkv_w + att_w + 4 * (size_t) hidden + 3 * (size_t) inner);
    if (need > layer_scratch_n) {
        float *grown = realloc(layer_scratch, need * sizeof(float));
        if (!grown) return -1;
        layer_scratch = grown;
        layer_scratch_n = need;
    }
    float *qkv = layer_scratch, *att = qkv + B * qkv_w, *o = att + B * att_w, *h1 = o + (size_t) B * hidden, *n2 = h1 + (size_t) B * hidden,
          *gu = n2 + (size_t) B * hidden, *act = gu + 2 * (size_t) B * inner, *m = act + (size_t) B * inner;
#define WT(k) ((wtype & W_BF16) | ((wtype >> (4 + (k))) & 1 ? W_PACKED : 0))
    if (gemv_run(isa, w[0], WT(0), n, qkv, B, (int) qkv_w, hidden) != 0) return -1;
    attention_args a = {qkv, rope, kc, vc, att, pad, B, 1, past, cap, heads, KV, D, window, isa, 0, scale, softcap};
    attention_run(&a);
    if (a.failed) return -1;
    if (gemv_run(isa, w[1], WT(1), att, o, B, hidden, (int) att_w) != 0) return -1;
    rows_args r1 = {OP_ADD_RMS, B, hidden, 0, h, o, post_attn, pre_ffn, h1, n2, eps};
    rows_run(&r1);
    if (gemv_run(isa, w[2], WT(2), n2, gu, B, 2 * inner, hidden) != 0) return -1;
    rows_args r2 = {OP_GELU, B, inner, isa, gu, NULL, NULL, NULL, act, NULL, 0};
    rows_run(&r2);
    if (gemv_run(isa, w[3], WT(3), act, m, B, hidden, inner) != 0) return -1;
#undef WT
    rows_args r3 = {OP_ADD_RMS, B, hidden, 0, h1, m, post_ffn, next, h_out, n_out, eps};
    rows_run(&r3);
    return 0;
}

/*
 * decode_layer over L >= 1 consecutive layers in one call: layer i reads layer i - 1's output and its norm from one of
 * two scratch pairs and writes the other (the first reads h and n, the last writes hOut and nOut), so the same
 * functions on the same values as one call a layer, the same bits, without the Java side between layers (132 us a
 * layer on average at a gemma-2-2b bf16 decode step: BENCHMARKS.md, sixth pass). Per layer: weights 4 addresses (Wqkv,
 * Wo, Wgu, Wdown), wtypes 1, norms 4 addresses of 1 + w (postAttn, preFfn, postFfn, next), keys, values and windows 1.
 */
JNIEXPORT void JNI(decodeLayers)(JNIEnv *env, jclass cls, jint isa, jint L, jlongArray weights, jintArray wtypes, jobject h, jobject n,
                                 jlongArray norms, jobject rope, jlongArray keys, jlongArray values, jintArray padLeft, jobject hOut,
                                 jobject nOut, jint B, jint past, jint cap, jint hidden, jint heads, jint KV, jint D, jint inner,
                                 jfloat scale, jfloat softcap, jintArray windows, jfloat eps) {
    jlong *wa = (*env)->GetLongArrayElements(env, weights, NULL), *na = (*env)->GetLongArrayElements(env, norms, NULL);
    jlong *ka = (*env)->GetLongArrayElements(env, keys, NULL), *va = (*env)->GetLongArrayElements(env, values, NULL);
    jint *wt = (*env)->GetIntArrayElements(env, wtypes, NULL), *win = (*env)->GetIntArrayElements(env, windows, NULL);
    jint *pad = (*env)->GetIntArrayElements(env, padLeft, NULL);
    const size_t bh = (size_t) B * hidden;
    float *pp = L > 1 ? malloc(4 * bh * sizeof(float)) : NULL;   /* h, n of even layers, then of odd ones */
    int rc = L > 1 && !pp ? -1 : 0;
    const float *hi = BUF(h), *ni = BUF(n);
    const int cpu = resolve_isa(isa);
    for (int i = 0; i < L && rc == 0; i++) {
        float *ho = i + 1 == L ? BUF(hOut) : pp + (size_t) (i % 2) * 2 * bh, *no = i + 1 == L ? BUF(nOut) : ho + bh;
        const void *w[4];
        for (int k = 0; k < 4; k++) w[k] = (const void *) (intptr_t) wa[4 * i + k];
#define NORM(k) ((const float *) (intptr_t) na[4 * i + (k)])
        rc = decode_layer(cpu, w, wt[i], hi, ni, NORM(0), NORM(1), NORM(2), NORM(3), BUF(rope), (float *) (intptr_t) ka[i],
                          (float *) (intptr_t) va[i], pad, ho, no, B, past, cap, hidden, heads, KV, D, inner, scale, softcap, win[i], eps);
#undef NORM
        hi = ho;
        ni = no;
    }
    free(pp);
    (*env)->ReleaseIntArrayElements(env, padLeft, pad, JNI_ABORT);
    (*env)->ReleaseIntArrayElements(env, windows, win, JNI_ABORT);
    (*env)->ReleaseIntArrayElements(env, wtypes, wt, JNI_ABORT);
    (*env)->ReleaseLongArrayElements(env, values, va, JNI_ABORT);
    (*env)->ReleaseLongArrayElements(env, keys, ka, JNI_ABORT);
    (*env)->ReleaseLongArrayElements(env, norms, na, JNI_ABORT);
    (*env)->ReleaseLongArrayElements(env, weights, wa, JNI_ABORT);
    if (rc != 0) throw_oom(env, "steercpu: decode layer scratch");
}

/*
 * Rewrites the matrix w [rows, cols] (wtype W_F32 or W_BF16) in place into the packed layout (packed_index), block
 * by block through a block-sized buffer, on the calling thread (the pool's threads contended with PyTorch's between
 * the fill ops at load: 0.65-0.80 s for gemma-2-2b's bf16 weights, the calling thread alone 0.49 s). Returns 1, or 0
 * (untouched) when the shape has no packed form, or -1 (untouched) when the buffer could not be allocated.
 */
JNIEXPORT jint JNI(pack)(JNIEnv *env, jclass cls, jlong w, jint wtype, jint rows, jint cols) {
    const int es = (wtype & W_BF16) ? 2 : 4, u = PACK_BYTES / es;
    if (!packable(rows, cols, es)) return 0;
    const size_t row_bytes = (size_t) cols * es;
    char *block = malloc(PACK_ROWS * row_bytes);
    if (!block) return -1;
    for (int r = 0; r < rows; r += PACK_ROWS) {
        char *dst = (char *) (intptr_t) w + (size_t) r * row_bytes;
        memcpy(block, dst, PACK_ROWS * row_bytes);
        /* packed_index's order within a block: unit by unit, the block's rows in turn, so the writes are sequential */
        for (int c = 0; c < cols; c += u)
            for (int k = 0; k < PACK_ROWS; k++, dst += PACK_BYTES) memcpy(dst, block + k * row_bytes + (size_t) c * es, PACK_BYTES);
    }
    free(block);
    return 1;
}

/* the index of each row's largest value, the lowest on ties; a NaN is never larger (as DjlBackend's host loop) */
JNIEXPORT void JNI(argmax)(JNIEnv *env, jclass cls, jobject x, jint rows, jint cols, jintArray out) {
    const float *v = BUF(x);
    jint *best = (*env)->GetIntArrayElements(env, out, NULL);
    for (int r = 0; r < rows; r++) {
        const float *row = v + (size_t) r * cols;
        int bi = 0;
        float bv = row[0];
        for (int c = 1; c < cols; c++)
            if (row[c] > bv) {
                bv = row[c];
                bi = c;
            }
        best[r] = bi;
    }
    (*env)->ReleaseIntArrayElements(env, out, best, 0);
}

/*
 * Embedding rows: y[i] = table[ids[i]] * scale (bf16 rows widened exactly to float32 first), float32 as PyTorch's
 * float32 multiply gives it. Every id is checked first: returns the position of the first id outside [0, vocab)
 * (nothing written), else -1.
 */
JNIEXPORT jint JNI(embed)(JNIEnv *env, jclass cls, jlong table, jint wtype, jint vocab, jint hidden, jobject ids, jint n, jobject out,
                          jfloat scale) {
    const int64_t *id = (const int64_t *) (*env)->GetDirectBufferAddress(env, ids);
    float *y = BUF(out);
    for (int i = 0; i < n; i++)
        if (id[i] < 0 || id[i] >= vocab) return i;
    /* a row is contiguous runs: the whole row, or (packed) its 64-byte units, PACK_ROWS units apart */
    const int es = (wtype & W_BF16) ? 2 : 4, packed = (wtype & W_PACKED) != 0, run = packed ? PACK_BYTES / es : hidden;
    const size_t stride = packed ? (size_t) PACK_ROWS * run : (size_t) hidden;
    const void *w = (const void *) (intptr_t) table;
    for (int i = 0; i < n; i++) {
        float *yi = y + (size_t) i * hidden;
        size_t at = packed ? packed_index((int) id[i], 0, hidden, es) : (size_t) id[i] * hidden;
        for (int c0 = 0; c0 < hidden; c0 += run, at += stride)
            for (int j = 0; j < run; j++) yi[c0 + j] = weight_elem(w, wtype, at + j) * scale;
    }
    return -1;
}
