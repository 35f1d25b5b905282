// Temperature and nucleus (top-p) sampling on the GPU by the host's rule (dev.steer.engine.backend.Sampling):
// p_i = exp((x_i - max) / T) in double; with top-p < 1 the tokens are ordered by logit (descending, ties by lower
// index; the same order as by p) and the shortest prefix whose mass reaches topP * total is kept; the token is the
// first of that order (top-p) or of index order (top-p = 1) whose inclusive cumulative mass exceeds u * kept mass.
// Instead of a sort, a radix search over the logits' order-preserving bit keys (4 bits a pass, 8 passes) finds the
// crossing position.
//
// Each row is cut into S slices (grid: S x rows, blockIdx.x the slice, blockIdx.y the row), so a row's passes over
// the vocabulary spread over S multiprocessors; one launch per pass (SampleOps.sampleQueued queues them). Slices exchange
// partial sums through global memory, and every block that needs a row-wide figure adds the S partials itself in
// slice order: every sum is made in a fixed order, so a row's token is deterministic. Only the sums' rounding
// differs from the host's sequential sums.
#include "common.cuh"

#define SAMPLE_MAX_WARPS 32
#define SAMPLE_BINS 16

// Ascending key order = ascending float order (-inf lowest; NaN logits get p = 0 and never count).
__device__ __forceinline__ unsigned int order_key(float x) {
    unsigned int u = __float_as_uint(x);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

__device__ __forceinline__ float key_value(unsigned int k) {
    return __uint_as_float((k & 0x80000000u) ? (k & 0x7fffffffu) : ~k);
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

// Exclusive prefix over threads in thread order; *total gets the block's sum. T: long long or double.
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

// What the passes of one row hand on to each other (SampleOps.ROW_BYTES bytes a row).
struct SampleRow {
    double mx;                 // the row's largest logit
    double target[2];          // the two searches' targets: topP * total, then u * kept mass
    unsigned int prefix[2];    // radix search state after a pass, double-buffered by pass parity
    double above[2];
    Position found[2];         // the two searches' results (cut, then pick)
    int pick;                  // which of found[] the token is
};
static_assert(sizeof(SampleRow) <= 256, "SampleOps.ROW_BYTES");

__device__ __forceinline__ bool crosses(double mass, double x, bool strict) {
    return strict ? mass > x : mass >= x;
}

__device__ __forceinline__ void slice_range(int vocab, int& lo, int& hi) {
    int per = (vocab + gridDim.x - 1) / gridDim.x;
    lo = min(vocab, (int)blockIdx.x * per);
    hi = min(vocab, lo + per);
}

// This thread's contiguous chunk of [lo, hi): chunked rather than strided so a block scan gives index order.
__device__ __forceinline__ void thread_range(int lo, int hi, int& a, int& b) {
    int per = (hi - lo + blockDim.x - 1) / blockDim.x;
    a = min(hi, lo + (int)threadIdx.x * per);
    b = min(hi, a + per);
}

// Sum of the row's S slice partials, in slice order (the same value in every block that asks).
__device__ __forceinline__ double slices_sum(const double* part, int upto) {
    double t = 0;
    for (int s = 0; s < upto; s++) t += part[s];
    return t;
}

// Pass 1: each slice's largest logit.
extern "C" __global__ void sample_max(const float* logits, float* slice_max, int vocab) {
    pdl_begin();
    __shared__ float scratch[32];
    int lo, hi;
    slice_range(vocab, lo, hi);
    const float* x = logits + (long long)blockIdx.y * vocab;
    float mx = NEG_INF;
    for (int j = lo + threadIdx.x; j < hi; j += blockDim.x) {
        float v = x[j];
        if (v > mx) mx = v;
    }
    mx = block_max(mx, scratch);
    if (threadIdx.x == 0) slice_max[blockIdx.y * gridDim.x + blockIdx.x] = mx;
}

// Pass 2: p = exp((x - max) / T) for the slice, and the slice's mass (chunk sums, scanned in thread order: the
// same additions the index-order pick makes).
extern "C" __global__ void sample_exp(const float* logits, const float* slice_max, double* p, double* slice_mass,
                                      SampleRow* rows, int vocab, double temperature) {
    pdl_begin();
    __shared__ double dscratch[SAMPLE_MAX_WARPS];
    int row = blockIdx.y, S = gridDim.x;
    float mx = NEG_INF;
    for (int s = 0; s < S; s++) mx = fmaxf(mx, slice_max[row * S + s]);
    int lo, hi, a, b;
    slice_range(vocab, lo, hi);
    thread_range(lo, hi, a, b);
    const float* x = logits + (long long)row * vocab;
    double* pr = p + (long long)row * vocab;
    double sum = 0;
    for (int j = a; j < b; j++) {
        float v = x[j];
        double e = v == v ? exp(((double)v - (double)mx) / temperature) : 0.0;
        pr[j] = e;
        sum += e;
    }
    double total;
    block_exclusive_scan<double>(sum, dscratch, &total);
    if (threadIdx.x == 0) slice_mass[row * S + blockIdx.x] = total;
    if (threadIdx.x == 0 && blockIdx.x == 0) rows[row].mx = mx;
}

// top-p = 1: the first index whose inclusive cumulative mass (index order) exceeds u * total. The slice whose
// range of cumulative mass holds the target finds it; out[row] is set beforehand (SampleOps) to vocab - 1, the answer
// when rounding leaves the target beyond the total.
extern "C" __global__ void sample_pick_index(const double* p, const double* slice_mass, const double* uniforms, int* out,
                                             int vocab) {
    pdl_begin();
    __shared__ double dscratch[SAMPLE_MAX_WARPS];
    __shared__ int iscratch[SAMPLE_MAX_WARPS];
    int row = blockIdx.y, S = gridDim.x;
    const double* mass = slice_mass + row * S;
    double target = uniforms[row] * slices_sum(mass, S);
    double base = slices_sum(mass, blockIdx.x);
    bool last = blockIdx.x == S - 1;
    if (!(base <= target && (target < base + mass[blockIdx.x] || last))) return;   // the whole block leaves
    int lo, hi, a, b;
    slice_range(vocab, lo, hi);
    thread_range(lo, hi, a, b);
    const double* pr = p + (long long)row * vocab;
    double s = 0;
    for (int j = a; j < b; j++) s += pr[j];
    double total;
    double acc = base + block_exclusive_scan<double>(s, dscratch, &total);
    int found = 0x7fffffff;
    for (int j = a; j < b; j++) {
        acc += pr[j];
        if (target < acc) {
            found = j;
            break;
        }
    }
    found = block_min_i(found, iscratch);
    if (threadIdx.x == 0) {
        if (found != 0x7fffffff) out[row] = found;
        else if (!last) {
            // rounding: the slice's own additions stop short of the target its range claimed; its last token
            for (int j = hi - 1; j >= lo; j--) if (pr[j] > 0) { out[row] = j; break; }
        }
    }
}

// The 16 bin sums of a radix pass: the slice's tokens whose key matches `prefix` on the bits above `shift`, summed
// by their next 4-bit digit. Every thread's bins are made in index order, then added warp by warp.
__device__ void slice_bins(const float* x, const double* p, int lo, int hi, unsigned int prefix, int shift, double* out,
                           double (*warpBins)[SAMPLE_BINS]) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    unsigned int high = shift == 28 ? 0u : (0xffffffffu << (shift + 4));
    double b[SAMPLE_BINS];
#pragma unroll
    for (int d = 0; d < SAMPLE_BINS; d++) b[d] = 0;
    for (int j = lo + threadIdx.x; j < hi; j += blockDim.x) {
        unsigned int k = order_key(x[j]);
        if ((k & high) == prefix) {
            unsigned int d = (k >> shift) & 15u;
            double v = p[j];
            // unrolled select rather than b[d]: a dynamically indexed array would live in local memory
#pragma unroll
            for (int q = 0; q < SAMPLE_BINS; q++) if (q == (int)d) b[q] += v;
        }
    }
    // The warp's 16 sums in 16 shuffles rather than 16 x 5: each step halves the bins a lane carries, trading half
    // with the partner lane; at the end lanes 2k and 2k + 1 share bin k.
#pragma unroll
    for (int o = 16, n = 16; o >= 2; o >>= 1, n >>= 1) {
        bool upper = (lane & o) != 0;
#pragma unroll
        for (int d = 0; d < 8; d++) {
            if (d < n / 2) {
                double give = upper ? b[d] : b[d + n / 2];
                double keep = upper ? b[d + n / 2] : b[d];
                b[d] = keep + __shfl_xor_sync(0xffffffffu, give, o);
            }
        }
    }
    b[0] += __shfl_xor_sync(0xffffffffu, b[0], 1);
    if ((lane & 1) == 0) warpBins[warp][lane >> 1] = b[0];
    __syncthreads();
    if (threadIdx.x < SAMPLE_BINS) {
        double t = 0;
        for (int w = 0; w < warps; w++) t += warpBins[w][threadIdx.x];
        out[threadIdx.x] = t;
    }
}

// One pass of search `which` (0: the top-p cut, target topP * total, reached at >=; 1: the pick, target u * kept
// mass, exceeded at >): resolves the previous pass's digit from the S slices' bins (pass > 0; every block the same
// way), then, for pass < 8, bins its slice for the next digit; pass 8 instead counts its slice's tokens whose key
// is the found one. Block (0, row) records the search state for the next pass.
extern "C" __global__ void sample_radix(const float* logits, const double* p, const double* slice_mass, double* bins,
                                        long long* counts, SampleRow* rows, int vocab, int which, int pass) {
    pdl_begin();
    __shared__ double warpBins[SAMPLE_MAX_WARPS][SAMPLE_BINS];
    __shared__ long long lscratch[SAMPLE_MAX_WARPS];
    int row = blockIdx.y, S = gridDim.x;
    SampleRow* r = rows + row;
    double target = r->target[which];
    bool strict = which == 1;
    unsigned int prefix = 0;
    double above = 0;
    if (pass > 0) {
        prefix = r->prefix[(pass - 1) & 1];
        above = r->above[(pass - 1) & 1];
        const double* prev = bins + ((long long)((pass - 1) & 1) * gridDim.y + row) * S * SAMPLE_BINS;
        int shift = 28 - 4 * (pass - 1);
        int chosen = -1, lastDigit = -1;
        double aboveLast = 0;
        for (int d = SAMPLE_BINS - 1; d >= 0; d--) {
            double m = 0;
            for (int s = 0; s < S; s++) m += prev[s * SAMPLE_BINS + d];
            if (m > 0) {
                if (crosses(above + m, target, strict)) {
                    chosen = d;
                    break;
                }
                lastDigit = d;
                aboveLast = above;
            }
            above += m;
        }
        if (chosen < 0) {
            chosen = lastDigit < 0 ? 0 : lastDigit;
            above = aboveLast;
        }
        prefix |= (unsigned int)chosen << shift;
    }
    if (blockIdx.x == 0 && threadIdx.x == 0) {
        r->prefix[pass & 1] = prefix;
        r->above[pass & 1] = above;
    }
    int lo, hi;
    slice_range(vocab, lo, hi);
    const float* x = logits + (long long)row * vocab;
    if (pass < 8) {
        double* cur = bins + ((long long)(pass & 1) * gridDim.y + row) * S * SAMPLE_BINS;
        slice_bins(x, p + (long long)row * vocab, lo, hi, prefix, 28 - 4 * pass, cur + blockIdx.x * SAMPLE_BINS, warpBins);
    } else {
        long long c = 0;
        for (int j = lo + threadIdx.x; j < hi; j += blockDim.x) c += order_key(x[j]) == prefix;
        long long n;
        block_exclusive_scan<long long>(c, lscratch, &n);
        if (threadIdx.x == 0) counts[((long long)which * gridDim.y + row) * S + blockIdx.x] = n;
    }
}

// After search `which`'s last pass (one thread per row): the position m among the n tokens of the found key; for
// the cut, the pick's target u * kept mass; for the pick, which of the two positions the token is.
extern "C" __global__ void sample_settle(const long long* counts, const double* uniforms, SampleRow* rows, int nrows,
                                         int slices, int which, double temperature) {
    pdl_begin();
    int row = blockIdx.x * blockDim.x + threadIdx.x;
    if (row >= nrows) return;
    SampleRow* r = rows + row;
    bool strict = which == 1;
    double target = r->target[which];
    Position q;
    q.key = r->prefix[0];   // pass 8 is even
    q.above = r->above[0];
    q.p = exp(((double)key_value(q.key) - r->mx) / temperature);
    long long n = 0;
    for (int s = 0; s < slices; s++) n += counts[((long long)which * nrows + row) * slices + s];
    q.n = n < 1 ? 1 : n;
    double need = (target - q.above) / q.p;
    long long m = strict ? (long long)floor(need) + 1 : (long long)ceil(need);
    if (!(need == need) || m < 1) m = 1;
    if (m > q.n) m = q.n;
    while (m > 1 && crosses(q.above + (double)(m - 1) * q.p, target, strict)) m--;
    while (m < q.n && !crosses(q.above + (double)m * q.p, target, strict)) m++;
    q.m = m;
    r->found[which] = q;
    if (which == 0) {
        r->target[1] = uniforms[row] * (q.above + (double)q.m * q.p);
    } else {
        Position cut = r->found[0];
        r->pick = (q.key < cut.key || (q.key == cut.key && q.m > cut.m)) ? 0 : 1;
    }
}

// Sets each row's first search target, topP * total (one thread per row).
extern "C" __global__ void sample_start(const double* slice_mass, SampleRow* rows, int nrows, int slices, double topP) {
    pdl_begin();
    int row = blockIdx.x * blockDim.x + threadIdx.x;
    if (row >= nrows) return;
    rows[row].target[0] = topP * slices_sum(slice_mass + row * slices, slices);
}

// The token: the m-th (1-based) token, in index order, whose key is the chosen position's. The slice holding it
// finds it (the slices' counts come from the search that found the key).
extern "C" __global__ void sample_nth(const float* logits, const long long* counts, const SampleRow* rows, int* out, int vocab) {
    pdl_begin();
    __shared__ long long lscratch[SAMPLE_MAX_WARPS];
    int row = blockIdx.y, S = gridDim.x;
    const SampleRow* r = rows + row;
    int which = r->pick;
    Position q = r->found[which];
    const long long* cnt = counts + ((long long)which * gridDim.y + row) * S;
    long long before = 0;
    for (int s = 0; s < (int)blockIdx.x; s++) before += cnt[s];
    if (!(before < q.m && q.m <= before + cnt[blockIdx.x])) return;   // the whole block leaves
    int lo, hi, a, b;
    slice_range(vocab, lo, hi);
    thread_range(lo, hi, a, b);
    const float* x = logits + (long long)row * vocab;
    long long c = 0;
    for (int j = a; j < b; j++) c += order_key(x[j]) == q.key;
    long long total;
    long long mine = before + block_exclusive_scan<long long>(c, lscratch, &total);
    if (mine < q.m && q.m <= mine + c) {
        long long left = q.m - mine;
        for (int j = a; j < b; j++)
            if (order_key(x[j]) == q.key && --left == 0) {
                out[row] = j;
                break;
            }
    }
}
