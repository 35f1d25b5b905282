package dev.steer.cli;

import dev.steer.engine.store.ResponseRecord;
import dev.steer.engine.store.RunRecord;
import dev.steer.engine.store.RunStore;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * sweep and search run whole, and the same run as two shards into two databases merged with {@code steer merge}:
 * the merged database holds the same config keys with the same answers and scores, the baseline once, and the
 * judge caches unioned. Tiny Gemma-2, ONNX trait judge, perplexity coherence.
 */
class ShardMergeTest {
    @TempDir
    static Path tmp;
    static Path vectors;

    @BeforeAll
    static void extract() {
        vectors = tmp.resolve("vectors");
        CliRun ex = CliRun.of("extract", "--model", CliRun.TINY.toString(), "--trait", "optimism", "--layers", "1-2",
                "--method", "mean_diff", "--out", vectors.toString(), "--format", "json");
        assertEquals(0, ex.code(), ex.err());
    }

    static String[] run(String command, Path db, String... more) {
        List<String> a = new ArrayList<>(List.of(command, "--model", CliRun.TINY.toString(), "--trait", "optimism",
                "--vectors", vectors.toString(), "--layers", "1,2", "--judge", KilledSweepTest.ONNX, "--coherence-judge", "perplexity",
                "--questions", "2", "--max-new-tokens", "4", "--db", db.toString(), "--format", "json"));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    static void both(Path db, String... shard) {
        List<String> sweep = new ArrayList<>(List.of("--coefs", "2,4,-4"));
        sweep.addAll(List.of(shard));
        CliRun s = CliRun.of(run("sweep", db, sweep.toArray(String[]::new)));
        assertEquals(0, s.code(), s.err());
        List<String> search = new ArrayList<>(List.of("--steps", "2"));
        search.addAll(List.of(shard));
        CliRun r = CliRun.of(run("search", db, search.toArray(String[]::new)));
        assertEquals(0, r.code(), r.err());
    }

    /** Every run by config key: kind, step, n, means, ratio, and each answer with its scores. */
    static Map<String, String> content(Path db) {
        Map<String, String> out = new TreeMap<>();
        try (RunStore s = RunStore.open(db)) {
            for (RunRecord r : s.runs()) {
                StringBuilder sb = new StringBuilder(r.kind() + " " + r.searchStep() + " n=" + r.n() + " trait=" + r.traitMean()
                        + " coh=" + r.coherenceMean() + " ratio=" + r.ratio() + " base=" + r.baselineTraitMean() + " v=" + r.vectorNorm());
                for (ResponseRecord x : s.responses(r.id()))
                    sb.append("\n  ").append(x.idx()).append(' ').append(x.question()).append(" -> ").append(x.answer())
                            .append(" [").append(x.traitScore()).append(", ").append(x.coherenceScore()).append(']');
                assertTrue(out.put(r.configKey(), sb.toString()) == null, "one run per config key");
            }
        }
        return out;
    }

    static int cacheEntries(Path cache) throws Exception {
        try (var c = DriverManager.getConnection("jdbc:sqlite:" + cache); ResultSet rs = c.createStatement().executeQuery("SELECT count(*) FROM judge_cache")) {
            return rs.getInt(1);
        }
    }

    @Test
    void twoShardsMergedEqualOneWholeRun() throws Exception {
        Path whole = Files.createDirectories(tmp.resolve("whole")).resolve("runs.db");
        both(whole);
        Path a = Files.createDirectories(tmp.resolve("a")).resolve("runs.db");
        Path b = Files.createDirectories(tmp.resolve("b")).resolve("runs.db");
        both(a, "--shard", "0/2");
        both(b, "--shard", "1/2");
        Map<String, String> ca = content(a), cb = content(b);
        // Sweep: 6 configs, 3 per shard; search: one layer per shard, 2 steps; each shard its own baseline.
        assertEquals(1 + 3 + 2, ca.size());
        assertEquals(1 + 3 + 2, cb.size());

        Path merged = Files.createDirectories(tmp.resolve("m")).resolve("runs.db");
        CliRun m = CliRun.of("merge", a.toString(), b.toString(), "--into", merged.toString(), "--format", "json");
        assertEquals(0, m.code(), m.err());
        assertEquals(1 + 6 + 4, m.json().get("runs_added").getAsInt());
        assertEquals(1, m.json().get("runs_already_present").getAsInt(), "the second shard's baseline is the first's");
        assertEquals(2 * (1 + 6 + 4), m.json().get("responses_added").getAsInt());

        Map<String, String> want = content(whole), got = content(merged);
        assertEquals(want.keySet(), got.keySet(), "the same config keys");
        for (String k : want.keySet()) assertEquals(want.get(k), got.get(k), "run " + k);

        Path cache = merged.resolveSibling(EvalSession.JUDGE_CACHE_FILE);
        int union = cacheEntries(cache);
        assertTrue(union >= Math.max(cacheEntries(a.resolveSibling(EvalSession.JUDGE_CACHE_FILE)),
                cacheEntries(b.resolveSibling(EvalSession.JUDGE_CACHE_FILE))));
        assertEquals(cacheEntries(whole.resolveSibling(EvalSession.JUDGE_CACHE_FILE)), union, "the caches' union is the whole run's cache");
        assertEquals(m.json().get("judge_cache_entries_added").getAsInt(), union);

        // Merging again adds nothing.
        CliRun again = CliRun.of("merge", a.toString(), b.toString(), "--into", merged.toString(), "--format", "json");
        assertEquals(0, again.code(), again.err());
        assertEquals(0, again.json().get("runs_added").getAsInt());
        assertEquals(12, again.json().get("runs_already_present").getAsInt());
        assertEquals(got, content(merged));

        // The merged database reports like the whole one (up to the order runs are summed in: the last bit).
        var r1 = CliRun.of("report", "--db", whole.toString(), "--format", "json").json().getAsJsonArray("buckets");
        var r2 = CliRun.of("report", "--db", merged.toString(), "--format", "json").json().getAsJsonArray("buckets");
        assertEquals(r1.size(), r2.size());
        for (int i = 0; i < r1.size(); i++) {
            var x = r1.get(i).getAsJsonObject();
            var y = r2.get(i).getAsJsonObject();
            assertEquals(x.get("count"), y.get("count"));
            if (!x.get("avg_coherence").isJsonNull())
                assertEquals(x.get("avg_coherence").getAsDouble(), y.get("avg_coherence").getAsDouble(), 1e-9);
        }
    }

    @Test
    void badMergesAreRefusedAndWriteNothing() throws Exception {
        Path target = tmp.resolve("bad-target.db");
        CliRun missing = CliRun.of("merge", tmp.resolve("nope.db").toString(), "--into", target.toString());
        assertEquals(2, missing.code());
        assertTrue(missing.err().contains("nope.db: no such runs database"), missing.err());
        Path junk = Files.writeString(tmp.resolve("junk.db"), "not sqlite at all, just text that is long enough to be a header");
        CliRun notDb = CliRun.of("merge", junk.toString(), "--into", target.toString());
        assertEquals(2, notDb.code());
        assertTrue(notDb.err().contains("junk.db"), notDb.err());
        assertTrue(!Files.exists(target), "nothing written when a source is bad");
        Path real = Files.createDirectories(tmp.resolve("self")).resolve("runs.db");
        RunStore.open(real).close();
        CliRun self = CliRun.of("merge", real.toString(), "--into", real.toString());
        assertEquals(2, self.code());
        assertTrue(self.err().contains("is also a source"), self.err());
        CliRun shard = CliRun.of(run("sweep", tmp.resolve("x.db"), "--coefs", "1", "--shard", "1"));
        assertEquals(2, shard.code());
        assertTrue(shard.err().contains("--shard 1: expected I/N"), shard.err());
    }
}
