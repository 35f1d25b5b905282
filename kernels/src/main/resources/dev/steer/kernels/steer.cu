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
    if (norms != 0) {
        float ss = 0.f;
        for (int j = threadIdx.x; j < hidden; j += blockDim.x) {
            float x = ur == 0 ? hr[j] : hr[j] + ur[j];
            ss += x * x;
        }
        ss = block_sum(ss, scratch);
        if (threadIdx.x == 0) norms[row] = sqrtf(ss);
    }
    if (out != 0) {
        float m = delta == 0 ? 0.f : mask[row];
        float* o = out + row * hidden;
        const float* d = delta == 0 ? 0 : delta + b * hidden;
        for (int j = threadIdx.x; j < hidden; j += blockDim.x) {
            float x = ur == 0 ? hr[j] : hr[j] + ur[j];
            o[j] = m == 0.f ? x : x + m * d[j];
        }
    }
}
