package dev.steer.engine.backend;

import dev.steer.engine.tensor.HostTensor;

/**
 * The small op set a decoder forward needs. A model's forward is written once against it; the DJL/PyTorch
 * backend is the reference implementation, the CUDA backend ({@code kernels}) the fast one.
 *
 * <p>Conventions: activations are [B, T, F] (batch, step, features), row-major; a linear layer's weight is
 * [out, in] as Hugging Face stores it. Every op returns a new tensor owned by the current {@link Scope}.
 */
public interface Backend extends AutoCloseable {
    /** Short name, as given to {@code --backend}: {@code cpu}, {@code cuda}. */
    String name();

    /** The device in words, for reports and benchmarks. */
    String device();

    /**
     * Refuses ({@link dev.steer.engine.BadInputException}, one line naming {@code model}) when {@code parameters}
     * weights cannot fit where this backend keeps them; called before the first {@link #weight}. No check by default.
     */
    default void checkRoomForWeights(long parameters, String model) {
    }

    /** Uploads a weight once; it lives as long as the backend. The backend picks the storage dtype. */
    Tensor weight(HostTensor source);

    Scope openScope();

    Tensor floats(float[] data, long... shape);

    /** Integer tensor (token ids). */
    Tensor ints(int[] data, long... shape);

    /** Copies a tensor to the host as float32, row-major. */
    float[] toHost(Tensor t);

    /** {@code table[ids] * scale}: ids [B, T] → [B, T, H]; the scale is applied in the compute dtype. */
    Tensor embed(Tensor table, Tensor ids, float scale);

    /** {@code x / sqrt(mean(x²) + eps) * (1 + w)} over the last dimension, in float32. */
    Tensor rmsNorm(Tensor x, Tensor w, float eps);

    /** {@code x · wᵀ}: [..., in] × [out, in] → [..., out]. */
    Tensor linear(Tensor x, Tensor w);

    /**
     * A residual add between two RMSNorms, as a Gemma-2 layer has after attention: returns
     * {@code {res = h + rmsNorm(x, wPost), rmsNorm(res, wPre)}}. By default three ops; a GPU backend fuses them.
     */
    default Tensor[] addRmsNorm(Tensor h, Tensor x, Tensor wPost, Tensor wPre, float eps) {
        Tensor res = add(h, rmsNorm(x, wPost, eps));
        return new Tensor[] {res, rmsNorm(res, wPre, eps)};
    }

    Tensor add(Tensor a, Tensor b);

    /** {@code gelu_tanh(gate) ⊙ up}. */
    Tensor geluTanhMul(Tensor gate, Tensor up);

    /** {@code tanh(x / cap) * cap}. */
    Tensor softcap(Tensor x, float cap);

    RopeTable ropeTable(StepLayout layout, int headDim, double theta);

    /** Rotary embedding, rotate-half convention, on x [B, T, heads * headDim]. */
    Tensor rope(Tensor x, int heads, int headDim, RopeTable table);

    KvCache kvCache(int layers, int batch, int kvHeads, int headDim, int capacity);

    /**
     * Writes this step's k, v ([B, T, kvHeads * headDim], already rotated) into {@code cache} for {@code layer}
     * at slots [past, past + T) and returns the attention output [B, T, heads * headDim] over every filled slot.
     */
    Tensor attention(Tensor q, Tensor k, Tensor v, KvCache cache, int layer, StepLayout layout, AttentionSpec spec);

    /**
     * Whether this backend wants packed projections: q, k and v as one weight [(heads + 2 kvHeads) × D, H] and
     * gate and up as one [2I, H], one GEMM each instead of three and two, read with {@link #attentionPacked} and
     * {@link #geluTanhMulPacked}. False by default (the model then uses the separate weights).
     */
    default boolean packsProjections() {
        return false;
    }

    /**
     * {@link #attention} from the packed qkv projection [B, T, (heads + 2 kvHeads) × D]: q and k rotated (as
     * {@link #rope}), this step's keys and values into the cache, then attention, in as few passes as the backend
     * manages. Called only where {@link #packsProjections()}.
     */
    default Tensor attentionPacked(Tensor qkv, RopeTable rope, KvCache cache, int layer, StepLayout layout, AttentionSpec spec) {
        throw new UnsupportedOperationException(name() + " does not pack projections");
    }

    /** Packed [.., 2I] (gate then up) → geluTanh(gate) × up [.., I]. Called only where {@link #packsProjections()}. */
    default Tensor geluTanhMulPacked(Tensor gateUp) {
        throw new UnsupportedOperationException(name() + " does not pack projections");
    }

    /**
     * {@code geluTanhMulPacked(linear(x, gateUp))}, the MLP's first half, in as few passes as the backend manages.
     * Called only where {@link #packsProjections()}.
     */
    default Tensor linearGeluTanhMulPacked(Tensor x, Tensor gateUp) {
        return geluTanhMulPacked(linear(x, gateUp));
    }

    /**
     * One whole decoder layer of a decode step (one new position a row) from its input {@code h} and
     * {@code n = rmsNorm(h, input norm)}, ending in the residual add fused with the norms around it, in as few passes
     * as the backend manages; or null where it has no such pass (the caller then runs the ops one by one). The ops:
     * <pre>
     * a = attentionPacked(linear(n, w.qkv))        h1, n2 = addRmsNorm(h, linear(a, w.o), w.postAttnNorm, w.preFfnNorm)
     * m = linear(geluTanhMulPacked(linear(n2, w.gateUp)), w.down)
     * return addRmsNorm(h1, m, w.postFfnNorm, nextNorm)  // {the layer's output, its norm by the next layer's input norm}
     * </pre>
     * The result must equal those ops' on this backend. By default {@link #decodeLayers} of this one layer.
     */
    default Tensor[] decodeLayer(PackedLayer w, Tensor h, Tensor n, Tensor nextNorm, RopeTable rope, KvCache cache, int layer, StepLayout layout,
                                 AttentionSpec spec, float eps) {
        return decodeLayers(new PackedLayer[] {w}, h, n, new Tensor[] {nextNorm}, rope, cache, layer, layout, new AttentionSpec[] {spec}, eps);
    }

    /**
     * {@link #decodeLayer} for the consecutive layers {@code first .. first + w.length - 1} in one pass, each layer's
     * output and norm the next one's input: layer {@code first + i} takes {@code w[i]}, {@code nextNorms[i]} and
     * {@code specs[i]}. Returns {the last layer's output, its norm by {@code nextNorms[w.length - 1]}}, equal to the
     * ops {@link #decodeLayer} lists run layer by layer; or null (nothing done) where it has no such pass. Null by
     * default.
     */
    default Tensor[] decodeLayers(PackedLayer[] w, Tensor h, Tensor n, Tensor[] nextNorms, RopeTable rope, KvCache cache, int first,
                                  StepLayout layout, AttentionSpec[] specs, float eps) {
        return null;
    }

    /** x [B, T, F] → [B, F], the last step of every row. */
    Tensor lastStep(Tensor x);

    /**
     * The residual hook's work: optionally the L2 norm of every (row, step) of {@code h} before the add, then
     * {@code h + mask[b, t] * delta[b]}. {@code delta} [B, H] (null: nothing added), {@code mask} [B, T] (ignored
     * when delta is null). An unsteered batch pays only for the norms.
     */
    SteerResult steer(Tensor h, Tensor delta, Tensor mask, boolean norms);

    /**
     * {@link #steer} of {@code h + update}: the residual add that ends a layer fused with the hook's norms and
     * steering add (one pass over the residual on a GPU). The result's residual is the steered sum (the sum when
     * {@code delta} is null); norms are of the sum, before the steering add.
     */
    default SteerResult addSteer(Tensor h, Tensor update, Tensor delta, Tensor mask, boolean norms) {
        return steer(add(h, update), delta, mask, norms);
    }

    /** Index of the largest value of every row of logits [B, V] (ties: lowest index). */
    int[] argmax(Tensor logits);

    /**
     * One token per row of logits [B, V] by temperature and nucleus sampling ({@link Sampling}'s rule), row r
     * with the random draw {@code uniforms[r]} in [0, 1). By default on the host; a GPU backend samples where the
     * logits are and copies back only the tokens.
     */
    default int[] sample(Tensor logits, double temperature, double topP, double[] uniforms) {
        float[] host = toHost(logits);
        if (uniforms.length == 0 || host.length % uniforms.length != 0)
            throw new IllegalArgumentException("sample: " + host.length + " logits for " + uniforms.length + " rows");
        return Sampling.sampleRows(host, host.length / uniforms.length, temperature, topP, uniforms);
    }

    /**
     * Opens a step whose op sequence repeats exactly (a decode step: same shapes, same hooks, only the data
     * changes), identified by {@code key} (e.g. the generation's KV cache). A backend may capture such a step once
     * and replay it (CUDA graphs); the forward still runs as usual. Until {@link #endRepeatedStep()}, nothing may
     * be copied to the host: read results after the step ends.
     */
    default void beginRepeatedStep(Object key) {
    }

    /** Closes the step opened by {@link #beginRepeatedStep}; its work is queued (or done) when this returns. */
    default void endRepeatedStep() {
    }

    /**
     * Whether the next {@link #beginRepeatedStep} with {@code key} will only record the step's work and launch it at
     * {@link #endRepeatedStep} (a replayed CUDA graph). Then a caller may record the next step before the previous
     * one's results are back, with its token ids in an {@link #intsLater} tensor set by {@link #setInts} just before
     * the step ends (the generator's look-ahead). False by default.
     */
    default boolean recordsAhead(Object key) {
        return false;
    }

    /** An int tensor whose values {@link #setInts} gives before the step that reads it ends; see {@link #recordsAhead}. */
    default Tensor intsLater(long... shape) {
        throw new UnsupportedOperationException(name() + ": no look-ahead steps");
    }

    /** The values of an {@link #intsLater} tensor, copied in order before the work of the open step runs. */
    default void setInts(Tensor t, int[] values) {
        throw new UnsupportedOperationException(name() + ": no look-ahead steps");
    }

    /**
     * {@link #toHost}, queued: the copy is ordered after the work already queued, so {@code t}'s scope may close
     * once this returns; {@link Pending#get} waits for it. By default read now.
     */
    default Pending<float[]> toHostLater(Tensor t) {
        return Pending.of(toHost(t));
    }

    /**
     * The host's read bandwidth in bytes a second as this backend's own threads stream memory (threads summing
     * disjoint slices of a fresh buffer of {@code bytes}, best of {@code passes}), or NaN where the backend has no
     * such pass of its own (the caller then measures one itself). By default NaN.
     */
    default double readBandwidth(long bytes, int passes) {
        return Double.NaN;
    }

    /**
     * The read bandwidth, in bytes a second, of streaming this backend's own weight matrices once in place (their
     * bytes in {@link #weightReadBytes}) on its threads, best of {@code passes}: the floor of a decode step measured
     * on the very memory a step reads. NaN where the backend has no such pass (by default).
     */
    default double weightReadBandwidth(int passes) {
        return Double.NaN;
    }

    /** The bytes {@link #weightReadBandwidth} reads a pass (0 by default). */
    default long weightReadBytes() {
        return 0;
    }

    /** What {@link #readBandwidth} runs, in words (e.g. the loads and threads), or null by default. */
    default String readBandwidthMethod() {
        return null;
    }

    /** {@link #sample}, queued like {@link #toHostLater}. By default drawn now. */
    default Pending<int[]> sampleLater(Tensor logits, double temperature, double topP, double[] uniforms) {
        return Pending.of(sample(logits, temperature, topP, uniforms));
    }

    /** {@link #argmax}, queued like {@link #toHostLater}. By default chosen now. */
    default Pending<int[]> argmaxLater(Tensor logits) {
        return Pending.of(argmax(logits));
    }

    /** Counters worth reporting with a benchmark (e.g. CUDA-graph replays); empty by default. */
    default java.util.Map<String, Object> stats() {
        return java.util.Map.of();
    }

    /** Peak device memory in use since the backend opened, in bytes; -1 when the backend cannot tell. */
    default long peakMemoryBytes() {
        return -1;
    }

    @Override
    void close();
}
