package dev.steer.cli.serve;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.stream.Stream;

/**
 * Runs the official openai npm client's test ({@code src/test/node}) against {@code steer serve}: copies the folder
 * to {@code target/node-test}, {@code npm ci}, {@code node --test} with STEER_JAR, STEER_MODEL and JAVA set. Run by
 * exec-maven-plugin in the integration-test phase, after {@code package} made the jar. Without node on the PATH it
 * says so and skips (exit 0). Arguments: source folder, work folder, steer.jar, model directory.
 */
public final class NodeClientRunner {
    private NodeClientRunner() {
    }

    public static void main(String[] args) throws Exception {
        Path src = Path.of(args[0]), work = Path.of(args[1]), jar = Path.of(args[2]).toAbsolutePath(), model = Path.of(args[3]).toAbsolutePath().normalize();
        if (!available("node") || !available("npm")) {
            System.out.println("[openai node client] node or npm is not on the PATH: skipping the openai client test (" + src + ")");
            return;
        }
        Files.createDirectories(work);
        try (Stream<Path> files = Files.list(src)) {
            for (Path f : files.filter(p -> p.getFileName().toString().matches(".*\\.(json|mjs)")).toList())
                Files.copy(f, work.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
        }
        int code = run(work, List.of("npm", "ci", "--no-audit", "--no-fund"), null);
        if (code != 0) System.exit(code);
        code = run(work, List.of("node", "--test"), new String[] {jar.toString(), model.toString(),
                Path.of(System.getProperty("java.home"), "bin", "java").toString()});
        System.exit(code);
    }

    private static boolean available(String tool) {
        try {
            Process p = new ProcessBuilder(tool, "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static int run(Path dir, List<String> cmd, String[] env) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).inheritIO();
        if (env != null) {
            pb.environment().put("STEER_JAR", env[0]);
            pb.environment().put("STEER_MODEL", env[1]);
            pb.environment().put("JAVA", env[2]);
        }
        return pb.start().waitFor();
    }
}
