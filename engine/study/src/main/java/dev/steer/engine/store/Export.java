package dev.steer.engine.store;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;

import java.io.BufferedWriter;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code steer export}: runs as JSONL (one object per line) or CSV (header row, RFC 4180 quoting), UTF-8, written
 * atomically. Field names are the ones {@code steer report --import} reads (trait, layer, method, coef,
 * vector_norm, activation_norm, coherence_mean, trait_mean, baseline_trait_mean), plus the rest of the run;
 * {@code ratio} is {@link RunRecord#ratio()} (|coef|·‖v‖/activation_norm, the law's ratio reports bucket by),
 * {@code steered_norm_mean} and {@code steered_ratio} the same over the steered positions (response included),
 * {@code live_ratio} the steered ratio under its earlier name. Missing values are JSON null and empty CSV cells.
 */
public final class Export {
    /** Column order of both formats. */
    public static final List<String> FIELDS = List.of("id", "config_key", "kind", "status", "trait", "layer",
            "method", "coef", "vector_norm", "activation_norm", "ratio", "steered_norm_mean", "steered_ratio", "live_ratio", "coherence_mean",
            "trait_mean", "baseline_trait_mean", "delta", "n", "positions", "judge", "coherence_judge",
            "max_new_tokens", "seed", "temperature", "search_step", "model_id", "vector_id", "created_at");

    private static final Gson GSON = new GsonBuilder().serializeNulls().disableHtmlEscaping().create();

    private Export() {
    }

    public static void jsonl(List<RunRecord> runs, Path target) {
        AtomicFile.write(target, out -> {
            Writer w = new BufferedWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8));
            for (RunRecord r : runs) w.write(GSON.toJson(fields(r)) + "\n");
            w.flush();
        });
    }

    public static void csv(List<RunRecord> runs, Path target) {
        AtomicFile.write(target, out -> {
            Writer w = new BufferedWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8));
            w.write(String.join(",", FIELDS) + "\r\n");
            for (RunRecord r : runs) {
                List<String> cells = fields(r).values().stream().map(Export::csvCell).toList();
                w.write(String.join(",", cells) + "\r\n");
            }
            w.flush();
        });
    }

    /** The exported fields of one run, in {@link #FIELDS} order. */
    public static Map<String, Object> fields(RunRecord r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", r.id());
        m.put("config_key", r.configKey());
        m.put("kind", r.kind().dbName());
        m.put("status", r.status().dbName());
        m.put("trait", r.trait());
        m.put("layer", r.layer());
        m.put("method", r.method());
        m.put("coef", r.coef());
        m.put("vector_norm", r.vectorNorm());
        m.put("activation_norm", r.activationNorm());
        m.put("ratio", r.ratio());
        m.put("steered_norm_mean", r.steeredNormMean());
        m.put("steered_ratio", r.steeredRatio());
        m.put("live_ratio", r.steeredRatio());
        m.put("coherence_mean", r.coherenceMean());
        m.put("trait_mean", r.traitMean());
        m.put("baseline_trait_mean", r.baselineTraitMean());
        m.put("delta", r.delta());
        m.put("n", r.n());
        m.put("positions", r.positions());
        m.put("judge", r.judge());
        m.put("coherence_judge", r.coherenceJudge());
        m.put("max_new_tokens", r.maxNewTokens());
        m.put("seed", r.seed());
        m.put("temperature", r.temperature());
        m.put("search_step", r.searchStep());
        m.put("model_id", r.modelId());
        m.put("vector_id", r.vectorId());
        m.put("created_at", r.createdAt().toString());
        return m;
    }

    /** RFC 4180: quote a cell holding a comma, quote, CR or LF, doubling its quotes; null is an empty cell. */
    static String csvCell(Object v) {
        if (v == null) return "";
        String s = v.toString();
        if (s.indexOf(',') < 0 && s.indexOf('"') < 0 && s.indexOf('\n') < 0 && s.indexOf('\r') < 0) return s;
        return "\"" + s.replace("\"", "\"\"") + "\"";
    }
}
