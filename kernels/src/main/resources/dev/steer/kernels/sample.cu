// Temperature and nucleus (top-p) sampling on the GPU, one block per row of logits, by the host's rule
// (dev.steer.engine.backend.Sampling): p_i = exp((x_i - max) / T) in double; with top-p < 1 the tokens are
// ordered by logit (descending, ties by lower index; the same order as by p) and the shortest prefix whose mass
// reaches topP * total is kept; the token is the first of that order (top-p) or of index order (top-p = 1) whose
// inclusive cumulative mass exceeds u * kept mass. Instead of a sort, a radix search over the logits'
// order-preserving bit keys (4 bits a pass, 8 passes) finds the crossing position; every sum is made in a fixed
// order, so a row's token is deterministic. Only the sums' rounding differs from the host's sequential sums.
#include "common.cuh"

#define SAMPLE_MAX_WARPS 32

// Ascending key order = ascending float order (-inf lowest; NaN logits get p = 0 and never count).
__device__ __forceinline__ unsigned int order_key(float x) {
    unsigned int u = __float_as_uint(x);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

__device__ __forceinline__ float key_value(unsigned int k) {
    return __uint_as_float((k & 0x80000000u) ? (k & 0x7fffffffu) : ~k);
}

__device__ __forceinline__ double warp_sum_d(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// Block sum in a fixed order, returned to every thread.
__device__ double block_sum_d(double v, double* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_sum_d(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    double t = 0;
    for (int w = 0; w < warps; w++) t += scratch[w];
    return t;
}

__device__ int block_min_i(int v, int* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    for (int o = 16; o > 0; o >>= 1) v = min(v, __shfl_xor_sync(0xffffffffu, v, o));
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    int m = scratch[0];
    for (int w = 1; w < warps; w++) m = min(m, scratch[w]);
    return m;
}

// Exclusive prefix over threads in thread order; *total gets the block's sum. T: int or double.
template <typename T>
__device__ T block_exclusive_scan(T v, T* scratch, T* total) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    T incl = v;
    for (int o = 1; o < 32; o <<= 1) {
        T n = __shfl_up_sync(0xffffffffu, incl, o);
        if (lane >= o) incl += n;
    }
    T excl = __shfl_up_sync(0xffffffffu, incl, 1);
    if (lane == 0) excl = 0;
    __syncthreads();
    if (lane == 31) scratch[warp] = incl;
    __syncthreads();
    T base = 0, all = 0;
    for (int w = 0; w < warps; w++) {
        if (w < warp) base += scratch[w];
        all += scratch[w];
    }
    *total = all;
    return base + excl;
}

// A position in the sorted order: the m-th (1-based) of the n tokens whose key is `key`, after `above` mass.
struct Position {
    unsigned int key;
    long long m;
    long long n;
    double above;
    double p;
};

__device__ __forceinline__ bool crosses(double mass, double x, bool strict) {
    return strict ? mass > x : mass >= x;
}

struct SampleShared {
    double warpBins[SAMPLE_MAX_WARPS][16];
    double bins[16];
    double d[SAMPLE_MAX_WARPS];
    int i[SAMPLE_MAX_WARPS];
    long long ll[SAMPLE_MAX_WARPS];
    int found;
};

// The first position in (logit desc, index asc) order whose inclusive cumulative mass crosses x (>= x, or > x
// when strict); the last token with mass when none does (rounding).
__device__ Position select_sorted(const float* x, const double* p, int vocab, double target, bool strict, double mx,
                                  double temperature, SampleShared* sh) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    unsigned int prefix = 0;
    double above = 0;
    for (int shift = 28; shift >= 0; shift -= 4) {
        unsigned int high = shift == 28 ? 0u : (0xffffffffu << (shift + 4));
        double b[16];
        for (int d = 0; d < 16; d++) b[d] = 0;
        for (int j = threadIdx.x; j < vocab; j += blockDim.x) {
            unsigned int k = order_key(x[j]);
            if ((k & high) == prefix) b[(k >> shift) & 15u] += p[j];
        }
        // The warp's 16 sums in 16 shuffles rather than 16 x 5: each step halves the bins a lane carries,
        // trading half with the partner lane; at the end lanes 2k and 2k + 1 share bin k.
        for (int o = 16, n = 16; o >= 2; o >>= 1, n >>= 1) {
            bool upper = (lane & o) != 0;
            for (int d = 0; d < n / 2; d++) {
                double give = upper ? b[d] : b[d + n / 2];
                double keep = upper ? b[d + n / 2] : b[d];
                b[d] = keep + __shfl_xor_sync(0xffffffffu, give, o);
            }
        }
        b[0] += __shfl_xor_sync(0xffffffffu, b[0], 1);
        if ((lane & 1) == 0) sh->warpBins[warp][lane >> 1] = b[0];
        __syncthreads();
        if (threadIdx.x < 16) {
            double t = 0;
            for (int w = 0; w < warps; w++) t += sh->warpBins[w][threadIdx.x];
            sh->bins[threadIdx.x] = t;
        }
        __syncthreads();
        // every thread walks the 16 totals the same way, from the highest digit down
        int chosen = -1, last = -1;
        double aboveLast = 0;
        for (int d = 15; d >= 0; d--) {
            double m = sh->bins[d];
            if (m > 0) {
                if (crosses(above + m, target, strict)) {
                    chosen = d;
                    break;
                }
                last = d;
                aboveLast = above;
            }
            above += m;
        }
        if (chosen < 0) {
            chosen = last < 0 ? 0 : last;
            above = aboveLast;
        }
        prefix |= (unsigned int)chosen << shift;
        __syncthreads();   // the bins are rewritten by the next pass
    }
    Position r;
    r.key = prefix;
    r.above = above;
    r.p = exp(((double)key_value(prefix) - mx) / temperature);
    long long c = 0;
    for (int j = threadIdx.x; j < vocab; j += blockDim.x) c += order_key(x[j]) == prefix;
    long long n;
    block_exclusive_scan<long long>(c, sh->ll, &n);
    r.n = n < 1 ? 1 : n;
    double need = (target - above) / r.p;
    long long m = strict ? (long long)floor(need) + 1 : (long long)ceil(need);
    if (!(need == need) || m < 1) m = 1;
    if (m > r.n) m = r.n;
    while (m > 1 && crosses(above + (double)(m - 1) * r.p, target, strict)) m--;
    while (m < r.n && !crosses(above + (double)m * r.p, target, strict)) m++;
    r.m = m;
    return r;
}

// Index of the m-th (1-based) token, in index order, whose key is `key`.
__device__ int nth_with_key(const float* x, int vocab, unsigned int key, long long m, SampleShared* sh) {
    int chunk = (vocab + blockDim.x - 1) / blockDim.x;
    int lo = threadIdx.x * chunk, hi = min(lo + chunk, vocab);
    long long c = 0;
    for (int j = lo; j < hi; j++) c += order_key(x[j]) == key;
    long long total;
    long long before = block_exclusive_scan<long long>(c, sh->ll, &total);
    if (threadIdx.x == 0) sh->found = vocab - 1;
    __syncthreads();
    if (before < m && m <= before + c) {
        long long left = m - before;
        for (int j = lo; j < hi; j++)
            if (order_key(x[j]) == key && --left == 0) {
                sh->found = j;
                break;
            }
    }
    __syncthreads();
    return sh->found;
}

// The first index whose inclusive cumulative mass (index order) exceeds target; vocab - 1 when none does.
__device__ int pick_in_index_order(const double* p, int vocab, double target, SampleShared* sh) {
    int chunk = (vocab + blockDim.x - 1) / blockDim.x;
    int lo = threadIdx.x * chunk, hi = min(lo + chunk, vocab);
    double s = 0;
    for (int j = lo; j < hi; j++) s += p[j];
    double total;
    double acc = block_exclusive_scan<double>(s, sh->d, &total);
    int found = 0x7fffffff;
    if (acc <= target) {
        for (int j = lo; j < hi; j++) {
            acc += p[j];
            if (target < acc) {
                found = j;
                break;
            }
        }
    }
    found = block_min_i(found, sh->i);
    return found == 0x7fffffff ? vocab - 1 : found;
}

// logits [rows, vocab]; p [rows, vocab] double scratch; uniforms [rows]; out [rows]. blockDim.x: a multiple of 32,
// at most 1024.
extern "C" __global__ void sample_f32(const float* logits, double* p, const double* uniforms, int* out, int vocab,
                                      double temperature, double topP) {
    pdl_begin();
    __shared__ SampleShared sh;
    __shared__ float fscratch[32];
    long long row = blockIdx.x;
    const float* x = logits + row * vocab;
    double* pr = p + row * vocab;
    float mx = NEG_INF;
    for (int j = threadIdx.x; j < vocab; j += blockDim.x) {
        float v = x[j];
        if (v > mx) mx = v;
    }
    mx = block_max(mx, fscratch);
    double total = 0;
    for (int j = threadIdx.x; j < vocab; j += blockDim.x) {
        float v = x[j];
        double e = v == v ? exp(((double)v - (double)mx) / temperature) : 0.0;
        pr[j] = e;
        total += e;
    }
    total = block_sum_d(total, sh.d);   // its barriers also make every p visible to the whole block
    double u = uniforms[row];
    int token;
    if (topP >= 1.0) {
        token = pick_in_index_order(pr, vocab, u * total, &sh);
    } else {
        Position cut = select_sorted(x, pr, vocab, topP * total, false, mx, temperature, &sh);
        double kept = cut.above + (double)cut.m * cut.p;
        Position s = select_sorted(x, pr, vocab, u * kept, true, mx, temperature, &sh);
        if (s.key < cut.key || (s.key == cut.key && s.m > cut.m)) s = cut;
        token = nth_with_key(x, vocab, s.key, s.m, &sh);
    }
    if (threadIdx.x == 0) out[row] = token;
}
