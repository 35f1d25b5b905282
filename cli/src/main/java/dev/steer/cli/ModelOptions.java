package dev.steer.cli;

import dev.steer.engine.backend.Backend;
import dev.steer.engine.backend.BackendProvider;
import dev.steer.models.LoadedModel;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** {@code --model}, {@code --backend}, {@code --precision}: shared by every command that runs a model. */
final class ModelOptions {
    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "Hugging Face checkpoint directory (config.json, *.safetensors, tokenizer.json).")
    Path model;

    @Option(names = "--backend", defaultValue = "cpu", paramLabel = "NAME",
            description = "cpu (DJL/PyTorch, float32), cuda (own kernels; needs an NVIDIA GPU), or cuda-emu (the cuda kernels on a CPU "
                    + "emulator, to check them without a GPU; slow, needs g++). Default: ${DEFAULT-VALUE}.")
    String backend;

    @Option(names = "--precision", paramLabel = "P",
            description = "Compute precision: f32, or bf16 (cuda, cuda-emu). Default: f32 on cpu, bf16 on cuda and cuda-emu.")
    String precision;

    Backend openBackend() {
        return BackendProvider.open(backend, precision);
    }

    LoadedModel load(Backend b) {
        return LoadedModel.open(model, b);
    }
}
