// y[m, n] = x[m, k] . W[n, k]^T for a few rows (m <= GEMV_MAX_ROWS): the decode-time linear layer, which is pure
// weight streaming. One warp per output column n reads W's row n once, 8 bf16 at a time (16-byte loads), and
// applies it to every row of x, so the weights are read once per step whatever the batch (up to 8).
// x is float32 and is rounded to bf16 on the fly, so the numbers equal the cuBLAS bf16 path (inputs rounded
// to bf16, float32 accumulation) up to summation order. Needs k % 8 == 0 (16-byte aligned rows).
#include "common.cuh"

#define GEMV_MAX_ROWS 8

extern "C" __global__ void gemv_bf16(const float* x, const unsigned short* w, float* y, int m, int n, int k) {
    int lane = threadIdx.x & 31;
    int col = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (col >= n) return;
    const uint4* wr = (const uint4*)(w + (long long)col * k);
    float acc[GEMV_MAX_ROWS];
#pragma unroll
    for (int r = 0; r < GEMV_MAX_ROWS; r++) acc[r] = 0.f;
    int chunks = k >> 3;
    for (int c = lane; c < chunks; c += 32) {
        uint4 packed = __ldg(wr + c);
        float wf[8];
        wf[0] = __uint_as_float(packed.x << 16); wf[1] = __uint_as_float(packed.x & 0xffff0000u);
        wf[2] = __uint_as_float(packed.y << 16); wf[3] = __uint_as_float(packed.y & 0xffff0000u);
        wf[4] = __uint_as_float(packed.z << 16); wf[5] = __uint_as_float(packed.z & 0xffff0000u);
        wf[6] = __uint_as_float(packed.w << 16); wf[7] = __uint_as_float(packed.w & 0xffff0000u);
#pragma unroll
        for (int r = 0; r < GEMV_MAX_ROWS; r++) {
            if (r < m) {
                const float4* xr = (const float4*)(x + (long long)r * k + c * 8);
                float4 a = __ldg(xr), b = __ldg(xr + 1);
                float s = acc[r];
                s += bf16_to_f32(f32_to_bf16(a.x)) * wf[0];
                s += bf16_to_f32(f32_to_bf16(a.y)) * wf[1];
                s += bf16_to_f32(f32_to_bf16(a.z)) * wf[2];
                s += bf16_to_f32(f32_to_bf16(a.w)) * wf[3];
                s += bf16_to_f32(f32_to_bf16(b.x)) * wf[4];
                s += bf16_to_f32(f32_to_bf16(b.y)) * wf[5];
                s += bf16_to_f32(f32_to_bf16(b.z)) * wf[6];
                s += bf16_to_f32(f32_to_bf16(b.w)) * wf[7];
                acc[r] = s;
            }
        }
    }
#pragma unroll
    for (int r = 0; r < GEMV_MAX_ROWS; r++) {
        if (r < m) {
            float s = warp_sum(acc[r]);
            if (lane == 0) y[(long long)r * n + col] = s;
        }
    }
}
