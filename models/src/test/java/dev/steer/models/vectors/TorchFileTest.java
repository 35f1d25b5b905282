package dev.steer.models.vectors;

import dev.steer.engine.BadInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** torch.save files built by hand ({@link TorchSaveTestWriter}): views, dtypes, stacks, dicts, numpy, refusals. */
class TorchFileTest {
    @TempDir
    Path tmp;

    /** 3x2x4 float64 values k + k/1000, so every element says where it sits in the storage. */
    static double[] storage(int n) {
        double[] d = new double[n];
        for (int k = 0; k < n; k++) d[k] = k + k / 1000.0 - 7.25;
        return d;
    }

    @Test
    void float64ViewAtAStorageOffsetReadsOnlyItsElements() throws IOException {
        // As refusal_direction's direction.pt: mean_diffs[2, 1] of a [3, 2, 4] storage, a [4] view at offset (2*2+1)*4.
        double[] all = storage(24);
        Path f = new TorchSaveTestWriter().tensor("DoubleStorage", "0", 24, 20, new long[] {4}, new long[] {1})
                .storage("0", TorchSaveTestWriter.doubles(all)).write(tmp.resolve("direction.pt"), "direction");
        VectorContents c = VectorFile.open(f);
        assertEquals("pt", c.format());
        assertEquals("float64", c.dtype());
        assertEquals(1, c.vectors().size());
        assertNull(c.vectors().get(0).key());
        float[] expected = new float[4];
        for (int i = 0; i < 4; i++) expected[i] = (float) all[20 + i];
        assertArrayEquals(expected, VectorFile.read(f, null).values());
        // A strided view (every other element, from offset 1): a column of a matrix.
        Path strided = new TorchSaveTestWriter().tensor("DoubleStorage", "0", 24, 1, new long[] {3}, new long[] {8})
                .storage("0", TorchSaveTestWriter.doubles(all)).write(tmp.resolve("col.pt"), "col");
        assertArrayEquals(new float[] {(float) all[1], (float) all[9], (float) all[17]}, VectorFile.read(strided, null).values());
    }

    @Test
    void bfloat16Tensor() throws IOException {
        float[] v = {1.5f, -0.375f, 2f, 40f, -1f, 0.0625f};
        Path f = new TorchSaveTestWriter().tensor("BFloat16Storage", "0", 6, 0, new long[] {6}, new long[] {1})
                .storage("0", TorchSaveTestWriter.bf16(v)).write(tmp.resolve("layer17.pt"), "layer17");
        VectorContents c = VectorFile.open(f);
        assertEquals("bfloat16", c.dtype());
        assertArrayEquals(v, c.select(null).values());
    }

    @Test
    void stackRowsByRawIndicesNegativeFromTheEnd() throws IOException {
        double[] all = storage(24);
        Path f = new TorchSaveTestWriter().tensor("DoubleStorage", "0", 24, 0, new long[] {3, 2, 4}, new long[] {8, 4, 1})
                .storage("0", TorchSaveTestWriter.doubles(all)).write(tmp.resolve("mean_diffs.pt"), "mean_diffs");
        VectorContents c = VectorFile.open(f);
        assertEquals(6, c.vectors().size());
        assertEquals(List.of("0,0", "0,1", "1,0", "1,1", "2,0", "2,1"), c.vectors().stream().map(VectorContents.Entry::key).toList());
        assertTrue(c.layers().isEmpty(), "a stack's row is never a layer");
        float[] row21 = {(float) all[20], (float) all[21], (float) all[22], (float) all[23]};
        assertArrayEquals(row21, c.select("2,1").values());
        assertArrayEquals(row21, c.select("-1,1").values());
        assertArrayEquals(row21, VectorFile.read(f, "-1,-1").values());
        assertEquals(f + "#2,1", c.select("-1,1").source());
        assertBad(() -> c.select(null), "holds 6 vectors");
        assertBad(() -> c.select("2"), "gives 1 index", "[3, 2]");
        assertBad(() -> c.select("3,0"), "index 3 is out of range", "size 3");
    }

    @Test
    void dictOfTensorsPickedByKeyAndNumpyArray() throws IOException {
        float[] a = {1f, 2f, 3f};
        double[] stack = storage(6);
        byte[] raw = TorchSaveTestWriter.floats(0.5f, -4f, 8f);
        TorchSaveTestWriter w = new TorchSaveTestWriter();
        w.op('}').mark();   // EMPTY_DICT, MARK ... SETITEMS
        w.str("mean").tensor("FloatStorage", "0", 3, 0, new long[] {3}, new long[] {1});
        w.str("per_layer").tensor("DoubleStorage", "1", 6, 0, new long[] {2, 3}, new long[] {3, 1});
        w.str("np").numpy("f4", new long[] {3}, raw);
        w.str("layer").integer(15);
        w.op('u');
        Path f = w.storage("0", TorchSaveTestWriter.floats(a)).storage("1", TorchSaveTestWriter.doubles(stack)).write(tmp.resolve("dict.pt"), "dict");
        VectorContents c = VectorFile.open(f);
        assertEquals(List.of("mean", "per_layer[0]", "per_layer[1]", "np"), c.vectors().stream().map(VectorContents.Entry::key).toList());
        assertArrayEquals(a, c.select("mean").values());
        assertArrayEquals(new float[] {(float) stack[3], (float) stack[4], (float) stack[5]}, c.select("per_layer[-1]").values());
        assertArrayEquals(new float[] {0.5f, -4f, 8f}, c.select("np").values());
        assertEquals("15", c.metadata().get("layer"), "scalar entries are metadata");
        assertBad(() -> c.select("std"), "no vector with key 'std'", "mean");
    }

    /**
     * A 0-d tensor (torch.tensor(8.0): a saved coefficient or norm) is a number, as a Python scalar is: metadata beside
     * the vectors, never a 1-value vector; a file holding only one is refused by name. Before, it was a vector keyed
     * "coef[]" (a stack of no rows) and a bare one a 1-value vector.
     */
    @Test
    void zeroDimensionalTensorsAreScalarsNotVectors() throws IOException {
        TorchSaveTestWriter w = new TorchSaveTestWriter();
        w.op('}').mark();
        w.str("vector").tensor("FloatStorage", "0", 3, 0, new long[] {3}, new long[] {1});
        w.str("coef").tensor("FloatStorage", "1", 2, 1, new long[] {}, new long[] {});   // a view: element 1 of 2
        w.str("norm").tensor("DoubleStorage", "2", 1, 0, new long[] {}, new long[] {});
        w.str("np").numpy("f4", new long[] {}, TorchSaveTestWriter.floats(0.1f));
        w.op('u');
        Path f = w.storage("0", TorchSaveTestWriter.floats(1, 2, 3)).storage("1", TorchSaveTestWriter.floats(99f, 8.5f))
                .storage("2", TorchSaveTestWriter.doubles(52.25)).write(tmp.resolve("with-coef.pt"), "with-coef");
        VectorContents c = VectorFile.open(f);
        assertEquals(List.of("vector"), c.vectors().stream().map(VectorContents.Entry::key).toList());
        assertEquals(java.util.Map.of("coef", "8.5", "norm", "52.25", "np", "0.1"), c.metadata());
        assertArrayEquals(new float[] {1, 2, 3}, VectorFile.read(f, null).values());
        assertBad(() -> c.select("coef"), "no vector with key 'coef'", "keys: vector");
        Path bare = new TorchSaveTestWriter().tensor("FloatStorage", "0", 1, 0, new long[] {}, new long[] {})
                .storage("0", TorchSaveTestWriter.floats(1.5f)).write(tmp.resolve("scalar.pt"), "scalar");
        assertBad(() -> VectorFile.open(bare), bare + ": holds a 0-d tensor (the scalar 1.5), not a vector");
    }

    @Test
    void aBarePickledNumpyArrayWithoutStorages() throws IOException {
        byte[] raw = TorchSaveTestWriter.floats(0.25f, 1e-3f, -9f, 7f);
        Path f = new TorchSaveTestWriter().numpy("f4", new long[] {4}, raw).write(tmp.resolve("james.pt"), "james");
        assertArrayEquals(new float[] {0.25f, 1e-3f, -9f, 7f}, VectorFile.read(f, null).values());
    }

    @Test
    void aGlobalOutsideTheAllowListIsRefusedAndNeverCalled() throws IOException {
        Path marker = tmp.resolve("pwned");
        Path f = new TorchSaveTestWriter().global("os", "system").mark().str("touch " + marker).tuple().op('R')
                .write(tmp.resolve("evil.pt"), "evil");
        assertBad(() -> VectorFile.open(f), "refusing to unpickle os.system", f.toString());
        assertFalse(Files.exists(marker));
        Path eval = new TorchSaveTestWriter().global("builtins", "eval").mark().str("1").tuple().op('R').write(tmp.resolve("eval.pt"), "eval");
        assertBad(() -> VectorFile.open(eval), "refusing to unpickle builtins.eval");
        // Pyrolite's own constructors (datetime, decimal...) are not reachable either: only the allow-list resolves.
        Path dt = new TorchSaveTestWriter().global("datetime", "date").mark().tuple().op('R').write(tmp.resolve("dt.pt"), "dt");
        assertBad(() -> VectorFile.open(dt), "refusing to unpickle datetime.date");
    }

    @Test
    void truncatedAndShortStoragesAreBadInput() throws IOException {
        Path ok = new TorchSaveTestWriter().tensor("FloatStorage", "0", 4, 0, new long[] {4}, new long[] {1})
                .storage("0", TorchSaveTestWriter.floats(1, 2, 3, 4)).write(tmp.resolve("ok.pt"), "ok");
        byte[] full = Files.readAllBytes(ok);
        for (int n = 0; n < full.length; n += 7) {
            Path f = Files.write(tmp.resolve("cut" + n + ".pt"), Arrays.copyOf(full, n));
            assertBad(() -> VectorFile.open(f), f.toString());
        }
        Path shortStorage = new TorchSaveTestWriter().tensor("FloatStorage", "0", 4, 0, new long[] {4}, new long[] {1})
                .storage("0", TorchSaveTestWriter.floats(1, 2, 3)).write(tmp.resolve("short.pt"), "short");
        assertBad(() -> VectorFile.open(shortStorage), "data/0", "truncated");
        Path past = new TorchSaveTestWriter().tensor("FloatStorage", "0", 4, 2, new long[] {4}, new long[] {1})
                .storage("0", TorchSaveTestWriter.floats(1, 2, 3, 4)).write(tmp.resolve("past.pt"), "past");
        assertBad(() -> VectorFile.open(past), "reach past its storage");
    }

    /** Found by a hostile run: these were an OutOfMemoryError and internal errors (exit 1) before. */
    @Test
    void aForgedShapeAndMalformedPicklesAreBadInputNotCrashes() throws IOException {
        // A [2^30] view over 4 floats: refused by the bounds check before anything is allocated.
        Path huge = new TorchSaveTestWriter().tensor("FloatStorage", "0", 4, 0, new long[] {1L << 30}, new long[] {1})
                .storage("0", TorchSaveTestWriter.floats(1, 2, 3, 4)).write(tmp.resolve("huge.pt"), "huge");
        assertBad(() -> VectorFile.open(huge), "reach past its storage");
        // 'I' with text where a number goes; a bare STOP; POP on an empty stack.
        for (String body : new String[] {"Igarbage\n.", ".", "0."}) {
            Path f = tmp.resolve("bad" + body.length() + ".pt");
            try (var os = Files.newOutputStream(f); var zip = new java.util.zip.ZipOutputStream(os)) {
                zip.putNextEntry(new java.util.zip.ZipEntry("bad/data.pkl"));
                zip.write(body.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
                zip.closeEntry();
            }
            assertBad(() -> VectorFile.open(f), f.toString(), "malformed pickle");
        }
    }

    private static void assertBad(org.junit.jupiter.api.function.Executable run, String... fragments) {
        BadInputException e = assertThrows(BadInputException.class, run);
        for (String s : fragments) assertTrue(e.getMessage().contains(s), e.getMessage());
    }
}
