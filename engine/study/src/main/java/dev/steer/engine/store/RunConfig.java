package dev.steer.engine.store;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.TreeMap;

/**
 * Everything that determines a run's result. Two runs with equal {@link #key()} would produce the same answers
 * and scores, so a resumed sweep reuses the stored run instead of generating again.
 *
 * <p>The key covers everything that changes an answer or its score: the weights, tokenizer and chat template (through
 * the model fingerprint), the backend and precision they run at, whether questions go through the chat template, the
 * trait's definition and rubrics, the judges with what their scores depend on ({@code Judge.scoreIdentity()}: an
 * OpenAI-compatible judge's server too), the questions, the vector, and the generation settings. Keys of form 1
 * (before the fingerprint read weight values and before chat, rubric, backend and server were covered) never equal
 * a form-2 key: runs stored with them stay readable but are never reused.
 *
 * @param modelFingerprint {@link ModelRecord#fingerprint()}
 * @param vectorSha256     {@link VectorRecord#sha256()}; null for a baseline run
 * @param trait            the trait judged (the trait judge's definition depends on it)
 * @param layer            hooked layer; null for a baseline run
 * @param coef             steering coefficient (signed)
 * @param positions        all | prompt | response
 * @param judge            trait judge id (model and prompt version)
 * @param coherenceJudge   coherence judge id
 * @param questionsHash    {@link #questionsHash(List)} of the eval questions, in order
 * @param temperature      sampling temperature; 0 is greedy
 * @param chat             whether questions were wrapped in the model's chat template
 * @param traitSha256      SHA-256 of the trait's definition and judge rubrics ({@code RunContext.traitSha256})
 * @param compute          backend and precision, e.g. {@code cpu:default}, {@code cuda:bf16}
 */
public record RunConfig(String modelFingerprint, String vectorSha256, String trait, Integer layer, double coef,
                        String positions, String judge, String coherenceJudge, String questionsHash,
                        int maxNewTokens, long seed, double temperature, boolean chat, String traitSha256, String compute) {

    /** Bumped whenever the canonical form or what it covers changes, so keys of different forms never collide. */
    public static final int KEY_FORM = 2;

    public RunConfig {
        if (!Double.isFinite(coef)) throw new IllegalArgumentException("coef must be finite, got " + coef);
        if (!Double.isFinite(temperature)) throw new IllegalArgumentException("temperature must be finite, got " + temperature);
    }

    /** SHA-256 (lower-case hex) of {@link #canonicalJson()}. */
    public String key() {
        return sha256Hex(canonicalJson());
    }

    /**
     * Compact JSON with keys in sorted order, nulls written out, {@code -0.0} written as {@code 0.0}; numbers as
     * Java's shortest round-trip decimal form, so the same double always gives the same text.
     */
    public String canonicalJson() {
        TreeMap<String, Object> fields = new TreeMap<>();
        fields.put("chat", chat ? 1 : 0);
        fields.put("coef", coef == 0 ? 0.0 : coef);
        fields.put("coherence_judge", coherenceJudge);
        fields.put("compute", compute);
        fields.put("judge", judge);
        fields.put("key_form", KEY_FORM);
        fields.put("layer", layer);
        fields.put("max_new_tokens", maxNewTokens);
        fields.put("model", modelFingerprint);
        fields.put("positions", positions);
        fields.put("questions", questionsHash);
        fields.put("seed", seed);
        fields.put("temperature", temperature == 0 ? 0.0 : temperature);
        fields.put("trait", trait);
        fields.put("trait_sha256", traitSha256);
        fields.put("vector", vectorSha256);
        JsonObject o = new JsonObject();
        fields.forEach((k, v) -> {
            if (v == null) o.add(k, JsonNull.INSTANCE);
            else if (v instanceof Number num) o.addProperty(k, num);
            else o.addProperty(k, (String) v);
        });
        return new GsonBuilder().serializeNulls().create().toJson(o);
    }

    /** SHA-256 of the questions as a JSON array of strings, so order and boundaries both count. */
    public static String questionsHash(List<String> questions) {
        return textsHash(questions);
    }

    /** SHA-256 of texts as a JSON array of strings (nulls as JSON null), so order and boundaries both count. */
    public static String textsHash(List<String> texts) {
        JsonArray a = new JsonArray();
        texts.forEach(t -> {
            if (t == null) a.add(JsonNull.INSTANCE);
            else a.add(t);
        });
        return sha256Hex(a.toString());
    }

    static String sha256Hex(String text) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            return HexFormat.of().formatHex(md.digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java runtime", e);
        }
    }
}
