package dev.steer.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Input files that exist but that this user may not read (owned by another user, mode 0600): exit 2, one line
 * naming the file, nothing on stdout. CI runs as root, who reads every file, so the CLI runs in a child process as
 * nobody ({@code setpriv --reuid=65534 --regid=65534 --clear-groups}); the files stay root's. The classpath is
 * linked (or copied) into a directory nobody can read, since a root-owned Maven repository usually is not.
 */
class UnreadableInputTest {
    private static final Path SETPRIV = Path.of("/usr/bin/setpriv");

    @TempDir
    static Path shared;
    static Path world, model, classpath;

    @BeforeAll
    static void setUp() throws Exception {
        assumeTrue(Files.isExecutable(SETPRIV), "setpriv is absent: cannot run the CLI as another user");
        assumeTrue(((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0,
                "not running as root: setpriv cannot switch to another user");
        world = open(shared);
        model = open(Files.createDirectories(world.resolve("model")));
        for (String f : new String[] {"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"})
            readable(Files.copy(CliRun.TINY.resolve(f), model.resolve(f)));
        Path cp = open(Files.createDirectories(world.resolve("classpath")));
        List<String> entries = new ArrayList<>();
        int i = 0;
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path src = Path.of(e);
            if (!Files.exists(src) || e.endsWith("test-classes")) continue;
            Path dst = cp.resolve(i++ + "-" + src.getFileName());
            if (Files.isDirectory(src)) copyTree(src, dst);
            else link(src, dst);
            entries.add(dst.toString());
        }
        classpath = Files.writeString(world.resolve("classpath.txt"), String.join(File.pathSeparator, entries));
    }

    @Test
    void unreadableConfig() throws Exception {
        Path m = modelWithPrivate("config.json");
        assertBadAsNobody(List.of("info", "--model", m.toString()), m.resolve("config.json").toString(), "permission denied");
    }

    @Test
    void unreadableWeights() throws Exception {
        Path m = modelWithPrivate("model.safetensors");
        assertBadAsNobody(List.of("info", "--model", m.toString()), m.resolve("model.safetensors").toString(), "permission denied");
    }

    @Test
    void unreadableModelDirectory() throws Exception {
        Path m = modelWithPrivate("config.json");
        Files.setPosixFilePermissions(m, PosixFilePermissions.fromString("rwx------"));
        assertBadAsNobody(List.of("info", "--model", m.toString()), m.toString(), "permission denied");
    }

    @Test
    void unreadableVectorFiles() throws Exception {
        Path json = privateFile(Files.copy(Path.of("../models/src/test/resources/fixtures/steering-vector.json"), world.resolve("v.json")));
        assertBadAsNobody(List.of("generate", "--model", model.toString(), "--prompt", "Hi", "--steer", "1:2:" + json),
                json.toString(), "permission denied");
        Path st = world.resolve("v.safetensors");
        dev.steer.models.vectors.VectorFile.write(st, new float[64], java.util.Map.of());
        privateFile(st);
        assertBadAsNobody(List.of("generate", "--model", model.toString(), "--prompt", "Hi", "--steer", "1:2:" + st),
                st.toString(), "permission denied");
    }

    @Test
    void unreadablePromptFile() throws Exception {
        Path p = privateFile(Files.writeString(world.resolve("pos.txt"), "A good day\n"));
        Path n = readable(Files.writeString(world.resolve("neg.txt"), "A bad day\n"));
        assertBadAsNobody(List.of("extract", "--model", model.toString(), "--positive", p.toString(), "--negative", n.toString(),
                "--out", world.resolve("out").toString()), p.toString(), "cannot be read");
    }

    /** A copy of the model whose {@code file} only root may read. */
    private static Path modelWithPrivate(String file) throws IOException {
        Path m = open(Files.createDirectories(world.resolve("model-" + file + "-" + System.nanoTime())));
        try (Stream<Path> s = Files.list(model)) {
            for (Path f : s.toList()) readable(Files.copy(f, m.resolve(f.getFileName())));
        }
        privateFile(m.resolve(file));
        return m;
    }

    private static void assertBadAsNobody(List<String> args, String... mustContain) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(SETPRIV.toString(), "--reuid=65534", "--regid=65534", "--clear-groups",
                java, "-Dai.djl.offline=true", "-cp", Files.readString(classpath), "dev.steer.cli.Steer"));
        cmd.addAll(args);
        Path out = world.resolve("stdout"), err = world.resolve("stderr");
        Process p = new ProcessBuilder(cmd).directory(world.toFile()).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the CLI finished");
        CliRun r = new CliRun(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        BadInputTest.assertBad(r, mustContain);
        assertEquals("steer:", r.err().strip().split(" ")[0], "the CLI's own line: " + r.err());
    }

    private static Path open(Path dir) throws IOException {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        return dir;
    }

    private static Path readable(Path file) throws IOException {
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        return file;
    }

    /** Readable and writable by its owner (root) only. */
    private static Path privateFile(Path file) throws IOException {
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        return file;
    }

    private static void link(Path src, Path dst) throws IOException {
        try {
            Files.createLink(dst, src);
        } catch (IOException | UnsupportedOperationException e) {
            Files.copy(src, dst);
        }
        if (!Files.getPosixFilePermissions(dst).containsAll(PosixFilePermissions.fromString("r--r--r--"))) {
            Files.delete(dst);
            readable(Files.copy(src, dst));
        }
    }

    private static void copyTree(Path src, Path dst) throws IOException {
        try (Stream<Path> s = Files.walk(src)) {
            for (Path p : s.toList()) {
                Path to = dst.resolve(src.relativize(p).toString());
                if (Files.isDirectory(p)) open(Files.createDirectories(to));
                else readable(Files.copy(p, to));
            }
        }
    }
}
