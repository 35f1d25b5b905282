package dev.steer.cli;

import dev.steer.engine.judge.ScriptedChatServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code report} and {@code export} only read the runs database, so they work on a file the user may not write (in a
 * directory they may not write either). Run as an unprivileged user in a child JVM: as root (CI) permissions do not
 * bind, so the child drops to uid/gid 65534 with {@code setpriv}; its class path is linked into a directory that user
 * can read (the Maven repository under /root is not readable to it).
 */
class ReadOnlyDatabaseTest {
    @TempDir
    Path tmp;

    @Test
    void reportAndExportReadADatabaseTheUserCannotWrite() throws Exception {
        Path vectors = tmp.resolve("vectors");
        CliRun ex = CliRun.of("extract", "--model", CliRun.TINY.toString(), "--trait", "optimism", "--layers", "1",
                "--method", "mean_diff", "--out", vectors.toString(), "--format", "json");
        assertEquals(0, ex.code(), ex.err());
        Path dbDir = Files.createDirectory(tmp.resolve("db"));
        Path db = dbDir.resolve("runs.db");
        try (ScriptedChatServer judge = new ScriptedChatServer(ScriptedChatServer.score(60))) {
            CliRun sweep = CliRun.of("sweep", "--model", CliRun.TINY.toString(), "--trait", "optimism", "--vectors",
                    vectors.toString(), "--layers", "1", "--method", "mean_diff", "--coefs", "1,2,4", "--judge", "openai:local",
                    "--judge-base-url", judge.baseUrl(), "--coherence-judge", "perplexity", "--questions", "2",
                    "--max-new-tokens", "4", "--db", db.toString());
            assertEquals(0, sweep.code(), sweep.err());
        }
        byte[] before = Files.readAllBytes(db);
        List<String> files = Arrays.stream(dbDir.toFile().list()).sorted().toList();
        assertTrue(files.contains("runs.db") && !files.contains("runs.db-wal"), files.toString());
        Files.setPosixFilePermissions(db, PosixFilePermissions.fromString("r--r--r--"));
        Files.setPosixFilePermissions(dbDir, PosixFilePermissions.fromString("r-xr-xr-x"));
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path out = Files.createDirectory(tmp.resolve("out"));
        Files.setPosixFilePermissions(out, PosixFilePermissions.fromString("rwxrwxrwx"));
        try {
            Child report = unprivileged("report", "--db", db.toString(), "--format", "json");
            assertEquals(0, report.code, report.output);
            assertTrue(report.output.contains("\"traits\"") || report.output.contains("optimism"), report.output);
            Path target = out.resolve("runs.jsonl");
            Child export = unprivileged("export", "--db", db.toString(), "--out", target.toString());
            assertEquals(0, export.code, export.output);
            assertEquals(4, Files.readAllLines(target).size(), "baseline + 3 runs exported");
        } finally {
            Files.setPosixFilePermissions(dbDir, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        assertArrayEquals(before, Files.readAllBytes(db), "nothing written");
        assertEquals(files, Arrays.stream(dbDir.toFile().list()).sorted().toList(), "no -wal or -shm made");
    }

    record Child(int code, String output) {
    }

    /** {@code steer ARGS} in a child JVM as uid/gid 65534 when this one runs as root, else as this user. */
    Child unprivileged(String... args) throws Exception {
        boolean root = "root".equals(System.getProperty("user.name"));
        Path cp = root ? readableClassPath() : null;
        List<String> cmd = new ArrayList<>();
        if (root) cmd.addAll(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"));
        cmd.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Dai.djl.offline=true",
                "-Djava.io.tmpdir=" + tmp.resolve("out"), "-Duser.home=" + tmp.resolve("out"),
                "-cp", root ? classPathOf(cp) : System.getProperty("java.class.path"), "dev.steer.cli.Steer"));
        cmd.addAll(List.of(args));
        Path log = tmp.resolve("out").resolve("child-" + System.nanoTime() + ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child finished");
        return new Child(p.exitValue(), Files.readString(log));
    }

    private Path linked;

    /** The class path's jars linked (or copied) into a world-readable directory; class directories are used in place. */
    private Path readableClassPath() throws IOException {
        if (linked != null) return linked;
        linked = Files.createDirectory(tmp.resolve("cp"));
        int i = 0;
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path p = Path.of(entry);
            if (!Files.isRegularFile(p)) continue;
            Path to = linked.resolve((i++) + "-" + p.getFileName());
            try {
                Files.createLink(to, p);
            } catch (IOException | UnsupportedOperationException e) {
                Files.copy(p, to);
            }
        }
        return linked;
    }

    private static String classPathOf(Path dir) throws IOException {
        List<String> out = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator))
            if (Files.isDirectory(Path.of(entry))) out.add(Path.of(entry).toAbsolutePath().toString());
        try (var files = Files.list(dir)) {
            files.sorted().forEach(f -> out.add(f.toString()));
        }
        return String.join(File.pathSeparator, out);
    }
}
