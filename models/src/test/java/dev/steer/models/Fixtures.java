package dev.steer.models;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Test data: the tiny Gemma-2 checkpoint in test resources, and hand-built safetensors files. */
public final class Fixtures {
    private Fixtures() {}

    public static Path tinyGemma2() {
        try {
            return Path.of(Fixtures.class.getResource("/fixtures/tiny-gemma2").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes a safetensors file byte by byte: 8-byte LE header length, the header text as given, then {@code data}. */
    public static Path rawSafetensors(Path file, String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        try {
            return Files.write(file, b.array());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Little-endian bytes of 16-bit values. */
    public static byte[] shorts(int... values) {
        ByteBuffer b = ByteBuffer.allocate(2 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : values) b.putShort((short) v);
        return b.array();
    }
}
