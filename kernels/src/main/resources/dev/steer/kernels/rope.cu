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
