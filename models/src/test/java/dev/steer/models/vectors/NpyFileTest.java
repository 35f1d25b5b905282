package dev.steer.models.vectors;

import dev.steer.engine.BadInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** numpy .npy files written here as numpy.save lays them out (format 1.0, header padded to 64 bytes). */
class NpyFileTest {
    @TempDir
    Path tmp;

    static byte[] npy(String descr, boolean fortran, String shape, byte[] data) {
        String header = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + shape + ", }";
        int total = 10 + header.length() + 1;
        header = header + " ".repeat((64 - total % 64) % 64) + "\n";
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0x93);
        out.writeBytes("NUMPY".getBytes(StandardCharsets.US_ASCII));
        out.write(1);
        out.write(0);
        out.writeBytes(ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort((short) header.length()).array());
        out.writeBytes(header.getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(data);
        return out.toByteArray();
    }

    /** A header claiming 2^30 elements over 16 bytes was an OutOfMemoryError (exit 1) before: now bad input. */
    @Test
    void aHeaderClaimingMoreThanTheDataIsBadInput() throws IOException {
        Path f = Files.write(tmp.resolve("huge.npy"), npy("<f4", false, "(1073741824,)", new byte[16]));
        BadInputException e = assertThrows(BadInputException.class, () -> VectorFile.open(f));
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
    }

    @Test
    void float16AsEasySteerShipsIt() throws IOException {
        float[] v = {1f, -2f, 0.5f, 0.25f, -0.125f, 3f};
        ByteBuffer b = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) b.putShort(GgufTestWriter.half(x));
        Path f = Files.write(tmp.resolve("task_vector_layer-10.npy"), npy("<f2", false, "(6,)", b.array()));
        VectorContents c = VectorFile.open(f);
        assertEquals("npy", c.format());
        assertEquals("float16", c.dtype());
        assertArrayEquals(v, VectorFile.read(f, null).values());
    }

    @Test
    void float64StackInCAndFortranOrder() throws IOException {
        double[] rowMajor = {1.5, -2.25, 3e-3, 4, 5, -6};   // [[1.5, -2.25, 3e-3], [4, 5, -6]]
        ByteBuffer c = ByteBuffer.allocate(48).order(ByteOrder.LITTLE_ENDIAN);
        for (double x : rowMajor) c.putDouble(x);
        Path f = Files.write(tmp.resolve("stack.npy"), npy("<f8", false, "(2, 3)", c.array()));
        VectorContents s = VectorFile.open(f);
        assertEquals("float64", s.dtype());
        assertArrayEquals(new float[] {4f, 5f, -6f}, s.select("1").values());
        assertArrayEquals(new float[] {1.5f, -2.25f, 3e-3f}, s.select("-2").values());
        ByteBuffer fo = ByteBuffer.allocate(48).order(ByteOrder.LITTLE_ENDIAN);
        for (double x : new double[] {1.5, 4, -2.25, 5, 3e-3, -6}) fo.putDouble(x);   // column-major of the same matrix
        Path g = Files.write(tmp.resolve("fortran.npy"), npy("<f8", true, "(2, 3)", fo.array()));
        assertArrayEquals(new float[] {4f, 5f, -6f}, VectorFile.read(g, "1").values());
        ByteBuffer be = ByteBuffer.allocate(8).order(ByteOrder.BIG_ENDIAN).putFloat(2.5f).putFloat(-1f);
        Path big = Files.write(tmp.resolve("big.npy"), npy(">f4", false, "(2,)", be.array()));
        assertArrayEquals(new float[] {2.5f, -1f}, VectorFile.read(big, null).values());
    }

    @Test
    void truncatedAndNonFloatFilesAreBadInput() throws IOException {
        byte[] full = npy("<f4", false, "(4,)", new byte[16]);
        for (int n = 0; n < full.length; n += 5) {
            Path f = Files.write(tmp.resolve("cut" + n + ".npy"), Arrays.copyOf(full, n));
            BadInputException e = assertThrows(BadInputException.class, () -> VectorFile.open(f), "cut at " + n);
            assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        }
        Path ints = Files.write(tmp.resolve("ints.npy"), npy("<i8", false, "(2,)", new byte[16]));
        BadInputException e = assertThrows(BadInputException.class, () -> VectorFile.open(ints));
        assertTrue(e.getMessage().contains("'<i8'"), e.getMessage());
    }
}
