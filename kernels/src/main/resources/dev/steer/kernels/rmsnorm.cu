// Gemma RMSNorm in float32: out = x / sqrt(mean(x^2) + eps) * (1 + w), one block per row of n features.
// out16 non-null: the same values rounded to bf16 as well, the operand of the bf16 GEMM that reads them next
// (so no separate to_bf16 pass).
#include "common.cuh"

extern "C" __global__ void rmsnorm_f32(const float* x, const float* w, float* out, unsigned short* out16, int n, float eps) {
    pdl_begin();
    __shared__ float scratch[32];
    const float* xr = x + (long long)blockIdx.x * n;
    float* o = out + (long long)blockIdx.x * n;
    float ss = 0.f;
    for (int j = threadIdx.x; j < n; j += blockDim.x) ss += xr[j] * xr[j];
    ss = block_sum(ss, scratch);
    // 1/sqrtf rather than rsqrtf: rsqrtf is 2 ulp, and the reference check is at 1e-5.
    float inv = 1.f / sqrtf(ss / n + eps);
    for (int j = threadIdx.x; j < n; j += blockDim.x) {
        float v = xr[j] * inv * (1.f + w[j]);
        o[j] = v;
        if (out16 != 0) out16[(long long)blockIdx.x * n + j] = f32_to_bf16(v);
    }
}

// The residual add between two norms, fused (Gemma's post-attention block ending, the MLP block's start):
//   res  = h + rmsnorm(x, wPost)
//   norm = rmsnorm(res, wPre)     (and norm16 = bf16(norm) when non-null)
// one block per row; each thread re-reads only the res values it wrote itself.
extern "C" __global__ void add_rmsnorm_f32(const float* h, const float* x, const float* wPost, const float* wPre, float* res,
                                           float* norm, unsigned short* norm16, int n, float eps) {
    pdl_begin();
    __shared__ float scratch[32];
    long long row = (long long)blockIdx.x * n;
    float ss = 0.f;
    for (int j = threadIdx.x; j < n; j += blockDim.x) ss += x[row + j] * x[row + j];
    ss = block_sum(ss, scratch);
    float inv = 1.f / sqrtf(ss / n + eps);
    float ss2 = 0.f;
    for (int j = threadIdx.x; j < n; j += blockDim.x) {
        float r = h[row + j] + x[row + j] * inv * (1.f + wPost[j]);
        res[row + j] = r;
        ss2 += r * r;
    }
    ss2 = block_sum(ss2, scratch);
    float inv2 = 1.f / sqrtf(ss2 / n + eps);
    for (int j = threadIdx.x; j < n; j += blockDim.x) {
        float v = res[row + j] * inv2 * (1.f + wPre[j]);
        norm[row + j] = v;
        if (norm16 != 0) norm16[row + j] = f32_to_bf16(v);
    }
}
