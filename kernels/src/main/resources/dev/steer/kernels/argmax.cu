// Greedy token choice: out[r] = index of the largest logit of row r (ties: lowest index; NaN never wins),
// one block per row.
#include "common.cuh"

__device__ __forceinline__ void better(float& v, int& i, float ov, int oi) {
    if (ov > v || (ov == v && oi < i)) { v = ov; i = oi; }
}

extern "C" __global__ void argmax_f32(const float* x, int* out, int n) {
    pdl_begin();
    __shared__ float vals[32];
    __shared__ int idxs[32];
    const float* xr = x + (long long)blockIdx.x * n;
    float best = NEG_INF;
    int idx = 0x7fffffff;
    for (int j = threadIdx.x; j < n; j += blockDim.x) {
        float v = xr[j];
        if (v > best) { best = v; idx = j; }   // ascending j: strict > keeps the lowest index of a tie
    }
    for (int o = 16; o > 0; o >>= 1) better(best, idx, __shfl_xor_sync(0xffffffffu, best, o), __shfl_xor_sync(0xffffffffu, idx, o));
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    if (lane == 0) { vals[warp] = best; idxs[warp] = idx; }
    __syncthreads();
    if (warp == 0) {
        best = lane < warps ? vals[lane] : NEG_INF;
        idx = lane < warps ? idxs[lane] : 0x7fffffff;
        for (int o = 16; o > 0; o >>= 1) better(best, idx, __shfl_xor_sync(0xffffffffu, best, o), __shfl_xor_sync(0xffffffffu, idx, o));
        // A row of only -inf or NaN: index 0, the answer torch.argmax gives for all -inf.
        if (lane == 0) out[blockIdx.x] = idx == 0x7fffffff ? 0 : idx;
    }
}
