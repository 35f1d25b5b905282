package dev.steer.engine.store;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import dev.steer.engine.BadInputException;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.LongFunction;

/**
 * {@code steer export}: runs, or every stored answer with its run's config, as JSONL (one object per line) or CSV
 * (header row, RFC 4180 quoting), UTF-8, written atomically. Run field names are the ones {@code steer report
 * --import} reads (trait, layer, method, coef, vector_norm, activation_norm, coherence_mean, trait_mean,
 * baseline_trait_mean), plus the rest of the run; {@code ratio} is {@link RunRecord#ratio()} (|coef|·‖v‖/activation_norm,
 * the law's ratio reports bucket by), {@code steered_norm_mean} and {@code steered_ratio} the same over the steered
 * positions (response included), {@code live_ratio} the steered ratio under its earlier name. The model and the
 * vector are named (path, fingerprint; file, sha256), not given by the database's row ids, which mean nothing
 * outside it. Missing values are JSON null and empty CSV cells.
 */
public final class Export {
    /** Column order of both formats, for runs. */
    public static final List<String> FIELDS = List.of("id", "config_key", "kind", "status", "trait", "layer",
            "method", "coef", "vector_norm", "activation_norm", "ratio", "steered_norm_mean", "steered_ratio", "live_ratio", "coherence_mean",
            "trait_mean", "baseline_trait_mean", "delta", "n", "positions", "judge", "coherence_judge",
            "max_new_tokens", "seed", "temperature", "search_step", "model", "model_fingerprint", "vector_file", "vector_sha256",
            "created_at");

    /**
     * Column order of both formats, for answers: the run's config (what made the answer: {@code run_id} is the run's
     * {@code id} in the runs export, {@code config_key} its key in any database), then the answer and its scores.
     */
    public static final List<String> ANSWER_FIELDS = List.of("run_id", "config_key", "kind", "status", "trait", "layer",
            "method", "coef", "vector_norm", "activation_norm", "ratio", "positions", "judge", "coherence_judge",
            "max_new_tokens", "seed", "temperature", "search_step", "model", "model_fingerprint", "vector_file", "vector_sha256",
            "idx", "question", "answer", "trait_score", "coherence_score");

    private static final Gson GSON = new GsonBuilder().serializeNulls().disableHtmlEscaping().create();

    /** The file format, from the target's extension. */
    public enum Format {
        JSONL, CSV;

        /** {@code .jsonl} or {@code .csv} (any case); anything else is bad input naming {@code flag} and the file. */
        public static Format of(Path target, String flag) {
            String name = target.getFileName() == null ? "" : target.getFileName().toString().toLowerCase(Locale.ROOT);
            if (name.endsWith(".jsonl")) return JSONL;
            if (name.endsWith(".csv")) return CSV;
            throw new BadInputException(flag + " " + target + ": unknown format; name the file .jsonl or .csv");
        }
    }

    /**
     * What a run's model and vector ids stand for in its database: an exported row names them. An id with no entry
     * (a database edited by hand) exports as nulls.
     */
    public record Names(Map<Long, ModelRecord> models, Map<Long, VectorRecord> vectors) {
        public static final Names NONE = new Names(Map.of(), Map.of());

        public Names {
            models = Map.copyOf(models);
            vectors = Map.copyOf(vectors);
        }

        public static Names of(RunStore store) {
            return new Names(store.models(), store.vectors());
        }
    }

    private Export() {
    }

    /** {@code runs} into {@code target}, in {@code format}. */
    public static void runs(Format format, List<RunRecord> runs, Names names, Path target) {
        write(format, FIELDS, target, rows -> {
            for (RunRecord r : runs) rows.row(fields(r, names));
        });
    }

    /**
     * Every answer of {@code runs} ({@code responses}: a run id's answers by idx) into {@code target}, in
     * {@code format}; returns how many.
     */
    public static long answers(Format format, List<RunRecord> runs, Names names, LongFunction<List<ResponseRecord>> responses, Path target) {
        long[] count = {0};
        write(format, ANSWER_FIELDS, target, rows -> {
            for (RunRecord r : runs) {
                Map<String, Object> run = fields(r, names);
                for (ResponseRecord a : responses.apply(r.id())) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    for (String f : ANSWER_FIELDS) m.put(f, run.get(f.equals("run_id") ? "id" : f));
                    m.put("idx", a.idx());
                    m.put("question", a.question());
                    m.put("answer", a.answer());
                    m.put("trait_score", a.traitScore());
                    m.put("coherence_score", a.coherenceScore());
                    rows.row(m);
                    count[0]++;
                }
            }
        });
        return count[0];
    }

    public static void jsonl(List<RunRecord> runs, Path target) {
        runs(Format.JSONL, runs, Names.NONE, target);
    }

    public static void csv(List<RunRecord> runs, Path target) {
        runs(Format.CSV, runs, Names.NONE, target);
    }

    /** The exported fields of one run, in {@link #FIELDS} order. */
    public static Map<String, Object> fields(RunRecord r, Names names) {
        ModelRecord model = names.models().get(r.modelId());
        VectorRecord vector = r.vectorId() == null ? null : names.vectors().get(r.vectorId());
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
        m.put("model", model == null ? null : model.path());
        m.put("model_fingerprint", model == null ? null : model.fingerprint());
        m.put("vector_file", vector == null ? null : vector.file());
        m.put("vector_sha256", vector == null ? null : vector.sha256());
        m.put("created_at", r.createdAt().toString());
        return m;
    }

    private interface Rows {
        void row(Map<String, Object> fields) throws IOException;
    }

    private interface Body {
        void write(Rows rows) throws IOException;
    }

    private static void write(Format format, List<String> header, Path target, Body body) {
        AtomicFile.write(target, out -> {
            Writer w = new BufferedWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8));
            if (format == Format.CSV) w.write(String.join(",", header) + "\r\n");
            body.write(fields -> {
                if (format == Format.JSONL) {
                    w.write(GSON.toJson(fields) + "\n");
                } else {
                    List<String> cells = new ArrayList<>();
                    for (Object v : fields.values()) cells.add(csvCell(v));
                    w.write(String.join(",", cells) + "\r\n");
                }
            });
            w.flush();
        });
    }

    /** RFC 4180: quote a cell holding a comma, quote, CR or LF, doubling its quotes; null is an empty cell. */
    static String csvCell(Object v) {
        if (v == null) return "";
        String s = v.toString();
        if (s.indexOf(',') < 0 && s.indexOf('"') < 0 && s.indexOf('\n') < 0 && s.indexOf('\r') < 0) return s;
        return "\"" + s.replace("\"", "\"\"") + "\"";
    }
}
