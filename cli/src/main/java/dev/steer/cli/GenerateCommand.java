package dev.steer.cli;

import dev.steer.engine.backend.Backend;
import dev.steer.engine.generation.GenerationOptions;
import dev.steer.engine.generation.GenerationRequest;
import dev.steer.engine.generation.GenerationResult;
import dev.steer.engine.generation.Generator;
import dev.steer.engine.model.LayerSelection;
import dev.steer.engine.model.ModelDims;
import dev.steer.engine.steering.Positions;
import dev.steer.engine.telemetry.HookTelemetry;
import dev.steer.models.LoadedModel;
import dev.steer.engine.trait.PromptFile;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Generate from one or more prompts (one left-padded batch), optionally steered: "
                + "--steer LAYER:COEF:FILE adds COEF x v to the residual stream after layer LAYER "
                + "(blocks.LAYER.hook_resid_post); --steer LAYER:ratio=R:FILE picks the coefficient per prompt so that "
                + "|coef| x ||v|| / ||h|| = |R| (negative R: the negative direction), with ||h|| that prompt's own "
                + "activation norm at LAYER (prompt tokens, BOS excluded), measured after the adds of earlier layers; "
                + "the coef then holds for every response token. A suffix :all, :prompt or :response sets that spec's "
                + "positions (default: --positions). Reports, per steered layer, the live mean ||h|| before the add "
                + "(BOS excluded; prompt and response separately) and the live ratio |coef| x ||v|| / ||h||; "
                + "--telemetry-layers adds the norms at other layers, for every row.",
                "Examples: a coefficient; a ratio; its own positions; norms at layers 0-3:",
                "  steer generate --model DIR --prompt Hi --steer 1:3.0:v.json",
                "  steer generate --model DIR --prompt Hi --steer 1:ratio=0.6:v.json",
                "  steer generate --model DIR --prompt Hi --steer 2:-4:v.json:response",
                "  steer generate --model DIR --prompt Hi --prompt Yo --telemetry-layers 0-3",
                "--format json starts with \"settings\": every flag's value (prompts, sampling, steering specs with "
                        + "their vectors' sha256), enough to run the same command again."})
final class GenerateCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Mixin
    OutputFormat format;

    static final class Prompts {
        @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "A prompt (repeat for a batch).")
        List<String> texts;

        @Option(names = "--prompts", required = true, paramLabel = "FILE",
                description = "Prompts from a file, one batch: a JSON array of strings (.json) or one prompt per line (as steer ratio reads it).")
        Path file;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Prompts promptSource;

    /** The prompts, in order: {@code --prompt}s as given, or read from {@code --prompts} once by {@link #call}. */
    private List<String> prompts;

    @Option(names = "--max-new-tokens", defaultValue = "32", paramLabel = "N", description = "Default: ${DEFAULT-VALUE}.")
    int maxNewTokens;

    @Option(names = "--temperature", defaultValue = "0", paramLabel = "T", description = "0 = greedy. Default: ${DEFAULT-VALUE}.")
    double temperature;

    @Option(names = "--top-p", defaultValue = "1.0", paramLabel = "P", description = "Nucleus sampling mass. Default: ${DEFAULT-VALUE}.")
    double topP;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "S", description = "Sampling seed (each row samples with its own generator seeded with S). Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--steer", paramLabel = "LAYER|all:COEF|ratio=R:FILE[#KEY][:all|prompt|response]", converter = SteerArg.Converter.class,
            description = {"Steering: COEF x v at blocks.LAYER.hook_resid_post, or ratio=R to resolve the coefficient per "
                    + "prompt as R x ||h|| / ||v||. FILE: vector file .json (flat array), .safetensors, .gguf (a control "
                    + "vector: LAYER picks direction.LAYER; LAYER all steers every layer it has), .pt (torch.save) or .npy; "
                    + "#KEY picks one vector of several for this spec (a dict key, stack indices such as -1,15). An optional "
                    + "last part :all, :prompt or :response sets where this spec adds (default: --positions); it is "
                    + "recognised only when the last ':'-separated part is exactly one of those words, anything else "
                    + "is part of the file name. Repeat for multi-layer steering.",
                    "e.g. 12:8.5:v.json, 12:ratio=0.6:v.json:response, 3:ratio=-0.4:w.json"})
    List<SteerArg> steer = new ArrayList<>();

    @Option(names = "--vector-key", paramLabel = "NAME", description = "Vector to use from a file holding several (a tensor name, dict key or stack indices), for --steer specs without #KEY.")
    String vectorKey;

    @Option(names = "--positions", defaultValue = "all", paramLabel = "WHERE",
            converter = LowerCaseEnum.OfPositions.class, completionCandidates = LowerCaseEnum.OfPositions.class,
            description = "Where to add, for --steer specs without a positions suffix: all (prompt and generated), prompt, response. Default: ${DEFAULT-VALUE}.")
    Positions positions;

    @Option(names = "--telemetry-layers", paramLabel = "LAYERS",
            description = "Also measure ||h|| at these layers (all, 0-3, 1,2 or 1-2,3) for every row, steered or not; "
                    + "a steered layer keeps its per-spec entries. Default: none.")
    String telemetryLayers;

    @Option(names = "--chat", description = "Wrap each prompt as one user turn with the model's chat template.")
    boolean chat;

    @Option(names = "--no-stop", description = "Do not stop at EOS.")
    boolean noStop;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        prompts = promptSource.file != null ? PromptFile.read(promptSource.file) : promptSource.texts;
        String promptFlag = promptSource.file != null ? "--prompts " + promptSource.file : "--prompt";
        // Checked against the config's dims, before the weights load.
        ModelDims dims = steer.isEmpty() && telemetryLayers == null ? null : LoadedModel.inspect(modelOptions.model).dims();
        SteerArg.Steering steering = SteerArg.resolve(steer, vectorKey, positions, dims, spec.commandLine().getErr());
        int[] measured = telemetryLayers == null ? new int[0] : LayerSelection.parse(telemetryLayers, dims.layers(), "--telemetry-layers");
        for (int i = 0; i < steering.args().size(); i++)
            VectorLayerNote.print(spec.commandLine().getErr(), "--steer " + steering.args().get(i).fileText(), steering.vectors().get(i),
                    steering.args().get(i).layer());
        GenerationOptions opts = new GenerationOptions(maxNewTokens, temperature, topP, seed, !noStop, null, false).measuring(measured);
        try (Backend b = modelOptions.openBackend(); LoadedModel m = modelOptions.load(b)) {
            List<GenerationRequest> reqs = new ArrayList<>();
            for (String p : prompts) {
                int[] ids = m.encodePrompt(p, chat, promptFlag);
                // Ratio specs resolve per prompt: each row gets the coef its own activation norm gives.
                reqs.add(new GenerationRequest(ids, steering.forPrompt(m.lm(), ids)));
            }
            List<GenerationResult> results = new Generator(m.lm()).generate(reqs, opts);
            print(m, results, steering);
        }
        return 0;
    }

    /**
     * The {@code --steer} each steered telemetry entry reports, in entry order: entries come per layer, ascending,
     * and within a layer in the order the specs were given; unsteered (measured) entries get null.
     */
    private static List<SteerArg> argsOf(List<HookTelemetry> entries, List<SteerArg> steer) {
        List<SteerArg> byLayer = new ArrayList<>(steer);
        byLayer.sort(java.util.Comparator.comparingInt(SteerArg::layer));
        List<SteerArg> out = new ArrayList<>();
        int next = 0;
        for (HookTelemetry t : entries) out.add(t.positions() == null ? null : byLayer.get(next++));
        return out;
    }

    /**
     * generate's {@code settings}: every flag and value as this command line took it (prompts as the texts run, also
     * when read from {@code --prompts}; {@code precision} null where the backend's default ran), each {@code --steer}
     * with its positions spelled out and its vector's sha256, so that a script can rebuild the command and check it
     * steers with the same vectors.
     */
    private Map<String, Object> settings(SteerArg.Steering steering) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("version", new Steer.Version().getVersion()[0]);
        o.put("model", modelOptions.model.toString());
        o.put("backend", modelOptions.backend.name);
        o.put("precision", Precision.backendName(modelOptions.backend.precision));
        o.put("prompts", prompts);
        o.put("prompts_file", promptSource.file == null ? null : promptSource.file.toString());
        o.put("chat", chat);
        o.put("max_new_tokens", maxNewTokens);
        o.put("temperature", temperature);
        o.put("top_p", topP);
        o.put("seed", seed);
        o.put("no_stop", noStop);
        o.put("positions", positions.cliName());
        o.put("vector_key", vectorKey);
        o.put("telemetry_layers", telemetryLayers);
        List<Map<String, Object>> specs = new ArrayList<>();
        // The specs as resolved (an 'all' spec expanded to one per layer of its file), each with its vector.
        List<SteerArg> steer = steering.args();
        for (int i = 0; i < steer.size(); i++) {
            SteerArg a = steer.get(i);
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("arg", a.text(positions));
            e.put("layer", a.layer());
            e.put(a.isRatio() ? "ratio" : "coef", a.value());
            e.put("file", a.fileText());
            e.put("positions", (a.positions() != null ? a.positions() : positions).cliName());
            e.put("sha256", steering.vectors().get(i).sha256());
            specs.add(e);
        }
        o.put("steer", specs);
        return o;
    }

    private void print(LoadedModel m, List<GenerationResult> results, SteerArg.Steering steering) {
        var out = spec.commandLine().getOut();
        List<Map<String, Object>> rows = new ArrayList<>();
        for (int i = 0; i < results.size(); i++) {
            GenerationResult r = results.get(i);
            String text = m.tokenizer().decode(r.tokens());
            List<SteerArg> args = argsOf(r.telemetry(), steering.args());
            if (format.json()) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("prompt", prompts.get(i));
                o.put("tokens", r.tokens());
                o.put("text", text);
                o.put("stopped_at_eos", r.stoppedAtEos());
                List<Map<String, Object>> tel = new ArrayList<>();
                for (int k = 0; k < r.telemetry().size(); k++) {
                    Map<String, Object> e = CommandJson.telemetry(r.telemetry().get(k));
                    // coef is the resolved one; target_ratio the ratio asked for, for ratio-mode specs only.
                    if (args.get(k) != null && args.get(k).isRatio()) e.put("target_ratio", args.get(k).value());
                    tel.add(e);
                }
                o.put("telemetry", tel);
                rows.add(o);
            } else {
                out.printf("[%d] %s%n    -> %s%n", i, prompts.get(i), text.replace("\n", "\n       "));
                for (int k = 0; k < r.telemetry().size(); k++) {
                    HookTelemetry t = r.telemetry().get(k);
                    SteerArg a = args.get(k);
                    if (a == null) {
                        out.printf("    %s (measured, not steered)  ||h|| prompt %.4g (%d tok) response %.4g (%d tok)%n",
                                t.hook(), t.promptNormMean(), t.promptCount(), t.responseNormMean(), t.responseCount());
                        continue;
                    }
                    String given = a.isRatio() ? String.format(" (from ratio=%s)", a.value()) : "";
                    out.printf("    %s %s coef %.4g%s  ||v|| %.4g  ||h|| prompt %.4g (%d tok) response %.4g (%d tok)  ratio %.4f  live ratio %.4f%n",
                            t.hook(), t.positions(), t.coef(), given, t.vectorNorm(), t.promptNormMean(), t.promptCount(),
                            t.responseNormMean(), t.responseCount(), t.ratio(), t.steeredRatio());
                }
            }
        }
        if (format.json()) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("settings", settings(steering));
            o.putAll(CommandJson.header(m.source(), modelOptions.backend.name, m.lm().backend().device()));
            o.put("results", rows);
            CommandJson.print(out, o);
        }
    }
}
