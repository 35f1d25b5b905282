package dev.steer.cli;

import dev.steer.engine.BadInputException;
import dev.steer.engine.backend.Backend;
import dev.steer.engine.extract.ExtractedVector;
import dev.steer.engine.extract.HeldoutMargin;
import dev.steer.engine.extract.Method;
import dev.steer.engine.extract.Pooling;
import dev.steer.engine.extract.VectorExtraction;
import dev.steer.engine.model.HookPoint;
import dev.steer.engine.model.LayerSelection;
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

@Command(name = "extract", mixinStandardHelpOptions = true,
        description = {"Extract steering vectors from contrastive prompt sets at every chosen layer "
                + "(blocks.L.hook_resid_post). Activations of all layers come from the same batched passes.",
                "mean_diff: mean(positive) - mean(negative). probe: L2-regularised logistic regression (C=1) on "
                        + "standardised activations, mapped back to activation space and scaled to UNIT norm, oriented "
                        + "so positives project higher.",
                "Writes OUT/{method}_layer{L}.safetensors (tensor 'vector', float32; __metadata__ model, layer, method, "
                        + "trait, position, vector_norm, activation_norm, n_pos, n_neg, heldout_accuracy, ...) and prints per "
                        + "layer ||v||, ||h|| (mean over all prompt tokens, BOS excluded), ||v||/||h||, held-out accuracy "
                        + "(5-fold by pair index; mean_diff thresholded at the class-mean midpoint) and Cohen's d of the projections (in-sample), "
                        + "so you see which method keeps ||v||/||h|| steady across layers.",
                "Every prompt is held out once, so over N prompts the held-out accuracy of a coin is 0.5 +/- 0.98/sqrt(N) (95%%); "
                        + "below N = 43 (about 22 pairs), where that margin passes 0.15, a warning on stderr says the accuracy means little.",
                "Example: steer extract --model DIR --trait optimism --layers all --method mean_diff,probe --out vectors/optimism"})
final class ExtractCommand implements Callable<Integer> {
    static final class Source {
        @Option(names = "--trait", paramLabel = "T", description = "A bundled trait (refusal, optimism, sycophancy, confidence) or a trait .json file: its contrastive pairs.")
        String trait;

        @ArgGroup(exclusive = false)
        PromptFiles files;
    }

    static final class PromptFiles {
        @Option(names = "--positive", required = true, paramLabel = "FILE", description = "Prompts showing the trait: a JSON array of strings (.json) or one per line.")
        Path positive;

        @Option(names = "--negative", required = true, paramLabel = "FILE", description = "Prompts showing its opposite, same format.")
        Path negative;
    }

    @Mixin
    ModelOptions modelOptions;

    @Mixin
    OutputFormat format;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    @Option(names = "--trait-name", paramLabel = "NAME",
            description = "What the trait is called in the vectors' metadata (letters, digits, '-', '_'), for --positive/--negative "
                    + "prompts or a trait file. Default: custom, or the trait file's name.")
    String traitName;

    @Option(names = "--layers", defaultValue = "all", paramLabel = "SPEC", description = "all, a range 0-25, a list 5,10, or mixed 1-3,7. Default: ${DEFAULT-VALUE}.")
    String layers;

    @Option(names = "--method", defaultValue = "mean_diff,probe", paramLabel = "M[,M]", description = "mean_diff, probe or both. Default: ${DEFAULT-VALUE}.")
    String methods;

    @Option(names = {"--pooling", "--position"}, defaultValue = "last", paramLabel = "P",
            converter = LowerCaseEnum.OfPooling.class, completionCandidates = LowerCaseEnum.OfPooling.class,
            description = "How a prompt's activations become one vector: last, the last prompt token; mean, the mean over all "
                    + "prompt tokens, BOS included (--position is the old name). Default: ${DEFAULT-VALUE}.")
    Pooling pooling;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory (created if missing).")
    Path out;

    @Option(names = "--vector-format", defaultValue = "safetensors", paramLabel = "F",
            description = "safetensors: OUT/{method}_layer{L}.safetensors per layer; gguf: OUT/{method}.gguf, a control vector "
                    + "holding every layer as direction.L (F32), readable by llama.cpp's --control-vector and repeng "
                    + "(layer 0 has no slot there: skipped with a warning). --format stays the stdout format. Default: ${DEFAULT-VALUE}.")
    String vectorFormat;

    @Mixin
    PromptOptions prompting;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        List<Method> methodList = Method.parseList(methods, "--method");
        if (!vectorFormat.equals("safetensors") && !vectorFormat.equals("gguf"))
            throw new BadInputException("--vector-format: '" + vectorFormat + "' is not one of safetensors, gguf");
        boolean gguf = vectorFormat.equals("gguf");
        int batchSize = prompting.batchSize();
        List<String> posText, negText;
        String trait, posFlag, negFlag;
        if (source.trait != null) {
            TraitDataset t = TraitName.load(source.trait, traitName);
            posText = t.positives();
            negText = t.negatives();
            trait = t.name();
            posFlag = negFlag = "--trait " + source.trait;
        } else {
            posText = PromptFile.read(source.files.positive);
            negText = PromptFile.read(source.files.negative);
            trait = traitName == null ? "custom" : TraitName.check(traitName);
            posFlag = "--positive " + source.files.positive;
            negFlag = "--negative " + source.files.negative;
        }
        if (posText.isEmpty()) throw new BadInputException(posFlag + ": no positive prompts");
        if (negText.isEmpty()) throw new BadInputException(negFlag + ": no negative prompts");
        try (Backend b = modelOptions.openBackend(); LoadedModel m = modelOptions.load(b)) {
            int[] layerList = LayerSelection.parse(layers, m.lm().dims().layers(), "--layers");
            if (gguf && java.util.Arrays.stream(layerList).allMatch(l -> l == 0))
                throw new BadInputException("--layers " + layers + ": --vector-format gguf has no slot for layer 0 "
                        + "(llama.cpp adds direction.N to block N's output, N >= 1); choose other layers or --vector-format safetensors");
            if (gguf && java.util.Arrays.stream(layerList).anyMatch(l -> l == 0))
                spec.commandLine().getErr().println("steer: warning: --vector-format gguf: layer 0 has no slot in a GGUF control vector "
                        + "(llama.cpp rejects direction.0); it is extracted and printed but not written");
            List<int[]> pos1 = encode(m, posText, posFlag), neg1 = encode(m, negText, negFlag);
            List<String> planned = new ArrayList<>();
            for (int l : layerList) for (Method mt : methodList) {
                String name = fileName(mt, l);
                if (name != null && !planned.contains(name)) planned.add(name);
            }
            // All or nothing: a run that fails at any point leaves --out as it was (OutputDirectory).
            try (OutputDirectory dir = OutputDirectory.prepare(out, "--out", planned)) {
                List<ExtractedVector> vectors;
                try (ProgressReport progress = new ProgressReport("extract", format.json(), " prompts")) {
                    progress.planned(0, pos1.size() + neg1.size());
                    vectors = VectorExtraction.extract(m.lm(), pos1, neg1, layerList, pooling, methodList, batchSize, (n, tokens) -> {
                        progress.tokens(tokens);
                        progress.rows(n);
                    });
                }
                if (gguf) {
                    dir.writeAll(methodList.stream().map(mt -> mt.label() + ".gguf").toList(),
                            (file, i) -> writeGguf(file, m, trait, methodList.get(i), vectors));
                } else {
                    List<String> names = vectors.stream().map(this::fileName).toList();
                    dir.writeAll(names, (file, i) -> VectorFile.write(file, vectors.get(i).vector(), metadata(m, trait, vectors.get(i))));
                }
                print(m, trait, pooling, methodList, layerList, dir, vectors);
            }
            // After the results, once they are written: bad input stays one line on stderr.
            warnIfHeldoutMeansLittle(posText.size(), negText.size(), methodList);
        }
        return 0;
    }

    /** On stderr: the rule is {@link HeldoutMargin}'s. */
    private void warnIfHeldoutMeansLittle(int positives, int negatives, List<Method> methodList) {
        if (HeldoutMargin.meaningful(positives, negatives)) return;
        String methods = String.join(", ", methodList.stream().map(Method::label).toList());
        String margin = Math.min(positives, negatives) < 2 ? "not measured (fewer than 2 prompts on a side)"
                : String.format("within +/-%.2f of chance (0.5) by luck alone, at 95%%", HeldoutMargin.at95(positives, negatives));
        spec.commandLine().getErr().printf("steer: warning: %d positive / %d negative prompts: the held-out accuracy of %s is %s; "
                + "it means something from %d prompts in all (+/-%.2f)%n", positives, negatives, methods, margin,
                HeldoutMargin.MIN_PROMPTS, HeldoutMargin.MAX_MARGIN);
    }

    private List<int[]> encode(LoadedModel m, List<String> texts, String flag) {
        List<int[]> ids = new ArrayList<>();
        for (String t : texts) {
            int[] p = m.encodePrompt(t, prompting.chat, flag);
            // Checked here, before the progress bar starts, so a prompt too long is the only line on stderr.
            try {
                m.lm().dims().checkContext(p.length, 0);
            } catch (BadInputException e) {
                throw new BadInputException(flag + ": " + e.getMessage(), e);
            }
            ids.add(p);
        }
        return ids;
    }

    /** The file {@code v} is written to; null for layer 0 in a GGUF, which has no slot for it. */
    String fileName(ExtractedVector v) {
        return fileName(v.method(), v.layer());
    }

    String fileName(Method method, int layer) {
        if (vectorFormat.equals("gguf")) return layer == 0 ? null : method.label() + ".gguf";
        return method.label() + "_layer" + layer + ".safetensors";
    }

    /**
     * OUT/{method}.gguf: every layer >= 1 of one method as direction.L, steer's provenance as extra keys
     * (controlvector.method, trait, model, position, and per layer controlvector.vector_norm.L, activation_norm.L,
     * ratio_at_coef_1.L, heldout_accuracy.L, cohens_d.L, as EasySteer indexes per-layer keys).
     */
    private void writeGguf(Path file, LoadedModel m, String trait, Method method, List<ExtractedVector> vectors) {
        java.util.SortedMap<Integer, float[]> byLayer = new java.util.TreeMap<>();
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("controlvector.method", method.label());
        extra.put("controlvector.trait", trait);
        extra.put("controlvector.model", m.source());
        extra.put("controlvector.position", pooling.label());
        extra.put("controlvector.chat", Boolean.toString(prompting.chat));
        for (ExtractedVector v : vectors) {
            if (v.method() != method || v.layer() == 0) continue;
            byLayer.put(v.layer(), v.vector());
            extra.put("controlvector.n_pos", v.positives());
            extra.put("controlvector.n_neg", v.negatives());
            extra.put("controlvector.vector_norm." + v.layer(), v.vectorNorm());
            extra.put("controlvector.activation_norm." + v.layer(), v.activationNorm());
            extra.put("controlvector.ratio_at_coef_1." + v.layer(), v.ratio());
            extra.put("controlvector.heldout_accuracy." + v.layer(), v.heldoutAccuracy());
            extra.put("controlvector.cohens_d." + v.layer(), v.cohensD());
        }
        VectorFile.writeGguf(file, byLayer, "gemma2", extra);
    }

    private Map<String, String> metadata(LoadedModel m, String trait, ExtractedVector v) {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("model", m.source());
        meta.put("layer", Integer.toString(v.layer()));
        meta.put("hook", HookPoint.residPost(v.layer()).name());
        meta.put("method", v.method().label());
        meta.put("trait", trait);
        meta.put("position", v.pooling().label());
        meta.put("chat", Boolean.toString(prompting.chat));
        meta.put("vector_norm", Double.toString(v.vectorNorm()));
        meta.put("activation_norm", Double.toString(v.activationNorm()));
        meta.put("ratio_at_coef_1", Double.toString(v.ratio()));
        meta.put("n_pos", Integer.toString(v.positives()));
        meta.put("n_neg", Integer.toString(v.negatives()));
        meta.put("heldout_accuracy", Double.toString(v.heldoutAccuracy()));
        meta.put("train_accuracy", Double.toString(v.trainAccuracy()));
        meta.put("cohens_d", Double.toString(v.cohensD()));
        if (source.files != null) {
            meta.put("positive_file", source.files.positive.toString());
            meta.put("negative_file", source.files.negative.toString());
        }
        return meta;
    }

    private void print(LoadedModel m, String trait, Pooling pos, List<Method> methodList, int[] layerList,
                       OutputDirectory dir, List<ExtractedVector> vectors) {
        PrintWriter o = spec.commandLine().getOut();
        ExtractedVector first = vectors.get(0);
        if (format.json()) {
            Map<String, Object> root = new LinkedHashMap<>();
            root.put("model", m.source());
            root.put("trait", trait);
            root.put("position", pos.label());
            root.put("methods", methodList.stream().map(Method::label).toList());
            root.put("layers", layerList);
            root.put("n_pos", first.positives());
            root.put("n_neg", first.negatives());
            root.put("out", dir.toString());
            List<Map<String, Object>> rows = new ArrayList<>();
            for (ExtractedVector v : vectors) {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("layer", v.layer());
                r.put("hook", HookPoint.residPost(v.layer()).name());
                r.put("method", v.method().label());
                String name = fileName(v);
                r.put("file", name == null ? null : dir.resolve(name).toString());
                r.put("vector_norm", v.vectorNorm());
                r.put("activation_norm", v.activationNorm());
                r.put("ratio", v.ratio());
                r.put("heldout_accuracy", CommandJson.nullIfNaN(v.heldoutAccuracy()));
                r.put("train_accuracy", v.trainAccuracy());
                r.put("cohens_d", CommandJson.nullIfNaN(v.cohensD()));
                rows.add(r);
            }
            root.put("vectors", rows);
            Map<String, Object> spread = new LinkedHashMap<>();
            for (Method mt : methodList) spread.put(mt.label(), CommandJson.nullIfNaN(ratioSpread(vectors, mt)));
            root.put("ratio_spread", spread);
            CommandJson.print(o, root);
            return;
        }
        o.printf("model %s, trait %s, position %s, %d positive / %d negative prompts -> %s%n",
                m.source(), trait, pos.label(), first.positives(), first.negatives(), dir);
        o.printf("%-5s %-9s %10s %10s %11s %9s %8s %9s%n", "layer", "method", "||v||", "||h||", "||v||/||h||", "heldout", "train", "cohen_d");
        for (ExtractedVector v : vectors)
            o.printf("%-5d %-9s %10.4g %10.4g %11.4f %9s %8.3f %9.3f%n", v.layer(), v.method().label(), v.vectorNorm(),
                    v.activationNorm(), v.ratio(), Double.isNaN(v.heldoutAccuracy()) ? "n/a" : String.format("%.3f", v.heldoutAccuracy()),
                    v.trainAccuracy(), v.cohensD());
        for (Method mt : methodList)
            o.printf("%s: ||v||/||h|| varies %.2fx across layers (max/min)%n", mt.label(), ratioSpread(vectors, mt));
    }

    /** max/min of ‖v‖/‖h‖ over the layers of one method: near 1 means the method normalises itself. */
    static double ratioSpread(List<ExtractedVector> vectors, Method m) {
        double lo = Double.POSITIVE_INFINITY, hi = 0;
        for (ExtractedVector v : vectors) {
            if (v.method() != m) continue;
            lo = Math.min(lo, v.ratio());
            hi = Math.max(hi, v.ratio());
        }
        return lo > 0 && Double.isFinite(lo) ? hi / lo : Double.NaN;
    }
}
