package dev.steer.cli;

import dev.steer.engine.backend.Backend;
import dev.steer.models.LoadedModel;
import dev.steer.engine.generation.PromptNorms;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "norms", mixinStandardHelpOptions = true,
        description = "Measure the residual-stream norm ||h|| (L2 over the hidden dimension) after every layer "
                + "(blocks.L.hook_resid_post). resid_norm_mean is the mean over ALL prompt tokens, BOS included; "
                + "resid_norm_last the last token; activation_norm_mean the mean over every token of every prompt. "
                + "activation_norm is the ratio law's norm: the mean over prompt tokens with BOS excluded, per prompt and pooled.")
final class NormsCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Mixin
    OutputFormat format;

    @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "A prompt (repeat for several).")
    List<String> prompts;

    @Option(names = "--chat", description = "Wrap each prompt as one user turn with the model's chat template.")
    boolean chat;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        try (Backend b = modelOptions.openBackend(); LoadedModel m = modelOptions.load(b)) {
            List<int[]> ids = new ArrayList<>();
            for (String p : prompts) ids.add(m.encodePrompt(p, chat, "--prompt"));
            PromptNorms norms = PromptNorms.everyLayer(m.lm(), ids);
            List<Map<String, Object>> rows = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("text", prompts.get(i));
                r.put("ids", ids.get(i));
                r.put("activation_norm", perLayer(norms, i));
                r.put("resid_norm_mean", norms.meanPerLayer(i));
                r.put("resid_norm_last", norms.lastPerLayer(i));
                rows.add(r);
            }
            var out = spec.commandLine().getOut();
            if (format.json()) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("activation_norm", norms.activationNormPerLayer());
                o.put("prompts", rows);
                o.put("activation_norm_mean", norms.overallMeanPerLayer());
                CommandJson.print(out, o);
            } else {
                out.printf("%-6s %15s %12s%n", "layer", "activation_norm", "mean ||h||");
                double[] law = norms.activationNormPerLayer(), all = norms.overallMeanPerLayer();
                for (int l = 0; l < all.length; l++) out.printf("%-6d %15.4f %12.4f%n", l, law[l], all[l]);
                for (int i = 0; i < prompts.size(); i++) {
                    out.printf("%nprompt %d (%d tokens): %s%n", i, ids.get(i).length, prompts.get(i));
                    double[] mean = norms.meanPerLayer(i), last = norms.lastPerLayer(i);
                    for (int l = 0; l < mean.length; l++) out.printf("  layer %-3d mean %10.4f  last %10.4f%n", l, mean[l], last[l]);
                }
            }
        }
        return 0;
    }

    /** Prompt {@code p}'s law norm per layer (BOS excluded; null where the prompt is only BOS). */
    private static Double[] perLayer(PromptNorms norms, int p) {
        Double[] out = new Double[norms.layers().length];
        for (int l = 0; l < out.length; l++) out[l] = CommandJson.nullIfNaN(norms.at(p, l).promptMean());
        return out;
    }
}
