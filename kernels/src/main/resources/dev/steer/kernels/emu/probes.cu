// Kernels that check the emulator itself (KernelEmulatorTest); built only into the emulator, never for a GPU.
#include "common.cuh"

// Half of each warp shuffles, the other half does not: undefined on a GPU, an error in the emulator.
extern "C" __global__ void probe_diverged_shuffle(float* out) {
    float v = (float)threadIdx.x;
    if ((threadIdx.x & 31) < 16) v = __shfl_xor_sync(0xffffffffu, v, 1);
    __syncthreads();
    out[blockIdx.x * blockDim.x + threadIdx.x] = v;
}

// Reads a neighbour's shared slot; with barrier != 0 after a __syncthreads(), else racing its write.
extern "C" __global__ void probe_shared_neighbour(const float* in, float* out, int barrier) {
    __shared__ float s[1024];
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    s[threadIdx.x] = in[i];
    if (barrier) __syncthreads();
    out[i] = s[(threadIdx.x + 1) % blockDim.x];
}

// A block sum (common.cuh) after a quarter of the threads have returned: the barriers count live threads.
extern "C" __global__ void probe_early_exit_sum(const float* in, float* out) {
    if (threadIdx.x >= blockDim.x - blockDim.x / 4) return;
    __shared__ float scratch[32];
    float total = block_sum(in[threadIdx.x], scratch);
    if (threadIdx.x == 0) out[blockIdx.x] = total;
}
