// Rotary embedding, rotate-half convention: for i < half, with c = cos, s = sin of angle(pos, i),
//   out[i] = x[i] c - x[i + half] s,   out[i + half] = x[i + half] c + x[i] s.
// x, out: [rows, heads * headDim]; table: [rows, headDim], cos in the first half of a row, sin in the second.
#include "common.cuh"

extern "C" __global__ void rope_f32(const float* x, const float* table, float* out, int heads, int headDim) {
    pdl_begin();
    long long r = blockIdx.x;
    int half = headDim / 2;
    const float* cs = table + r * headDim;
    const float* xr = x + r * heads * headDim;
    float* o = out + r * heads * headDim;
    for (int idx = threadIdx.x; idx < heads * half; idx += blockDim.x) {
        int h = idx / half, i = idx % half;
        int a = h * headDim + i, b = a + half;
        float c = cs[i], s = cs[half + i];
        rotate(xr[a], xr[b], c, s, o[a], o[b]);
    }
}

// The packed q/k/v projection [rows, (heads + 2 kvHeads) * headDim] (rows = B * steps): q rotated into
// q [rows, heads * headDim]; the keys rotated and the values copied straight into the KV cache (the layout of
// attention.cu's kv_write: [B, kvHeads, capacity, headDim] per layer, float32 or bf16, slots from *pastPtr on).
// One pass instead of two rotations, the slicing of the packed output and the cache write. One block per (row,
// head: blockIdx.y < heads + kvHeads), so at batch 1 a decode step runs heads + kvHeads blocks, each thread
// rotating one pair (and a kv head's block copying that head's values) with its loads in flight together, not one
// block looping over every head.
template <typename S>
__device__ void rope_split_cache(const float* qkv, const float* table, float* q, S* kc, S* vc, int steps, int heads,
                                 int kvHeads, int headDim, int capacity, const int* pastPtr) {
    long long r = blockIdx.x;
    long long b = r / steps, t = r % steps;
    int h = blockIdx.y;
    int past = *pastPtr;
    int half = headDim / 2;
    int qw = heads * headDim, kw = kvHeads * headDim;
    const float* cs = table + r * headDim;
    const float* src = qkv + r * (qw + 2 * kw);
    if (h < heads) {
        for (int i = threadIdx.x; i < half; i += blockDim.x) {
            int a = h * headDim + i;
            rotate(src[a], src[a + half], cs[i], cs[half + i], q[r * qw + a], q[r * qw + a + half]);
        }
        return;
    }
    int kh = h - heads;
    const float* kr = src + qw + kh * headDim;
    const float* vr = src + qw + kw + kh * headDim;
    long long slot = ((b * kvHeads + kh) * capacity + past + t) * headDim;
    for (int i = threadIdx.x; i < half; i += blockDim.x) store_kv_pair(kr, vr, cs, i, half, kc, vc, slot);
}

extern "C" __global__ void rope_split_cache_f32(const float* qkv, const float* table, float* q, float* kc, float* vc, int steps,
                                                int heads, int kvHeads, int headDim, int capacity, const int* past) {
    pdl_begin();
    rope_split_cache(qkv, table, q, kc, vc, steps, heads, kvHeads, headDim, capacity, past);
}

extern "C" __global__ void rope_split_cache_bf16(const float* qkv, const float* table, float* q, unsigned short* kc,
                                                 unsigned short* vc, int steps, int heads, int kvHeads, int headDim,
                                                 int capacity, const int* past) {
    pdl_begin();
    rope_split_cache(qkv, table, q, kc, vc, steps, heads, kvHeads, headDim, capacity, past);
}
