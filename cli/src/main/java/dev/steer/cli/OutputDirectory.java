package dev.steer.cli;

import dev.steer.engine.BadInputException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ObjIntConsumer;

/**
 * A directory a command writes result files into ({@code --out}). Checked before the expensive work: created if
 * missing, proven writable by creating and deleting a probe file (permission bits alone say nothing when running
 * as root or on a read-only mount), and every file name the run will write checked to be free or a plain file.
 *
 * <p>A run changes the directory all or nothing: a failed run leaves it exactly as it was, byte for byte, files of
 * earlier runs that this run would have replaced included. Every file is first written beside its target under a
 * staging name; only when all are written are they put in place, each old file moved aside first (a rename, so its
 * bytes are untouched), and if any step fails the new files are removed and the old ones moved back. Directories
 * this run created are removed again when it fails ({@link #close} without a completed {@link #writeAll}).
 */
final class OutputDirectory implements AutoCloseable {
    private static final String STAGED = ".steer-new";
    private static final String ASIDE = ".steer-old";

    private final Path dir;
    private final String flag;
    /** Directories {@link #prepare} created, deepest first: removed again if the run fails. */
    private final List<Path> created;
    private boolean written;

    private OutputDirectory(Path dir, String flag, List<Path> created) {
        this.dir = dir;
        this.flag = flag;
        this.created = created;
    }

    /** Prepares {@code dir} for writing {@code names}; all of it is checked here, before the run's work. */
    static OutputDirectory prepare(Path dir, String flag, List<String> names) {
        if (Files.exists(dir) && !Files.isDirectory(dir)) throw new BadInputException(flag + " " + dir + ": exists and is not a directory");
        List<Path> created = new ArrayList<>();
        for (Path p = dir.toAbsolutePath(); p != null && !Files.exists(p, LinkOption.NOFOLLOW_LINKS); p = p.getParent()) created.add(p);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new BadInputException(flag + " " + dir + ": cannot create the directory (" + reason(e) + ")", e);
        }
        OutputDirectory out = new OutputDirectory(dir, flag, created);
        try {
            try {
                Files.delete(Files.createTempFile(dir, ".steer-probe", ".tmp"));
            } catch (IOException e) {
                throw new BadInputException(flag + " " + dir + ": directory is not writable (" + reason(e) + ")", e);
            }
            for (String name : names) out.checkTarget(name);
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
        return out;
    }

    Path resolve(String name) {
        return dir.resolve(name);
    }

    /**
     * Calls {@code write(file, i)} for the i-th name, with a staging file beside the target, then puts every file in
     * place. On any failure the directory is left as it was and the file that failed is reported.
     */
    void writeAll(List<String> names, ObjIntConsumer<Path> write) {
        for (String name : names) checkTarget(name);
        List<Path> staged = new ArrayList<>();
        String name = null;
        try {
            for (int i = 0; i < names.size(); i++) {
                name = names.get(i);
                Path file = sibling(name, STAGED);
                staged.add(file);
                write.accept(file, i);
            }
        } catch (RuntimeException e) {
            deleteQuietly(staged);
            if (e instanceof UncheckedIOException u) throw failure(name, reason(u.getCause()), e);
            if (e instanceof BadInputException) throw failure(name, e.getMessage(), e);
            throw e;
        }
        // Put in place: old file aside, new file in; undone in reverse order when a step fails.
        List<Path> placed = new ArrayList<>(), asideOf = new ArrayList<>();
        try {
            for (int i = 0; i < names.size(); i++) {
                name = names.get(i);
                checkTarget(name);
                Path target = dir.resolve(name), aside = null;
                if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                    aside = sibling(name, ASIDE);
                    Files.move(target, aside, StandardCopyOption.ATOMIC_MOVE);
                }
                asideOf.add(aside);
                Files.move(staged.get(i), target, StandardCopyOption.ATOMIC_MOVE);
                placed.add(target);
            }
        } catch (IOException | RuntimeException e) {
            for (int i = asideOf.size() - 1; i >= 0; i--) {
                try {
                    if (i < placed.size()) Files.deleteIfExists(placed.get(i));
                    if (asideOf.get(i) != null) Files.move(asideOf.get(i), dir.resolve(names.get(i)), StandardCopyOption.ATOMIC_MOVE);
                } catch (IOException ignored) {
                    // The first failure is the one worth reporting; the moved-aside file keeps its bytes under its .steer-old name.
                }
            }
            deleteQuietly(staged);
            throw failure(name, e instanceof IOException io ? reason(io) : e.getMessage(), e);
        }
        for (Path aside : asideOf) if (aside != null) deleteQuietly(List.of(aside));
        written = true;
    }

    /** Removes the directories {@link #prepare} created unless {@link #writeAll} completed. */
    @Override
    public void close() {
        if (written) return;
        for (Path p : created) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // Not empty (someone else wrote there meanwhile) or not ours to remove: leave it.
            }
        }
        created.clear();
    }

    /**
     * A name this run may write: absent, or a file (or a link to one, which is replaced by the new file as a rename
     * would); a directory or anything else squatting on it fails the run now, before its work.
     */
    private void checkTarget(String name) {
        Path target = dir.resolve(name);
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS) && !Files.isRegularFile(target)) {
            String what = Files.isDirectory(target) ? "a directory" : "not a regular file";
            throw new BadInputException(flag + " " + dir + ": " + name + " is " + what + ", so the run could not write it; "
                    + "move it away (nothing was written)");
        }
    }

    private Path sibling(String name, String suffix) {
        return dir.resolve("." + name + "." + ProcessHandle.current().pid() + suffix);
    }

    private BadInputException failure(String name, String why, Exception cause) {
        return new BadInputException(flag + " " + dir + ": cannot write " + name + " (" + why + "); the directory is as it was before the run", cause);
    }

    private static void deleteQuietly(List<Path> files) {
        for (Path p : files) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // The write failure is the one worth reporting.
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
