// The residual hook, fused: one block per (b, t) row of h [B, T, H].
//   norms[row] = ||h[row]||_2, BEFORE the add (skipped when norms is null);
//   out[row]   = h[row] + mask[row] * delta[b]  (skipped when out is null: an unsteered batch only pays the norms).
// A row whose mask is 0 is a plain copy, so unsteered rows of a steered batch cost one read and one write.
#include "common.cuh"

extern "C" __global__ void steer_f32(const float* h, const float* delta, const float* mask, float* out, float* norms,
                                     int steps, int hidden) {
    __shared__ float scratch[32];
    long long row = blockIdx.x;
    long long b = row / steps;
    const float* hr = h + row * hidden;
    if (norms != 0) {
        float ss = 0.f;
        for (int j = threadIdx.x; j < hidden; j += blockDim.x) ss += hr[j] * hr[j];
        ss = block_sum(ss, scratch);
        if (threadIdx.x == 0) norms[row] = sqrtf(ss);
    }
    if (out != 0) {
        float m = mask[row];
        float* o = out + row * hidden;
        if (m == 0.f) {
            for (int j = threadIdx.x; j < hidden; j += blockDim.x) o[j] = hr[j];
        } else {
            const float* d = delta + b * hidden;
            for (int j = threadIdx.x; j < hidden; j += blockDim.x) o[j] = hr[j] + m * d[j];
        }
    }
}
