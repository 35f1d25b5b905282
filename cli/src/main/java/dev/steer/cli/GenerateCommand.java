package dev.steer.cli;

import dev.steer.engine.backend.Backend;
import dev.steer.engine.generation.GenerationOptions;
import dev.steer.engine.generation.GenerationRequest;
import dev.steer.engine.generation.GenerationResult;
import dev.steer.engine.generation.Generator;
import dev.steer.engine.steering.Positions;
import dev.steer.engine.steering.SteeringSpec;
import dev.steer.engine.telemetry.HookTelemetry;
import dev.steer.models.LoadedModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Generate from one or more prompts (one left-padded batch), optionally steered: "
                + "--steer LAYER:COEF:FILE adds COEF x v to the residual stream after layer LAYER "
                + "(blocks.LAYER.hook_resid_post). Reports, per steered layer, the live mean ||h|| before the add "
                + "(BOS excluded; prompt and response separately) and the live ratio |coef| x ||v|| / ||h||.",
                "Example: steer generate --model DIR --prompt 'Hello' --max-new-tokens 20 --steer 1:3.0:v.json"})
final class GenerateCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Mixin
    OutputFormat format;

    @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "A prompt (repeat for a batch).")
    List<String> prompts;

    @Option(names = "--max-new-tokens", defaultValue = "32", paramLabel = "N", description = "Default: ${DEFAULT-VALUE}.")
    int maxNewTokens;

    @Option(names = "--temperature", defaultValue = "0", paramLabel = "T", description = "0 = greedy. Default: ${DEFAULT-VALUE}.")
    double temperature;

    @Option(names = "--top-p", defaultValue = "1.0", paramLabel = "P", description = "Nucleus sampling mass. Default: ${DEFAULT-VALUE}.")
    double topP;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "S", description = "Sampling seed (each row samples with its own generator seeded with S). Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--steer", paramLabel = "LAYER:COEF:FILE", converter = SteerArg.Converter.class,
            description = "Steering: vector file .json (flat array) or .safetensors. Repeat for multi-layer steering.")
    List<SteerArg> steer = new ArrayList<>();

    @Option(names = "--vector-key", paramLabel = "NAME", description = "Tensor to use from a .safetensors vector file holding several.")
    String vectorKey;

    @Option(names = "--positions", defaultValue = "all", paramLabel = "WHERE",
            converter = LowerCaseEnum.OfPositions.class, completionCandidates = LowerCaseEnum.OfPositions.class,
            description = "Where to add: all (prompt and generated), prompt, response. Default: ${DEFAULT-VALUE}.")
    Positions positions;

    @Option(names = "--chat", description = "Wrap each prompt as one user turn with the model's chat template.")
    boolean chat;

    @Option(names = "--no-stop", description = "Do not stop at EOS.")
    boolean noStop;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        // Checked against the config's dims, before the weights load.
        List<SteeringSpec> specs = steer.isEmpty() ? List.of()
                : SteerArg.resolve(steer, vectorKey, positions, LoadedModel.inspect(modelOptions.model).dims());
        GenerationOptions opts = new GenerationOptions(maxNewTokens, temperature, topP, seed, !noStop, null, false);
        try (Backend b = modelOptions.openBackend(); LoadedModel m = modelOptions.load(b)) {
            List<GenerationRequest> reqs = new ArrayList<>();
            for (String p : prompts) reqs.add(new GenerationRequest(m.encodePrompt(p, chat, "--prompt"), specs));
            List<GenerationResult> results = new Generator(m.lm()).generate(reqs, opts);
            print(m, results);
        }
        return 0;
    }

    private void print(LoadedModel m, List<GenerationResult> results) {
        var out = spec.commandLine().getOut();
        List<Map<String, Object>> rows = new ArrayList<>();
        for (int i = 0; i < results.size(); i++) {
            GenerationResult r = results.get(i);
            String text = m.tokenizer().decode(r.tokens());
            if (format.json()) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("prompt", prompts.get(i));
                o.put("tokens", r.tokens());
                o.put("text", text);
                o.put("stopped_at_eos", r.stoppedAtEos());
                o.put("telemetry", r.telemetry().stream().map(CommandJson::telemetry).toList());
                rows.add(o);
            } else {
                out.printf("[%d] %s%n    -> %s%n", i, prompts.get(i), text.replace("\n", "\n       "));
                for (HookTelemetry t : r.telemetry())
                    out.printf("    %s coef %.4g  ||v|| %.4g  ||h|| prompt %.4g (%d tok) response %.4g (%d tok)  ratio %.4f  live ratio %.4f%n",
                            t.hook(), t.coef(), t.vectorNorm(), t.promptNormMean(), t.promptCount(),
                            t.responseNormMean(), t.responseCount(), t.ratio(), t.steeredRatio());
            }
        }
        if (format.json()) {
            Map<String, Object> o = CommandJson.header(m.source(), modelOptions.backend.name, m.lm().backend().device());
            o.put("results", rows);
            CommandJson.print(out, o);
        }
    }
}
