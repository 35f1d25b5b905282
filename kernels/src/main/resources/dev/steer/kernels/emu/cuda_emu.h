// CPU emulation of the CUDA device language subset the kernels use, so the kernel sources run unchanged on a
// host (g++) for tests and machines without a GPU. Each thread of a block is a fiber; a worker (OS) thread runs
// one block at a time, so a `__shared__` variable becomes a `static thread_local` one. __syncthreads() and the
// warp shuffles are barriers of the fiber scheduler (runtime.cpp): a warp shuffle that not every live lane of
// the warp reaches, or a __syncthreads() that not every live thread reaches, stops the launch with an error
// instead of hanging.
#pragma once
#include <math.h>
#include <stdint.h>
#include <string.h>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __shared__ static thread_local
#define __launch_bounds__(...)

// CUDA's vector types, with their alignment (a misaligned vector load faults on a GPU; here it is checked).
struct alignas(16) uint4 { unsigned int x, y, z, w; };
struct alignas(8) uint2 { unsigned int x, y; };
struct alignas(16) float4 { float x, y, z, w; };
struct alignas(8) float2 { float x, y; };
struct alignas(16) int4 { int x, y, z, w; };

struct emu_dim3 {
    unsigned int x, y, z;
};
extern thread_local emu_dim3 threadIdx, blockIdx, blockDim, gridDim;

namespace emu {
void sync_block();
void sync_warp();
uint64_t* warp_slots();
void* dynamic_shared();
void register_kernel(const char* name, void (*fn)(void**));

template <typename T>
inline uint64_t to_bits(T v) {
    static_assert(sizeof(T) <= 8, "shuffle of a value wider than 8 bytes");
    uint64_t b = 0;
    memcpy(&b, &v, sizeof(T));
    return b;
}

template <typename T>
inline T from_bits(uint64_t b) {
    T v;
    memcpy(&v, &b, sizeof(T));
    return v;
}

// Every lane publishes its value, the warp meets once, each lane reads its source. Two slot banks alternate
// between consecutive shuffles, so a lane writing the next shuffle's value cannot overwrite one a slower lane has
// still to read: every lane read this bank before it reached the barrier of the shuffle in between.
template <typename T>
inline T exchange(T v, int (*source)(int lane, int arg), int arg) {
    uint64_t* slots = warp_slots();
    int lane = threadIdx.x & 31;
    slots[lane] = to_bits(v);
    sync_warp();
    int src = source(lane, arg);
    return src < 0 ? v : from_bits<T>(slots[src]);
}
inline int xor_lane(int lane, int mask) { return lane ^ mask; }
inline int down_lane(int lane, int delta) { return lane + delta < 32 ? lane + delta : -1; }
inline int up_lane(int lane, int delta) { return lane - delta >= 0 ? lane - delta : -1; }
inline int fixed_lane(int, int src) { return src & 31; }
}  // namespace emu

inline void __syncthreads() { emu::sync_block(); }
inline void __syncwarp(unsigned = 0xffffffffu) { emu::sync_warp(); }
template <typename T> inline T __shfl_xor_sync(unsigned, T v, int mask, int = 32) { return emu::exchange(v, emu::xor_lane, mask); }
template <typename T> inline T __shfl_down_sync(unsigned, T v, unsigned d, int = 32) { return emu::exchange(v, emu::down_lane, (int)d); }
template <typename T> inline T __shfl_up_sync(unsigned, T v, unsigned d, int = 32) { return emu::exchange(v, emu::up_lane, (int)d); }
template <typename T> inline T __shfl_sync(unsigned, T v, int src, int = 32) { return emu::exchange(v, emu::fixed_lane, src); }

template <typename T> inline T __ldg(const T* p) { return *p; }

inline float __int_as_float(int i) { return emu::from_bits<float>((uint32_t)i); }
inline int __float_as_int(float f) { return (int)(uint32_t)emu::to_bits(f); }
inline float __uint_as_float(unsigned int u) { return emu::from_bits<float>(u); }
inline unsigned int __float_as_uint(float f) { return (uint32_t)emu::to_bits(f); }
inline double __longlong_as_double(long long i) { return emu::from_bits<double>((uint64_t)i); }
inline long long __double_as_longlong(double d) { return (long long)emu::to_bits(d); }

inline float rsqrtf(float x) { return 1.f / sqrtf(x); }
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __saturatef(float x) { return x < 0.f ? 0.f : x > 1.f ? 1.f : x; }
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned int min(unsigned int a, unsigned int b) { return a < b ? a : b; }
inline unsigned int max(unsigned int a, unsigned int b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }

// Blocks run on several worker threads at once: atomics are real ones (compare-and-swap on the value's bytes).
template <typename T, typename F>
inline T atomic_update(T* p, F f) {
    T old;
    __atomic_load(p, &old, __ATOMIC_SEQ_CST);
    T desired;
    do {
        desired = f(old);
    } while (!__atomic_compare_exchange(p, &old, &desired, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
    return old;
}
template <typename T> inline T atomicAdd(T* p, T v) { return atomic_update(p, [v](T o) { return (T)(o + v); }); }
template <typename T> inline T atomicMax(T* p, T v) { return atomic_update(p, [v](T o) { return v > o ? v : o; }); }
template <typename T> inline T atomicMin(T* p, T v) { return atomic_update(p, [v](T o) { return v < o ? v : o; }); }
template <typename T> inline T atomicExch(T* p, T v) { return atomic_update(p, [v](T) { return v; }); }
template <typename T> inline T atomicCAS(T* p, T cmp, T v) { return atomic_update(p, [cmp, v](T o) { return o == cmp ? v : o; }); }
