// Shared device helpers for every kernel family. No system headers: NVRTC compiles these without include paths.
// bf16 is stored as unsigned short, the top half of an IEEE float32.
#pragma once

#define NEG_INF __int_as_float(0xff800000)

// Programmatic dependent launch (Hopper, sm_90+), the first statement of every kernel: wait until the kernel
// before this one in the stream has completed and its writes are visible, then let the next kernel's blocks be
// scheduled (they wait in turn in their own first statement). With the launch attribute on (STEER_PDL=1), a
// kernel's launch and block set-up overlap the previous kernel's last wave; without it, or before sm_90, or in
// the CPU emulator, both instructions are no-ops. A kernel that read or wrote memory before this call would race
// with its predecessor: a source check (KernelCompileCheckTest) keeps it first.
__device__ __forceinline__ void pdl_begin() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
    asm volatile("griddepcontrol.launch_dependents;" :::);
#endif
}

__device__ __forceinline__ float bf16_to_f32(unsigned short h) {
    return __uint_as_float(((unsigned int)h) << 16);
}

// Round to nearest even, NaN stays a (quiet) NaN: the same rule as Bf16.fromFloat on the host.
__device__ __forceinline__ unsigned short f32_to_bf16(float f) {
    unsigned int u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (unsigned short)(u >> 16);
}

__device__ __forceinline__ float load_f(const float* p, long long i) { return p[i]; }
__device__ __forceinline__ float load_f(const unsigned short* p, long long i) { return bf16_to_f32(p[i]); }
__device__ __forceinline__ void store_f(float* p, long long i, float v) { p[i] = v; }
__device__ __forceinline__ void store_f(unsigned short* p, long long i, float v) { p[i] = f32_to_bf16(v); }

// Rotary embedding of one pair (rotate-half convention, rope.cu): o1 = x1 c - x2 s, o2 = x2 c + x1 s.
__device__ __forceinline__ void rotate(float x1, float x2, float c, float s, float& o1, float& o2) {
    o1 = x1 * c - x2 * s;
    o2 = x2 * c + x1 * s;
}

// gelu_tanh(g) * u, gelu_tanh(g) = 0.5 g (1 + tanh(sqrt(2/pi) (g + 0.044715 g^3))), as torch's approximate="tanh"
// (elementwise.cu, and gemv.cu's fused gate/up epilogue: one expression, so both give the same bits).
__device__ __forceinline__ float gelu_tanh_mul(float g, float u) {
    const float k = 0.7978845608028654f;
    return 0.5f * g * (1.f + tanhf(k * (g + 0.044715f * g * g * g))) * u;
}

// A key head's rotary pair (dims d and d + half, rotated by the cos/sin row cs) and its value's same two dims, stored
// as the KV cache stores them (float32, or rounded to bf16) at kc/vc + slot: rope.cu's cache write and the fused
// decode attention's (attention.cu) share it, so both hold the same bits.
template <typename S>
__device__ __forceinline__ void store_kv_pair(const float* kr, const float* vr, const float* cs, int d, int half, S* kc,
                                              S* vc, long long slot) {
    float k1, k2;
    rotate(kr[d], kr[d + half], cs[d], cs[half + d], k1, k2);
    store_f(kc, slot + d, k1);
    store_f(kc, slot + d + half, k2);
    store_f(vc, slot + d, vr[d]);
    store_f(vc, slot + d + half, vr[d + half]);
}

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum over the block, returned to every thread. blockDim.x must be a multiple of 32; scratch holds 32 floats.
// The leading barrier lets one scratch array serve consecutive reductions.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    return warp_sum(lane < warps ? scratch[lane] : 0.f);
}

__device__ __forceinline__ float block_max(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    return warp_max(lane < warps ? scratch[lane] : NEG_INF);
}

// A row held in registers, for the one-block-per-row kernels (norms, the steering hook): thread t holds the row's
// float4 chunks t, t + blockDim, ... (at most ROW_CHUNKS), all loaded before any is used. At batch 1 such a
// kernel is a single block, and a loop that loads one element, uses it, then loads the next waits on memory once
// per element; this way it waits once per pass. Rows of up to 4 * ROW_CHUNKS * blockDim features whose length is
// a multiple of 4 and whose pointers are 16-byte aligned (row_fits, aligned16) take this path; others keep the
// element loops.
// STEER_SCALAR_ROWS (defined with STEER_ROW_VECTORS=0, KernelSource.defines): never, and argmax's float4 loop is
// off too: the element loops of device run 5.
#define ROW_CHUNKS 4
#ifdef STEER_SCALAR_ROWS
#define ROW_VECTORS false
#else
#define ROW_VECTORS true
#endif

__device__ __forceinline__ bool row_fits(int n) { return ROW_VECTORS && (n & 3) == 0 && (n >> 2) <= ROW_CHUNKS * (int)blockDim.x; }

// 16-byte aligned (null is too: an absent operand does not decide the path)
__device__ __forceinline__ bool aligned16(const void* p) { return ((unsigned long long)p & 15ull) == 0; }

// v[c] = chunk threadIdx.x + c * blockDim.x of p, zeros past n4 chunks
__device__ __forceinline__ void load_row(const float* p, int n4, float4* v) {
#pragma unroll
    for (int c = 0; c < ROW_CHUNKS; c++) {
        int j = threadIdx.x + c * blockDim.x;
        if (j < n4) {
            v[c] = ((const float4*)p)[j];
        } else {
            v[c].x = 0.f; v[c].y = 0.f; v[c].z = 0.f; v[c].w = 0.f;
        }
    }
}

// the thread's chunks back to p, and rounded to bf16 into p16 when non-null
__device__ __forceinline__ void store_row(float* p, unsigned short* p16, int n4, const float4* v) {
#pragma unroll
    for (int c = 0; c < ROW_CHUNKS; c++) {
        int j = threadIdx.x + c * blockDim.x;
        if (j < n4) {
            ((float4*)p)[j] = v[c];
            if (p16 != 0) {
                p16[4 * j] = f32_to_bf16(v[c].x); p16[4 * j + 1] = f32_to_bf16(v[c].y);
                p16[4 * j + 2] = f32_to_bf16(v[c].z); p16[4 * j + 3] = f32_to_bf16(v[c].w);
            }
        }
    }
}

// this thread's part of the row's sum of squares
__device__ __forceinline__ float row_sumsq(const float4* v) {
    float s = 0.f;
#pragma unroll
    for (int c = 0; c < ROW_CHUNKS; c++) s += v[c].x * v[c].x + v[c].y * v[c].y + v[c].z * v[c].z + v[c].w * v[c].w;
    return s;
}

// x * inv * (1 + w), per element (Gemma's RMSNorm scale)
__device__ __forceinline__ float4 norm_scale(float4 x, float inv, float4 w) {
    float4 o;
    o.x = x.x * inv * (1.f + w.x); o.y = x.y * inv * (1.f + w.y);
    o.z = x.z * inv * (1.f + w.z); o.w = x.w * inv * (1.f + w.w);
    return o;
}
