// y[m, n] = x[m, k] . W[n, k]^T for a few rows (m <= GEMV_MAX_ROWS): the decode-time linear layer, which is pure
// weight streaming. One warp per output column n reads W's row n once, 8 bf16 at a time (16-byte loads), and
// applies it to every row of x, so the weights are read once per step whatever the batch (up to 8).
// x comes rounded to bf16 (as cuBLAS's bf16 path gets it), accumulation is float32: the numbers equal the
// cuBLAS path up to summation order. Needs k % 8 == 0 (16-byte aligned rows).
// (A first version read x as float32 and rounded it per element: ALU-bound, 20 us per call at batch 1 and
// 3x slower than cuBLAS at batch 8 on an H200.)
#include "common.cuh"

#define GEMV_MAX_ROWS 8

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

// x: [m, k] already rounded to bf16 (the backend's to_bf16 copy, shared by q, k and v).
extern "C" __global__ void gemv_bf16(const unsigned short* x, const unsigned short* w, float* y, int m, int n, int k) {
    int lane = threadIdx.x & 31;
    int col = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (col >= n) return;
    const uint4* wr = (const uint4*)(w + (long long)col * k);
    const uint4* xs = (const uint4*)x;
    int chunks = k >> 3;
    float acc[GEMV_MAX_ROWS];
#pragma unroll
    for (int r = 0; r < GEMV_MAX_ROWS; r++) acc[r] = 0.f;
#pragma unroll 4
    for (int c = lane; c < chunks; c += 32) {
        uint4 wv = __ldg(wr + c);
#pragma unroll
        for (int r = 0; r < GEMV_MAX_ROWS; r++)
            if (r < m) acc[r] = bf16_dot8(__ldg(xs + (long long)r * chunks + c), wv, acc[r]);
    }
#pragma unroll
    for (int r = 0; r < GEMV_MAX_ROWS; r++) {
        if (r < m) {
            float s = warp_sum(acc[r]);
            if (lane == 0) y[(long long)r * n + col] = s;
        }
    }
}
