package dev.steer.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --threads} on the cpu backend, read back from PyTorch in a JVM of its own (the pools are per process and
 * are sized before the engine's first op, so a test JVM that already started the engine could not show it), and
 * the floor bench prints with every cpu figure.
 */
class CpuThreadsTest {
    /** {@code steer bench} on the tiny random model in a fresh JVM; its JSON. */
    static JsonObject benchInOwnJvm(String... extra) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dai.djl.offline=true", "-cp", System.getProperty("java.class.path"), "dev.steer.cli.Steer",
                "bench", "--random", "tiny", "--batch", "1", "--prompt-len", "3", "--new-tokens", "2", "--format", "json"));
        cmd.addAll(List.of(extra));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        return JsonParser.parseString(out).getAsJsonObject();
    }

    @Test
    void threadsSizeBothPoolsFromTheFirstOp() throws Exception {
        JsonObject stats = benchInOwnJvm("--threads", "1").getAsJsonObject("backend_stats");
        assertEquals(1, stats.get("intra_op_threads").getAsInt(), stats.toString());
        assertEquals(1, stats.get("inter_op_threads").getAsInt(), stats.toString());
        assertEquals(1, stats.get("kernel_threads").getAsInt(), "steer's kernels take the same count: " + stats);
        JsonObject three = benchInOwnJvm("--threads", "3");
        assertEquals(3, three.getAsJsonObject("backend_stats").get("kernel_threads").getAsInt());
        assertEquals(3, three.getAsJsonObject("backend_stats").get("intra_op_threads").getAsInt());
        assertEquals(3, three.getAsJsonObject("backend_stats").get("inter_op_threads").getAsInt());
        assertTrue(three.get("device").getAsString().contains("3 threads"), three.get("device").getAsString());
    }

    @Test
    void theDefaultIsTheCoresTheProcessMayUse() throws Exception {
        JsonObject stats = benchInOwnJvm().getAsJsonObject("backend_stats");
        int cores = Runtime.getRuntime().availableProcessors();
        assertEquals(cores, stats.get("intra_op_threads").getAsInt(), stats.toString());
        assertEquals(cores, stats.get("inter_op_threads").getAsInt(), stats.toString());
        assertEquals(cores, stats.get("kernel_threads").getAsInt(), stats.toString());
    }

    @Test
    void everyCpuStepComesWithItsFloor() throws Exception {
        JsonObject o = benchInOwnJvm("--threads", "1");
        JsonObject floor = o.getAsJsonObject("floor");
        assertEquals(1, floor.get("threads").getAsInt());
        assertTrue(floor.get("buffer_bytes").getAsLong() >= 512L << 20, "a buffer far larger than the caches");
        double bandwidth = floor.get("read_bandwidth_bytes_per_s").getAsDouble();
        long weights = floor.get("weight_bytes").getAsLong();
        assertEquals(o.getAsJsonObject("backend_stats").get("weight_bytes").getAsLong(), weights);
        assertEquals(weights / bandwidth * 1e3, floor.get("ms_per_step").getAsDouble(), 1e-9);
        assertTrue(floor.get("method").getAsString().startsWith("steer's kernels"), floor.toString());
        // the tiny model's weights fit in the caches: the passes beside its runs read the buffer, not the weights
        assertTrue(floor.get("beside_runs").getAsString().startsWith("the buffer"), floor.toString());
        // each row's floor comes from passes just before and after its own best run
        for (var e : o.getAsJsonArray("runs")) {
            JsonObject row = e.getAsJsonObject();
            double rowBandwidth = row.get("read_bandwidth_bytes_per_s").getAsDouble();
            assertTrue(rowBandwidth > 1e8, row.toString());
            assertEquals(weights / rowBandwidth * 1e3, row.get("floor_ms_per_step").getAsDouble(), 1e-9);
            assertEquals(row.get("floor_ms_per_step").getAsDouble() / row.get("decode_ms_per_step").getAsDouble(), row.get("of_floor").getAsDouble(), 1e-9);
            // no floor interleaved with the steps for weights that fit in the caches (a pass after each step would
            // evict what the step reads)
            assertFalse(row.has("interleaved_of_floor"), row.toString());
        }
    }

    @Test
    void anUnknownKernelSettingIsOneLineExit2() {
        assertRefusedWith("steer.cpu.kernels", "avx9000",
                "steer: -Dsteer.cpu.kernels: expected off or one of scalar, avx2, avx512, avx512_bf16 (or empty: the best), got \"avx9000\"");
    }

    @Test
    void anUnknownPackSettingIsOneLineExit2() {
        assertRefusedWith("steer.cpu.pack", "no", "steer: -Dsteer.cpu.pack: expected on or off (or empty: where it is faster), got \"no\"");
    }

    /** With the system property {@code key} = {@code value}, a bench is refused: exit 2, the one line, no stdout. */
    private static void assertRefusedWith(String key, String value, String line) {
        String before = System.getProperty(key);
        System.setProperty(key, value);
        try {
            CliRun run = CliRun.of("bench", "--random", "tiny");
            assertEquals(2, run.code(), run.err());
            assertEquals(line, run.err().strip());
            assertEquals("", run.out());
        } finally {
            if (before == null) System.clearProperty(key);
            else System.setProperty(key, before);
        }
    }

    @Test
    void badThreadCountsAreRefused() {
        CliRun zero = CliRun.of("bench", "--random", "tiny", "--threads", "0");
        assertEquals(2, zero.code());
        assertEquals("steer: --threads: must be between 1 and 1024, was 0", zero.err().strip());
        CliRun gpu = CliRun.of("bench", "--random", "tiny", "--backend", "cuda-emu", "--threads", "2");
        assertEquals(2, gpu.code());
        assertTrue(gpu.err().strip().endsWith("--threads: the cuda-emu backend does not take a thread count (only cpu does)"), gpu.err());
        assertEquals("", gpu.out());
    }
}
