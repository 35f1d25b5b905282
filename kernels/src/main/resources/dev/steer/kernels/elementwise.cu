// Element-wise ops over n float32 values (grid-stride loops) and small layout moves.
#include "common.cuh"

#define GRID_STRIDE(i, n) for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long long)gridDim.x * blockDim.x)

extern "C" __global__ void add_f32(const float* a, const float* b, float* out, long long n) {
    pdl_begin();
    GRID_STRIDE(i, n) out[i] = a[i] + b[i];
}

// gelu_tanh(g) * u (common.cuh). out16 non-null: also rounded to bf16, the down projection's operand.
extern "C" __global__ void gelu_tanh_mul_f32(const float* gate, const float* up, float* out, unsigned short* out16, long long n) {
    pdl_begin();
    GRID_STRIDE(i, n) {
        float v = gelu_tanh_mul(gate[i], up[i]);
        out[i] = v;
        if (out16 != 0) out16[i] = f32_to_bf16(v);
    }
}

// The same over the packed gate/up projection: gu [rows, 2 * inner] (gate then up) -> out [rows, inner].
extern "C" __global__ void gelu_tanh_mul_packed_f32(const float* gu, float* out, unsigned short* out16, long long inner, long long n) {
    pdl_begin();
    GRID_STRIDE(i, n) {
        long long row = i / inner, c = i % inner;
        float v = gelu_tanh_mul(gu[row * 2 * inner + c], gu[row * 2 * inner + inner + c]);
        out[i] = v;
        if (out16 != 0) out16[i] = f32_to_bf16(v);
    }
}

extern "C" __global__ void softcap_f32(const float* x, float* out, long long n, float cap) {
    pdl_begin();
    GRID_STRIDE(i, n) out[i] = tanhf(x[i] / cap) * cap;
}

// The bf16 operand of a GEMM whose weight is bf16.
extern "C" __global__ void to_bf16(const float* x, unsigned short* out, long long n) {
    pdl_begin();
    GRID_STRIDE(i, n) out[i] = f32_to_bf16(x[i]);
}

// x [B, T, F] -> out [B, F], the last step of every row; one block per row b.
extern "C" __global__ void last_step_f32(const float* x, float* out, int steps, int features) {
    pdl_begin();
    long long b = blockIdx.x;
    const float* src = x + (b * steps + steps - 1) * features;
    for (int f = threadIdx.x; f < features; f += blockDim.x) out[b * features + f] = src[f];
}
