package dev.steer.cli;

import dev.steer.engine.BadInputException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ObjIntConsumer;

/**
 * A directory a command writes result files into ({@code --out}). Checked before the expensive work: created if
 * missing, and proven writable by creating and deleting a probe file (permission bits alone say nothing when
 * running as root or on a read-only mount). Files are written all or nothing: each write is atomic (temporary
 * file + rename), and when one fails the files this run already wrote are removed.
 */
final class OutputDirectory {
    private final Path dir;
    private final String flag;

    private OutputDirectory(Path dir, String flag) {
        this.dir = dir;
        this.flag = flag;
    }

    static OutputDirectory prepare(Path dir, String flag) {
        if (Files.exists(dir) && !Files.isDirectory(dir)) throw new BadInputException(flag + " " + dir + ": exists and is not a directory");
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new BadInputException(flag + " " + dir + ": cannot create the directory (" + reason(e) + ")", e);
        }
        try {
            Files.delete(Files.createTempFile(dir, ".steer-probe", ".tmp"));
        } catch (IOException e) {
            throw new BadInputException(flag + " " + dir + ": directory is not writable (" + reason(e) + ")", e);
        }
        return new OutputDirectory(dir, flag);
    }

    Path resolve(String name) {
        return dir.resolve(name);
    }

    /**
     * Calls {@code write(file, i)} for the i-th file name; on a failure removes the files already written and
     * reports the file that failed.
     */
    void writeAll(List<String> names, ObjIntConsumer<Path> write) {
        List<Path> done = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            Path file = dir.resolve(name);
            try {
                write.accept(file, i);
                done.add(file);
            } catch (UncheckedIOException | BadInputException e) {
                for (Path p : done) {
                    try {
                        Files.deleteIfExists(p);
                    } catch (IOException ignored) {
                        // The write failure is the one worth reporting.
                    }
                }
                String why = e instanceof UncheckedIOException u ? reason(u.getCause()) : e.getMessage();
                throw new BadInputException(flag + " " + dir + ": cannot write " + name + " (" + why + "); no file of this run was kept", e);
            }
        }
    }

    /** What went wrong, in words, without the exception's class name. */
    private static String reason(IOException e) {
        if (e instanceof AccessDeniedException) return "permission denied";
        if (e instanceof FileSystemException f && f.getReason() != null) return f.getReason();
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    @Override
    public String toString() {
        return dir.toString();
    }
}
