package dev.steer.cli;

import dev.steer.engine.backend.Backend;
import dev.steer.engine.backend.BackendProvider;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

import java.util.Iterator;

/** {@code --backend} and {@code --precision}: shared by every command that opens a backend (through {@link ModelOptions}, or bench's own). */
final class BackendOptions {
    @Option(names = "--backend", defaultValue = "cpu", paramLabel = "NAME", converter = Registered.class, completionCandidates = Registered.class,
            description = "cpu (DJL/PyTorch, float32), cuda (own kernels; needs an NVIDIA GPU), or cuda-emu (the cuda kernels on a CPU "
                    + "emulator, to check them without a GPU; slow, needs g++). Default: ${DEFAULT-VALUE}.")
    String name;

    @Option(names = "--precision", paramLabel = "P", converter = LowerCaseEnum.OfPrecision.class, completionCandidates = LowerCaseEnum.OfPrecision.class,
            description = "Compute precision: f32, or bf16 (cuda, cuda-emu). Default: f32 on cpu, bf16 on cuda and cuda-emu.")
    Precision precision;

    Backend open() {
        return BackendProvider.open(name, Precision.backendName(precision));
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
