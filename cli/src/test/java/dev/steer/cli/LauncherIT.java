package dev.steer.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code cli/target/steer}, the launcher {@code mvn package} writes next to steer.jar, run as a user runs it: as a
 * process, from another directory, through a symlink, with arguments that hold spaces; its exit codes are the CLI's.
 */
class LauncherIT {
    static final Path LAUNCHER = Path.of("target/steer").toAbsolutePath();

    @TempDir
    Path tmp;

    record Proc(int code, String out, String err) {
    }

    static Proc run(Path launcher, Path cwd, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(launcher.toString());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(cwd.toFile());
        Path out = Files.createTempFile("launcher", ".out"), err = Files.createTempFile("launcher", ".err");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = pb.start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "launcher did not finish");
        return new Proc(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }

    @Test
    void isAnExecutableFileNextToTheJar() {
        assertTrue(Files.isExecutable(LAUNCHER), LAUNCHER + " is not executable");
        assertTrue(Files.isRegularFile(LAUNCHER.resolveSibling("steer.jar")));
    }

    @Test
    void helpRunsFromAnotherDirectory() throws Exception {
        Proc r = run(LAUNCHER, tmp, "--help");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("Usage: steer "), r.out());
        for (String command : List.of("generate", "extract", "sweep", "search", "report", "export", "bench", "serve"))
            assertTrue(r.out().contains("\n  " + command + " "), command + " missing from: " + r.out());
        assertEquals("", r.err());
    }

    @Test
    void versionNamesTheBuild() throws Exception {
        Proc r = run(LAUNCHER, tmp, "-V");
        assertEquals(0, r.code(), r.err());
        // The same line the in-process provider gives: the jar's git.properties, not the test classpath's.
        assertEquals(new Steer.Version().getVersion()[0], r.out().strip());
    }

    @Test
    void followsASymlinkAndPassesArgumentsAndExitCodesThrough() throws Exception {
        Path link = tmp.resolve("bin/steer");
        Files.createDirectories(link.getParent());
        Files.createSymbolicLink(link, LAUNCHER);
        assertEquals(0, run(link, tmp, "--help").code());
        // An argument with spaces arrives as one argument; bad input is exit 2 with the CLI's one line.
        Proc bad = run(link, tmp, "info", "--model", "no such dir");
        assertEquals(2, bad.code(), bad.err());
        assertTrue(bad.err().startsWith("steer: ") && bad.err().contains("no such dir"), bad.err());
        assertEquals("", bad.out());
        Proc usage = run(link, tmp, "generate", "--max-new-tokens", "many");
        assertEquals(2, usage.code(), usage.err());
        assertTrue(usage.err().contains("--max-new-tokens"), usage.err());
    }
}
