package dev.steer.models.hf;

import dev.steer.engine.BadInputException;
import dev.steer.engine.tensor.Bf16;
import dev.steer.engine.tensor.HostTensor;
import dev.steer.models.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsFileTest {
    private static final Path FIXTURE = Fixtures.tinyGemma2().resolve("model.safetensors");
    private static final String EMBED = "model.embed_tokens.weight";

    @TempDir
    Path tmp;

    @Test
    void readsTheFixturesHeader() {
        try (SafetensorsFile f = SafetensorsFile.open(FIXTURE)) {
            assertEquals(4 * 11 + 2, f.names().size());
            assertEquals(Map.of("format", "pt"), f.metadata());
            HostTensor embed = f.tensor(EMBED);
            assertEquals("BF16", embed.dtype());
            assertArrayEquals(new long[] {384, 64}, embed.shape());
            assertEquals(384 * 64, embed.elementCount());
            assertArrayEquals(new long[] {48, 64}, f.tensor("model.layers.2.self_attn.k_proj.weight").shape());
            assertArrayEquals(new long[] {64, 160}, f.tensor("model.layers.0.mlp.down_proj.weight").shape());
        }
    }

    /** Expected values decoded from the file's bytes with Python's struct module. */
    @Test
    void readsKnownBf16Values() {
        try (SafetensorsFile f = SafetensorsFile.open(FIXTURE)) {
            float[] embed = f.tensor(EMBED).toFloatArray();
            assertArrayEquals(new float[] {-0.267578125f, -0.107421875f, 0.1123046875f, 0.01904296875f,
                    -0.11865234375f, 0.0712890625f}, Arrays.copyOf(embed, 6));
            assertEquals(-0.059326171875f, embed[384 * 64 - 1]);
            float[] norm = f.tensor("model.norm.weight").toFloatArray();
            assertEquals(0.34765625f, norm[0]);
            assertEquals(0.033203125f, norm[1]);
            assertEquals(0.412109375f, norm[63]);
            FloatBuffer last = FloatBuffer.allocate(1);
            f.tensor("model.layers.3.mlp.up_proj.weight").readFloats(160 * 64 - 1, last);
            assertEquals(-0.427734375f, last.get(0));
            assertEquals(0, last.remaining());
        }
    }

    @Test
    void readsBf16BitsRaw() {
        try (SafetensorsFile f = SafetensorsFile.open(FIXTURE)) {
            ShortBuffer bits = ShortBuffer.allocate(3);
            f.tensor(EMBED).readBf16Bits(0, bits);
            assertArrayEquals(new short[] {(short) 0xBE89, (short) 0xBDDC, (short) 0x3DE6}, bits.array());
        }
    }

    /** Reads split into 37-byte pieces (elements cut apart between reads) must give exactly what one read gives. */
    @Test
    void tensorsStraddlingWindowsReadTheSame() {
        try (SafetensorsFile whole = SafetensorsFile.open(FIXTURE); SafetensorsFile windowed = SafetensorsFile.open(FIXTURE, 37)) {
            for (String name : whole.names()) {
                assertArrayEquals(whole.tensor(name).toFloatArray(), windowed.tensor(name).toFloatArray(), name);
            }
            float[] all = whole.tensor(EMBED).toFloatArray();
            FloatBuffer direct = ByteBuffer.allocateDirect(4 * 1000).order(ByteOrder.nativeOrder()).asFloatBuffer();
            windowed.tensor(EMBED).readFloats(12345, direct);
            float[] got = new float[1000];
            direct.flip().get(got);
            assertArrayEquals(Arrays.copyOfRange(all, 12345, 13345), got);
            ShortBuffer bits = ShortBuffer.allocate(500);
            windowed.tensor(EMBED).readBf16Bits(777, bits);
            for (int i = 0; i < 500; i++) assertEquals(all[777 + i], Bf16.toFloat(bits.get(i)));
        }
    }

    @Test
    void readsF32F16F64AndI64() {
        Path file = tmp.resolve("mixed.safetensors");
        ByteBuffer data = ByteBuffer.allocate(8 + 6 + 16 + 16).order(ByteOrder.LITTLE_ENDIAN);
        data.putFloat(1.5f).putFloat(-3.25f);               // F32 [2]       bytes 0..8
        data.putShort((short) 0x3C00).putShort((short) 0xC100).putShort((short) 0x0001); // F16 [3] 8..14
        data.putDouble(0.1).putDouble(-1e10);               // F64 [2, 1]    14..30
        data.putLong(7).putLong(-(1L << 40));               // I64 [2]       30..46
        Fixtures.rawSafetensors(file, "{\"f32\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"f16\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[8,14]},"
                + "\"f64\":{\"dtype\":\"F64\",\"shape\":[2,1],\"data_offsets\":[14,30]},"
                + "\"i64\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[30,46]}}", data.array());
        try (SafetensorsFile f = SafetensorsFile.open(file, 16)) {
            assertTrue(f.metadata().isEmpty());
            assertArrayEquals(new float[] {1.5f, -3.25f}, f.tensor("f32").toFloatArray());
            assertArrayEquals(new float[] {1f, -2.5f, 0x1p-24f}, f.tensor("f16").toFloatArray());
            assertArrayEquals(new float[] {0.1f, -1e10f}, f.tensor("f64").toFloatArray());
            assertArrayEquals(new float[] {7f, -(float) (1L << 40)}, f.tensor("i64").toFloatArray());
            ShortBuffer bits = ShortBuffer.allocate(2);
            f.tensor("f32").readBf16Bits(0, bits);
            assertArrayEquals(new short[] {Bf16.fromFloat(1.5f), Bf16.fromFloat(-3.25f)}, bits.array());
            bits.clear();
            f.tensor("f16").readBf16Bits(1, bits);
            assertArrayEquals(new short[] {(short) 0xC020, Bf16.fromFloat(0x1p-24f)}, bits.array());
        }
    }

    @Test
    void rejectsReadsOutsideTheTensorAndAfterClose() {
        SafetensorsFile f = SafetensorsFile.open(FIXTURE);
        HostTensor norm = f.tensor("model.norm.weight");
        assertThrows(IndexOutOfBoundsException.class, () -> norm.readFloats(60, FloatBuffer.allocate(5)));
        assertThrows(IndexOutOfBoundsException.class, () -> norm.readFloats(-1, FloatBuffer.allocate(1)));
        f.close();
        assertThrows(IllegalStateException.class, norm::toFloatArray);
    }

    @Test
    void missingTensorIsNamed() {
        try (SafetensorsFile f = SafetensorsFile.open(FIXTURE)) {
            BadInputException e = assertThrows(BadInputException.class, () -> f.tensor("lm_head.weight"));
            assertTrue(e.getMessage().contains("lm_head.weight") && e.getMessage().contains(FIXTURE.toString()), e.getMessage());
        }
    }

    @Test
    void missingFile() {
        Path file = tmp.resolve("nope.safetensors");
        assertBad(file, "does not exist");
    }

    @Test
    void shorterThanTheLengthField() throws IOException {
        Path file = Files.write(tmp.resolve("tiny.safetensors"), new byte[] {1, 2, 3, 4, 5});
        assertBad(file, "truncated or not a safetensors file");
    }

    @Test
    void headerLengthBeyondTheFile() {
        Path file = Fixtures.rawSafetensors(tmp.resolve("h.safetensors"), "{}", new byte[0]);
        byte[] bytes = readAll(file);
        bytes[0] = 100; // claims a 100-byte header in a 10-byte file
        write(file, bytes);
        assertBad(file, "truncated or not a safetensors file");
    }

    @Test
    void truncatedCopyOfTheFixture() {
        byte[] bytes = readAll(FIXTURE);
        Path cut = write(tmp.resolve("cut.safetensors"), Arrays.copyOf(bytes, bytes.length - 100));
        assertBad(cut, "model.norm.weight", "outside the data area");
        Path headerCut = write(tmp.resolve("cut2.safetensors"), Arrays.copyOf(bytes, 1000));
        assertBad(headerCut, "truncated or not a safetensors file");
    }

    @Test
    void corruptHeader() {
        Path notJson = Fixtures.rawSafetensors(tmp.resolve("j.safetensors"), "{\"a\": {\"dtype\": F32", new byte[0]);
        assertBad(notJson, "not valid JSON");
        Path array = Fixtures.rawSafetensors(tmp.resolve("arr.safetensors"), "[1, 2]", new byte[0]);
        assertBad(array, "not valid JSON");
        Path binary = tmp.resolve("bin.safetensors");
        write(binary, new byte[] {4, 0, 0, 0, 0, 0, 0, 0, (byte) 0xFF, (byte) 0xFE, 0, 1});
        assertBad(binary, "not UTF-8");
    }

    @Test
    void unknownDtype() {
        Path file = Fixtures.rawSafetensors(tmp.resolve("d.safetensors"),
                "{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", new byte[2]);
        assertBad(file, "tensor w", "F8_E4M3");
    }

    @Test
    void offsetsOutsideTheDataArea() {
        Path file = Fixtures.rawSafetensors(tmp.resolve("o.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", new byte[8]);
        assertBad(file, "tensor w", "[0, 16]", "outside the data area");
        Path reversed = Fixtures.rawSafetensors(tmp.resolve("r.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", new byte[8]);
        assertBad(reversed, "tensor w", "end before they begin");
    }

    @Test
    void shapeDisagreesWithByteLength() {
        Path file = Fixtures.rawSafetensors(tmp.resolve("s.safetensors"),
                "{\"w\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[8]);
        assertBad(file, "tensor w", "[3]", "8 bytes");
        Path negative = Fixtures.rawSafetensors(tmp.resolve("n.safetensors"),
                "{\"w\":{\"dtype\":\"BF16\",\"shape\":[-4],\"data_offsets\":[0,8]}}", new byte[8]);
        assertBad(negative, "tensor w", "non-negative integers");
    }

    private static void assertBad(Path file, String... fragments) {
        BadInputException e = assertThrows(BadInputException.class, () -> SafetensorsFile.open(file).close());
        assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
        for (String s : fragments) assertTrue(e.getMessage().contains(s), e.getMessage());
    }

    private static byte[] readAll(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static Path write(Path file, byte[] bytes) {
        try {
            return Files.write(file, bytes);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
