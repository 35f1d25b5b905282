package dev.steer.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.steer.engine.steering.SteeringVector;
import dev.steer.models.vectors.VectorFile;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code steer extract} end to end on the tiny fixture: files, metadata, summary, and every bad input. */
class ExtractCommandTest {
    static JsonObject meanDiff;
    @TempDir
    static Path shared;
    static Path positive, negative;
    @TempDir
    Path tmp;

    @BeforeAll
    static void setUp() throws Exception {
        meanDiff = JsonParser.parseString(Files.readString(CliRun.REFERENCE)).getAsJsonObject().getAsJsonObject("mean_diff");
        // One set as a JSON array, the other one prompt per line: both formats are read.
        positive = Files.writeString(shared.resolve("positive.json"), meanDiff.getAsJsonArray("positive").toString());
        List<String> lines = new ArrayList<>();
        for (var e : meanDiff.getAsJsonArray("negative")) lines.add(e.getAsString());
        negative = Files.writeString(shared.resolve("negative.txt"), String.join("\n", lines) + "\n");
    }

    static CliRun extract(Path out, String... extra) {
        List<String> args = new ArrayList<>(List.of("extract", "--model", CliRun.TINY.toString(), "--positive", positive.toString(),
                "--negative", negative.toString(), "--out", out.toString()));
        args.addAll(Arrays.asList(extra));
        return CliRun.of(args.toArray(String[]::new));
    }

    static List<String> listing(Path dir) throws Exception {
        if (!Files.exists(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void writesOneFilePerLayerAndMethodWithMetadataAndTheFixtureValues() throws Exception {
        Path out = tmp.resolve("vectors/new");   // created, parents included
        CliRun r = extract(out, "--layers", "all", "--method", "mean_diff,probe", "--position", "mean", "--format", "json", "--batch-size", "3");
        assertEquals(0, r.code(), r.err());
        List<String> expected = new ArrayList<>();
        for (String m : new String[] {"mean_diff", "probe"}) for (int l = 0; l < 4; l++) expected.add(m + "_layer" + l + ".safetensors");
        assertEquals(expected.stream().sorted().toList(), listing(out));

        JsonObject o = r.json();
        assertEquals("custom", o.get("trait").getAsString());
        assertEquals("mean", o.get("position").getAsString());
        assertEquals(4, o.get("n_pos").getAsInt());
        assertEquals(4, o.get("n_neg").getAsInt());
        JsonArray rows = o.getAsJsonArray("vectors");
        assertEquals(8, rows.size());
        assertTrue(o.getAsJsonObject("ratio_spread").has("mean_diff") && o.getAsJsonObject("ratio_spread").has("probe"));
        for (int i = 0; i < 8; i++) {
            JsonObject row = rows.get(i).getAsJsonObject();
            int layer = row.get("layer").getAsInt();
            String method = row.get("method").getAsString();
            assertEquals(i / 2, layer, "layer order, methods within a layer");
            assertEquals("blocks." + layer + ".hook_resid_post", row.get("hook").getAsString());
            SteeringVector v = VectorFile.read(Path.of(row.get("file").getAsString()), null);
            assertEquals(out.resolve(method + "_layer" + layer + ".safetensors").toString(), v.source());
            var meta = v.provenance().metadata();
            assertEquals(Integer.toString(layer), meta.get("layer"));
            assertEquals(method, meta.get("method"));
            assertEquals("custom", meta.get("trait"));
            assertEquals("mean", meta.get("position"));
            assertEquals("4", meta.get("n_pos"));
            assertEquals("4", meta.get("n_neg"));
            assertEquals(CliRun.TINY.toString(), meta.get("model"));
            assertEquals(v.norm(), Double.parseDouble(meta.get("vector_norm")), 1e-5);
            assertEquals(row.get("vector_norm").getAsDouble(), v.norm(), 1e-5);
            assertEquals(row.get("activation_norm").getAsDouble(), Double.parseDouble(meta.get("activation_norm")), 1e-12);
            assertEquals(row.get("vector_norm").getAsDouble() / row.get("activation_norm").getAsDouble(), row.get("ratio").getAsDouble(), 1e-12);
            double acc = Double.parseDouble(meta.get("heldout_accuracy"));
            assertTrue(acc >= 0 && acc <= 1, "heldout_accuracy " + acc);
            if (method.equals("mean_diff")) {
                JsonArray want = meanDiff.getAsJsonArray("prompt_mean").get(layer).getAsJsonArray();
                for (int j = 0; j < 64; j++) assertEquals(want.get(j).getAsDouble(), v.values()[j], 1e-3, "layer " + layer + " [" + j + "]");
            } else {
                assertEquals(1.0, v.norm(), 1e-5, "probe vectors are unit");
            }
        }
    }

    @Test
    void textSummaryHasOneRowPerVectorAndTheSpread() throws Exception {
        CliRun r = extract(tmp.resolve("t"), "--layers", "1-2", "--method", "probe,mean_diff");
        assertEquals(0, r.code(), r.err());
        String[] lines = r.out().strip().split("\n");
        assertTrue(lines[1].contains("||v||/||h||") && lines[1].contains("cohen_d"), lines[1]);
        assertEquals(2 + 4 + 2, lines.length, r.out());
        assertTrue(lines[2].startsWith("1") && lines[2].contains("probe"), lines[2]);
        assertTrue(lines[6].startsWith("probe: ||v||/||h|| varies"), lines[6]);
        assertEquals(List.of("mean_diff_layer1.safetensors", "mean_diff_layer2.safetensors", "probe_layer1.safetensors", "probe_layer2.safetensors"),
                listing(tmp.resolve("t")));
    }

    @Test
    void bundledTraitGivesItsPairs() {
        Path out = tmp.resolve("trait");
        CliRun r = CliRun.of("extract", "--model", CliRun.TINY.toString(), "--trait", "confidence", "--layers", "1",
                "--method", "mean_diff", "--out", out.toString(), "--format", "json");
        assertEquals(0, r.code(), r.err());
        JsonObject o = r.json();
        assertEquals("confidence", o.get("trait").getAsString());
        assertEquals(41, o.get("n_pos").getAsInt());
        assertEquals(41, o.get("n_neg").getAsInt());
        assertEquals("confidence", VectorFile.read(out.resolve("mean_diff_layer1.safetensors"), null).provenance().metadata().get("trait"));
    }

    @Test
    void emptyPositiveSet() throws Exception {
        Path empty = Files.writeString(tmp.resolve("empty.json"), "[]");
        Path out = tmp.resolve("o");
        BadInputTest.assertBad(CliRun.of("extract", "--model", CliRun.TINY.toString(), "--positive", empty.toString(),
                "--negative", negative.toString(), "--out", out.toString()), "empty.json", "no prompts");
        assertFalse(Files.exists(out));
    }

    @Test
    void oneSidedSet() {
        Path out = tmp.resolve("o");
        BadInputTest.assertBad(CliRun.of("extract", "--model", CliRun.TINY.toString(), "--positive", positive.toString(),
                "--out", out.toString()), "--negative");
        assertFalse(Files.exists(out));
    }

    @Test
    void layerOutOfRange() {
        Path out = tmp.resolve("o");
        BadInputTest.assertBad(extract(out, "--layers", "2-4"), "--layers", "layer 4", "0-3");
        assertFalse(Files.exists(out), "nothing created before the inputs are known good");
    }

    @Test
    void badMethodAndPosition() {
        BadInputTest.assertBad(extract(tmp.resolve("o"), "--method", "pca"), "--method", "pca");
        BadInputTest.assertBad(extract(tmp.resolve("o"), "--position", "first"), "--position", "first");
    }

    @Test
    void outputThatIsAFile() throws Exception {
        Path file = Files.writeString(tmp.resolve("taken"), "x");
        BadInputTest.assertBad(extract(file), "--out", "taken", "not a directory");
        BadInputTest.assertBad(extract(file.resolve("sub")), "--out", "sub", "cannot create");
        assertEquals(List.of("taken"), listing(tmp));
    }

    @Test
    void failedWriteLeavesNoFileOfTheRun() throws Exception {
        Path out = Files.createDirectories(tmp.resolve("o"));
        // A directory squatting on the second file's name makes that write fail after the first succeeded.
        Files.createDirectories(out.resolve("mean_diff_layer1.safetensors"));
        Files.writeString(out.resolve("mean_diff_layer1.safetensors/keep"), "x");
        BadInputTest.assertBad(extract(out, "--layers", "0-2", "--method", "mean_diff"), "--out", "mean_diff_layer1.safetensors");
        assertEquals(List.of("mean_diff_layer1.safetensors"), listing(out), "layer 0's file removed, no temporary left");
    }

    /**
     * Every path under {@code dir} (relative, "/" for a directory) with its bytes and modification time: what a
     * failed run must leave exactly as it found.
     */
    static Map<String, String> snapshot(Path dir) throws Exception {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.toList()) {
                String rel = dir.relativize(p).toString();
                if (Files.isDirectory(p)) out.put(rel + "/", "dir");
                else out.put(rel, HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p)))
                        + " " + Files.getLastModifiedTime(p).toMillis());
            }
        }
        return out;
    }

    /**
     * Issue 15: a rerun that fails (layer 1's file name is taken by a directory) must leave --out as the earlier run
     * left it, byte for byte: layer 0's and layer 2's old vectors, which this run would have replaced with other
     * values (it pools differently), stay; the squatting directory and its file stay; no temporary is left.
     */
    @Test
    void failedRerunLeavesTheDirectoryByteIdentical() throws Exception {
        Path out = tmp.resolve("o");
        assertEquals(0, extract(out, "--layers", "0,2", "--method", "mean_diff,probe", "--pooling", "last").code());
        Files.createDirectories(out.resolve("probe_layer1.safetensors"));
        Files.writeString(out.resolve("probe_layer1.safetensors/keep"), "x");
        Map<String, String> before = snapshot(out);
        assertEquals(7, before.size(), "root, 5 vectors, the squatter and its file: " + before);
        BadInputTest.assertBad(extract(out, "--layers", "0-2", "--method", "mean_diff,probe", "--pooling", "mean"),
                "--out", "probe_layer1.safetensors", "directory");
        assertEquals(before, snapshot(out));
    }
}
