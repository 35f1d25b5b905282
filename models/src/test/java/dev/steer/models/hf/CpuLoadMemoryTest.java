package dev.steer.models.hf;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Peak resident memory (VmHWM) of loading a random 71 M-parameter checkpoint (284 MB as float32) on the cpu backend,
 * each load in its own JVM, less the peak of loading the tiny fixture (the JVM and libtorch themselves): at most
 * 1.15 x the float32 weight bytes whatever the stored dtype, and 1.2 x the 16-bit bytes with bf16 weights. Reading
 * the checkpoint through its mapping kept the file resident next to the converted copy, and every upload block
 * waited in a direct buffer for the GC: 2x and more.
 */
class CpuLoadMemoryTest {
    @TempDir
    static Path tmp;
    static long baseline;

    @BeforeAll
    static void write() throws Exception {
        RandomCheckpoint.write(tmp.resolve("f32"), "F32", 1024, 4096, 4, 8192, 8, 4, 128);
        RandomCheckpoint.write(tmp.resolve("bf16"), "BF16", 1024, 4096, 4, 8192, 8, 4, 128);
        baseline = peak(Path.of("src/test/resources/fixtures/tiny-gemma2"), "f32")[1];
    }

    /** {weight bytes, VmHWM} of loading {@code dir} in a fresh JVM. */
    static long[] peak(Path dir, String precision) throws IOException, InterruptedException {
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Dai.djl.offline=true",
                "-cp", System.getProperty("java.class.path"), LoadPeak.class.getName(), dir.toString(), precision);
        Path log = Files.createTempFile(tmp, "load", ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "load timed out");
        String out = Files.readString(log);
        assertEquals(0, p.exitValue(), out);
        String line = out.lines().filter(l -> l.startsWith("weight_bytes ")).findFirst().orElseThrow(() -> new AssertionError(out));
        String[] f = line.split(" ");
        return new long[] {Long.parseLong(f[1]), Long.parseLong(f[3])};
    }

    static void assertPeak(Path dir, String precision, double factor) throws Exception {
        long[] r = peak(dir, precision);
        long weights = r[0], above = r[1] - baseline;
        System.out.printf("load %s as %s: VmHWM %.1f MB, %.1f MB above the tiny load, weights %.1f MB (%.3fx)%n", dir.getFileName(), precision,
                r[1] / 1e6, above / 1e6, weights / 1e6, above / (double) weights);
        assertTrue(weights > 250_000_000L / (precision.equals("bf16") ? 2 : 1), "weights " + weights);
        assertTrue(above <= factor * weights, String.format("%s as %s: peak %.1f MB above the tiny load's %.1f MB, for %.1f MB of weights (bound %.2fx)",
                dir.getFileName(), precision, above / 1e6, baseline / 1e6, weights / 1e6, factor));
    }

    @Test
    void float32FromFloat32() throws Exception {
        assertPeak(tmp.resolve("f32"), "f32", 1.15);
    }

    @Test
    void float32FromBf16() throws Exception {
        assertPeak(tmp.resolve("bf16"), "f32", 1.15);
    }

    @Test
    void bf16FromBf16() throws Exception {
        assertPeak(tmp.resolve("bf16"), "bf16", 1.2);
    }

    @Test
    void bf16FromFloat32() throws Exception {
        assertPeak(tmp.resolve("f32"), "bf16", 1.2);
    }
}
