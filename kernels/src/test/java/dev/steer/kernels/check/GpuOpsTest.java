package dev.steer.kernels.check;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.steer.kernels.CudaBackend;
import dev.steer.kernels.Precision;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Every CUDA op against its Java reference (the same checks as {@link GpuSelfCheck}); skipped without a GPU. */
@Tag("gpu")
class GpuOpsTest {
    private static void runIn(Precision precision) {
        String reason = CudaBackend.unavailableReason();
        assumeTrue(reason == null, reason);
        try (CudaBackend be = CudaBackend.open(0, precision)) {
            List<GpuSelfCheck.Result> results = GpuSelfCheck.run(be);
            StringBuilder failures = new StringBuilder();
            for (GpuSelfCheck.Result r : results) if (!r.pass()) failures.append(r.line()).append('\n');
            assertTrue(failures.isEmpty(), failures.toString());
        }
    }

    @Test
    void opsMatchReferencesInF32() {
        runIn(Precision.F32);
    }

    @Test
    void opsMatchReferencesInBf16() {
        runIn(Precision.BF16);
    }
}
