package dev.steer.cli;

import dev.steer.engine.steering.Positions;
import dev.steer.engine.store.RunStore;
import dev.steer.engine.trait.TraitDataset;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** What {@code steer sweep} and {@code steer search} share: model, trait, vectors, judges, generation, store. */
final class EvalOptions {
    @Mixin
    ModelOptions model;

    @Mixin
    JudgeOptions judgeOptions;

    @Option(names = "--trait", required = true, paramLabel = "T",
            description = "Bundled trait (refusal, optimism, sycophancy, confidence) or a trait .json file (docs/traits.md).")
    String trait;

    @Option(names = "--trait-name", paramLabel = "NAME",
            description = "What a trait file's runs are called in the results database (letters, digits, '-', '_'). Default: the file's name.")
    String traitName;

    @Option(names = "--vectors", required = true, paramLabel = "DIR",
            description = "Directory of steering vectors named {method}_layer{L}.safetensors, or one {method}.gguf control vector holding every layer (as steer extract writes them).")
    Path vectors;

    @Option(names = "--layers", required = true, paramLabel = "L,...", description = "Layers to steer: a list 6,12,18, a range 4-8, a mix, or all.")
    String layers;

    @Option(names = "--method", defaultValue = "mean_diff", paramLabel = "M",
            description = "Vector extraction method, the file name prefix: mean_diff or probe. Default: ${DEFAULT-VALUE}.")
    String method;

    @Option(names = "--judge", required = true, paramLabel = "J",
            description = "Trait judge: openai:MODEL, onnx:DIR, self (the loaded model scores its answers).")
    String judge;

    @Option(names = "--coherence-judge", paramLabel = "J",
            description = "Coherence judge: openai:MODEL, self, perplexity (the unsteered model's likelihood of the answer). "
                    + "Default: the trait judge for openai/self, perplexity for onnx.")
    String coherenceJudge;

    @Option(names = "--max-new-tokens", defaultValue = "48", paramLabel = "N", description = "Answer length limit. Default: ${DEFAULT-VALUE}.")
    int maxNewTokens;

    @Option(names = "--positions", defaultValue = "all", paramLabel = "WHERE",
            converter = LowerCaseEnum.OfPositions.class, completionCandidates = LowerCaseEnum.OfPositions.class,
            description = "Where to add the vector: all, prompt, response. Default: ${DEFAULT-VALUE}.")
    Positions positions;

    @Option(names = "--batch-size", defaultValue = "32", paramLabel = "N",
            description = "Rows per generation batch; rows of different layers and coefs share a batch. Default: ${DEFAULT-VALUE}.")
    int batchSize;

    @Option(names = "--questions", paramLabel = "N", description = "Use only the first N of the trait's eval questions.")
    Integer questions;

    @Option(names = "--chat", description = "Wrap each question as one user turn with the model's chat template.")
    boolean chat;

    @Option(names = "--temperature", defaultValue = "0", paramLabel = "T", description = "0 = greedy. Default: ${DEFAULT-VALUE}.")
    double temperature;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "S", description = "Sampling seed. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--db", defaultValue = RunStore.DEFAULT_FILE, paramLabel = "FILE",
            description = "Results database (SQLite); the judge cache lives next to it. Default: ${DEFAULT-VALUE}.")
    Path db;

    /** {@code --trait}, named by {@code --trait-name} where given. */
    TraitDataset loadTrait() {
        return TraitName.load(trait, traitName);
    }
}
