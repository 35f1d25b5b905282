package dev.steer.engine.store;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * kill -9 in the middle of a sweep: every finished run survives whole, the one being written vanishes whole, and
 * the resumed sweep skips what is stored and redoes only the rest.
 */
class KilledSweepTest {
    private static final int N = 300;

    @TempDir
    Path tmp;

    @Test
    void killedSweepLosesNoFinishedRunLeavesNoHalfRunAndResumes() throws Exception {
        Path db = tmp.resolve("killed.db");
        // Two kills, each during the k-th write the (resumed) child begins: at once, and a little into the write.
        int[] killAtBegin = {3, 2};
        long[] delayMs = {0, 10};
        for (int round = 0; round < killAtBegin.length; round++) {
            int before = storedRuns(db);
            ChildLog log = runChild(db, 1000, killAtBegin[round], delayMs[round]);
            assertEquals(before, log.skips, "the resumed child skips exactly the stored runs");
            try (RunStore store = RunStore.open(db)) {
                List<RunRecord> runs = store.runs();
                assertTrue(runs.size() >= before + log.saved, "every run reported saved is present: "
                        + runs.size() + " < " + before + " + " + log.saved);
                assertWhole(store, runs);
            }
        }
        // Resume to the end: only the missing runs are generated, none twice.
        int before = storedRuns(db);
        ChildLog finish = runChild(db, before + 2, -1, 0);
        assertEquals(0, finish.exitCode);
        assertEquals(before, finish.skips);
        assertEquals(2, finish.saved);
        try (RunStore store = RunStore.open(db)) {
            assertEquals(before + 2, store.runs().size());
            assertWhole(store, store.runs());
        }
    }

    /** Runs are runs 0..k-1 of the loop, in order, each with all N responses, and SQLite finds the file sound. */
    private static void assertWhole(RunStore store, List<RunRecord> runs) {
        List<ResponseRecord> expected = StoredRuns.responses(N, 2000);
        for (int i = 0; i < runs.size(); i++) {
            assertEquals(SweepChild.coef(i), runs.get(i).coef(), 0.0, "run " + i + " is the loop's run " + i);
            List<ResponseRecord> actual = store.responses(runs.get(i).id());
            assertEquals(N, actual.size(), "run " + i + " has all its responses");
            assertTrue(expected.equals(actual), "run " + i + " responses are intact");
        }
        assertEquals("ok", store.integrityCheck());
    }

    private static int storedRuns(Path db) {
        try (RunStore store = RunStore.open(db)) {
            return store.runs().size();
        }
    }

    private record ChildLog(int skips, int saved, int exitCode) {
    }

    /**
     * Starts the sweep child; when {@code killAt >= 0}, kills it -9 once it announces its killAt-th write (from 0)
     * and {@code delayMs} more have passed, otherwise waits for it to finish.
     */
    private static ChildLog runChild(Path db, int runs, int killAt, long delayMs) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                SweepChild.class.getName(), db.toString(), Integer.toString(runs), Integer.toString(N))
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        int skips = 0, saved = 0, begins = 0;
        List<String> lines = new ArrayList<>();
        boolean killed = false;
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = out.readLine()) != null) {
                lines.add(line);
                if (line.startsWith("skip ")) skips++;
                if (line.startsWith("saved ")) saved++;
                if (line.startsWith("begin ") && begins++ == killAt) {
                    if (delayMs > 0) Thread.sleep(delayMs);
                    child.destroyForcibly(); // SIGKILL on Linux: no shutdown hooks, no close(), no rollback
                    killed = true;
                    break;
                }
            }
        } catch (IOException e) {
            if (!killed) throw e;
        }
        if (!child.waitFor(60, TimeUnit.SECONDS)) fail("child did not end");
        if (killAt >= 0 && !killed) fail("child ended (" + child.exitValue() + ") before its write " + killAt + ": " + lines);
        if (killed) assertTrue(child.exitValue() != 0, "child was killed, not finished");
        return new ChildLog(skips, saved, child.exitValue());
    }
}
