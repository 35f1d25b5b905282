package dev.steer.cli;

import dev.steer.models.LoadedModel;
import dev.steer.models.gemma2.Gemma2Config;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Show a checkpoint's architecture, dimensions, dtype, layer types and parameter count "
                + "(reads config.json and the safetensors headers; uploads nothing).")
final class InfoCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Hugging Face checkpoint directory.")
    Path model;

    @Mixin
    OutputFormat format;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        Gemma2Config c = LoadedModel.inspect(model);
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("model", model.toString());
        o.put("architecture", "gemma2");
        o.put("dtype", c.dtype());
        o.put("vocab_size", c.vocabSize());
        o.put("hidden_size", c.hiddenSize());
        o.put("intermediate_size", c.intermediateSize());
        o.put("num_layers", c.numLayers());
        o.put("num_heads", c.numHeads());
        o.put("num_kv_heads", c.numKvHeads());
        o.put("head_dim", c.headDim());
        o.put("sliding_window", c.slidingWindow());
        o.put("attn_logit_softcap", c.attnLogitSoftcap());
        o.put("final_logit_softcap", c.finalLogitSoftcap());
        o.put("rope_theta", c.ropeTheta());
        o.put("layer_types", c.layerTypes());
        o.put("tied_embeddings", c.tieWordEmbeddings());
        o.put("parameters", c.parameterCount());
        var out = spec.commandLine().getOut();
        if (format.json()) {
            CommandJson.print(out, o);
        } else {
            for (var e : o.entrySet()) out.printf("%-20s %s%n", e.getKey(), e.getValue());
        }
        return 0;
    }
}
