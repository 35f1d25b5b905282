// The fiber scheduler behind cuda_emu.h, the kernel registry, a float32-accumulating GEMM (cuBLAS's part), and
// the JNI entry points of dev.steer.kernels.KernelEmulator.
#include <jni.h>
#include <setjmp.h>
#include <sys/mman.h>
#include <ucontext.h>

#include <map>
#include <string>
#include <vector>

#include "cuda_emu.h"

emu_dim3 threadIdx, blockIdx, blockDim, gridDim;

namespace emu {
namespace {
enum State { READY, WAIT_BLOCK, WAIT_WARP, DONE };

// A fiber is made once (makecontext) and then lives for the whole process, running the current kernel body
// once per block it is given; switches are _setjmp/_longjmp, which unlike swapcontext make no system call.
struct Fiber {
    ucontext_t context;
    jmp_buf env;
    State state;
};

const size_t STACK_BYTES = 256 * 1024;
const int MAX_THREADS = 1024;

std::map<std::string, void (*)(void**)>& registry() {
    static std::map<std::string, void (*)(void**)> r;
    return r;
}

ucontext_t scheduler;
jmp_buf scheduler_env;
Fiber fibers[MAX_THREADS];
int created = 0;
char* stacks = nullptr;
int current = -1;
uint64_t slots[2][MAX_THREADS];
int bank[MAX_THREADS];   // per thread: which slot bank its next shuffle uses
std::vector<unsigned char> shared_bytes;
void (*body)(void**) = nullptr;
void** arguments = nullptr;
uint64_t order_state = 0x9e3779b97f4a7c15ull;

void yield(State s) {
    Fiber& f = fibers[current];
    f.state = s;
    if (_setjmp(f.env) == 0) _longjmp(scheduler_env, 1);
}

void entry() {
    int me = current;
    if (_setjmp(fibers[me].env) == 0) swapcontext(&fibers[me].context, &scheduler);   // made: back to create()
    for (;;) {
        body(arguments);
        yield(DONE);
    }
}

// Makes fibers [created, n): each runs up to its first _setjmp and returns.
void create(int n) {
    for (; created < n; created++) {
        Fiber& f = fibers[created];
        getcontext(&f.context);
        f.context.uc_stack.ss_sp = stacks + (size_t)created * STACK_BYTES;
        f.context.uc_stack.ss_size = STACK_BYTES;
        f.context.uc_link = nullptr;
        makecontext(&f.context, entry, 0);
        current = created;
        swapcontext(&scheduler, &f.context);
    }
}

uint64_t next_random() {
    order_state ^= order_state << 13;
    order_state ^= order_state >> 7;
    order_state ^= order_state << 17;
    return order_state;
}

void shuffle(int* v, int n) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(next_random() % (uint64_t)(i + 1));
        int t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

void resume(int t) {
    current = t;
    threadIdx.x = (unsigned)t;
    threadIdx.y = threadIdx.z = 0;
    if (_setjmp(scheduler_env) == 0) _longjmp(fibers[t].env, 1);
}

// Runs one block to completion; an empty string when it finished, else why it could not. Between two
// __syncthreads() the warps run one at a time in a shuffled order, and within a warp the lanes run in a shuffled
// order between its shuffles, so a missing barrier shows as a wrong result rather than depending on one lucky
// order.
std::string run_block(int threads) {
    create(threads);
    for (int t = 0; t < threads; t++) {
        fibers[t].state = READY;
        bank[t] = 0;
    }
    int warps = (threads + 31) / 32;
    std::vector<int> warpOrder(warps);
    for (int w = 0; w < warps; w++) warpOrder[w] = w;
    int lanes[32];
    for (;;) {
        shuffle(warpOrder.data(), warps);
        for (int wi = 0; wi < warps; wi++) {
            int w = warpOrder[wi];
            int first = w * 32, count = threads - first < 32 ? threads - first : 32;
            for (;;) {
                for (int l = 0; l < count; l++) lanes[l] = first + l;
                shuffle(lanes, count);
                for (int l = 0; l < count; l++)
                    if (fibers[lanes[l]].state == READY) resume(lanes[l]);
                int live = 0, atWarp = 0;
                for (int t = first; t < first + count; t++) {
                    if (fibers[t].state == DONE) continue;
                    live++;
                    if (fibers[t].state == WAIT_WARP) atWarp++;
                }
                if (atWarp == 0) break;
                if (atWarp != live)
                    return "warp " + std::to_string(w) + ": " + std::to_string(atWarp) + " of " + std::to_string(live)
                           + " live lanes reached a warp shuffle/__syncwarp, the others a __syncthreads()";
                for (int t = first; t < first + count; t++)
                    if (fibers[t].state == WAIT_WARP) fibers[t].state = READY;
            }
        }
        int live = 0;
        for (int t = 0; t < threads; t++) live += fibers[t].state != DONE;
        if (live == 0) return "";
        // every live thread waits at __syncthreads(): release the block
        for (int t = 0; t < threads; t++)
            if (fibers[t].state == WAIT_BLOCK) fibers[t].state = READY;
    }
}
}  // namespace

void sync_block() { yield(WAIT_BLOCK); }
void sync_warp() { yield(WAIT_WARP); }
uint64_t* warp_slots() {
    int t = threadIdx.x;
    int b = bank[t];
    bank[t] = 1 - b;
    return slots[b] + (t / 32) * 32;
}
void* dynamic_shared() { return shared_bytes.data(); }
void register_kernel(const char* name, void (*fn)(void**)) { registry()[name] = fn; }

std::string launch(const std::string& name, int gx, int gy, int block, int sharedBytes, void** args) {
    auto it = registry().find(name);
    if (it == registry().end()) return "no kernel named " + name + " in the emulator";
    if (block <= 0 || block > MAX_THREADS || block % 32 != 0)
        return name + ": block of " + std::to_string(block) + " threads (the emulator takes a multiple of 32 up to 1024)";
    if (stacks == nullptr) {
        void* m = mmap(nullptr, STACK_BYTES * MAX_THREADS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED) return "cannot map fiber stacks";
        stacks = (char*)m;
    }
    shared_bytes.assign((size_t)sharedBytes + 16, 0xAB);   // garbage, as on a GPU
    body = it->second;
    arguments = args;
    blockDim = {(unsigned)block, 1, 1};
    gridDim = {(unsigned)gx, (unsigned)gy, 1};
    for (int y = 0; y < gy; y++) {
        for (int x = 0; x < gx; x++) {
            blockIdx = {(unsigned)x, (unsigned)y, 0};
            std::string err = run_block(block);
            if (!err.empty()) created = 0;   // fibers stopped mid-kernel: make them again at the next launch
            if (!err.empty()) return name + " block (" + std::to_string(x) + ", " + std::to_string(y) + "): " + err;
        }
    }
    return "";
}

inline float bf16(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

// y[m][n] = sum_k x[m][k] * w[n][k], products and sums in float32.
void gemm(const void* x, const void* w, float* y, int m, int n, int k, bool bf16Inputs) {
    std::vector<float> xr(k), wr(k);
    for (int i = 0; i < m; i++) {
        for (int c = 0; c < k; c++)
            xr[c] = bf16Inputs ? bf16(((const uint16_t*)x)[(size_t)i * k + c]) : ((const float*)x)[(size_t)i * k + c];
        for (int j = 0; j < n; j++) {
            float acc = 0.f;
            if (bf16Inputs) {
                const uint16_t* wj = (const uint16_t*)w + (size_t)j * k;
                for (int c = 0; c < k; c++) acc += xr[c] * bf16(wj[c]);
            } else {
                const float* wj = (const float*)w + (size_t)j * k;
                for (int c = 0; c < k; c++) acc += xr[c] * wj[c];
            }
            y[(size_t)i * n + j] = acc;
        }
    }
}
}  // namespace emu

extern "C" JNIEXPORT jstring JNICALL Java_dev_steer_kernels_KernelEmulator_launch(JNIEnv* env, jclass, jstring name, jint gx,
                                                                                  jint gy, jint block, jint shared,
                                                                                  jlongArray args) {
    const char* n = env->GetStringUTFChars(name, nullptr);
    std::string kernel(n);
    env->ReleaseStringUTFChars(name, n);
    jsize count = env->GetArrayLength(args);
    std::vector<jlong> values(count + 1);
    env->GetLongArrayRegion(args, 0, count, values.data());
    std::vector<void*> slots(count + 1);
    for (jsize i = 0; i < count; i++) slots[i] = &values[i];
    std::string err = emu::launch(kernel, gx, gy, block, shared, slots.data());
    return err.empty() ? nullptr : env->NewStringUTF(err.c_str());
}

extern "C" JNIEXPORT void JNICALL Java_dev_steer_kernels_KernelEmulator_gemm(JNIEnv*, jclass, jlong x, jlong w, jlong y, jint m,
                                                                             jint n, jint k, jboolean bf16) {
    emu::gemm((const void*)x, (const void*)w, (float*)y, m, n, k, bf16);
}
