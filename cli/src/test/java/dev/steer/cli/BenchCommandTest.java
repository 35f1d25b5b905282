package dev.steer.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import org.junit.jupiter.api.Test;

/** {@code steer bench}: what it reports and its bad inputs (how fast is BENCHMARKS.md's business, not a test's). */
class BenchCommandTest {
    @Test
    void reportsEveryBatchAndVariantWithItsOverhead() {
        CliRun r = CliRun.of("bench", "--random", "tiny", "--batch", "1,3", "--prompt-len", "5", "--new-tokens", "3", "--format", "json");
        assertEquals(0, r.code(), r.err());
        JsonObject o = r.json();
        assertEquals("greedy", o.get("token_choice").getAsString());
        JsonArray runs = o.getAsJsonArray("runs");
        assertEquals(6, runs.size());
        String[] variants = {"plain", "telemetry", "steered"};
        for (int i = 0; i < 6; i++) {
            JsonObject row = runs.get(i).getAsJsonObject();
            assertEquals(i < 3 ? 1 : 3, row.get("batch").getAsInt());
            assertEquals(variants[i % 3], row.get("variant").getAsString());
            assertTrue(row.get("decode_tokens_per_s").getAsDouble() > 0 && row.get("prefill_tokens_per_s").getAsDouble() > 0, row.toString());
            double plain = runs.get(i / 3 * 3).getAsJsonObject().get("decode_tokens_per_s").getAsDouble();
            assertEquals(plain / row.get("decode_tokens_per_s").getAsDouble() - 1, row.get("overhead_vs_plain").getAsDouble(), 1e-9);
        }
    }

    @Test
    void sampledOnTheCudaPathReplaysDecodeSteps() {
        org.junit.jupiter.api.Assumptions.assumeTrue(dev.steer.kernels.CudaBackend.emulatorUnavailableReason() == null, "no kernel emulator here");
        CliRun r = CliRun.of("bench", "--random", "tiny", "--backend", "cuda-emu", "--batch", "2", "--prompt-len", "4", "--new-tokens", "4",
                "--temperature", "1", "--top-p", "0.9", "--format", "json");
        assertEquals(0, r.code(), r.err());
        JsonObject o = r.json();
        assertEquals("sampled (temperature 1.0, top-p 0.9)", o.get("token_choice").getAsString());
        assertTrue(o.get("device").getAsString().startsWith("CPU kernel emulator"), o.toString());
        assertEquals("cuda-emu", o.get("backend").getAsString());
        // warm-up + 3 variants, 3 decode steps each: the first eager, the second captured, the third replayed
        assertEquals(4, o.getAsJsonObject("backend_stats").get("graph_replays").getAsInt(), o.toString());
        assertEquals(0, o.getAsJsonObject("backend_stats").get("graph_mismatches").getAsInt());
        // the host's share of a replayed step (the Java forward recording it), measured
        assertTrue(o.getAsJsonObject("backend_stats").get("graph_host_us_per_replayed_step").getAsDouble() > 0, o.toString());
        // The last captured step (steered at the middle layer, 2 of 4) is 38 launches: embed; layer 0 its input norm
        // + 8 (qkv GEMM, decode attention with the rotation and cache write in it, o GEMM, add_rmsnorm, gate/up GEMM,
        // gelu, down GEMM, and the add_rmsnorm that also computes layer 1's input norm); layer 1 8; layer 2 (hooked)
        // 7 + post-FFN norm + fused add/steer; layer 3 input norm + 8 (its add_rmsnorm also computes the final norm;
        // the last step of a one-step batch is a view); then the lm_head GEMM and softcap. A fusion undone shows here.
        assertEquals(38, o.getAsJsonObject("backend_stats").get("graph_step_launches").getAsInt(), o.toString());
        assertTrue(o.get("peak_memory_bytes").getAsLong() > 0);
    }

    /**
     * STEER_GEMV=auto (here its system property): each decode-size linear layer's methods are timed once, in
     * the first (eager) decode step, and the choices are reported; graph capture and replay are unaffected.
     */
    @Test
    void autoLinearPlanIsTunedOnceAndReported() {
        org.junit.jupiter.api.Assumptions.assumeTrue(dev.steer.kernels.CudaBackend.emulatorUnavailableReason() == null, "no kernel emulator here");
        System.setProperty("steer.gemv", "auto");
        try {
            CliRun r = CliRun.of("bench", "--random", "tiny", "--backend", "cuda-emu", "--precision", "bf16", "--batch", "1",
                    "--prompt-len", "65", "--new-tokens", "4", "--format", "json");
            assertEquals(0, r.code(), r.err());
            JsonObject stats = r.json().getAsJsonObject("backend_stats");
            assertEquals("auto", stats.get("linear_plan").getAsString());
            JsonArray choices = stats.getAsJsonArray("linear_choices");
            // one row at decode (prefill's 65 rows go to cuBLAS unasked): q/k/v (packed), o, gate/up (packed, with its gelu), down, lm_head
            assertEquals(5, choices.size(), choices.toString());
            // gate/up is timed with the gelu that follows it (fused gemv forms against the others plus the gelu kernel)
            assertEquals(1, choices.asList().stream().filter(c -> c.getAsString().contains(" +gelu: ")).count(), choices.toString());
            for (var c : choices) {
                String line = c.getAsString();
                assertTrue(line.matches("m1 n\\d+ k\\d+( \\+gelu)?: (cublas|cublasLt emulated \\(the plain loop\\)|gemv_r1_c\\d_w\\d) [0-9.]+ us \\(cublas [0-9.]+ us; medians in us: .*\\)"), line);
                // cuBLAS, the cuBLASLt stand-in and the 7 one-row gemv configurations
                assertEquals(9, line.substring(line.indexOf("medians in us: ")).split(", ").length, line);
            }
            assertEquals(4, stats.get("graph_replays").getAsInt(), stats.toString());
            assertEquals(0, stats.get("graph_mismatches").getAsInt(), stats.toString());
            System.setProperty("steer.gemv", "fast");
            CliRun bad = CliRun.of("bench", "--random", "tiny", "--backend", "cuda-emu", "--precision", "bf16", "--batch", "1");
            assertEquals(2, bad.code());
            assertTrue(bad.err().strip().startsWith("steer: -Dsteer.gemv=fast: expected 0 (cuBLAS), auto, or a gemv configuration: c1w4,"), bad.err());
            assertTrue(!bad.err().strip().contains("\n"), bad.err());
        } finally {
            System.clearProperty("steer.gemv");
        }
    }

    @Test
    void badSamplingFlagsAreOneLine() {
        CliRun r = CliRun.of("bench", "--random", "tiny", "--top-p", "0");
        assertEquals(2, r.code());
        assertEquals("steer: --top-p: must be in (0, 1], was 0.0", r.err().strip());
        CliRun t = CliRun.of("bench", "--random", "tiny", "--temperature", "-1");
        assertEquals(2, t.code());
        assertTrue(t.err().strip().startsWith("steer: --temperature:") && !t.err().contains("\n\tat "), t.err());
    }
}
