// The fiber scheduler behind cuda_emu.h, the kernel registry, a float32-accumulating GEMM (cuBLAS's part), and
// the JNI entry points of dev.steer.kernels.KernelEmulator. A launch's blocks are shared out to a pool of worker
// threads (one per core, STEER_EMU_THREADS to change it); each worker runs its blocks one at a time, each block's
// threads as fibers of that worker.
#include <jni.h>
#include <setjmp.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cuda_emu.h"

thread_local emu_dim3 threadIdx, blockIdx, blockDim, gridDim;

namespace emu {
namespace {
enum State { READY, WAIT_BLOCK, WAIT_WARP, DONE };

const size_t STACK_BYTES = 256 * 1024;
const int MAX_THREADS = 1024;

// A fiber is made once (makecontext) and then lives as long as its worker, running the current kernel body
// once per block it is given; switches are _setjmp/_longjmp, which unlike swapcontext make no system call.
struct Fiber {
    ucontext_t context;
    jmp_buf env;
    State state;
};

// One OS thread's scheduler: its fibers, their stacks, the warp shuffle slots and the block's dynamic shared memory.
struct Worker {
    ucontext_t scheduler;
    jmp_buf schedulerEnv;
    Fiber fibers[MAX_THREADS];
    int created = 0;
    char* stacks = nullptr;
    int current = -1;
    uint64_t slots[2][MAX_THREADS];
    int bank[MAX_THREADS];   // per thread: which slot bank its next shuffle uses
    std::vector<unsigned char> shared;
    uint64_t orderState = 0x9e3779b97f4a7c15ull;
};

thread_local Worker* self = nullptr;
std::atomic<uint64_t> workerSeeds{1};

Worker& me() {
    if (self == nullptr) {
        self = new Worker();   // lives as long as its thread (the pool's threads live as long as the process)
        self->orderState ^= workerSeeds.fetch_add(0x632be59bd9b4e019ull);
    }
    return *self;
}

std::map<std::string, void (*)(void**)>& registry() {
    static std::map<std::string, void (*)(void**)> r;
    return r;
}

// The launch being run: read-only while workers run its blocks.
void (*body)(void**) = nullptr;
void** arguments = nullptr;

void yield(State s) {
    Worker& w = *self;
    Fiber& f = w.fibers[w.current];
    f.state = s;
    if (_setjmp(f.env) == 0) _longjmp(w.schedulerEnv, 1);
}

void entry() {
    Worker& w = *self;
    int mine = w.current;
    if (_setjmp(w.fibers[mine].env) == 0) swapcontext(&w.fibers[mine].context, &w.scheduler);   // made: back to create()
    for (;;) {
        body(arguments);
        yield(DONE);
    }
}

// Makes fibers [created, n): each runs up to its first _setjmp and returns.
bool create(Worker& w, int n) {
    if (w.stacks == nullptr) {
        void* m = mmap(nullptr, STACK_BYTES * MAX_THREADS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED) return false;
        w.stacks = (char*)m;
    }
    for (; w.created < n; w.created++) {
        Fiber& f = w.fibers[w.created];
        getcontext(&f.context);
        f.context.uc_stack.ss_sp = w.stacks + (size_t)w.created * STACK_BYTES;
        f.context.uc_stack.ss_size = STACK_BYTES;
        f.context.uc_link = nullptr;
        makecontext(&f.context, entry, 0);
        w.current = w.created;
        swapcontext(&w.scheduler, &f.context);
    }
    return true;
}

uint64_t next_random(Worker& w) {
    w.orderState ^= w.orderState << 13;
    w.orderState ^= w.orderState >> 7;
    w.orderState ^= w.orderState << 17;
    return w.orderState;
}

void shuffle(Worker& w, int* v, int n) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(next_random(w) % (uint64_t)(i + 1));
        int t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

void resume(Worker& w, int t) {
    w.current = t;
    threadIdx.x = (unsigned)t;
    threadIdx.y = threadIdx.z = 0;
    if (_setjmp(w.schedulerEnv) == 0) _longjmp(w.fibers[t].env, 1);
}

// Runs one block to completion on this worker; an empty string when it finished, else why it could not. Between
// two __syncthreads() the warps run one at a time in a shuffled order, and within a warp the lanes run in a
// shuffled order between its shuffles, so a missing barrier shows as a wrong result rather than depending on one
// lucky order.
std::string run_block(Worker& w, int threads) {
    if (!create(w, threads)) return "cannot map fiber stacks";
    for (int t = 0; t < threads; t++) {
        w.fibers[t].state = READY;
        w.bank[t] = 0;
    }
    int warps = (threads + 31) / 32;
    int warpOrder[MAX_THREADS / 32];
    for (int i = 0; i < warps; i++) warpOrder[i] = i;
    int lanes[32];
    for (;;) {
        shuffle(w, warpOrder, warps);
        for (int wi = 0; wi < warps; wi++) {
            int wp = warpOrder[wi];
            int first = wp * 32, count = threads - first < 32 ? threads - first : 32;
            for (;;) {
                for (int l = 0; l < count; l++) lanes[l] = first + l;
                shuffle(w, lanes, count);
                for (int l = 0; l < count; l++)
                    if (w.fibers[lanes[l]].state == READY) resume(w, lanes[l]);
                int live = 0, atWarp = 0;
                for (int t = first; t < first + count; t++) {
                    if (w.fibers[t].state == DONE) continue;
                    live++;
                    if (w.fibers[t].state == WAIT_WARP) atWarp++;
                }
                if (atWarp == 0) break;
                if (atWarp != live)
                    return "warp " + std::to_string(wp) + ": " + std::to_string(atWarp) + " of " + std::to_string(live)
                           + " live lanes reached a warp shuffle/__syncwarp, the others a __syncthreads()";
                for (int t = first; t < first + count; t++)
                    if (w.fibers[t].state == WAIT_WARP) w.fibers[t].state = READY;
            }
        }
        int live = 0;
        for (int t = 0; t < threads; t++) live += w.fibers[t].state != DONE;
        if (live == 0) return "";
        // every live thread waits at __syncthreads(): release the block
        for (int t = 0; t < threads; t++)
            if (w.fibers[t].state == WAIT_BLOCK) w.fibers[t].state = READY;
    }
}

// The blocks of one launch, taken by the workers in turn.
struct Grid {
    std::string name;
    int gx = 0, gy = 0, block = 0, sharedBytes = 0;
    long long total = 0;
    std::atomic<long long> next{0};
    std::atomic<bool> failed{false};
    std::mutex errorLock;
    std::string error;
};

void run_blocks(Grid& g) {
    Worker& w = me();
    w.shared.assign((size_t)g.sharedBytes + 16, 0xAB);   // garbage, as on a GPU
    blockDim = {(unsigned)g.block, 1, 1};
    gridDim = {(unsigned)g.gx, (unsigned)g.gy, 1};
    for (long long i; !g.failed.load() && (i = g.next.fetch_add(1)) < g.total;) {
        int x = (int)(i % g.gx), y = (int)(i / g.gx);
        blockIdx = {(unsigned)x, (unsigned)y, 0};
        std::string err = run_block(w, g.block);
        if (!err.empty()) {
            w.created = 0;   // fibers stopped mid-kernel: make them again at the next launch
            std::lock_guard<std::mutex> hold(g.errorLock);
            if (g.error.empty()) g.error = g.name + " block (" + std::to_string(x) + ", " + std::to_string(y) + "): " + err;
            g.failed = true;
        }
    }
}

// Worker threads beyond the caller, started once and kept (never destroyed: no thread outlives a destructor).
struct Pool {
    std::mutex lock;
    std::condition_variable wake, finished;
    Grid* grid = nullptr;
    long generation = 0;
    int busy = 0;
    std::vector<std::thread> threads;

    explicit Pool(int extra) {
        for (int i = 0; i < extra; i++) threads.emplace_back([this] { serve(); });
    }

    void serve() {
        long seen = 0;
        for (;;) {
            Grid* g;
            {
                std::unique_lock<std::mutex> hold(lock);
                wake.wait(hold, [&] { return generation != seen; });
                seen = generation;
                g = grid;
            }
            run_blocks(*g);
            std::lock_guard<std::mutex> hold(lock);
            if (--busy == 0) finished.notify_all();
        }
    }

    void run(Grid& g) {
        {
            std::lock_guard<std::mutex> hold(lock);
            grid = &g;
            busy = (int)threads.size();
            generation++;
        }
        wake.notify_all();
        run_blocks(g);   // the caller is a worker too
        std::unique_lock<std::mutex> hold(lock);
        finished.wait(hold, [&] { return busy == 0; });
    }
};

// Workers asked for by the backend (STEER_EMU_THREADS, read on the Java side); 0: one per core. Read once, when
// the first grid of more than one block makes the pool.
int requested_threads = 0;

Pool& pool() {
    static Pool* p = [] {
        int n = requested_threads > 0 ? requested_threads : (int)std::thread::hardware_concurrency();
        if (n < 1) n = 1;
        if (n > 64) n = 64;
        return new Pool(n - 1);
    }();
    return *p;
}
}  // namespace

void sync_block() { yield(WAIT_BLOCK); }
void sync_warp() { yield(WAIT_WARP); }
uint64_t* warp_slots() {
    Worker& w = *self;
    int t = threadIdx.x;
    int b = w.bank[t];
    w.bank[t] = 1 - b;
    return w.slots[b] + (t / 32) * 32;
}
void* dynamic_shared() { return self->shared.data(); }
void register_kernel(const char* name, void (*fn)(void**)) { registry()[name] = fn; }

std::string launch(const std::string& name, int gx, int gy, int block, int sharedBytes, void** args) {
    auto it = registry().find(name);
    if (it == registry().end()) return "no kernel named " + name + " in the emulator";
    if (block <= 0 || block > MAX_THREADS || block % 32 != 0)
        return name + ": block of " + std::to_string(block) + " threads (the emulator takes a multiple of 32 up to 1024)";
    body = it->second;
    arguments = args;
    Grid g;
    g.name = name;
    g.gx = gx;
    g.gy = gy;
    g.block = block;
    g.sharedBytes = sharedBytes;
    g.total = (long long)gx * gy;
    if (g.total == 1) run_blocks(g);   // one block: no hand-off to the pool
    else pool().run(g);
    return g.error;
}

inline float bf16(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

// y[m][n] = sum_k x[m][k] * w[n][k], products and sums in float32 (in k order), rows of w split over threads.
void gemm(const void* x, const void* w, float* y, int m, int n, int k, bool bf16Inputs) {
    auto part = [=](int j0, int j1) {
        std::vector<float> xr(k);
        for (int i = 0; i < m; i++) {
            for (int c = 0; c < k; c++)
                xr[c] = bf16Inputs ? bf16(((const uint16_t*)x)[(size_t)i * k + c]) : ((const float*)x)[(size_t)i * k + c];
            for (int j = j0; j < j1; j++) {
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
    };
    int threads = (int)std::thread::hardware_concurrency();
    if (threads < 2 || (double)m * n * k < 4e6) {
        part(0, n);
        return;
    }
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; t++) ts.emplace_back(part, (int)((long long)n * t / threads), (int)((long long)n * (t + 1) / threads));
    for (auto& t : ts) t.join();
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

extern "C" JNIEXPORT void JNICALL Java_dev_steer_kernels_KernelEmulator_poolThreads(JNIEnv*, jclass, jint threads) {
    emu::requested_threads = threads;
}

extern "C" JNIEXPORT void JNICALL Java_dev_steer_kernels_KernelEmulator_gemm(JNIEnv*, jclass, jlong x, jlong w, jlong y, jint m,
                                                                             jint n, jint k, jboolean bf16) {
    emu::gemm((const void*)x, (const void*)w, (float*)y, m, n, k, bf16);
}
