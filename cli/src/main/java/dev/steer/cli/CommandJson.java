package dev.steer.cli;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import dev.steer.engine.store.RunRecord;
import dev.steer.engine.sweep.Sweep;
import dev.steer.engine.law.PerturbationRatio;
import dev.steer.engine.telemetry.HookTelemetry;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What {@code --format json} prints, for every command: exactly one object on stdout, and the parts several
 * commands share (the model/backend/device header, a hook's telemetry, a stored run, NaN as null). A value that
 * is unknown or not given is printed as null, not left out, so every object of a kind has the same keys.
 */
final class CommandJson {
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().serializeNulls()
            .serializeSpecialFloatingPointValues().disableHtmlEscaping().create();

    private CommandJson() {
    }

    /** {@code value} (maps, lists, numbers, strings) as one pretty-printed JSON object. */
    static void print(PrintWriter out, Object value) {
        out.println(GSON.toJson(value));
    }

    /** A tree the engine built itself (the law report's), printed as it renders itself: compact. */
    static void printCompact(PrintWriter out, JsonElement tree) {
        out.println(tree);
    }

    /** The object a command that ran a model starts with: model, backend, device; callers add their fields. */
    static Map<String, Object> header(String model, String backend, String device) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("model", model);
        o.put("backend", backend);
        o.put("device", device);
        return o;
    }

    /** One steering spec's live norms and ratios, or an unsteered hook's (generate's {@code telemetry} entries). */
    static Map<String, Object> telemetry(HookTelemetry t) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("hook", t.hook());
        o.put("layer", t.layer());
        o.put("coef", t.coef());
        o.put("positions", t.positions());
        o.put("vector_norm", t.vectorNorm());
        o.put("activation_norm", nullIfNaN(t.activationNorm()));
        o.put("ratio", nullIfNaN(t.ratio()));
        if (Double.isNaN(t.ratio())) o.put("ratio_undefined", PerturbationRatio.undefinedBecause(t.activationNorm()));
        o.put("prompt_norm_mean", nullIfNaN(t.promptNormMean()));
        o.put("prompt_tokens", t.promptCount());
        o.put("response_norm_mean", nullIfNaN(t.responseNormMean()));
        o.put("response_tokens", t.responseCount());
        o.put("steered_norm_mean", nullIfNaN(t.steeredNormMean()));
        o.put("steered_ratio", nullIfNaN(t.steeredRatio()));
        o.put("live_ratio", nullIfNaN(t.liveRatio()));
        return o;
    }

    /** A stored run of a sweep or search (its baseline too); {@code target}: the ratio asked for, if any. */
    static Map<String, Object> run(Sweep.Outcome oc, Double target) {
        RunRecord r = oc.run();
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("id", r.id());
        o.put("kind", r.kind().dbName());
        o.put("layer", r.layer());
        o.put("coef", r.coef());
        if (target != null) o.put("target_ratio", target);
        o.put("trait_mean", r.traitMean());
        o.put("coherence_mean", r.coherenceMean());
        o.put("n", r.n());
        o.put("vector_norm", r.vectorNorm());
        o.put("activation_norm", r.activationNorm());
        o.put("ratio", r.ratio());
        o.put("steered_norm_mean", r.steeredNormMean());
        o.put("steered_ratio", r.steeredRatio());
        o.put("live_ratio", r.steeredRatio());
        o.put("baseline_trait_mean", r.baselineTraitMean());
        o.put("delta", r.delta());
        o.put("status", r.status().dbName());
        o.put("reused", oc.reused());
        return o;
    }

    /** A value that is not a finite number (no prompt tokens, fewer than two prompts a side) as JSON null. */
    static Double nullIfNaN(double v) {
        return Double.isFinite(v) ? v : null;
    }
}
