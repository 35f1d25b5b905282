// Gemma RMSNorm in float32: out = x / sqrt(mean(x^2) + eps) * (1 + w), one block per row of n features.
// out16 non-null: the same values rounded to bf16 as well, the operand of the bf16 GEMM that reads them next
// (so no separate to_bf16 pass).
#include "common.cuh"

extern "C" __global__ void rmsnorm_f32(const float* x, const float* w, float* out, unsigned short* out16, int n, float eps) {
    pdl_begin();
    __shared__ float scratch[32];
    const float* xr = x + (long long)blockIdx.x * n;
    float* o = out + (long long)blockIdx.x * n;
    unsigned short* o16 = out16 == 0 ? 0 : out16 + (long long)blockIdx.x * n;
    if (row_fits(n) && aligned16(xr) && aligned16(w) && aligned16(o)) {
        // the row in registers (common.cuh): one wait on memory for x and w together
        int n4 = n >> 2;
        float4 xv[ROW_CHUNKS], wv[ROW_CHUNKS];
        load_row(xr, n4, xv);
        load_row(w, n4, wv);
        float inv = 1.f / sqrtf(block_sum(row_sumsq(xv), scratch) / n + eps);
#pragma unroll
        for (int c = 0; c < ROW_CHUNKS; c++) xv[c] = norm_scale(xv[c], inv, wv[c]);
        store_row(o, o16, n4, xv);
        return;
    }
    float ss = 0.f;
    for (int j = threadIdx.x; j < n; j += blockDim.x) ss += xr[j] * xr[j];
    ss = block_sum(ss, scratch);
    // 1/sqrtf rather than rsqrtf: rsqrtf is 2 ulp, and the reference check is at 1e-5.
    float inv = 1.f / sqrtf(ss / n + eps);
    for (int j = threadIdx.x; j < n; j += blockDim.x) {
        float v = xr[j] * inv * (1.f + w[j]);
        o[j] = v;
        if (o16 != 0) o16[j] = f32_to_bf16(v);
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
    if (row_fits(n) && aligned16(h + row) && aligned16(x + row) && aligned16(wPost) && aligned16(wPre) && aligned16(res + row)
        && aligned16(norm + row)) {
        // the row in registers (common.cuh): h, x and both weights loaded at once, res never re-read from memory
        int n4 = n >> 2;
        float4 xv[ROW_CHUNKS], hv[ROW_CHUNKS], wa[ROW_CHUNKS], wb[ROW_CHUNKS];
        load_row(x + row, n4, xv);
        load_row(h + row, n4, hv);
        load_row(wPost, n4, wa);
        load_row(wPre, n4, wb);
        float inv = 1.f / sqrtf(block_sum(row_sumsq(xv), scratch) / n + eps);
#pragma unroll
        for (int c = 0; c < ROW_CHUNKS; c++) {
            float4 u = norm_scale(xv[c], inv, wa[c]);
            hv[c].x += u.x; hv[c].y += u.y; hv[c].z += u.z; hv[c].w += u.w;
        }
        store_row(res + row, 0, n4, hv);
        float inv2 = 1.f / sqrtf(block_sum(row_sumsq(hv), scratch) / n + eps);
#pragma unroll
        for (int c = 0; c < ROW_CHUNKS; c++) hv[c] = norm_scale(hv[c], inv2, wb[c]);
        store_row(norm + row, norm16 == 0 ? 0 : norm16 + row, n4, hv);
        return;
    }
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
