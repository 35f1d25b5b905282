package dev.steer.models.gemma2;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.steer.engine.BadInputException;
import dev.steer.engine.model.ModelDims;
import dev.steer.models.hf.Checkpoint;
import dev.steer.models.hf.ConfigFields;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Gemma-2 configuration as transformers' {@code Gemma2Config} reads it. Where config.json omits a field,
 * transformers' default applies (softcaps 50 / 30, rope_theta 10000, eps 1e-6, bos 2, eos 1, pad 0, tied head);
 * a softcap written as {@code null} means no capping, represented here as 0.
 *
 * @param queryPreAttnScalar attention scores are scaled by {@code queryPreAttnScalar^-0.5}
 * @param slidingWindow      on sliding layers a query at position p sees keys at positions > p − slidingWindow
 * @param layerTypes         "sliding_attention" or "full_attention" per layer
 * @param dtype              the checkpoint's declared torch dtype name, e.g. "bfloat16", "float32"
 * @param eosIds             generation stops on any of these (generation_config.json wins over config.json)
 * @param maxPositionEmbeddings positions a row may reach: prompt tokens + new tokens (transformers' default 8192)
 */
public record Gemma2Config(int vocabSize, int hiddenSize, int intermediateSize, int numLayers, int numHeads,
                           int numKvHeads, int headDim, double queryPreAttnScalar, int slidingWindow,
                           double attnLogitSoftcap, double finalLogitSoftcap, double ropeTheta, double rmsNormEps,
                           List<String> layerTypes, boolean tieWordEmbeddings, String dtype, int bosId, int[] eosIds,
                           int padId, String hiddenActivation, int maxPositionEmbeddings) {
    public static final String MODEL_TYPE = "gemma2";
    /** transformers' Gemma2Config default when config.json has no max_position_embeddings. */
    public static final int DEFAULT_MAX_POSITIONS = 8192;
    public static final String SLIDING = "sliding_attention";
    public static final String FULL = "full_attention";
    public static final String GELU_TANH = "gelu_pytorch_tanh";

    public Gemma2Config {
        layerTypes = List.copyOf(layerTypes);
        eosIds = eosIds.clone();
        if (layerTypes.size() != numLayers) {
            throw new IllegalArgumentException(layerTypes.size() + " layer types for " + numLayers + " layers");
        }
    }

    /** Reads {@code dir/config.json} and, when present, {@code dir/generation_config.json}. */
    public static Gemma2Config read(Path dir) {
        Path configFile = Checkpoint.configFile(dir);
        JsonObject generation = null;
        Path generationFile = dir.resolve("generation_config.json");
        if (Files.isRegularFile(generationFile)) generation = Checkpoint.readJson(generationFile);
        return fromJson(Checkpoint.readJson(configFile), configFile, generation, generationFile);
    }

    /**
     * {@code generation} (and its path) may be null. Every field is checked against its real bound here, before any
     * weight is read: a value outside it would give NaN output, a crash or a silently different model rather than an
     * error, so the message names the file, the field, the bound and the value.
     */
    public static Gemma2Config fromJson(JsonObject config, Path configFile, JsonObject generation, Path generationFile) {
        ConfigFields f = new ConfigFields(config, configFile);
        String modelType = f.optionalString("model_type", null);
        if (modelType == null) throw new BadInputException(configFile + ": missing required field 'model_type'");
        if (!modelType.equals(MODEL_TYPE)) {
            throw new BadInputException(configFile + ": model_type '" + modelType + "' is not supported (supported: "
                    + MODEL_TYPE + ")");
        }
        int vocab = positive(f, "vocab_size");
        int layers = positive(f, "num_hidden_layers");
        int heads = positive(f, "num_attention_heads");
        int kvHeads = positive(f, "num_key_value_heads");
        if (heads % kvHeads != 0) {
            throw f.invalid("num_attention_heads", "(" + heads + ") is not a multiple of num_key_value_heads (" + kvHeads + ")");
        }
        int headDim = positive(f, "head_dim");
        // RoPE rotates the two halves of each head against each other.
        if (headDim % 2 != 0) throw f.invalid("head_dim", "must be even (RoPE rotates pairs), got " + headDim);
        String activation = f.optionalString("hidden_activation", f.optionalString("hidden_act", GELU_TANH));
        if (!activation.equals(GELU_TANH)) {
            throw f.invalid("hidden_activation", "'" + activation + "' is not supported (supported: " + GELU_TANH + ")");
        }
        // Options that would change the model's math, which this forward does not implement: refused, not ignored.
        if (f.optionalBoolean("attention_bias", false)) throw f.invalid("attention_bias", "is true, but steer's Gemma-2 has no attention biases");
        if (f.optionalBoolean("use_bidirectional_attention", false)) {
            throw f.invalid("use_bidirectional_attention", "is true, but steer runs Gemma-2 as a causal language model");
        }
        int[] eosIds = f.present("eos_token_id") ? ids(f, "eos_token_id", vocab) : new int[] {1};
        if (generation != null) {
            ConfigFields g = new ConfigFields(generation, generationFile);
            if (g.present("eos_token_id")) eosIds = ids(g, "eos_token_id", vocab);
        }
        return new Gemma2Config(
                vocab, positive(f, "hidden_size"), positive(f, "intermediate_size"),
                layers, heads, kvHeads, headDim,
                positiveFloat(f, "query_pre_attn_scalar", f.requiredDouble("query_pre_attn_scalar")), positive(f, "sliding_window"),
                softcap(f, "attn_logit_softcapping", 50.0), softcap(f, "final_logit_softcapping", 30.0),
                ropeTheta(f), rmsNormEps(f), layerTypes(f, layers),
                f.optionalBoolean("tie_word_embeddings", true),
                f.optionalString("torch_dtype", f.optionalString("dtype", "float32")),
                tokenId(f, "bos_token_id", 2, vocab), eosIds, tokenId(f, "pad_token_id", 0, vocab), activation,
                f.present("max_position_embeddings") ? positive(f, "max_position_embeddings") : DEFAULT_MAX_POSITIONS);
    }

    /** Named configurations for {@code --random} benchmarks and tests: "gemma-2-2b" and "tiny" (the test fixture). */
    public static Gemma2Config preset(String name) {
        return switch (name) {
            case "gemma-2-2b" -> new Gemma2Config(256000, 2304, 9216, 26, 8, 4, 256, 256, 4096, 50, 30, 10000, 1e-6,
                    alternating(26), true, "float32", 2, new int[] {1, 107}, 0, GELU_TANH, 8192);
            case "tiny" -> new Gemma2Config(384, 64, 160, 4, 4, 2, 24, 24, 8, 50, 30, 10000, 1e-6,
                    alternating(4), true, "bfloat16", 2, new int[] {1}, 0, GELU_TANH, 512);
            default -> throw new BadInputException("unknown model preset '" + name + "' (presets: gemma-2-2b, tiny)");
        };
    }

    public boolean isSliding(int layer) {
        return layerTypes.get(layer).equals(SLIDING);
    }

    public ModelDims dims() {
        return new ModelDims(MODEL_TYPE, numLayers, hiddenSize, vocabSize, bosId, padId, eosIds, maxPositionEmbeddings);
    }

    /** Every weight's Hugging Face name and shape ([out, in] for projections), in load order. */
    public Map<String, long[]> weightShapes() {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        long q = (long) numHeads * headDim, kv = (long) numKvHeads * headDim;
        shapes.put("model.embed_tokens.weight", new long[] {vocabSize, hiddenSize});
        for (int i = 0; i < numLayers; i++) {
            String p = "model.layers." + i + ".";
            shapes.put(p + "input_layernorm.weight", new long[] {hiddenSize});
            shapes.put(p + "self_attn.q_proj.weight", new long[] {q, hiddenSize});
            shapes.put(p + "self_attn.k_proj.weight", new long[] {kv, hiddenSize});
            shapes.put(p + "self_attn.v_proj.weight", new long[] {kv, hiddenSize});
            shapes.put(p + "self_attn.o_proj.weight", new long[] {hiddenSize, q});
            shapes.put(p + "post_attention_layernorm.weight", new long[] {hiddenSize});
            shapes.put(p + "pre_feedforward_layernorm.weight", new long[] {hiddenSize});
            shapes.put(p + "mlp.gate_proj.weight", new long[] {intermediateSize, hiddenSize});
            shapes.put(p + "mlp.up_proj.weight", new long[] {intermediateSize, hiddenSize});
            shapes.put(p + "mlp.down_proj.weight", new long[] {hiddenSize, intermediateSize});
            shapes.put(p + "post_feedforward_layernorm.weight", new long[] {hiddenSize});
        }
        shapes.put("model.norm.weight", new long[] {hiddenSize});
        if (!tieWordEmbeddings) shapes.put("lm_head.weight", new long[] {vocabSize, hiddenSize});
        return shapes;
    }

    /** Total stored parameters (a tied head counted once). */
    public long parameterCount() {
        long n = 0;
        for (long[] shape : weightShapes().values()) n += Arrays.stream(shape).reduce(1, (a, b) -> a * b);
        return n;
    }

    @Override
    public int[] eosIds() {
        return eosIds.clone();
    }

    /** Value equality (the record default would compare {@code eosIds} by identity); toString shows every component. */
    @Override
    public boolean equals(Object o) {
        return o instanceof Gemma2Config c && toString().equals(c.toString());
    }

    @Override
    public int hashCode() {
        return toString().hashCode();
    }

    @Override
    public String toString() {
        return "Gemma2Config[vocab=" + vocabSize + ", hidden=" + hiddenSize + ", intermediate=" + intermediateSize
                + ", layers=" + numLayers + ", heads=" + numHeads + ", kvHeads=" + numKvHeads + ", headDim=" + headDim
                + ", queryPreAttnScalar=" + queryPreAttnScalar + ", slidingWindow=" + slidingWindow
                + ", softcaps=" + attnLogitSoftcap + "/" + finalLogitSoftcap + ", ropeTheta=" + ropeTheta
                + ", eps=" + rmsNormEps + ", layerTypes=" + layerTypes + ", tied=" + tieWordEmbeddings
                + ", dtype=" + dtype + ", bos=" + bosId + ", eos=" + Arrays.toString(eosIds) + ", pad=" + padId
                + ", activation=" + hiddenActivation + ", maxPositions=" + maxPositionEmbeddings + "]";
    }

    private static int positive(ConfigFields f, String field) {
        int v = f.requiredInt(field);
        if (v <= 0) throw f.invalid(field, "must be positive, got " + v);
        return v;
    }

    /**
     * A real field the forward uses in float32 ({@code 1/sqrt} of it, or dividing by it): positive, and still
     * positive and finite once rounded to float32 (1e-50 rounds to 0, 1e50 to infinity).
     */
    private static double positiveFloat(ConfigFields f, String field, double v) {
        float asFloat = (float) v;
        if (!(v > 0) || !(asFloat > 0) || Float.isInfinite(asFloat) || Float.isInfinite((float) (1 / Math.sqrt(v)))) {
            throw f.invalid(field, "must be positive and within float32's range (about 1e-38 to 3e38), got " + v);
        }
        return v;
    }

    private static double softcap(ConfigFields f, String field, double transformersDefault) {
        if (f.isNull(field)) return 0;
        double cap = f.optionalDouble(field, transformersDefault);
        // 0 is how this record says "no capping", but transformers divides by a written 0: null is the way to say off.
        if (!(cap > 0)) throw f.invalid(field, "must be positive (or null for no capping), got " + cap);
        return positiveFloat(f, field, cap);
    }

    private static double rmsNormEps(ConfigFields f) {
        double eps = f.optionalDouble("rms_norm_eps", 1e-6);
        if (eps < 0 || Float.isInfinite((float) eps)) throw f.invalid("rms_norm_eps", "must be >= 0 (and below 3e38), got " + eps);
        return eps;
    }

    private static double ropeTheta(ConfigFields f) {
        if (f.present("rope_scaling")) throw f.invalid("rope_scaling", "is set, but Gemma-2 uses plain RoPE");
        if (f.present("rope_theta")) return positiveFloat(f, "rope_theta", f.requiredDouble("rope_theta"));
        JsonElement params = f.get("rope_parameters");
        if (params == null) return 10000.0;
        if (!params.isJsonObject()) throw f.invalid("rope_parameters", "must be an object");
        ConfigFields p = new ConfigFields(params.getAsJsonObject(), f.file());
        String type = p.optionalString("rope_type", "default");
        if (!type.equals("default")) throw f.invalid("rope_parameters.rope_type", "'" + type + "' is not supported (supported: default)");
        return positiveFloat(f, "rope_parameters.rope_theta", p.optionalDouble("rope_theta", 10000.0));
    }

    /** A token id: in {@code [0, vocab_size)}, else "BOS excluded", EOS stops and padding refer to another token. */
    private static int tokenId(ConfigFields f, String field, int fallback, int vocab) {
        return inVocab(f, field, f.optionalInt(field, fallback), vocab);
    }

    private static int inVocab(ConfigFields f, String field, int id, int vocab) {
        if (id < 0 || id >= vocab) throw f.invalid(field, "must be a token id in 0.." + (vocab - 1) + " (vocab_size " + vocab + "), got " + id);
        return id;
    }

    private static List<String> layerTypes(ConfigFields f, int layers) {
        JsonElement json = f.get("layer_types");
        if (json == null) return alternating(layers);
        if (!json.isJsonArray() || json.getAsJsonArray().size() != layers) {
            throw f.invalid("layer_types", "must list one type per layer (" + layers + "), got " + json);
        }
        List<String> types = new ArrayList<>();
        for (JsonElement e : json.getAsJsonArray()) {
            String t = e.isJsonPrimitive() ? e.getAsString() : String.valueOf(e);
            if (!t.equals(SLIDING) && !t.equals(FULL)) {
                throw f.invalid("layer_types", "has '" + t + "' (allowed: " + SLIDING + ", " + FULL + ")");
            }
            types.add(t);
        }
        return types;
    }

    /** Gemma-2's default pattern: layer 0 sliding, 1 full, 2 sliding, ... */
    private static List<String> alternating(int layers) {
        List<String> types = new ArrayList<>();
        for (int i = 0; i < layers; i++) types.add(i % 2 == 0 ? SLIDING : FULL);
        return types;
    }

    /** A token id field that is an int or a non-empty list of ints, each in the vocabulary. */
    private static int[] ids(ConfigFields f, String field, int vocab) {
        JsonElement e = f.get(field);
        if (!e.isJsonArray()) return new int[] {inVocab(f, field, f.toInt(field, e), vocab)};
        int[] ids = new int[e.getAsJsonArray().size()];
        if (ids.length == 0) throw f.invalid(field, "is an empty list");
        for (int i = 0; i < ids.length; i++) ids[i] = inVocab(f, field, f.toInt(field, e.getAsJsonArray().get(i)), vocab);
        return ids;
    }
}
