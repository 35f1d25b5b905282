package dev.steer.engine.store;

import dev.steer.engine.BadInputException;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;

/**
 * Writes an output file so that a reader (or a crash) never sees half of it: the content goes to a temporary file
 * in the same directory, which is then renamed over the target in one step.
 */
public final class AtomicFile {
    /** Writes the content of one output file. */
    @FunctionalInterface
    public interface Body {
        void writeTo(OutputStream out) throws IOException;
    }

    private static final SecureRandom RANDOM = new SecureRandom();

    private AtomicFile() {
    }

    /** @throws BadInputException when the target's directory does not exist or the target is a directory */
    public static void write(Path target, Body body) {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        if (Files.isDirectory(abs)) throw new BadInputException(target + ": is a directory, expected an output file");
        if (dir == null || !Files.isDirectory(dir))
            throw new BadInputException(target + ": output directory " + dir + " does not exist");
        Path tmp = null;
        try {
            // Not Files.createTempFile: it makes the file 0600, and outputs (reports, figures) are for others to read.
            // CREATE_NEW under a random name gives the mode the user's umask asks for, as any other written file.
            tmp = dir.resolve("." + abs.getFileName() + "." + Long.toUnsignedString(RANDOM.nextLong(), 36) + ".tmp");
            try (OutputStream out = Files.newOutputStream(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                body.writeTo(out);
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
        } catch (IOException e) {
            throw new UncheckedIOException(target + ": write failed: " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the write error already propagates; a stray temp file is the lesser problem
                }
            }
        }
    }

    public static void write(Path target, byte[] content) {
        write(target, out -> out.write(content));
    }
}
