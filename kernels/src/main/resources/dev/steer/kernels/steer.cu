// The residual hook, fused with the layer's last residual add: one block per (b, t) row of h [B, T, H].
//   x          = h[row] + update[row]  (update null: x = h[row])
//   norms[row] = ||x||_2, BEFORE the steering add (skipped when norms is null);
//   out[row]   = x + mask[row] * delta[b]  (delta null: out = x; out null: nothing written, which needs update
//                null too: an unsteered, unfused batch only pays the norms).
// A row whose mask is 0 is a plain copy of x, so unsteered rows of a steered batch cost no more than the add.
#include "common.cuh"

extern "C" __global__ void steer_f32(const float* h, const float* update, const float* delta, const float* mask, float* out,
                                     float* norms, int steps, int hidden) {
    pdl_begin();
    __shared__ float scratch[32];
    long long row = blockIdx.x;
    long long b = row / steps;
    const float* hr = h + row * hidden;
    const float* ur = update == 0 ? 0 : update + row * hidden;
    float* o = out == 0 ? 0 : out + row * hidden;
    const float* d = delta == 0 ? 0 : delta + b * hidden;
    if (row_fits(hidden) && aligned16(hr) && aligned16(ur) && aligned16(o) && aligned16(d)) {
        // the row in registers (common.cuh): h, update and delta loaded at once
        int n4 = hidden >> 2;
        float m = d == 0 ? 0.f : mask[row];
        float4 x[ROW_CHUNKS], v[ROW_CHUNKS];
        load_row(hr, n4, x);
        if (ur != 0) {
            load_row(ur, n4, v);
#pragma unroll
            for (int c = 0; c < ROW_CHUNKS; c++) { x[c].x += v[c].x; x[c].y += v[c].y; x[c].z += v[c].z; x[c].w += v[c].w; }
        }
        if (o != 0 && m != 0.f) load_row(d, n4, v);
        if (norms != 0) {
            float ss = block_sum(row_sumsq(x), scratch);
            if (threadIdx.x == 0) norms[row] = sqrtf(ss);
        }
        if (o != 0) {
            if (m != 0.f) {
#pragma unroll
                for (int c = 0; c < ROW_CHUNKS; c++) {
                    x[c].x += m * v[c].x; x[c].y += m * v[c].y; x[c].z += m * v[c].z; x[c].w += m * v[c].w;
                }
            }
            store_row(o, 0, n4, x);
        }
        return;
    }
    if (norms != 0) {
        float ss = 0.f;
        for (int j = threadIdx.x; j < hidden; j += blockDim.x) {
            float x = ur == 0 ? hr[j] : hr[j] + ur[j];
            ss += x * x;
        }
        ss = block_sum(ss, scratch);
        if (threadIdx.x == 0) norms[row] = sqrtf(ss);
    }
    if (o != 0) {
        float m = d == 0 ? 0.f : mask[row];
        for (int j = threadIdx.x; j < hidden; j += blockDim.x) {
            float x = ur == 0 ? hr[j] : hr[j] + ur[j];
            o[j] = m == 0.f ? x : x + m * d[j];
        }
    }
}
