// Rotary embedding, rotate-half convention: for i < half, with c = cos, s = sin of angle(pos, i),
//   out[i] = x[i] c - x[i + half] s,   out[i + half] = x[i + half] c + x[i] s.
// x, out: [rows, heads * headDim]; table: [rows, headDim], cos in the first half of a row, sin in the second.
#include "common.cuh"

extern "C" __global__ void rope_f32(const float* x, const float* table, float* out, int heads, int headDim) {
    long long r = blockIdx.x;
    int half = headDim / 2;
    const float* cs = table + r * headDim;
    const float* xr = x + r * heads * headDim;
    float* o = out + r * heads * headDim;
    for (int idx = threadIdx.x; idx < heads * half; idx += blockDim.x) {
        int h = idx / half, i = idx % half;
        int a = h * headDim + i, b = a + half;
        float c = cs[i], s = cs[half + i];
        float x1 = xr[a], x2 = xr[b];
        o[a] = x1 * c - x2 * s;
        o[b] = x2 * c + x1 * s;
    }
}

// Packed q/k/v [rows, (heads + 2 kvHeads) * headDim] -> q [rows, heads * headDim] and k [rows, kvHeads * headDim],
// both rotated as rope_f32, and v [rows, kvHeads * headDim] copied: one pass instead of two rotations and the
// slicing of the packed projection's output. One block per row.
extern "C" __global__ void rope_split_f32(const float* qkv, const float* table, float* q, float* k, float* v, int heads,
                                          int kvHeads, int headDim) {
    long long r = blockIdx.x;
    int half = headDim / 2;
    int qw = heads * headDim, kw = kvHeads * headDim;
    const float* cs = table + r * headDim;
    const float* src = qkv + r * (qw + 2 * kw);
    for (int idx = threadIdx.x; idx < (heads + kvHeads) * half; idx += blockDim.x) {
        int h = idx / half, i = idx % half;
        bool isQ = h < heads;
        int a = (isQ ? h : h - heads) * headDim + i, b = a + half;
        const float* xr = isQ ? src : src + qw;
        float* o = isQ ? q + r * qw : k + r * kw;
        float c = cs[i], s = cs[half + i];
        float x1 = xr[a], x2 = xr[b];
        o[a] = x1 * c - x2 * s;
        o[b] = x2 * c + x1 * s;
    }
    for (int j = threadIdx.x; j < kw; j += blockDim.x) v[r * kw + j] = src[qw + kw + j];
}

// rope_split_f32 with the keys and values written straight into the KV cache (the layout of attention.cu's
// kv_write: [B, kvHeads, capacity, headDim] per layer, float32 or bf16, slots from *pastPtr on): no k and v
// tensors, no separate cache-write pass. q [rows, heads * headDim] as rope_split_f32; rows = B * steps.
template <typename S>
__device__ void rope_split_cache(const float* qkv, const float* table, float* q, S* kc, S* vc, int steps, int heads,
                                 int kvHeads, int headDim, int capacity, const int* pastPtr) {
    long long r = blockIdx.x;
    long long b = r / steps, t = r % steps;
    int past = *pastPtr;
    int half = headDim / 2;
    int qw = heads * headDim, kw = kvHeads * headDim;
    const float* cs = table + r * headDim;
    const float* src = qkv + r * (qw + 2 * kw);
    for (int idx = threadIdx.x; idx < (heads + kvHeads) * half; idx += blockDim.x) {
        int h = idx / half, i = idx % half;
        float c = cs[i], s = cs[half + i];
        if (h < heads) {
            int a = h * headDim + i, bb = a + half;
            float x1 = src[a], x2 = src[bb];
            q[r * qw + a] = x1 * c - x2 * s;
            q[r * qw + bb] = x2 * c + x1 * s;
        } else {
            int kh = h - heads;
            const float* kr = src + qw + kh * headDim;
            long long slot = ((b * kvHeads + kh) * capacity + past + t) * headDim;
            float x1 = kr[i], x2 = kr[i + half];
            store_f(kc, slot + i, x1 * c - x2 * s);
            store_f(kc, slot + i + half, x2 * c + x1 * s);
        }
    }
    for (int j = threadIdx.x; j < kw; j += blockDim.x) {
        int h = j / headDim, d = j % headDim;
        store_f(vc, ((b * kvHeads + h) * capacity + past + t) * headDim + d, src[qw + kw + j]);
    }
}

extern "C" __global__ void rope_split_cache_f32(const float* qkv, const float* table, float* q, float* kc, float* vc, int steps,
                                                int heads, int kvHeads, int headDim, int capacity, const int* past) {
    rope_split_cache(qkv, table, q, kc, vc, steps, heads, kvHeads, headDim, capacity, past);
}

extern "C" __global__ void rope_split_cache_bf16(const float* qkv, const float* table, float* q, unsigned short* kc,
                                                 unsigned short* vc, int steps, int heads, int kvHeads, int headDim,
                                                 int capacity, const int* past) {
    rope_split_cache(qkv, table, q, kc, vc, steps, heads, kvHeads, headDim, capacity, past);
}
