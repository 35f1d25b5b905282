package dev.steer.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.steer.cli.serve.VectorRegistry;
import dev.steer.engine.model.ModelDims;
import dev.steer.engine.steering.SteeringVector;
import dev.steer.models.LoadedModel;
import dev.steer.models.vectors.VectorContents;
import dev.steer.models.vectors.VectorFile;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static dev.steer.cli.BadInputTest.assertBad;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Vectors from other tools on the command line: GGUF control vectors ({@code L:COEF:f.gguf}, {@code all:COEF:f.gguf}),
 * per-spec keys ({@code FILE#KEY}), the hidden-size check and the model-hint warning, {@code steer vector info|convert},
 * {@code extract --vector-format gguf}, and the server's and sweeps' vector directories, on the tiny fixture (H = 64,
 * layers 0-3).
 */
class VectorInteropTest {
    static final int H = 64;

    @TempDir
    static Path tmp;
    static Path gguf;
    static final TreeMap<Integer, float[]> LAYERS = new TreeMap<>();

    static float[] vec(int layer, int h) {
        float[] v = new float[h];
        for (int i = 0; i < h; i++) v[i] = (float) Math.sin(layer * 3.7 + i * 0.61) * 0.8f;
        return v;
    }

    @BeforeAll
    static void setUp() {
        for (int l = 1; l <= 3; l++) LAYERS.put(l, vec(l, H));
        gguf = tmp.resolve("control.gguf");
        VectorFile.writeGguf(gguf, LAYERS, "gemma2", Map.of("controlvector.method", "mean_diff"));
    }

    static CliRun generate(String... steer) {
        List<String> args = new ArrayList<>(List.of("generate", "--model", CliRun.TINY.toString(), "--format", "json",
                "--prompt", "The river runs past the old mill", "--max-new-tokens", "6", "--no-stop"));
        for (String s : steer) args.addAll(List.of("--steer", s));
        return CliRun.of(args.toArray(String[]::new));
    }

    /** What ran, not how it was asked for: {@code settings} names the files, so two spellings differ only there. */
    static JsonObject ok(CliRun r) {
        assertEquals(0, r.code(), r.err());
        JsonObject o = r.json();
        o.remove("settings");
        return o;
    }

    @Test
    void allLayersEqualsTheSameSpecsOneByOneAndPerLayerFiles() throws IOException {
        JsonObject all = ok(generate("all:6:" + gguf));
        JsonObject byLayer = ok(generate("1:6:" + gguf, "2:6:" + gguf, "3:6:" + gguf));
        List<String> json = new ArrayList<>();
        for (int l = 1; l <= 3; l++) {
            Path f = tmp.resolve("v" + l + ".json");
            VectorFile.writeJson(f, LAYERS.get(l), Map.of());
            json.add(l + ":6:" + f);
        }
        JsonObject separate = ok(generate(json.toArray(String[]::new)));
        assertEquals(byLayer, all, "all:COEF:FILE is the file's layers given one by one (tokens and telemetry)");
        assertEquals(separate, all, "direction.N steers layer N");
        JsonArray tel = all.getAsJsonArray("results").get(0).getAsJsonObject().getAsJsonArray("telemetry");
        assertEquals(3, tel.size());
        for (int k = 0; k < 3; k++) {
            assertEquals(k + 1, tel.get(k).getAsJsonObject().get("layer").getAsInt());
            assertEquals(norm(LAYERS.get(k + 1)), tel.get(k).getAsJsonObject().get("vector_norm").getAsDouble(), 1e-4);
        }
        JsonObject plain = ok(generate());
        assertNotEquals(plain.getAsJsonArray("results").get(0).getAsJsonObject().get("tokens"),
                all.getAsJsonArray("results").get(0).getAsJsonObject().get("tokens"), "the steering changes the tokens");
    }

    @Test
    void perSpecKeysPickRowsOfAStack() throws IOException {
        float[] a = vec(7, H), b = vec(8, H);
        Path npy = tmp.resolve("stack.npy");
        Files.write(npy, npy("<f4", new long[] {2, H}, concat(a, b)));
        Path fa = tmp.resolve("a.json"), fb = tmp.resolve("b.json");
        VectorFile.writeJson(fa, a, Map.of());
        VectorFile.writeJson(fb, b, Map.of());
        assertEquals(ok(generate("1:5:" + fa, "2:-3:" + fb)), ok(generate("1:5:" + npy + "#0", "2:-3:" + npy + "#-1")));
        assertBad(generate("1:5:" + npy), "holds 2 vectors", "#KEY");
        assertBad(generate("1:5:" + npy + "#2"), "index 2 is out of range");
        assertBad(generate("all:5:" + npy + "#0"), "'all' steers every layer");
        assertBad(generate("all:5:" + fa), "LAYER 'all' needs a file with one vector per layer");
        // A '#' in an existing file's name is part of the name; a key after it still picks.
        Path hashed = Files.createDirectories(tmp.resolve("run#3")).resolve("v#a.json");
        Files.copy(fa, hashed);
        assertEquals(ok(generate("1:5:" + fa)), ok(generate("1:5:" + hashed)));
        Path hashedStack = Files.copy(npy, tmp.resolve("run#3").resolve("s.npy"));
        assertEquals(ok(generate("2:-3:" + fb)), ok(generate("2:-3:" + hashedStack + "#1")));
        assertBad(generate("1:5:" + tmp.resolve("run#3").resolve("none.json")), "does not exist");
    }

    @Test
    void wrongHiddenSizeMissingLayerTruncatedAndUnpicklingAreExit2() throws IOException {
        Path wide = tmp.resolve("wide.gguf");
        VectorFile.writeGguf(wide, new TreeMap<>(Map.of(1, vec(1, 96), 2, vec(2, 96))), "llama", Map.of());
        assertBad(generate("1:2:" + wide), "wide.gguf#direction.1", "96 elements", "hidden size is 64");
        assertBad(generate("all:2:" + wide), "96 elements", "hidden size is 64");
        assertBad(generate("0:2:" + gguf), "no vector for layer 0", "its layers: 1-3");
        byte[] full = Files.readAllBytes(gguf);
        Path cut = Files.write(tmp.resolve("cut.gguf"), Arrays.copyOf(full, full.length - 100));
        assertBad(generate("1:2:" + cut), "cut.gguf", "truncated");
        Path marker = tmp.resolve("pwned");
        Path evil = tmp.resolve("evil.pt");
        byte[] pickle = ("\u0080\u0002cos\nsystem\nX" + le(("touch " + marker).length()) + "touch " + marker + "\u0085R.")
                .getBytes(StandardCharsets.ISO_8859_1);
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(evil))) {
            z.putNextEntry(new ZipEntry("evil/data.pkl"));
            z.write(pickle);
            z.closeEntry();
        }
        assertBad(generate("1:2:" + evil), "refusing to unpickle os.system");
        assertFalse(Files.exists(marker));
        assertBad(CliRun.of("vector", "info", evil.toString()), "refusing to unpickle os.system");
    }

    @Test
    void aFileNamingAnotherModelIsWarnedAboutNotRefused() {
        Path llama = tmp.resolve("llama.gguf");
        VectorFile.writeGguf(llama, LAYERS, "llama", Map.of());
        CliRun r = generate("2:3:" + llama);
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("warning") && r.err().contains("'llama'") && r.err().contains("controlvector.model_hint"), r.err());
        assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
        assertFalse(generate("2:3:" + gguf).err().contains("warning"), "model_hint gemma2: no warning");
    }

    @Test
    void vectorInfoListsKeysLayersNormsAndMetadata() throws IOException {
        CliRun r = CliRun.of("vector", "info", gguf.toString(), "--format", "json");
        JsonObject o = ok(r);
        assertEquals(gguf.toString(), o.get("file").getAsString());
        assertEquals("gguf", o.get("format").getAsString());
        assertEquals("float32", o.get("dtype").getAsString());
        assertEquals(H, o.get("hidden_size").getAsInt());
        JsonArray vs = o.getAsJsonArray("vectors");
        assertEquals(3, vs.size());
        for (int k = 0; k < 3; k++) {
            JsonObject v = vs.get(k).getAsJsonObject();
            assertEquals("direction." + (k + 1), v.get("key").getAsString());
            assertEquals(k + 1, v.get("layer").getAsInt());
            assertEquals(norm(LAYERS.get(k + 1)), v.get("norm").getAsDouble(), 1e-9);
        }
        assertEquals("mean_diff", o.getAsJsonObject("metadata").get("controlvector.method").getAsString());
        assertEquals("3", o.getAsJsonObject("metadata").get("controlvector.layer_count").getAsString());
        Path bare = Files.writeString(tmp.resolve("bare.json"), "[1, 2, 2]");
        JsonObject single = ok(CliRun.of("vector", "info", bare.toString(), "--format", "json"));
        assertEquals(3.0, single.getAsJsonArray("vectors").get(0).getAsJsonObject().get("norm").getAsDouble(), 1e-12);
        assertTrue(single.getAsJsonArray("vectors").get(0).getAsJsonObject().get("key").isJsonNull(), "a bare vector: key null");
        assertTrue(single.getAsJsonArray("vectors").get(0).getAsJsonObject().get("layer").isJsonNull());
        CliRun text = CliRun.of("vector", "info", gguf.toString());
        assertEquals(0, text.code(), text.err());
        assertTrue(text.out().contains("layers 1-3") && text.out().contains("direction.2"), text.out());
    }

    @Test
    void convertBetweenFormatsKeepsValuesLayersAndMetadata() throws IOException {
        Path one = tmp.resolve("layer2.safetensors");
        assertEquals(0, CliRun.of("vector", "convert", gguf.toString(), one.toString(), "--layer", "2").code());
        SteeringVector s = VectorFile.read(one, null);
        assertArrayEquals(LAYERS.get(2), s.values());
        assertEquals(2, s.provenance().layer());
        assertEquals("mean_diff", s.provenance().metadata().get("controlvector.method"));
        // safetensors (layer in its metadata) back to a GGUF: direction.2.
        Path back = tmp.resolve("back.gguf");
        CliRun r = CliRun.of("vector", "convert", one.toString(), back.toString());
        assertEquals(0, r.code(), r.err());
        VectorContents c = VectorFile.open(back);
        assertEquals(List.of(2), c.layers());
        assertArrayEquals(LAYERS.get(2), c.atLayer(2).values());
        // A stack row needs the layer it is for.
        Path npy = Files.write(tmp.resolve("rows.npy"), npy("<f8", new long[] {2, H}, concat(vec(1, H), vec(2, H))));
        assertBad(CliRun.of("vector", "convert", npy.toString(), tmp.resolve("x.gguf").toString(), "--key", "1"), "--layer");
        Path g = tmp.resolve("row.gguf");
        assertEquals(0, CliRun.of("vector", "convert", npy.toString(), g.toString(), "--key", "1", "--layer", "3").code());
        assertArrayEquals(vec(2, H), VectorFile.open(g).atLayer(3).values());
        Path j = tmp.resolve("all.json");
        // convert's way to pick is its own --key / --layer, not generate's FILE#KEY
        CliRun several = CliRun.of("vector", "convert", gguf.toString(), j.toString());
        assertBad(several, "holds 3 vectors", "pick one with --key KEY or --layer L");
        assertFalse(several.err().contains("FILE#KEY"), several.err());
        CliRun stack = CliRun.of("vector", "convert", npy.toString(), j.toString());
        assertBad(stack, "pick one with --key KEY");
        assertFalse(stack.err().contains("FILE#KEY") || stack.err().contains("--layer"), stack.err());
        assertFalse(Files.exists(j));
        assertBad(CliRun.of("vector", "convert", gguf.toString(), tmp.resolve("x.txt").toString()), "unknown output type");
        assertBad(CliRun.of("vector", "convert", npy.toString(), tmp.resolve("z.gguf").toString(), "--key", "0", "--layer", "0"), "no slot for layer 0");
        assertFalse(Files.exists(tmp.resolve("z.gguf")));
    }

    @Test
    void extractWritesOneGgufPerMethodEqualToTheSafetensors() throws IOException {
        Path st = tmp.resolve("ext-st"), gg = tmp.resolve("ext-gguf");
        String[] base = {"extract", "--model", CliRun.TINY.toString(), "--trait", "optimism", "--layers", "all", "--method", "mean_diff,probe"};
        CliRun a = CliRun.of(concat(base, "--out", st.toString()));
        assertEquals(0, a.code(), a.err());
        CliRun b = CliRun.of(concat(base, "--out", gg.toString(), "--vector-format", "gguf"));
        assertEquals(0, b.code(), b.err());
        assertTrue(b.err().contains("layer 0 has no slot"), b.err());
        try (var files = Files.list(gg)) {
            assertEquals(List.of("mean_diff.gguf", "probe.gguf"), files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        for (String m : List.of("mean_diff", "probe")) {
            VectorContents c = VectorFile.open(gg.resolve(m + ".gguf"));
            assertEquals(List.of(1, 2, 3), c.layers());
            assertEquals("gemma2", c.metadata().get("controlvector.model_hint"));
            assertEquals("3", c.metadata().get("controlvector.layer_count"));
            for (int l = 1; l <= 3; l++) {
                SteeringVector ref = VectorFile.read(st.resolve(m + "_layer" + l + ".safetensors"), null);
                assertArrayEquals(ref.values(), c.atLayer(l).values());
                assertEquals(m, c.atLayer(l).provenance().method());
                assertEquals("optimism", c.atLayer(l).provenance().trait());
                for (String k : List.of("vector_norm", "activation_norm", "ratio_at_coef_1"))
                    assertEquals(Double.parseDouble(ref.provenance().metadata().get(k)),
                            Double.parseDouble(c.metadata().get("controlvector." + k + "." + l)), 0, k + " at layer " + l);
            }
        }
        assertBad(CliRun.of(concat(base, "--out", tmp.resolve("bad").toString(), "--vector-format", "npz")), "--vector-format", "npz");
        assertBad(CliRun.of("extract", "--model", CliRun.TINY.toString(), "--trait", "optimism", "--layers", "0",
                "--out", tmp.resolve("zero").toString(), "--vector-format", "gguf"), "no slot for layer 0");
    }

    @Test
    void serveRegistryAndSweepDirectoriesTakeGguf() throws IOException {
        ModelDims dims = LoadedModel.inspect(CliRun.TINY).dims();
        StringWriter err = new StringWriter();
        Path rows = Files.write(tmp.resolve("registry-rows.npy"), npy("<f4", new long[] {2, H}, concat(vec(5, H), vec(6, H))));
        VectorRegistry r = VectorRegistry.load(List.of("cv=" + gguf, "row=" + rows + "#1"), List.of(), dims, new PrintWriter(err, true));
        assertArrayEquals(vec(6, H), r.get("row").vector().values());
        assertEquals("", err.toString(), "no warning for a gemma2 hint");
        assertEquals(List.of("cv_layer1", "cv_layer2", "cv_layer3", "row"), r.all().stream().map(VectorRegistry.Entry::name).toList());
        assertEquals(2, r.get("cv_layer2").layer());
        assertArrayEquals(LAYERS.get(2), r.get("cv_layer2").vector().values());
        Path dir = Files.createDirectories(tmp.resolve("dir"));
        Files.copy(gguf, dir.resolve("mean_diff.gguf"));
        VectorRegistry d = VectorRegistry.load(List.of(), List.of(dir), dims);
        assertEquals(List.of("mean_diff_layer1", "mean_diff_layer2", "mean_diff_layer3"), d.all().stream().map(VectorRegistry.Entry::name).toList());
        Map<Integer, SteeringVector> sweep = EvalSession.readVectors(dir, "mean_diff", List.of(3, 1));
        assertArrayEquals(LAYERS.get(3), sweep.get(3).values());
        assertArrayEquals(LAYERS.get(1), sweep.get(1).values());
        dev.steer.engine.BadInputException e = org.junit.jupiter.api.Assertions.assertThrows(dev.steer.engine.BadInputException.class,
                () -> EvalSession.readVectors(dir, "mean_diff", List.of(0)));
        assertTrue(e.getMessage().contains("its layers: 1-3"), e.getMessage());
    }

    static double norm(float[] v) {
        double s = 0;
        for (float x : v) s += (double) x * x;
        return Math.sqrt(s);
    }

    static String le(int n) {
        return new String(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(n).array(), StandardCharsets.ISO_8859_1);
    }

    static double[] concat(float[] a, float[] b) {
        double[] out = new double[a.length + b.length];
        for (int i = 0; i < a.length; i++) out[i] = a[i];
        for (int i = 0; i < b.length; i++) out[a.length + i] = b[i];
        return out;
    }

    static String[] concat(String[] a, String... b) {
        String[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** numpy.save's layout, format 1.0, C order; "<f4" or "<f8". */
    static byte[] npy(String descr, long[] shape, double[] values) {
        StringBuilder sh = new StringBuilder("(");
        for (long d : shape) sh.append(d).append(", ");
        String header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + sh.append(")") + ", }";
        header = header + " ".repeat((64 - (10 + header.length() + 1) % 64) % 64) + "\n";
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0x93);
        out.writeBytes("NUMPY".getBytes(StandardCharsets.US_ASCII));
        out.write(1);
        out.write(0);
        out.writeBytes(ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort((short) header.length()).array());
        out.writeBytes(header.getBytes(StandardCharsets.US_ASCII));
        boolean f8 = descr.endsWith("8");
        ByteBuffer b = ByteBuffer.allocate(values.length * (f8 ? 8 : 4)).order(ByteOrder.LITTLE_ENDIAN);
        for (double v : values) {
            if (f8) b.putDouble(v);
            else b.putFloat((float) v);
        }
        out.writeBytes(b.array());
        return out.toByteArray();
    }
}
