package dev.steer.models.gemma2;

import dev.steer.engine.backend.AttentionSpec;
import dev.steer.engine.backend.Backend;
import dev.steer.engine.backend.KvCache;
import dev.steer.engine.backend.PackedLayer;
import dev.steer.engine.backend.RopeTable;
import dev.steer.engine.backend.Scope;
import dev.steer.engine.backend.StepLayout;
import dev.steer.engine.backend.Tensor;
import dev.steer.engine.model.CausalLm;
import dev.steer.engine.model.ModelDims;
import dev.steer.engine.model.ResidualHook;
import dev.steer.engine.tensor.HostTensor;
import dev.steer.engine.tensor.RowConcat;

import java.util.Arrays;
import java.util.function.Function;

/**
 * The Gemma-2 forward, written once against the engine's op set, with Hugging Face semantics (see DESIGN.md):
 * scaled embeddings, RMSNorm with (1 + w), four norms per layer, GQA attention with soft-capped scores and
 * alternating sliding/full layers, gelu_tanh gated MLP, soft-capped logits.
 */
public final class Gemma2 implements CausalLm {
    private final Gemma2Config cfg;
    private final Backend backend;
    private final ModelDims dims;
    private final Tensor embed;
    private final Tensor lmHead;
    private final Tensor finalNorm;
    private final Layer[] layers;
    /** Each layer's packed weights (null entries when the backend takes them separately). */
    private final PackedLayer[] packed;
    private final AttentionSpec[] attention;

    /** Either q, k, v, gate, up (separate) or qkv, gateUp (packed, when the backend asks for it) are set. */
    private record Layer(Tensor inputNorm, Tensor q, Tensor k, Tensor v, Tensor qkv, Tensor o, Tensor postAttnNorm,
                         Tensor preFfnNorm, Tensor gate, Tensor up, Tensor gateUp, Tensor down, Tensor postFfnNorm) {
        /** The packed weights as {@link Backend#decodeLayer} takes them, or null when the projections are separate. */
        PackedLayer packed() {
            return qkv == null ? null : new PackedLayer(qkv, o, postAttnNorm, preFfnNorm, gateUp, down, postFfnNorm);
        }
    }

    /**
     * Uploads every weight from {@code weights} (a checkpoint, or random weights for benchmarks) to the backend.
     * Shapes are the caller's to validate (see {@code Gemma2Config.weightShapes}).
     */
    public Gemma2(Gemma2Config cfg, Function<String, HostTensor> weights, Backend backend) {
        this.cfg = cfg;
        this.backend = backend;
        this.dims = cfg.dims();
        this.embed = backend.weight(weights.apply("model.embed_tokens.weight"));
        this.lmHead = cfg.tieWordEmbeddings() ? embed : backend.weight(weights.apply("lm_head.weight"));
        this.finalNorm = backend.weight(weights.apply("model.norm.weight"));
        this.layers = new Layer[cfg.numLayers()];
        this.packed = new PackedLayer[cfg.numLayers()];
        this.attention = new AttentionSpec[cfg.numLayers()];
        float scale = (float) (1.0 / Math.sqrt(cfg.queryPreAttnScalar()));
        for (int i = 0; i < layers.length; i++) {
            String p = "model.layers." + i + ".";
            Function<String, Tensor> w = n -> backend.weight(weights.apply(p + n + ".weight"));
            Function<String[], Tensor> packed = names -> {
                java.util.List<HostTensor> parts = new java.util.ArrayList<>();
                for (String n : names) parts.add(weights.apply(p + n + ".weight"));
                return backend.weight(new RowConcat(p + String.join("+", names) + ".weight", parts));
            };
            boolean pack = backend.packsProjections();
            Tensor inputNorm = w.apply("input_layernorm");
            Tensor q = null, k = null, v = null, qkv = null, gate = null, up = null, gateUp = null;
            if (pack) {
                qkv = packed.apply(new String[] {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"});
            } else {
                q = w.apply("self_attn.q_proj");
                k = w.apply("self_attn.k_proj");
                v = w.apply("self_attn.v_proj");
            }
            Tensor o = w.apply("self_attn.o_proj"), postAttn = w.apply("post_attention_layernorm"), preFfn = w.apply("pre_feedforward_layernorm");
            if (pack) {
                gateUp = packed.apply(new String[] {"mlp.gate_proj", "mlp.up_proj"});
            } else {
                gate = w.apply("mlp.gate_proj");
                up = w.apply("mlp.up_proj");
            }
            layers[i] = new Layer(inputNorm, q, k, v, qkv, o, postAttn, preFfn, gate, up, gateUp, w.apply("mlp.down_proj"),
                    w.apply("post_feedforward_layernorm"));
            this.packed[i] = layers[i].packed();
            attention[i] = new AttentionSpec(cfg.numHeads(), cfg.numKvHeads(), cfg.headDim(), scale,
                    (float) cfg.attnLogitSoftcap(), cfg.isSliding(i) ? cfg.slidingWindow() : 0);
        }
    }

    public Gemma2Config config() {
        return cfg;
    }

    @Override
    public ModelDims dims() {
        return dims;
    }

    @Override
    public Backend backend() {
        return backend;
    }

    @Override
    public KvCache newCache(int batch, int capacity) {
        return backend.kvCache(cfg.numLayers(), batch, cfg.numKvHeads(), cfg.headDim(), capacity);
    }

    @Override
    public Tensor forward(Tensor ids, StepLayout layout, KvCache cache, ResidualHook hook, boolean allSteps) {
        Backend b = backend;
        float eps = (float) cfg.rmsNormEps();
        // HF casts sqrt(hidden) to the compute dtype before multiplying.
        Tensor h = b.embed(embed, ids, (float) Math.sqrt(cfg.hiddenSize()));
        RopeTable rope = b.ropeTable(layout, cfg.headDim(), cfg.ropeTheta());
        // Prefill: a scope per layer, whose intermediates are freed when the layer ends (a batch-64 prefill of
        // gemma-2-2b once held all 26 layers' at once). Only h moves on, taking the place of the layer's input h
        // (Scope.keep(t, replacing)), so one B x T x hidden tensor carries across layers rather than one per layer.
        // At prefill a layer's end is not fused with the next layer's input norm: that would keep a second tensor.
        // Decode steps are small: no inner scopes (no copies of kept tensors either; the step's own scope frees
        // everything) and the fusion across layers.
        boolean perLayer = layout.steps() > 1;
        Tensor n = null;   // this layer's input norm, when the previous layer's fused end already computed it
        Tensor finalNormed = null;   // the final norm of h, when the last layer's fused end computed it
        for (int l = 0; l < layers.length; l++) {
            Layer w = layers[l];
            boolean last = l + 1 == layers.length;
            try (Scope layerScope = perLayer ? b.openScope() : STEP) {
                if (n == null) n = b.rmsNorm(h, w.inputNorm(), eps);
                // A decode step's run of layers with nothing to hook between them: in one pass where the backend has one.
                int run = perLayer ? 0 : fusable(l, hook, allSteps);
                Tensor[] many = run < 2 ? null : b.decodeLayers(Arrays.copyOfRange(packed, l, l + run), h, n,
                        nextNorms(l, run), rope, cache, l, layout, Arrays.copyOfRange(attention, l, l + run), eps);
                if (many != null) {
                    h = many[0];
                    l += run - 1;
                    if (l + 1 == layers.length) finalNormed = many[1];
                    else n = many[1];
                    continue;
                }
                if (!perLayer && !hook.hooks(l) && (!last || !allSteps)) {
                    // Nothing to hook here: the residual add fused with both norms around it (this layer's post-FFN
                    // norm, then the next layer's input norm, or after the last layer the final norm); the whole layer
                    // in one pass where the backend has one.
                    Tensor next = nextNorm(l);
                    Tensor[] r = packed[l] == null ? null : b.decodeLayer(packed[l], h, n, next, rope, cache, l, layout, attention[l], eps);
                    if (r == null) {
                        Tensor[] parts = layer(b, w, attention[l], h, n, rope, cache, l, layout, eps);
                        r = b.addRmsNorm(parts[0], parts[1], w.postFfnNorm(), next, eps);
                    }
                    h = layerScope.keep(r[0]);
                    if (last) finalNormed = r[1];
                    else n = layerScope.keep(r[1]);
                } else {
                    Tensor[] parts = layer(b, w, attention[l], h, n, rope, cache, l, layout, eps);
                    // The layer's last residual add is left to the hook, which may fuse it with its norms and steering.
                    Tensor update = b.rmsNorm(parts[1], w.postFfnNorm(), eps);
                    // the previous layer's output (this layer's input) is dead once the layer ends: its place is reused
                    h = layerScope.keep(hook.afterLayer(l, parts[0], update, layout, b, layerScope), h);
                    n = null;
                }
            }
        }
        cache.advance(layout.steps());
        // The norm is per position, so the last step of the normed h is the norm of h's last step.
        Tensor normed = finalNormed != null ? b.lastStep(finalNormed) : b.rmsNorm(allSteps ? h : b.lastStep(h), finalNorm, eps);
        Tensor logits = b.linear(normed, lmHead);
        return cfg.finalLogitSoftcap() > 0 ? b.softcap(logits, (float) cfg.finalLogitSoftcap()) : logits;
    }

    /**
     * How many layers from {@code l} on a decode step can run as one pass: consecutive, packed, none hooked, and
     * not the last when every step's logits are wanted (the last layer's norm is then not the final norm's input).
     */
    private int fusable(int l, ResidualHook hook, boolean allSteps) {
        int end = l;
        while (end < layers.length && packed[end] != null && !hook.hooks(end) && (end + 1 < layers.length || !allSteps)) end++;
        return end - l;
    }

    /** The norm after layer l: the next layer's input norm, after the last layer the final norm. */
    private Tensor nextNorm(int l) {
        return l + 1 == layers.length ? finalNorm : layers[l + 1].inputNorm();
    }

    /** {@link #nextNorm} of each of the layers l .. l + run - 1. */
    private Tensor[] nextNorms(int l, int run) {
        Tensor[] next = new Tensor[run];
        for (int i = 0; i < run; i++) next[i] = nextNorm(l + i);
        return next;
    }

    /** Decode steps run their layers in the step's scope: keeping is a no-op. */
    private static final Scope STEP = new Scope() {
        @Override
        public Tensor keep(Tensor t) {
            return t;
        }

        @Override
        public void close() {
        }
    };

    /**
     * One decoder layer from its input h and {@code n = RMSNorm(h; w_input)}: attention block, then MLP block, each
     * pre- and post-normed; returns {h after the attention block, the MLP block's output before its post-FFN norm}:
     * the layer's output is {@code parts[0] + RMSNorm(parts[1]; w_post_ffn)}.
     */
    private Tensor[] layer(Backend b, Layer w, AttentionSpec spec, Tensor h, Tensor n, RopeTable rope, KvCache cache, int l,
                         StepLayout layout, float eps) {
        Tensor a;
        if (w.qkv() != null) {
            a = b.attentionPacked(b.linear(n, w.qkv()), rope, cache, l, layout, spec);
        } else {
            Tensor q = b.rope(b.linear(n, w.q()), cfg.numHeads(), cfg.headDim(), rope);
            Tensor k = b.rope(b.linear(n, w.k()), cfg.numKvHeads(), cfg.headDim(), rope);
            a = b.attention(q, k, b.linear(n, w.v()), cache, l, layout, spec);
        }
        Tensor[] mid = b.addRmsNorm(h, b.linear(a, w.o()), w.postAttnNorm(), w.preFfnNorm(), eps);
        h = mid[0];
        Tensor n2 = mid[1];
        Tensor act = w.gateUp() != null ? b.linearGeluTanhMulPacked(n2, w.gateUp())
                : b.geluTanhMul(b.linear(n2, w.gate()), b.linear(n2, w.up()));
        Tensor m = b.linear(act, w.down());
        return new Tensor[] {h, m};
    }

    @Override
    public void close() {
        // Weights belong to the backend; closing the backend releases them.
    }
}
