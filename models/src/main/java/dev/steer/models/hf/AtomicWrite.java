package dev.steer.models.hf;

import dev.steer.engine.BadInputException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;

/**
 * Replaces a file all at once: the content is written to a temporary file beside it, forced to disk and renamed over
 * it, so a crash or an error never leaves a partial file behind (a reader sees the old file or the new one).
 *
 * <p>Not {@code Files.createTempFile}, whose mode 0600 would make every written vector or checkpoint unreadable to
 * the rest of a group: the temporary file is created with {@code CREATE_NEW} under a random name, so it gets the mode
 * the user's umask asks for, as any other written file.
 */
public final class AtomicWrite {
    private static final SecureRandom RANDOM = new SecureRandom();

    /** What goes into the file. */
    @FunctionalInterface
    public interface Body {
        void writeTo(FileChannel out) throws IOException;
    }

    private AtomicWrite() {
    }

    public static void bytes(Path file, byte[] bytes) {
        write(file, out -> fully(out, ByteBuffer.wrap(bytes)));
    }

    public static void write(Path file, Body body) {
        Path dir = file.toAbsolutePath().getParent();
        if (!Files.isDirectory(dir)) throw new BadInputException(file + ": directory " + dir + " does not exist");
        Path tmp = null;
        try {
            tmp = dir.resolve("." + file.getFileName() + "." + Long.toUnsignedString(RANDOM.nextLong(), 36) + ".tmp");
            try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                body.writeTo(out);
                out.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            tmp = null;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e, e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // The original failure is the one worth reporting.
                }
            }
        }
    }

    /** Writes all of {@code bytes}: a channel may take fewer than offered. */
    public static void fully(FileChannel out, ByteBuffer bytes) throws IOException {
        while (bytes.hasRemaining()) out.write(bytes);
    }
}
