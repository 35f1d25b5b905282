// y[m, n] = x[m, k] . W[n, k]^T for a few rows (m <= 8): the decode-time linear layer, which is pure weight
// streaming. A block of W warps owns C consecutive output columns and splits k across all its 32 W threads in
// 16-byte chunks (8 bf16); each thread keeps 2 C weight loads in flight (two chunks of each of its C columns)
// before any arithmetic, and every weight chunk is applied to all m rows of x, so the weights are read once per
// step whatever the batch. Partial sums meet in a warp shuffle, then across the block's warps in shared memory.
// x comes rounded to bf16 (as cuBLAS's bf16 path gets it); accumulation is float32, so the numbers equal the
// cuBLAS path up to summation order. Needs k % 8 == 0 and 16-byte aligned rows (checked by the caller).
//
// The best (C, W) depends on the card and the shape (few long rows vs many short ones), so the backend times
// each instantiation below against cuBLAS for every shape it meets and keeps the fastest (LinearPlan.java).
// R is the most rows an instantiation serves (m <= R); registers grow with R x C.
//
// History: a first version read x as float32 and rounded it per element (ALU-bound, 20 us per call at batch 1);
// the second gave each warp one column (one 16-byte load per lane in flight per row of x, 9 per lane over k = 2304)
// and tied cuBLAS at batch 1 on an H200, lost 2x at batch 8 (BENCHMARKS.md, device runs 4 and 5).
#include "common.cuh"

__device__ __forceinline__ float bf16_dot8(uint4 a, uint4 b, float s) {
    s += __uint_as_float(a.x << 16) * __uint_as_float(b.x << 16);
    s += __uint_as_float(a.x & 0xffff0000u) * __uint_as_float(b.x & 0xffff0000u);
    s += __uint_as_float(a.y << 16) * __uint_as_float(b.y << 16);
    s += __uint_as_float(a.y & 0xffff0000u) * __uint_as_float(b.y & 0xffff0000u);
    s += __uint_as_float(a.z << 16) * __uint_as_float(b.z << 16);
    s += __uint_as_float(a.z & 0xffff0000u) * __uint_as_float(b.z & 0xffff0000u);
    s += __uint_as_float(a.w << 16) * __uint_as_float(b.w << 16);
    s += __uint_as_float(a.w & 0xffff0000u) * __uint_as_float(b.w & 0xffff0000u);
    return s;
}

// x: [m, k] bf16, w: [n, k] bf16, y: [m, n] float32. Grid: ceil(n / C) blocks of 32 W threads.
// GELU (the packed gate/up projection, n = 2 I, gate rows then up rows): the block's C weight rows are P = C / 2 gate
// rows and the P up rows that pair with them, and it writes y [m, I] = gelu_tanh(gate) * up (and y16, its bf16
// copy, when non-null) instead of the projection: the same weight streaming and the same sums (each column's
// partials meet in the same order), without the [m, 2 I] output's round trip and the gelu kernel's launch.
// Grid: ceil(I / P) blocks.
template <int R, int C, int W, bool GELU>
__device__ __forceinline__ void gemv_tile(const unsigned short* __restrict__ x, const unsigned short* __restrict__ w,
                                          float* __restrict__ y, unsigned short* __restrict__ y16, int m, int n, int k) {
    __shared__ float partial[W][R * C];
    const int threads = 32 * W;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int P = GELU ? C / 2 : C;                  // output columns per block
    const int outN = GELU ? n / 2 : n;
    const int col0 = blockIdx.x * P;
    const int chunks = k >> 3;
    const uint4* xs = (const uint4*)x;
    const uint4* wr[C];
#pragma unroll
    for (int c = 0; c < C; c++) {
        int j = col0 + (GELU ? c % P : c);
        if (j >= outN) j = outN - 1;                 // a partial last tile re-reads the last column, never stores it
        int row = GELU && c >= P ? outN + j : j;
        wr[c] = (const uint4*)(w + (long long)row * k);
    }
    float acc[R][C];
#pragma unroll
    for (int r = 0; r < R; r++)
#pragma unroll
        for (int c = 0; c < C; c++) acc[r][c] = 0.f;

    int i = threadIdx.x;
    for (; i + threads < chunks; i += 2 * threads) {
        uint4 a[C], b[C];
#pragma unroll
        for (int c = 0; c < C; c++) {
            a[c] = __ldg(wr[c] + i);
            b[c] = __ldg(wr[c] + i + threads);
        }
#pragma unroll
        for (int r = 0; r < R; r++) {
            if (r < m) {
                uint4 xa = __ldg(xs + (long long)r * chunks + i);
                uint4 xb = __ldg(xs + (long long)r * chunks + i + threads);
#pragma unroll
                for (int c = 0; c < C; c++) acc[r][c] = bf16_dot8(xb, b[c], bf16_dot8(xa, a[c], acc[r][c]));
            }
        }
    }
    if (i < chunks) {
        uint4 a[C];
#pragma unroll
        for (int c = 0; c < C; c++) a[c] = __ldg(wr[c] + i);
#pragma unroll
        for (int r = 0; r < R; r++) {
            if (r < m) {
                uint4 xa = __ldg(xs + (long long)r * chunks + i);
#pragma unroll
                for (int c = 0; c < C; c++) acc[r][c] = bf16_dot8(xa, a[c], acc[r][c]);
            }
        }
    }

#pragma unroll
    for (int r = 0; r < R; r++)
#pragma unroll
        for (int c = 0; c < C; c++) {
            float s = warp_sum(acc[r][c]);
            if (lane == 0) partial[warp][r * C + c] = s;
        }
    __syncthreads();
    if (!GELU && threadIdx.x < R * C) {
        int r = threadIdx.x / C, c = threadIdx.x % C;
        float s = 0.f;
#pragma unroll
        for (int v = 0; v < W; v++) s += partial[v][threadIdx.x];
        if (r < m && col0 + c < n) y[(long long)r * n + col0 + c] = s;
    }
    if (GELU && threadIdx.x < R * P) {
        int r = threadIdx.x / P, c = threadIdx.x % P;
        float g = 0.f, u = 0.f;
#pragma unroll
        for (int v = 0; v < W; v++) {
            g += partial[v][r * C + c];
            u += partial[v][r * C + P + c];
        }
        if (r < m && col0 + c < outN) {
            float val = gelu_tanh_mul(g, u);
            y[(long long)r * outN + col0 + c] = val;
            if (y16 != 0) y16[(long long)r * outN + col0 + c] = f32_to_bf16(val);
        }
    }
}

// gemv_r<R>_c<C>_w<W>: the instantiations LinearPlan.java may choose from (keep the two lists in step).
extern "C" __global__ void gemv_r1_c1_w4(const unsigned short* x, const unsigned short* w, float* y, int m, int n, int k) { pdl_begin(); gemv_tile<1, 1, 4, false>(x, w, y, 0, m, n, k); }
extern "C" __global__ void gemv_r1_c2_w4(const unsigned short* x, const unsigned short* w, float* y, int m, int n, int k) { pdl_begin(); gemv_tile<1, 2, 4, false>(x, w, y, 0, m, n, k); }
extern "C" __global__ void gemv_r1_c4_w4(const unsigned short* x, const unsigned short* w, float* y, int m, int n, int k) { pdl_begin(); gemv_tile<1, 4, 4, false>(x, w, y, 0, m, n, k); }
extern "C" __global__ void gemv_r1_c2_w8(const unsigned short* x, const unsigned short* w, float* y, int m, int n, int k) { pdl_begin(); gemv_tile<1, 2, 8, false>(x, w, y, 0, m, n, k); }
extern "C" __global__ void gemv_r1_c4_w2(const unsigned short* x, const unsigned short* w, float* y, int m, int n, int k) { pdl_begin(); gemv_tile<1, 4, 2, false>(x, w, y, 0, m, n, k); }
extern "C" __global__ void gemv_r1_c8_w1(const unsigned short* x, const unsigned short* w, float* y, int m, int n, int k) { pdl_begin(); gemv_tile<1, 8, 1, false>(x, w, y, 0, m, n, k); }
extern "C" __global__ void gemv_r1_c8_w2(const unsigned short* x, const unsigned short* w, float* y, int m, int n, int k) { pdl_begin(); gemv_tile<1, 8, 2, false>(x, w, y, 0, m, n, k); }
extern "C" __global__ void gemv_r2_c2_w4(const unsigned short* x, const unsigned short* w, float* y, int m, int n, int k) { pdl_begin(); gemv_tile<2, 2, 4, false>(x, w, y, 0, m, n, k); }
extern "C" __global__ void gemv_r2_c4_w4(const unsigned short* x, const unsigned short* w, float* y, int m, int n, int k) { pdl_begin(); gemv_tile<2, 4, 4, false>(x, w, y, 0, m, n, k); }
extern "C" __global__ void gemv_r2_c4_w2(const unsigned short* x, const unsigned short* w, float* y, int m, int n, int k) { pdl_begin(); gemv_tile<2, 4, 2, false>(x, w, y, 0, m, n, k); }
extern "C" __global__ void gemv_r2_c8_w1(const unsigned short* x, const unsigned short* w, float* y, int m, int n, int k) { pdl_begin(); gemv_tile<2, 8, 1, false>(x, w, y, 0, m, n, k); }
extern "C" __global__ void gemv_r4_c2_w4(const unsigned short* x, const unsigned short* w, float* y, int m, int n, int k) { pdl_begin(); gemv_tile<4, 2, 4, false>(x, w, y, 0, m, n, k); }
extern "C" __global__ void gemv_r4_c4_w4(const unsigned short* x, const unsigned short* w, float* y, int m, int n, int k) { pdl_begin(); gemv_tile<4, 4, 4, false>(x, w, y, 0, m, n, k); }
extern "C" __global__ void gemv_r4_c4_w2(const unsigned short* x, const unsigned short* w, float* y, int m, int n, int k) { pdl_begin(); gemv_tile<4, 4, 2, false>(x, w, y, 0, m, n, k); }
extern "C" __global__ void gemv_r8_c2_w4(const unsigned short* x, const unsigned short* w, float* y, int m, int n, int k) { pdl_begin(); gemv_tile<8, 2, 4, false>(x, w, y, 0, m, n, k); }
extern "C" __global__ void gemv_r8_c4_w4(const unsigned short* x, const unsigned short* w, float* y, int m, int n, int k) { pdl_begin(); gemv_tile<8, 4, 4, false>(x, w, y, 0, m, n, k); }
extern "C" __global__ void gemv_r8_c4_w2(const unsigned short* x, const unsigned short* w, float* y, int m, int n, int k) { pdl_begin(); gemv_tile<8, 4, 2, false>(x, w, y, 0, m, n, k); }

// gemv_gelu_r<R>_c<C>_w<W>: the fused gate/up form of each instantiation with C >= 2 (the backend uses it where the
// plan chose gemv_r<R>_c<C>_w<W> for the packed gate/up projection).
extern "C" __global__ void gemv_gelu_r1_c2_w4(const unsigned short* x, const unsigned short* w, float* y, unsigned short* y16, int m, int n, int k) { pdl_begin(); gemv_tile<1, 2, 4, true>(x, w, y, y16, m, n, k); }
extern "C" __global__ void gemv_gelu_r1_c4_w4(const unsigned short* x, const unsigned short* w, float* y, unsigned short* y16, int m, int n, int k) { pdl_begin(); gemv_tile<1, 4, 4, true>(x, w, y, y16, m, n, k); }
extern "C" __global__ void gemv_gelu_r1_c2_w8(const unsigned short* x, const unsigned short* w, float* y, unsigned short* y16, int m, int n, int k) { pdl_begin(); gemv_tile<1, 2, 8, true>(x, w, y, y16, m, n, k); }
extern "C" __global__ void gemv_gelu_r1_c4_w2(const unsigned short* x, const unsigned short* w, float* y, unsigned short* y16, int m, int n, int k) { pdl_begin(); gemv_tile<1, 4, 2, true>(x, w, y, y16, m, n, k); }
extern "C" __global__ void gemv_gelu_r1_c8_w1(const unsigned short* x, const unsigned short* w, float* y, unsigned short* y16, int m, int n, int k) { pdl_begin(); gemv_tile<1, 8, 1, true>(x, w, y, y16, m, n, k); }
extern "C" __global__ void gemv_gelu_r1_c8_w2(const unsigned short* x, const unsigned short* w, float* y, unsigned short* y16, int m, int n, int k) { pdl_begin(); gemv_tile<1, 8, 2, true>(x, w, y, y16, m, n, k); }
extern "C" __global__ void gemv_gelu_r2_c2_w4(const unsigned short* x, const unsigned short* w, float* y, unsigned short* y16, int m, int n, int k) { pdl_begin(); gemv_tile<2, 2, 4, true>(x, w, y, y16, m, n, k); }
extern "C" __global__ void gemv_gelu_r2_c4_w4(const unsigned short* x, const unsigned short* w, float* y, unsigned short* y16, int m, int n, int k) { pdl_begin(); gemv_tile<2, 4, 4, true>(x, w, y, y16, m, n, k); }
extern "C" __global__ void gemv_gelu_r2_c4_w2(const unsigned short* x, const unsigned short* w, float* y, unsigned short* y16, int m, int n, int k) { pdl_begin(); gemv_tile<2, 4, 2, true>(x, w, y, y16, m, n, k); }
extern "C" __global__ void gemv_gelu_r2_c8_w1(const unsigned short* x, const unsigned short* w, float* y, unsigned short* y16, int m, int n, int k) { pdl_begin(); gemv_tile<2, 8, 1, true>(x, w, y, y16, m, n, k); }
extern "C" __global__ void gemv_gelu_r4_c2_w4(const unsigned short* x, const unsigned short* w, float* y, unsigned short* y16, int m, int n, int k) { pdl_begin(); gemv_tile<4, 2, 4, true>(x, w, y, y16, m, n, k); }
extern "C" __global__ void gemv_gelu_r4_c4_w4(const unsigned short* x, const unsigned short* w, float* y, unsigned short* y16, int m, int n, int k) { pdl_begin(); gemv_tile<4, 4, 4, true>(x, w, y, y16, m, n, k); }
extern "C" __global__ void gemv_gelu_r4_c4_w2(const unsigned short* x, const unsigned short* w, float* y, unsigned short* y16, int m, int n, int k) { pdl_begin(); gemv_tile<4, 4, 2, true>(x, w, y, y16, m, n, k); }
extern "C" __global__ void gemv_gelu_r8_c2_w4(const unsigned short* x, const unsigned short* w, float* y, unsigned short* y16, int m, int n, int k) { pdl_begin(); gemv_tile<8, 2, 4, true>(x, w, y, y16, m, n, k); }
extern "C" __global__ void gemv_gelu_r8_c4_w4(const unsigned short* x, const unsigned short* w, float* y, unsigned short* y16, int m, int n, int k) { pdl_begin(); gemv_tile<8, 4, 4, true>(x, w, y, y16, m, n, k); }
extern "C" __global__ void gemv_gelu_r8_c4_w2(const unsigned short* x, const unsigned short* w, float* y, unsigned short* y16, int m, int n, int k) { pdl_begin(); gemv_tile<8, 4, 2, true>(x, w, y, y16, m, n, k); }
