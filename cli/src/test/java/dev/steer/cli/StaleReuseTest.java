package dev.steer.cli;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.steer.engine.judge.ScriptedChatServer;
import dev.steer.engine.store.RunStore;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A stored run is reused only when nothing that changes its answers or scores changed, and only when it is final: a
 * run stored unscored during a judge outage is judged again; another judge server, the chat template switched on,
 * another rubric, other weight values of the same layout, or another precision each make a new run. The judge is the
 * shared loopback fake ({@link ScriptedChatServer}); the model is the tiny fixture.
 */
class StaleReuseTest {
    @TempDir
    static Path tmp;
    static Path vectors;

    @BeforeAll
    static void extract() {
        vectors = tmp.resolve("vectors");
        CliRun ex = CliRun.of("extract", "--model", CliRun.TINY.toString(), "--trait", "optimism", "--layers", "1",
                "--method", "mean_diff", "--out", vectors.toString(), "--format", "json");
        assertEquals(0, ex.code(), ex.err());
    }

    static CliRun sweep(Path db, ScriptedChatServer judge, String... more) {
        return sweep(db, judge, CliRun.TINY, "optimism", more);
    }

    static CliRun sweep(Path db, ScriptedChatServer judge, Path model, String trait, String... more) {
        List<String> a = new ArrayList<>(List.of("sweep", "--model", model.toString(), "--trait", trait,
                "--vectors", vectors.toString(), "--layers", "1", "--method", "mean_diff", "--coefs", "2",
                "--judge", "openai:local", "--judge-base-url", judge.baseUrl(), "--coherence-judge", "perplexity",
                "--questions", "2", "--max-new-tokens", "4", "--db", db.toString(), "--format", "json"));
        a.addAll(Arrays.asList(more));
        CliRun r = CliRun.of(a.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        return r;
    }

    /** The one steered run of a sweep's JSON. */
    static JsonObject run(CliRun r) {
        return r.json().getAsJsonArray("runs").get(0).getAsJsonObject();
    }

    static boolean allReused(CliRun r) {
        if (!r.json().getAsJsonObject("baseline").get("reused").getAsBoolean()) return false;
        for (JsonElement e : r.json().getAsJsonArray("runs")) if (!e.getAsJsonObject().get("reused").getAsBoolean()) return false;
        return true;
    }

    static int runCount(Path db) {
        try (RunStore s = RunStore.open(db)) {
            return s.runs().size();
        }
    }

    @Test
    void runsStoredUnscoredDuringAnOutageAreJudgedAgainAndStderrSaysWhy() throws Exception {
        // The outage: every reply is words, no number, so no answer gets a trait score.
        try (ScriptedChatServer judge = new ScriptedChatServer(ScriptedChatServer.completion(Map.of("Sorry", 0.6, "I", 0.4)))) {
            Path db = tmp.resolve("outage.db");
            CliRun down = sweep(db, judge);
            JsonElement traitMean = run(down).get("trait_mean");
            assertTrue(traitMean == null || traitMean.isJsonNull(), down.out());
            assertTrue(down.err().contains("answers got no trait score from judge openai:local: the judge put less than"), down.err());
            assertTrue(down.err().contains("a rerun asks the judge again"), down.err());
            assertFalse(down.err().contains("coherence score"), "perplexity scored every answer: " + down.err());

            judge.fallback = ScriptedChatServer.score(70);
            int before = judge.requests.get();
            CliRun up = sweep(db, judge);
            assertEquals(4, judge.requests.get() - before, "baseline and run, 2 answers each, asked again");
            assertEquals(70.0, run(up).get("trait_mean").getAsDouble(), 1e-9);
            assertEquals(70.0, up.json().getAsJsonObject("baseline").get("trait_mean").getAsDouble(), 1e-9);
            assertFalse(up.err().contains("no trait score"), up.err());
            assertEquals(2, runCount(db), "the unscored runs were replaced, not duplicated");

            CliRun third = sweep(db, judge);
            assertTrue(allReused(third), "final runs are reused: " + third.out());
            assertEquals(before + 4, judge.requests.get());
        }
    }

    @Test
    void anotherServerForTheSameModelNameIsAskedNotReused() throws Exception {
        try (ScriptedChatServer a = new ScriptedChatServer(ScriptedChatServer.score(30));
             ScriptedChatServer b = new ScriptedChatServer(ScriptedChatServer.score(80))) {
            Path db = tmp.resolve("servers.db");
            assertEquals(30.0, run(sweep(db, a)).get("trait_mean").getAsDouble(), 1e-9);
            CliRun other = sweep(db, b);
            assertEquals(4, b.requests.get(), "the second server judged every answer");
            assertEquals(80.0, run(other).get("trait_mean").getAsDouble(), 1e-9);
            assertFalse(allReused(other));
        }
    }

    @Test
    void theChatTemplateTheRubricThePrecisionAndTheWeightsAreInTheKey() throws Exception {
        try (ScriptedChatServer judge = new ScriptedChatServer(ScriptedChatServer.score(55))) {
            Path db = tmp.resolve("key.db");
            sweep(db, judge);
            assertTrue(allReused(sweep(db, judge)), "same inputs: reused");

            assertFalse(run(sweep(db, judge, "--chat")).get("reused").getAsBoolean(), "--chat changes the prompts");
            assertFalse(run(sweep(db, judge, "--precision", "f32")).get("reused").getAsBoolean(), "precision is in the key");

            // The same trait with another rubric.
            String bundled;
            try (var in = StaleReuseTest.class.getResourceAsStream("/dev/steer/traits/optimism.json")) {
                bundled = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            Path trait = tmp.resolve("optimism.json");
            Files.writeString(trait, bundled);
            CliRun sameText = sweep(db, judge, CliRun.TINY, trait.toString());
            assertTrue(allReused(sameText), "a copy of the bundled trait is the same trait: " + sameText.out());
            Files.writeString(trait, bundled.replace("{answer}", "{answer}\\nRate strictly."));
            assertFalse(run(sweep(db, judge, CliRun.TINY, trait.toString())).get("reused").getAsBoolean(), "a new rubric is a new run");

            // The same checkpoint layout with one weight value changed (headers and sizes equal).
            Path model = copyModel(tmp.resolve("model-copy"));
            assertTrue(allReused(sweep(db, judge, model, "optimism")), "an identical copy is the same model");
            flipLastWeightByte(model.resolve("model.safetensors"));
            assertFalse(run(sweep(db, judge, model, "optimism")).get("reused").getAsBoolean(), "other weights are a new run");
        }
    }

    static Path copyModel(Path to) throws Exception {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(CliRun.TINY)) {
            for (Path f : files.toList()) Files.copy(f, to.resolve(f.getFileName()));
        }
        return to;
    }

    /** Changes the last byte of the file (the last tensor's last bf16 value, low byte): a tiny change in value. */
    static void flipLastWeightByte(Path file) throws Exception {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(b, ch.size() - 1);
            byte v = b.get(0);
            ch.write(ByteBuffer.wrap(new byte[] {(byte) (v ^ 1)}), ch.size() - 1);
        }
    }
}
