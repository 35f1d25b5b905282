package dev.steer.cli;

import dev.steer.engine.BadInputException;
import dev.steer.engine.backend.Backend;
import dev.steer.engine.law.PerturbationRatio;
import dev.steer.engine.model.HookPoint;
import dev.steer.engine.generation.PromptNorms;
import dev.steer.engine.steering.SteeringVector;
import dev.steer.engine.telemetry.ActivationNorm;
import dev.steer.engine.trait.PromptFile;
import dev.steer.engine.trait.TraitDataset;
import dev.steer.models.LoadedModel;
import dev.steer.models.vectors.VectorFile;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "ratio", mixinStandardHelpOptions = true,
        description = {"The perturbation-ratio law for one vector at one layer: ratio = |coef| x ||v|| / ||h||, "
                + "with ||h|| measured live on the prompts as the mean residual norm at blocks.L.hook_resid_post over "
                + "every prompt token, BOS excluded (what steered generation's telemetry reports for prompt positions).",
                "Give --coef to get its ratio, or --target-ratio to get the coefficient that reaches it "
                        + "(coef = target x ||h|| / ||v||). --trait measures on the trait's evaluation questions.",
                "Example: steer ratio --model DIR --vector vectors/optimism/mean_diff_layer12.safetensors --layer 12 --target-ratio 0.65 --trait optimism"})
final class RatioCommand implements Callable<Integer> {
    static final class Strength {
        @Option(names = "--coef", paramLabel = "C", description = "Steering coefficient: report its ratio.")
        Double coef;

        @Option(names = "--target-ratio", paramLabel = "R", description = "Perturbation ratio wanted: report the coefficient.")
        Double targetRatio;
    }

    static final class Prompts {
        @Option(names = "--trait", paramLabel = "T", description = "Bundled trait or trait .json file: its evaluation questions.")
        String trait;

        @Option(names = "--prompts", paramLabel = "FILE", description = "A JSON array of strings (.json) or one prompt per line.")
        Path file;
    }

    @Mixin
    ModelOptions modelOptions;

    @Mixin
    OutputFormat format;

    @Option(names = "--vector", required = true, paramLabel = "FILE", description = "Steering vector: .json (flat array), .safetensors, .gguf (direction.L of a control vector), .pt or .npy.")
    Path vector;

    @Option(names = "--vector-key", paramLabel = "NAME", description = "Vector to use from a file holding several: a tensor name, dict key or stack indices (e.g. -1,15).")
    String vectorKey;

    @Option(names = "--layer", required = true, paramLabel = "L", description = "Hooked layer (blocks.L.hook_resid_post).")
    int layer;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Strength strength;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Prompts prompts;

    @Mixin
    PromptOptions prompting;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        if (strength.coef != null && !Double.isFinite(strength.coef))
            throw new BadInputException("--coef: must be a finite number, was " + strength.coef);
        if (strength.targetRatio != null && !(strength.targetRatio >= 0 && Double.isFinite(strength.targetRatio)))
            throw new BadInputException("--target-ratio: must be a finite number >= 0, was " + strength.targetRatio);
        int batchSize = prompting.batchSize();
        SteeringVector v = VectorFile.read(vector, vectorKey, layer);
        double vNorm = v.norm();
        if (strength.targetRatio != null && !(vNorm > 0))
            throw new BadInputException("--vector " + vector + ": the vector is all zeros, so no coefficient reaches a ratio");
        List<String> texts;
        String flag;
        if (prompts.trait != null) {
            texts = TraitDataset.load(prompts.trait).questions();
            flag = "--trait " + prompts.trait;
            if (texts.isEmpty()) throw new BadInputException(flag + ": the trait has no evaluation questions");
        } else {
            texts = PromptFile.read(prompts.file);
            flag = "--prompts " + prompts.file;
        }
        try (Backend b = modelOptions.openBackend(); LoadedModel m = modelOptions.load(b)) {
            HookPoint.residPost(layer).checkIn(m.lm().dims(), "--layer");
            if (v.values().length != m.lm().dims().hidden())
                throw new BadInputException("--vector " + vector + ": vector has " + v.values().length
                        + " elements, the model's hidden size is " + m.lm().dims().hidden());
            // Warned once the vector fits: bad input stays one line on stderr.
            String foreign = VectorFile.modelMismatch(v);
            if (foreign != null) spec.commandLine().getErr().println("steer: warning: " + foreign);
            List<int[]> ids = new ArrayList<>();
            for (String t : texts) ids.add(m.encodePrompt(t, prompting.chat, flag));
            ActivationNorm h = PromptNorms.activationNorm(m.lm(), ids, layer, batchSize);
            if (!(h.mean() > 0))
                throw new BadInputException(flag + ": the prompts have no tokens besides BOS, so ||h|| cannot be measured");
            double coef = strength.coef != null ? strength.coef : PerturbationRatio.coefFor(strength.targetRatio, vNorm, h.mean());
            double ratio = PerturbationRatio.ratio(coef, vNorm, h.mean());
            print(m, v, texts.size(), h, vNorm, coef, ratio);
        }
        return 0;
    }

    private void print(LoadedModel m, SteeringVector v, int n, ActivationNorm h, double vNorm, double coef, double ratio) {
        PrintWriter o = spec.commandLine().getOut();
        VectorLayerNote.print(spec.commandLine().getErr(), "--vector " + vector, v, layer);
        if (format.json()) {
            Map<String, Object> root = new LinkedHashMap<>();
            root.put("model", m.source());
            root.put("vector", vector.toString());
            root.put("layer", layer);
            root.put("hook", HookPoint.residPost(layer).name());
            root.put("prompts", n);
            root.put("tokens", h.tokens());
            root.put("vector_norm", vNorm);
            root.put("activation_norm", h.mean());
            root.put("coef", coef);
            root.put("ratio", ratio);
            root.put("given", strength.coef != null ? "coef" : "target_ratio");
            root.put("vector_metadata", v.provenance().metadata());
            CommandJson.print(o, root);
        } else {
            o.printf("%s at %s, %d prompts (%d tokens, BOS excluded)%n", vector, HookPoint.residPost(layer).name(), n, h.tokens());
            o.printf("||v||  %.6g%n||h||  %.6g%ncoef   %.6g%nratio  %.6g%n", vNorm, h.mean(), coef, ratio);
        }
    }
}
