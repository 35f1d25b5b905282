package dev.steer.cli;

import dev.steer.engine.store.RunStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad input a hostile run found checked too late: after work was done or files were replaced, or as exit 1. Each
 * case is one stderr line, exit 2, nothing on stdout, nothing written.
 */
class LateInputChecksTest {
    @TempDir
    Path tmp;

    private static void assertRefused(CliRun r, String... fragments) {
        assertEquals(2, r.code(), r.out() + r.err());
        assertEquals("", r.out(), "nothing on stdout");
        assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
        for (String f : fragments) assertTrue(r.err().contains(f), r.err());
    }

    @Test
    void exportChecksBothTargetsBeforeReplacingEither() throws IOException {
        Path db = tmp.resolve("runs.db");
        RunStore.open(db).close();
        Path out = Files.writeString(tmp.resolve("p.jsonl"), "earlier export\n");
        assertRefused(CliRun.of("export", "--db", db.toString(), "--out", out.toString(), "--answers", tmp.resolve("no/a.jsonl").toString()),
                "--answers", "does not exist");
        assertEquals("earlier export\n", Files.readString(out));
    }

    @Test
    void mergeRefusesAHardLinkedTargetAndABadSourceCacheBeforeWriting() throws IOException {
        Path a = tmp.resolve("a/runs.db"), b = tmp.resolve("b/runs.db");
        Files.createDirectories(a.getParent());
        Files.createDirectories(b.getParent());
        RunStore.open(a).close();
        RunStore.open(b).close();
        Path link = Files.createLink(tmp.resolve("link.db"), a);
        byte[] before = Files.readAllBytes(a);
        assertRefused(CliRun.of("merge", a.toString(), b.toString(), "--into", link.toString()), "is also a source");
        assertArrayEquals(before, Files.readAllBytes(a));
        Files.writeString(b.resolveSibling(EvalSession.JUDGE_CACHE_FILE), "not a database at all, just text");
        Path into = tmp.resolve("m/merged.db");
        Files.createDirectories(into.getParent());
        assertRefused(CliRun.of("merge", a.toString(), b.toString(), "--into", into.toString()),
                b.resolveSibling(EvalSession.JUDGE_CACHE_FILE).toString(), "not a judge cache");
        assertFalse(Files.exists(into), "nothing merged when a cache cannot be");
    }

    @Test
    void studyChecksQuestionsThreadsAndJudgeBeforeAnyWork() {
        Path out = tmp.resolve("study");
        String judge = "onnx:../engine/study/src/test/resources/fixtures/tiny-trait-classifier";
        assertRefused(CliRun.of("study", "--model", CliRun.TINY.toString(), "--traits", "optimism", "--judge", judge,
                "--questions", "0", "--out", out.toString()), "--questions 0");
        assertRefused(CliRun.of("study", "--model", CliRun.TINY.toString(), "--traits", "optimism", "--judge", judge,
                "--threads", "0", "--out", out.toString()), "--threads");
        assertRefused(CliRun.of("study", "--model", CliRun.TINY.toString(), "--traits", "optimism", "--judge", "onnx:" + tmp.resolve("none"),
                "--out", out.toString()), "--judge", "no such directory");
        assertFalse(Files.exists(out.resolve("vectors")), "no extraction ran");
    }

    @Test
    void reportImportOfADirectoryIsBadInput() {
        assertRefused(CliRun.of("report", "--import", tmp.toString()), tmp.toString(), "cannot be read");
    }

    @Test
    void nestedCommandsPrintTheVersion() {
        CliRun r = CliRun.of("vector", "info", "-V");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("steer "), r.out());
    }
}
