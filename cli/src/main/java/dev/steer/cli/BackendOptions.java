package dev.steer.cli;

import dev.steer.engine.BadInputException;
import dev.steer.engine.backend.Backend;
import dev.steer.engine.backend.BackendProvider;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

import java.util.Iterator;

/** {@code --backend} and {@code --precision}: shared by every command that opens a backend (through {@link ModelOptions}, or bench's own). */
final class BackendOptions {
    @Option(names = "--backend", defaultValue = "cpu", paramLabel = "NAME", converter = Registered.class, completionCandidates = Registered.class,
            description = "cpu (DJL/PyTorch; f32 or bf16 weights), cuda (own kernels; needs an NVIDIA GPU), or cuda-emu (the cuda kernels on a CPU "
                    + "emulator, to check them without a GPU; slow, needs g++). Default: ${DEFAULT-VALUE}.")
    String name;

    @Option(names = "--precision", paramLabel = "P", converter = LowerCaseEnum.OfPrecision.class, completionCandidates = LowerCaseEnum.OfPrecision.class,
            description = "Compute precision: f32, or bf16 (16-bit weights, bf16 matmul inputs, float32 accumulation). Default: f32 on cpu, bf16 on cuda and cuda-emu.")
    Precision precision;

    @Option(names = "--threads", paramLabel = "N",
            description = "cpu: compute threads (PyTorch's intra- and inter-op pools), set before the first op. Default: the cores this process may use.")
    Integer threads;

    /** The checks that need no backend, for commands that open one only after other work. */
    void check() {
        if (threads != null && (threads < 1 || threads > 1024)) throw new BadInputException("--threads: must be between 1 and 1024, was " + threads);
    }

    Backend open() {
        check();
        return BackendProvider.open(name, Precision.backendName(precision), threads == null ? 0 : threads);
    }

    /** A backend name stays a name, checked against the providers on the class path ({@link BackendProvider#names()}). */
    static final class Registered implements ITypeConverter<String>, Iterable<String> {
        @Override
        public String convert(String value) {
            if (BackendProvider.names().contains(value)) return value;
            throw new TypeConversionException("'" + value + "' is not available (available: " + String.join(", ", this) + ")");
        }

        @Override
        public Iterator<String> iterator() {
            return BackendProvider.names().iterator();
        }
    }
}
