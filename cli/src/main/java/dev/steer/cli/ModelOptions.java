package dev.steer.cli;

import dev.steer.engine.backend.Backend;
import dev.steer.models.LoadedModel;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** {@code --model}, {@code --backend}, {@code --precision}: shared by every command that runs a model. */
final class ModelOptions {
    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "Hugging Face checkpoint directory (config.json, *.safetensors, tokenizer.json).")
    Path model;

    @Mixin
    BackendOptions backend;

    Backend openBackend() {
        return backend.open();
    }

    LoadedModel load(Backend b) {
        return LoadedModel.open(model, b);
    }
}
