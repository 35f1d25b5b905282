// Greedy token choice: out[r] = index of the largest logit of row r (ties: lowest index; NaN never wins),
// one block per row.
#include "common.cuh"

__device__ __forceinline__ void better(float& v, int& i, float ov, int oi) {
    if (ov > v || (ov == v && oi < i)) { v = ov; i = oi; }
}

// four consecutive logits from index i, in ascending order
__device__ __forceinline__ void consider4(float4 a, int i, float& best, int& idx) {
    if (a.x > best) { best = a.x; idx = i; }
    if (a.y > best) { best = a.y; idx = i + 1; }
    if (a.z > best) { best = a.z; idx = i + 2; }
    if (a.w > best) { best = a.w; idx = i + 3; }
}

extern "C" __global__ void argmax_f32(const float* x, int* out, int n) {
    pdl_begin();
    __shared__ float vals[32];
    __shared__ int idxs[32];
    const float* xr = x + (long long)blockIdx.x * n;
    float best = NEG_INF;
    int idx = 0x7fffffff;
    // Each thread visits its indices in ascending order: strict > keeps the lowest index of a tie.
    if (ROW_VECTORS && (n & 3) == 0 && aligned16(xr)) {
        // 4 x 16-byte loads in flight per thread: a row of 256,000 logits is ~16 waits on memory deep, not 250
        // (at batch 1 this is one block)
        const float4* x4 = (const float4*)xr;
        int n4 = n >> 2, j = threadIdx.x, step = blockDim.x;
        for (; j + 3 * step < n4; j += 4 * step) {
            float4 a[4];
#pragma unroll
            for (int u = 0; u < 4; u++) a[u] = x4[j + u * step];
#pragma unroll
            for (int u = 0; u < 4; u++) consider4(a[u], 4 * (j + u * step), best, idx);
        }
        for (; j < n4; j += step) consider4(x4[j], 4 * j, best, idx);
    } else {
        for (int j = threadIdx.x; j < n; j += blockDim.x) {
            float v = xr[j];
            if (v > best) { best = v; idx = j; }
        }
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
