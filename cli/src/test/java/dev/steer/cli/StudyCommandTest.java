package dev.steer.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.steer.engine.report.RunPoint;
import dev.steer.engine.store.RunKind;
import dev.steer.engine.store.RunRecord;
import dev.steer.engine.store.RunStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code steer study} end to end on the tiny Gemma-2 with the ONNX trait judge (coherence: perplexity): killed with
 * SIGKILL in a child JVM partway, then run again in-process. The rerun keeps every run stored before the kill (same
 * ids, not regenerated), completes the rest with no duplicate config, and writes report.md, report.json and the
 * figures, whose numbers match the database.
 */
class StudyCommandTest {
    @TempDir
    Path tmp;

    static final String ONNX = "onnx:../engine/study/src/test/resources/fixtures/tiny-trait-classifier";

    static List<String> studyArgs(Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("study", "--model", CliRun.TINY.toString(), "--traits", "optimism,confidence",
                "--judge", ONNX, "--layers", "1-2", "--methods", "mean_diff", "--questions", "2", "--steps", "2",
                "--max-new-tokens", "4", "--ratios", "0.4,0.65,0.9,1.15", "--best-layers", "1", "--batch-size", "2",
                "--out", out.toString()));
        a.addAll(List.of(more));
        return a;
    }

    /** The arguments with one flag's value replaced, or the flag added. */
    static String[] with(List<String> args, String flag, String value) {
        List<String> a = new ArrayList<>(args);
        int i = a.indexOf(flag);
        if (i >= 0) a.set(i + 1, value);
        else a.addAll(List.of(flag, value));
        return a.toArray(String[]::new);
    }

    static List<RunRecord> runs(Path db) {
        if (!Files.exists(db)) return List.of();
        try (RunStore s = RunStore.open(db)) {
            return s.runs();
        } catch (RuntimeException e) {
            return List.of(); // schema not created yet
        }
    }

    @Test
    void aKilledStudyResumesFromTheDatabaseAndReports() throws Exception {
        Path out = tmp.resolve("study");
        Path db = out.resolve("steer-runs.db");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dai.djl.offline=true", "-cp", System.getProperty("java.class.path"), "dev.steer.cli.Steer"));
        cmd.addAll(studyArgs(out));
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve("child.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (runs(db).stream().filter(r -> r.kind() == RunKind.SEARCH).count() < 2 && child.isAlive() && System.nanoTime() < deadline)
            Thread.sleep(20);
        assertTrue(child.isAlive(), "the study ended before it could be killed: " + Files.readString(tmp.resolve("child.log")));
        child.destroyForcibly().waitFor();
        Map<String, Long> before = new HashMap<>();
        for (RunRecord r : runs(db)) before.put(r.configKey(), r.id());
        assertTrue(before.size() >= 3 && before.size() < 2 + 8 + 8, "killed mid-study with " + before.size() + " runs stored");

        java.io.ByteArrayOutputStream bars = new java.io.ByteArrayOutputStream();
        java.io.PrintStream oldErr = System.err;
        System.setErr(new java.io.PrintStream(bars, true));
        CliRun rerun;
        try {
            rerun = CliRun.of(studyArgs(out).toArray(String[]::new));
        } finally {
            System.setErr(oldErr);
        }
        assertEquals(0, rerun.code(), rerun.err());
        // confidence is studied whole in the rerun: its search bar counts 2 baseline + 2 layers x 2 steps x 2 questions
        // answers from the start (a total planned step by step would show 2, then 6, then 10), its sweep bar 1 x 4 x 2.
        Set<Integer> totals = new java.util.TreeSet<>();
        var m = java.util.regex.Pattern.compile("confidence mean_diff +\\d+% \\[[^\\]]*\\] +\\d+/(\\d+) answers").matcher(bars.toString());
        while (m.find()) totals.add(Integer.parseInt(m.group(1)));
        assertEquals(Set.of(8, 10), totals, "progress bar totals: " + bars);
        String o = rerun.out();
        assertTrue(o.contains("optimism: vectors present in"), "optimism's vectors were written before the kill: " + o);
        for (String line : List.of("optimism mean_diff: search step 1/2", "optimism mean_diff: search step 2/2",
                "confidence mean_diff: search step 2/2", "confidence mean_diff: sweep, layers [", "confidence mean_diff: sweep done, 4 runs"))
            assertTrue(o.contains(line), "progress line '" + line + "' in: " + o);

        List<RunRecord> after = runs(db);
        Set<String> keys = new HashSet<>();
        for (RunRecord r : after) assertTrue(keys.add(r.configKey()), "duplicate config " + r.configKey());
        for (var e : before.entrySet())
            assertEquals(e.getValue(), after.stream().filter(r -> r.configKey().equals(e.getKey())).findFirst().orElseThrow().id(),
                    "a run stored before the kill is reused, not made again");
        // Per trait: 1 baseline, 2 layers x 2 search steps, 1 best layer x 4 ratios.
        for (String trait : List.of("optimism", "confidence")) {
            assertEquals(1, after.stream().filter(r -> r.trait().equals(trait) && r.kind() == RunKind.BASELINE).count());
            assertEquals(4, after.stream().filter(r -> r.trait().equals(trait) && r.kind() == RunKind.SEARCH).count());
            List<RunRecord> sweep = after.stream().filter(r -> r.trait().equals(trait) && r.kind() == RunKind.SWEEP).toList();
            assertEquals(4, sweep.size());
            assertEquals(1, sweep.stream().map(RunRecord::layer).distinct().count(), "one best layer swept");
            // Targets 0.4, 0.65, 0.9, 1.15 convert with the questions' norm, which is each run's activation_norm.
            List<Double> ratios = sweep.stream().map(RunRecord::ratio).sorted().toList();
            double[] want = {0.4, 0.65, 0.9, 1.15};
            for (int i = 0; i < 4; i++) assertEquals(want[i], ratios.get(i), 1e-4, "sweep ratio " + i);
        }

        String md = Files.readString(out.resolve("report.md"));
        assertTrue(md.contains("| Trait | Cliff near 1.0-1.15? | 0.5-0.8 sweet spot? |") || md.contains("Cliff near 1.0-1.15?"), md);
        assertTrue(md.contains("### optimism: 8 runs") && md.contains("### confidence: 8 runs"), md);
        assertTrue(md.contains("Sweet-spot rule:"), md);
        JsonObject json = JsonParser.parseString(Files.readString(out.resolve("report.json"))).getAsJsonObject();
        assertEquals(16, json.get("count").getAsInt());
        JsonArray claims = json.getAsJsonArray("seed_questions");
        assertEquals(2, claims.size());
        List<RunPoint> points = RunPoint.fromRuns(after);
        for (var c : claims) {
            JsonObject co = c.getAsJsonObject();
            String trait = co.get("trait").getAsString();
            long sweet = points.stream().filter(p -> p.trait().equals(trait) && p.ratio() >= 0.5 && p.ratio() < 0.8).count();
            assertEquals(sweet, co.get("sweet_runs").getAsLong(), trait + " runs in 0.5-0.8");
            assertEquals(8, co.get("runs").getAsInt());
        }
        assertEquals(4, json.getAsJsonArray("search").size(), "2 traits x 2 layers searched");
        Path reference = Files.createFile(tmp.resolve("mode-reference"));
        for (String f : List.of("report.md", "report.json", "figures/ratio_vs_coherence.png", "figures/ratio_vs_coherence.svg",
                "figures/optimism/ratio_vs_coherence.pdf", "figures/confidence/coherence_by_bucket.svg", "vectors/optimism/mean_diff_layer1.safetensors")) {
            assertTrue(Files.size(out.resolve(f)) > 0, f);
            assertEquals(Files.getPosixFilePermissions(reference), Files.getPosixFilePermissions(out.resolve(f)), f + " takes the umask's mode, not 0600");
        }

        // A third run changes nothing: everything is reused.
        CliRun again = CliRun.of(studyArgs(out).toArray(String[]::new));
        assertEquals(0, again.code(), again.err());
        assertTrue(again.out().contains("confidence mean_diff: sweep done, 4 runs (4 reused)"), again.out());
        assertEquals(after.size(), runs(db).size());
    }

    @Test
    void newCommandsHaveCleanHelpAndReportExamplesSitInsideBuckets() {
        for (String cmd : List.of("study", "merge", "report", "sweep", "search")) {
            java.io.ByteArrayOutputStream sysErr = new java.io.ByteArrayOutputStream();
            java.io.PrintStream old = System.err;
            System.setErr(new java.io.PrintStream(sysErr));
            CliRun r;
            try {
                r = CliRun.of(cmd, "--help");
            } finally {
                System.setErr(old);
            }
            assertEquals(0, r.code(), cmd);
            assertTrue(r.out().startsWith("Usage: steer " + cmd), cmd + ": " + r.out());
            assertTrue(!sysErr.toString().contains("WARN") && !r.err().contains("WARN"), cmd + " help warns: " + sysErr);
            if (!cmd.equals("merge") && !cmd.equals("report")) assertTrue(r.out().contains("--shard=I/N"), cmd + " has --shard");
        }
        String report = CliRun.of("report", "--help").out();
        assertTrue(report.contains("--ratios 0.4,0.65,0.9,1.15") && report.contains("--coherence-threshold")
                && report.contains("--buckets=EDGES") && report.contains("--log-x"), report);
    }

    @Test
    void ratiosOnABucketEdgeAndBadShardsAreRefusedBeforeTheModelLoads() {
        CliRun edge = CliRun.of(with(studyArgs(tmp.resolve("s")), "--ratios", "0.4,0.5"));
        assertEquals(2, edge.code());
        assertTrue(edge.err().contains("--ratios: 0.5 lies on the bucket edge 0.5"), edge.err());
        assertEquals("", edge.out());
        CliRun shard = CliRun.of(with(studyArgs(tmp.resolve("s")), "--shard", "2/2"));
        assertEquals(2, shard.code());
        assertTrue(shard.err().contains("--shard 2/2: I must be in 0..1 (0-based)"), shard.err());
        CliRun trait = CliRun.of(with(studyArgs(tmp.resolve("s")), "--traits", "optimism,nosuch"));
        assertEquals(2, trait.code());
        assertTrue(trait.err().contains("nosuch"), trait.err());
    }
}
