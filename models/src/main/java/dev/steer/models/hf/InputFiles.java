package dev.steer.models.hf;

import dev.steer.engine.BadInputException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * The failure for an input file (config, weights, tokenizer, template) that could not be read: a file the user
 * may not read, or one that vanished or is not a file, is their input's fault (exit 2, naming the file); any other
 * I/O error (a failing disk) stays an internal one.
 */
public final class InputFiles {
    private InputFiles() {}

    public static RuntimeException unreadable(Path file, IOException e) {
        if (e instanceof AccessDeniedException) {
            return new BadInputException(file + ": permission denied (this user may not read it)", e);
        }
        if (e instanceof NoSuchFileException) return new BadInputException(file + ": does not exist", e);
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return new BadInputException(file + ": cannot read (" + f.getReason() + ")", e);
        }
        return new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
}
