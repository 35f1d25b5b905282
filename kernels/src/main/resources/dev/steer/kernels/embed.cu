// Embedding gather and scale: out[r, :] = table[ids[r], :] * scale, one block per token row r.
// An id outside [0, vocab) yields a zero row; the model validates token ids before they reach the device.
#include "common.cuh"

template <typename W>
__device__ void embed(const W* table, const int* ids, float* out, int hidden, int vocab, float scale) {
    long long r = blockIdx.x;
    int id = ids[r];
    bool ok = id >= 0 && id < vocab;
    for (int j = threadIdx.x; j < hidden; j += blockDim.x)
        out[r * hidden + j] = ok ? load_f(table, (long long)id * hidden + j) * scale : 0.f;
}

extern "C" __global__ void embed_f32(const float* table, const int* ids, float* out, int hidden, int vocab, float scale) {
    pdl_begin();
    embed(table, ids, out, hidden, vocab, scale);
}

extern "C" __global__ void embed_bf16(const unsigned short* table, const int* ids, float* out, int hidden, int vocab, float scale) {
    pdl_begin();
    embed(table, ids, out, hidden, vocab, scale);
}
