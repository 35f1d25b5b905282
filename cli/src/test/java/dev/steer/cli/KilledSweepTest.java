package dev.steer.cli;

import dev.steer.engine.store.RunKind;
import dev.steer.engine.store.RunRecord;
import dev.steer.engine.store.RunStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code steer sweep} killed with SIGKILL mid-run (a child JVM), then run again: no finished run is lost, none is
 * half written, the rerun reuses what was stored and completes the rest, with no duplicate configuration.
 */
class KilledSweepTest {
    @TempDir
    Path tmp;

    static final String ONNX = "onnx:../engine/study/src/test/resources/fixtures/tiny-trait-classifier";

    List<String> sweepArgs(Path vectors, Path db) {
        List<String> coefs = new ArrayList<>();
        for (int i = 1; i <= 40; i++) coefs.add(Double.toString(0.25 * i));
        return List.of("sweep", "--model", CliRun.TINY.toString(), "--trait", "optimism", "--vectors", vectors.toString(),
                "--layers", "1", "--method", "mean_diff", "--coefs", String.join(",", coefs), "--judge", ONNX,
                "--coherence-judge", "perplexity", "--questions", "2", "--max-new-tokens", "12", "--batch-size", "1",
                "--db", db.toString(), "--format", "json");
    }

    static long sweepRuns(Path db) {
        if (!Files.exists(db)) return 0;
        try (RunStore s = RunStore.open(db)) {
            return s.runs().stream().filter(r -> r.kind() == RunKind.SWEEP).count();
        } catch (RuntimeException e) {
            return 0; // schema not created yet
        }
    }

    @Test
    void aKilledSweepLosesNothingAndResumes() throws Exception {
        Path vectors = tmp.resolve("vectors");
        CliRun ex = CliRun.of("extract", "--model", CliRun.TINY.toString(), "--trait", "optimism", "--layers", "1",
                "--method", "mean_diff", "--out", vectors.toString(), "--format", "json");
        assertEquals(0, ex.code(), ex.err());
        Path db = tmp.resolve("runs.db");

        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dai.djl.offline=true", "-cp", System.getProperty("java.class.path"), "dev.steer.cli.Steer"));
        cmd.addAll(sweepArgs(vectors, db));
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve("child.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (sweepRuns(db) < 2 && child.isAlive() && System.nanoTime() < deadline) Thread.sleep(20);
        assertTrue(child.isAlive(), "the sweep ended before it could be killed: " + Files.readString(tmp.resolve("child.log")));
        child.destroyForcibly().waitFor();

        long before;
        try (RunStore s = RunStore.open(db)) {
            assertEquals("ok", s.integrityCheck());
            before = s.runs().stream().filter(r -> r.kind() == RunKind.SWEEP).count();
            for (RunRecord r : s.runs()) assertEquals(r.n(), s.responses(r.id()).size(), "run " + r.id() + " complete");
        }
        assertTrue(before >= 2 && before < 40, "killed mid-sweep, " + before + " runs stored");

        CliRun rerun = CliRun.of(sweepArgs(vectors, db).toArray(String[]::new));
        assertEquals(0, rerun.code(), rerun.err());
        long reused = rerun.json().getAsJsonArray("runs").asList().stream()
                .filter(r -> r.getAsJsonObject().get("reused").getAsBoolean()).count();
        assertTrue(reused >= before, "the rerun reused the " + before + " stored runs (reused " + reused + ")");
        try (RunStore s = RunStore.open(db)) {
            List<RunRecord> runs = s.runs();
            Set<String> keys = new HashSet<>();
            for (RunRecord r : runs) assertTrue(keys.add(r.configKey()), "duplicate config " + r.configKey());
            assertEquals(40, runs.stream().filter(r -> r.kind() == RunKind.SWEEP).count());
            assertEquals(1, runs.stream().filter(r -> r.kind() == RunKind.BASELINE).count());
            for (RunRecord r : runs) assertEquals(r.n(), s.responses(r.id()).size());
        }
    }
}
