// Attention over a KV cache, for prefill (T > 1) and decode (T = 1).
// Cache layout per layer: k, v [B, kvHeads, capacity, headDim], float32 or bf16 (the backend's precision).
// Slots count from the cache start; query t of row b sits in slot i = past + t. Key slot j is visible iff
//   j <= i, j >= padLeft[b], and (window <= 0 or i - j < window)
// (positions are slot - padLeft[b], so i - j is also the position distance). A query with no visible key
// (a pad query) outputs zeros; out16 non-null: the output also rounded to bf16, the o projection's operand.
// Scores: s = (q . k) * scale, then tanh(s / softcap) * softcap when softcap > 0;
// softmax in float32.
#include "common.cuh"

// The cache's filled length `past` is read from device memory (*pastPtr), never passed as a scalar: a decode
// step captured in a CUDA graph is replayed at every length.
// kv_write: k, v [B, T, kvHeads * headDim] float32 -> cache slots [past, past + T); one block per (b, t) row.
template <typename S>
__device__ void kv_write(const float* k, const float* v, S* kc, S* vc, int steps, int kvHeads, int headDim,
                         int capacity, const int* pastPtr) {
    int past = *pastPtr;
    long long row = blockIdx.x;
    long long b = row / steps, t = row % steps;
    int width = kvHeads * headDim;
    for (int idx = threadIdx.x; idx < width; idx += blockDim.x) {
        int h = idx / headDim, d = idx % headDim;
        long long dst = ((b * kvHeads + h) * capacity + past + t) * headDim + d;
        store_f(kc, dst, k[row * width + idx]);
        store_f(vc, dst, v[row * width + idx]);
    }
}

extern "C" __global__ void kv_write_f32(const float* k, const float* v, float* kc, float* vc, int steps, int kvHeads,
                                        int headDim, int capacity, const int* past) {
    pdl_begin();
    kv_write(k, v, kc, vc, steps, kvHeads, headDim, capacity, past);
}

extern "C" __global__ void kv_write_bf16(const float* k, const float* v, unsigned short* kc, unsigned short* vc,
                                         int steps, int kvHeads, int headDim, int capacity, const int* past) {
    pdl_begin();
    kv_write(k, v, kc, vc, steps, kvHeads, headDim, capacity, past);
}

// Online softmax over one tile of n scores in sc[]: replaces them by exp(s - mNew) in place, folds the tile into
// the running max m and sum l, and returns the factor the running output must be scaled by (0 on the first tile,
// where m = -inf). Its barriers also publish sc[] to the whole block.
__device__ float softmax_tile(float* sc, int n, float& m, float& l, float* scratch) {
    float tm = NEG_INF;
    for (int jj = threadIdx.x; jj < n; jj += blockDim.x) tm = fmaxf(tm, sc[jj]);
    tm = block_max(tm, scratch);
    float mNew = fmaxf(m, tm);
    float correction = expf(m - mNew);
    float ps = 0.f;
    for (int jj = threadIdx.x; jj < n; jj += blockDim.x) {
        float p = expf(sc[jj] - mNew);
        sc[jj] = p;
        ps += p;
    }
    ps = block_sum(ps, scratch);
    l = l * correction + ps;
    m = mNew;
    return correction;
}

// What a (query row, head: blockIdx.y) block works on: the visible cache slots [lo, hi], its kv head's keys and
// values, and its output row (and bf16 copy, when asked for).
template <typename S>
struct Query {
    int lo, hi;
    const S* kb;
    const S* vb;
    float* o;
    unsigned short* o16;
};

// Sets up query `row` (of batch row b, in cache slot i): false, with zeros written, when it sees no key (a pad
// query; the block returns); else q is in qs[] for the whole block. q rows are qStride floats apart (heads *
// headDim, or the packed q/k/v width); rope non-null: q is rotated by that [headDim] cos/sin row on the way in.
template <typename S>
__device__ bool begin_query(const float* q, long long qStride, const float* rope, const S* kc, const S* vc,
                            const int* padLeft, float* out, unsigned short* out16, long long row, long long b, int i,
                            int heads, int kvHeads, int headDim, int capacity, int window, float* qs, Query<S>& qy) {
    int h = blockIdx.y;
    qy.lo = padLeft[b];
    if (window > 0 && i - window + 1 > qy.lo) qy.lo = i - window + 1;
    qy.hi = i;
    qy.o = out + (row * heads + h) * headDim;
    qy.o16 = out16 == 0 ? 0 : out16 + (row * heads + h) * headDim;
    if (qy.lo > qy.hi) {
        for (int d = threadIdx.x; d < headDim; d += blockDim.x) {
            qy.o[d] = 0.f;
            if (qy.o16 != 0) qy.o16[d] = 0;
        }
        return false;
    }
    const float* qr = q + row * qStride + (long long)h * headDim;
    if (rope == 0) {
        for (int d = threadIdx.x; d < headDim; d += blockDim.x) qs[d] = qr[d];
    } else {
        int half = headDim / 2;
        for (int d = threadIdx.x; d < half; d += blockDim.x) rotate(qr[d], qr[d + half], rope[d], rope[half + d], qs[d], qs[d + half]);
    }
    __syncthreads();
    int kvh = h / (heads / kvHeads);
    long long base = (b * kvHeads + kvh) * (long long)capacity * headDim;
    qy.kb = kc + base;
    qy.vb = vc + base;
    return true;
}

// Keys are scored a tile at a time (one warp per key) with an online softmax, so shared memory does not grow
// with the cache: dynamic shared memory = (headDim + ATT_TILE) floats. Each thread owns output dims
// tid, tid + blockDim, ... (at most ATT_DIMS_PER_THREAD of them), so headDim <= ATT_DIMS_PER_THREAD * blockDim.
#define ATT_TILE 256
#define ATT_DIMS_PER_THREAD 4

// One block per (query row b*T + t: blockIdx.x, head: blockIdx.y). q, out: [B, T, heads * headDim].
template <typename S>
__device__ void attend(const float* q, const S* kc, const S* vc, const int* padLeft, float* out, unsigned short* out16, int steps,
                       int heads, int kvHeads, int headDim, int capacity, const int* pastPtr, float scale,
                       float softcap, int window) {
    extern __shared__ float smem[];
    int past = *pastPtr;
    __shared__ float scratch[32];
    float* qs = smem;
    float* sc = smem + headDim;
    long long row = blockIdx.x;
    Query<S> qy;
    if (!begin_query(q, (long long)heads * headDim, (const float*)0, kc, vc, padLeft, out, out16, row, row / steps,
                     past + (int)(row % steps), heads, kvHeads, headDim, capacity, window, qs, qy)) return;
    int lo = qy.lo, hi = qy.hi;
    const S* kb = qy.kb;
    const S* vb = qy.vb;
    float* o = qy.o;
    unsigned short* o16 = qy.o16;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    float m = NEG_INF, l = 0.f;
    float acc[ATT_DIMS_PER_THREAD];
#pragma unroll
    for (int c = 0; c < ATT_DIMS_PER_THREAD; c++) acc[c] = 0.f;
    for (int j0 = lo; j0 <= hi; j0 += ATT_TILE) {
        int n = hi - j0 + 1 < ATT_TILE ? hi - j0 + 1 : ATT_TILE;
        for (int jj = warp; jj < n; jj += warps) {
            long long kr = (long long)(j0 + jj) * headDim;
            float s = 0.f;
            for (int d = lane; d < headDim; d += 32) s += qs[d] * load_f(kb, kr + d);
            s = warp_sum(s) * scale;
            if (softcap > 0.f) s = tanhf(s / softcap) * softcap;
            if (lane == 0) sc[jj] = s;
        }
        __syncthreads();
        float correction = softmax_tile(sc, n, m, l, scratch);
#pragma unroll
        for (int c = 0; c < ATT_DIMS_PER_THREAD; c++) {
            int d = threadIdx.x + c * blockDim.x;
            if (d < headDim) {
                float a = acc[c] * correction;
                for (int jj = 0; jj < n; jj++) a += sc[jj] * load_f(vb, (long long)(j0 + jj) * headDim + d);
                acc[c] = a;
            }
        }
        __syncthreads();                      // sc[] is rewritten by the next tile
    }
#pragma unroll
    for (int c = 0; c < ATT_DIMS_PER_THREAD; c++) {
        int d = threadIdx.x + c * blockDim.x;
        if (d < headDim) {
            o[d] = acc[c] / l;
            if (o16 != 0) o16[d] = f32_to_bf16(acc[c] / l);
        }
    }
}

extern "C" __global__ void attention_f32(const float* q, const float* kc, const float* vc, const int* padLeft,
                                         float* out, unsigned short* out16, int steps, int heads, int kvHeads, int headDim, int capacity,
                                         const int* past, float scale, float softcap, int window) {
    pdl_begin();
    attend(q, kc, vc, padLeft, out, out16, steps, heads, kvHeads, headDim, capacity, past, scale, softcap, window);
}

extern "C" __global__ void attention_bf16(const float* q, const unsigned short* kc, const unsigned short* vc,
                                          const int* padLeft, float* out, unsigned short* out16, int steps, int heads, int kvHeads,
                                          int headDim, int capacity, const int* past, float scale, float softcap,
                                          int window) {
    pdl_begin();
    attend(q, kc, vc, padLeft, out, out16, steps, heads, kvHeads, headDim, capacity, past, scale, softcap, window);
}

// ---------------------------------------------------------------------------------------------------------------
// Decode attention (T = 1), the default for one-token steps (STEER_ATTN_DECODE=0: the general kernel above).
// A decode step's attention is latency-bound: one block per (row, head), few blocks at small batches, and every
// load of a key or value row waits on memory. So the kernel keeps many loads in flight per thread:
//  - scores: four lanes per key, each loading its eighth-chunks (up to 8 x 16 bytes of bf16) before using any,
//    then two shuffles; a pass scores blockDim/4 keys (the first version: one thread per key, chunks one or two
//    at a time, ~headDim/16 memory round trips deep per key);
//  - values: each warp takes every warps-th key of the tile, 8 keys' rows loaded before they are accumulated; a
//    lane owns 8 output dims (the first version: one row load per key, ~keys/warps round trips deep).
// q sits in shared memory. Same masking and online softmax as `attend`; needs headDim % 8 == 0, headDim <= 256,
// blockDim a multiple of 32 and at most 32 * DEC_MAX_WARPS.
#define DEC_TILE 512
#define DEC_MAX_WARPS 8
#define DEC_LANES_PER_KEY 4
#define DEC_UNROLL 8

// Eight consecutive cache elements as loaded (bf16: one 16-byte load; float32: two), converted when used, so a
// thread can have several loads in flight before it needs the first. load: from the cache in global memory, by
// the read-only path (no slot a block reads is written during the kernel); near: from shared memory (the fused
// form's current key and value), so the two never merge into one generic load.
template <typename S> struct Raw8;
template <> struct Raw8<unsigned short> {
    uint4 u;
    __device__ __forceinline__ void load(const unsigned short* p, long long i) { u = __ldg((const uint4*)(p + i)); }
    __device__ __forceinline__ void near(const unsigned short* p, long long i) { u = *(const uint4*)(p + i); }
    __device__ __forceinline__ void get(float* x) const {
        x[0] = __uint_as_float(u.x << 16); x[1] = __uint_as_float(u.x & 0xffff0000u);
        x[2] = __uint_as_float(u.y << 16); x[3] = __uint_as_float(u.y & 0xffff0000u);
        x[4] = __uint_as_float(u.z << 16); x[5] = __uint_as_float(u.z & 0xffff0000u);
        x[6] = __uint_as_float(u.w << 16); x[7] = __uint_as_float(u.w & 0xffff0000u);
    }
};
template <> struct Raw8<float> {
    float4 a, b;
    __device__ __forceinline__ void load(const float* p, long long i) {
        a = __ldg((const float4*)(p + i));
        b = __ldg((const float4*)(p + i + 4));
    }
    __device__ __forceinline__ void near(const float* p, long long i) {
        a = *(const float4*)(p + i);
        b = *(const float4*)(p + i + 4);
    }
    __device__ __forceinline__ void get(float* x) const {
        x[0] = a.x; x[1] = a.y; x[2] = a.z; x[3] = a.w; x[4] = b.x; x[5] = b.y; x[6] = b.z; x[7] = b.w;
    }
};

// acc[c] += p * row[c], c < 8
template <typename S>
__device__ __forceinline__ void axpy8(const Raw8<S>& r, float p, float* acc) {
    float x[8];
    r.get(x);
#pragma unroll
    for (int c = 0; c < 8; c++) acc[c] += p * x[c];
}

// One block per (row b: blockIdx.x, head: blockIdx.y); out: [B, 1, heads * headDim].
// Plain (rope null): q [B, 1, heads * headDim], already rotated; this step's key and value already in the cache.
// Fused (rope non-null, the packed projection's decode step): q is the packed q/k/v row [B, 1, (heads + 2 kvHeads)
// * headDim] and rope the step's cos/sin table [B, headDim]; the block rotates its q head, and its kv head's key and
// copies its value into shared memory, rounded as the cache stores them, and uses those for slot `past` (so no block
// reads a slot another block may be writing); the first q head of each kv group also writes them to the cache, where
// the next step reads them. This replaces rope_split_cache's launch and its q round trip through memory.
template <typename S>
__device__ void attend_decode(const float* q, const float* rope, const S* kc, const S* vc, S* kcw, S* vcw,
                              const int* padLeft, float* out, unsigned short* out16, int heads, int kvHeads, int headDim,
                              int capacity, const int* pastPtr, float scale, float softcap, int window) {
    __shared__ float qs[256];
    __shared__ float sc[DEC_TILE];
    __shared__ float part[DEC_MAX_WARPS][256];
    __shared__ float scratch[32];
    __shared__ uint4 cur4[2][64];                         // fused: this step's key and value row, as S (16-byte aligned)
    int past = *pastPtr;
    long long b = blockIdx.x;
    int cur = -1;                                          // the slot read from shared memory, -1: none
    S* ks = (S*)cur4[0];
    S* vs = (S*)cur4[1];
    long long qStride = (long long)heads * headDim;
    const float* rrow = 0;
    if (rope != 0) {
        cur = past;
        qStride = (long long)(heads + 2 * kvHeads) * headDim;
        rrow = rope + b * headDim;
        int h = blockIdx.y, kvh = h / (heads / kvHeads), half = headDim / 2;
        const float* kr = q + b * qStride + (long long)(heads + kvh) * headDim;
        const float* vr = kr + (long long)kvHeads * headDim;
        bool writer = h % (heads / kvHeads) == 0;
        long long slot = ((b * kvHeads + kvh) * capacity + past) * headDim;
        for (int d = threadIdx.x; d < half; d += blockDim.x) {
            store_kv_pair(kr, vr, rrow, d, half, ks, vs, 0);
            if (writer) store_kv_pair(kr, vr, rrow, d, half, kcw, vcw, slot);
        }
    }
    Query<S> qy;
    // (begin_query's barrier also publishes the shared key and value row)
    if (!begin_query(q, qStride, rrow, kc, vc, padLeft, out, out16, b, b, past, heads, kvHeads, headDim, capacity,
                     window, qs, qy)) return;
    int lo = qy.lo, hi = qy.hi;
    const S* kb = qy.kb;
    const S* vb = qy.vb;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    int chunks = headDim >> 3;                            // eighth-chunks per row, at most 32
    int sub = threadIdx.x % DEC_LANES_PER_KEY, groups = blockDim.x / DEC_LANES_PER_KEY;
    bool owns = lane * 8 < headDim;
    float m = NEG_INF, l = 0.f;
    float acc[8];
#pragma unroll
    for (int c = 0; c < 8; c++) acc[c] = 0.f;
    for (int j0 = lo; j0 <= hi; j0 += DEC_TILE) {
        int n = hi - j0 + 1 < DEC_TILE ? hi - j0 + 1 : DEC_TILE;
        // Every lane runs the same number of passes (the shuffles need the whole warp); lanes past n load nothing.
        for (int p0 = 0; p0 < n; p0 += groups) {
            int jj = p0 + threadIdx.x / DEC_LANES_PER_KEY;
            bool valid = jj < n;
            int j = j0 + (valid ? jj : 0);
            bool here = j == cur;                         // fused: this step's key, in shared memory
            const S* krow = kb + (long long)j * headDim;
            Raw8<S> r[32 / DEC_LANES_PER_KEY];
#pragma unroll
            for (int i = 0; i < 32 / DEC_LANES_PER_KEY; i++) {
                int c = sub + i * DEC_LANES_PER_KEY;
                if (valid && c < chunks) {
                    if (here) r[i].near(ks, c * 8);
                    else r[i].load(krow, c * 8);
                }
            }
            float s = 0.f;
#pragma unroll
            for (int i = 0; i < 32 / DEC_LANES_PER_KEY; i++) {
                int c = sub + i * DEC_LANES_PER_KEY;
                if (valid && c < chunks) {
                    float x[8];
                    r[i].get(x);
#pragma unroll
                    for (int e = 0; e < 8; e++) s += qs[c * 8 + e] * x[e];
                }
            }
#pragma unroll
            for (int o = 1; o < DEC_LANES_PER_KEY; o <<= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
            if (valid && sub == 0) {
                s *= scale;
                if (softcap > 0.f) s = tanhf(s / softcap) * softcap;
                sc[jj] = s;
            }
        }
        __syncthreads();
        float correction = softmax_tile(sc, n, m, l, scratch);
#pragma unroll
        for (int c = 0; c < 8; c++) acc[c] *= correction;
        if (owns) {
            // the slot in shared memory is the tile's last (cur = hi): the unrolled loop stops short of it, the
            // one-key loop after it picks it up
            int nv = cur >= j0 && cur < j0 + n ? cur - j0 : n;
            const S* vl = vb + (long long)j0 * headDim + lane * 8;
            int jj = warp;
            for (; jj + (DEC_UNROLL - 1) * warps < nv; jj += DEC_UNROLL * warps) {
                Raw8<S> v[DEC_UNROLL];
#pragma unroll
                for (int u = 0; u < DEC_UNROLL; u++) v[u].load(vl, (long long)(jj + u * warps) * headDim);
#pragma unroll
                for (int u = 0; u < DEC_UNROLL; u++) axpy8(v[u], sc[jj + u * warps], acc);
            }
            for (; jj < n; jj += warps) {
                int j = j0 + jj;
                Raw8<S> v;
                if (j == cur) v.near(vs, lane * 8);
                else v.load(vb + (long long)j * headDim, lane * 8);
                axpy8(v, sc[jj], acc);
            }
        }
        __syncthreads();                      // sc[] is rewritten by the next tile
    }
    float* o = qy.o;
    unsigned short* o16 = qy.o16;
    if (owns) {
#pragma unroll
        for (int c = 0; c < 8; c++) part[warp][lane * 8 + c] = acc[c];
    }
    __syncthreads();
    for (int d = threadIdx.x; d < headDim; d += blockDim.x) {
        float s = 0.f;
        for (int w = 0; w < warps; w++) s += part[w][d];
        o[d] = s / l;
        if (o16 != 0) o16[d] = f32_to_bf16(s / l);
    }
}

extern "C" __global__ void attention_decode_f32(const float* q, const float* kc, const float* vc, const int* padLeft,
                                                float* out, unsigned short* out16, int heads, int kvHeads, int headDim, int capacity,
                                                const int* past, float scale, float softcap, int window) {
    pdl_begin();
    attend_decode(q, (const float*)0, kc, vc, (float*)0, (float*)0, padLeft, out, out16, heads, kvHeads, headDim, capacity,
                  past, scale, softcap, window);
}

// 3 blocks of 256 threads per multiprocessor: nvcc sm_90 fits it in 80 registers without spilling (96 unbounded).
extern "C" __global__ void __launch_bounds__(256, 3) attention_decode_bf16(const float* q, const unsigned short* kc, const unsigned short* vc,
                                                 const int* padLeft, float* out, unsigned short* out16, int heads, int kvHeads, int headDim,
                                                 int capacity, const int* past, float scale, float softcap,
                                                 int window) {
    pdl_begin();
    attend_decode(q, (const float*)0, kc, vc, (unsigned short*)0, (unsigned short*)0, padLeft, out, out16, heads, kvHeads,
                  headDim, capacity, past, scale, softcap, window);
}

// The packed projection's decode step, rotary and cache write fused in (see attend_decode): qkv [B, 1, (heads + 2
// kvHeads) * headDim], table [B, headDim].
extern "C" __global__ void attention_decode_rope_f32(const float* qkv, const float* table, float* kc, float* vc,
                                                     const int* padLeft, float* out, unsigned short* out16, int heads,
                                                     int kvHeads, int headDim, int capacity, const int* past, float scale,
                                                     float softcap, int window) {
    pdl_begin();
    attend_decode(qkv, table, (const float*)kc, (const float*)vc, kc, vc, padLeft, out, out16, heads, kvHeads, headDim,
                  capacity, past, scale, softcap, window);
}

extern "C" __global__ void __launch_bounds__(256, 3) attention_decode_rope_bf16(const float* qkv, const float* table,
                                                                              unsigned short* kc, unsigned short* vc,
                                                                              const int* padLeft, float* out,
                                                                              unsigned short* out16, int heads, int kvHeads,
                                                                              int headDim, int capacity, const int* past,
                                                                              float scale, float softcap, int window) {
    pdl_begin();
    attend_decode(qkv, table, (const unsigned short*)kc, (const unsigned short*)vc, kc, vc, padLeft, out, out16, heads,
                  kvHeads, headDim, capacity, past, scale, softcap, window);
}
