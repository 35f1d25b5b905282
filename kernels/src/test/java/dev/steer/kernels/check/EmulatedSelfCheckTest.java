package dev.steer.kernels.check;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.steer.kernels.CudaBackend;
import dev.steer.kernels.KernelSettings;
import dev.steer.kernels.Precision;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Every op check of {@link GpuSelfCheck} (the one the GPU machine runs) with the kernels run by the CPU
 * emulator: the CUDA backend's kernels, launch shapes, arena and KV cache against the Java references, in both
 * precisions, with and without the opt-in kernels (decode attention; gemv.cu's c2w4 for every bf16 linear of up to 8 rows), on every CI run.
 */
class EmulatedSelfCheckTest {
    /** The emulator needs g++ and a JDK's jni.h: without them these tests skip and say why (CI's machine has both). */
    @org.junit.jupiter.api.BeforeAll
    static void emulatorAvailable() {
        String reason = CudaBackend.emulatorUnavailableReason();
        if (reason != null) System.out.println("EmulatedSelfCheckTest skipped: " + reason);
        org.junit.jupiter.api.Assumptions.assumeTrue(reason == null, reason);
    }

    @ParameterizedTest(name = "{0}, opt-in kernels {1}")
    @CsvSource({"F32, false", "BF16, false", "F32, true", "BF16, true"})
    void everyOpCheckPassesOnTheEmulator(Precision precision, boolean optIn) {
        KernelSettings settings = KernelSettings.fromEnvironment().withDecodeAttention(optIn).withGemv(optIn ? "c2w4" : "0");
        try (CudaBackend be = CudaBackend.emulated(precision, settings)) {
            // with the opt-in kernels on, only the ops they change
            List<GpuSelfCheck.Result> results = GpuSelfCheck.run(be, op -> !optIn || op.startsWith("attention") || op.startsWith("linear") || op.startsWith("weight upload"));
            results.forEach(r -> System.out.println(r.line()));
            String failed = results.stream().filter(r -> !r.pass()).map(GpuSelfCheck.Result::line).collect(Collectors.joining("\n"));
            assertTrue(failed.isEmpty(), failed);
            assertTrue(results.size() >= (optIn ? 7 : 25), "only " + results.size() + " checks ran");
        }
    }
}
