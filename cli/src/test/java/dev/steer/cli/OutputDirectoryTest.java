package dev.steer.cli;

import dev.steer.engine.BadInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** All or nothing: whatever step of a run fails, the output directory is as it was before the run. */
class OutputDirectoryTest {
    @TempDir
    Path tmp;

    private static final List<String> NAMES = List.of("a.bin", "b.bin", "c.bin");

    private Path withOldFiles() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("out"));
        Files.writeString(dir.resolve("a.bin"), "old a");
        Files.writeString(dir.resolve("c.bin"), "old c");
        Files.writeString(dir.resolve("other.txt"), "not ours");
        return dir;
    }

    @Test
    void successReplacesAndAddsAndLeavesNothingElse() throws Exception {
        Path dir = withOldFiles();
        try (OutputDirectory out = OutputDirectory.prepare(dir, "--out", NAMES)) {
            out.writeAll(NAMES, (file, i) -> write(file, "new " + i));
        }
        Map<String, String> expected = new TreeMap<>(Map.of("a.bin", "new 0", "b.bin", "new 1", "c.bin", "new 2", "other.txt", "not ours"));
        assertEquals(expected, contents(dir));
    }

    /** The third write fails: the first two staged files are dropped, the old a and c untouched. */
    @Test
    void aFailedWriteLeavesTheOldFiles() throws Exception {
        Path dir = withOldFiles();
        Map<String, String> before = contents(dir);
        try (OutputDirectory out = OutputDirectory.prepare(dir, "--out", NAMES)) {
            BadInputException e = assertThrows(BadInputException.class, () -> out.writeAll(NAMES, (file, i) -> {
                if (i == 2) throw new UncheckedIOException(new IOException("No space left on device"));
                write(file, "new " + i);
            }));
            assertTrue(e.getMessage().contains("c.bin") && e.getMessage().contains("No space left on device"), e.getMessage());
        }
        assertEquals(before, contents(dir));
    }

    /**
     * Everything written, then putting the files in place fails half way (a directory appeared on c's name while the
     * run worked): a's replacement and b's new file are undone, the old a is back with its bytes.
     */
    @Test
    void aFailureWhilePuttingFilesInPlaceIsUndone() throws Exception {
        Path dir = withOldFiles();
        Files.delete(dir.resolve("c.bin"));
        Map<String, String> before = contents(dir);
        try (OutputDirectory out = OutputDirectory.prepare(dir, "--out", NAMES)) {
            BadInputException e = assertThrows(BadInputException.class, () -> out.writeAll(NAMES, (file, i) -> {
                write(file, "new " + i);
                if (i == 2) {
                    try {
                        Files.createDirectory(dir.resolve("c.bin"));
                    } catch (IOException x) {
                        throw new UncheckedIOException(x);
                    }
                }
            }));
            assertTrue(e.getMessage().contains("c.bin is a directory"), e.getMessage());
        }
        before.put("c.bin/", "dir");
        assertEquals(before, contents(dir));
    }

    @Test
    void directoriesItCreatedGoWhenTheRunFails() throws Exception {
        Path dir = tmp.resolve("new/deeper");
        try (OutputDirectory out = OutputDirectory.prepare(dir, "--out", NAMES)) {
            assertTrue(Files.isDirectory(dir));
        }
        assertFalse(Files.exists(tmp.resolve("new")));
        try (OutputDirectory out = OutputDirectory.prepare(dir, "--out", NAMES)) {
            out.writeAll(NAMES, (file, i) -> write(file, "x"));
        }
        assertEquals(3, contents(dir).size(), "kept after a run that wrote");
    }

    @Test
    void aTakenNameFailsBeforeTheRun() throws Exception {
        Path dir = withOldFiles();
        Files.createDirectory(dir.resolve("b.bin"));
        BadInputException e = assertThrows(BadInputException.class, () -> OutputDirectory.prepare(dir, "--out", NAMES));
        assertTrue(e.getMessage().startsWith("--out " + dir + ": b.bin is a directory"), e.getMessage());
    }

    private static void write(Path file, String text) {
        try {
            Files.writeString(file, text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every entry of {@code dir} with its text ("dir" for a directory, suffixed "/"): temporaries would show. */
    private static Map<String, String> contents(Path dir) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (var s = Files.list(dir)) {
            for (Path p : s.toList()) {
                if (Files.isDirectory(p)) out.put(p.getFileName() + "/", "dir");
                else out.put(p.getFileName().toString(), Files.readString(p));
            }
        }
        return out;
    }
}
