package dev.steer.cli;

import dev.steer.engine.backend.Backend;
import dev.steer.models.LoadedModel;
import dev.steer.engine.telemetry.ResidualNorms;
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
                + "resid_norm_last the last token; activation_norm_mean the mean over every token of every prompt.")
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
            ResidualNorms norms = ResidualNorms.measure(m.lm(), ids);
            List<Map<String, Object>> rows = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("text", prompts.get(i));
                r.put("ids", ids.get(i));
                r.put("resid_norm_mean", norms.meanPerLayer(i));
                r.put("resid_norm_last", norms.lastPerLayer(i));
                rows.add(r);
            }
            var out = spec.commandLine().getOut();
            if (format.json()) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("prompts", rows);
                o.put("activation_norm_mean", norms.overallMeanPerLayer());
                CommandJson.print(out, o);
            } else {
                out.printf("%-6s %12s%n", "layer", "mean ||h||");
                double[] all = norms.overallMeanPerLayer();
                for (int l = 0; l < all.length; l++) out.printf("%-6d %12.4f%n", l, all[l]);
                for (int i = 0; i < prompts.size(); i++) {
                    out.printf("%nprompt %d (%d tokens): %s%n", i, ids.get(i).length, prompts.get(i));
                    double[] mean = norms.meanPerLayer(i), last = norms.lastPerLayer(i);
                    for (int l = 0; l < mean.length; l++) out.printf("  layer %-3d mean %10.4f  last %10.4f%n", l, mean[l], last[l]);
                }
            }
        }
        return 0;
    }
}
