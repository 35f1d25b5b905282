package dev.steer.cli;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The module and package graph of the main sources, read from their imports and fully qualified names (comments
 * stripped): the runtime core at the ground, the study layer, models and kernels on it, the front end on top, and
 * no package cycle anywhere (DESIGN.md, module boundaries).
 */
class ArchitectureTest {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final Pattern PACKAGE = Pattern.compile("^package\\s+([\\w.]+);", Pattern.MULTILINE);
    /** A reference to a steer type: an import, or a qualified name in code, up to the first capitalised segment. */
    private static final Pattern REFERENCE = Pattern.compile("\\b(dev\\.steer(?:\\.[a-z][a-z0-9_]*)+)\\.[A-Z]");
    private static final Pattern THIRD_PARTY = Pattern.compile("^import\\s+(?:static\\s+)?((?!java\\.|javax\\.|dev\\.steer\\.)[\\w.]+);", Pattern.MULTILINE);

    private static final Set<String> CORE = Set.of("dev.steer.engine", "dev.steer.engine.backend", "dev.steer.engine.model",
            "dev.steer.engine.generation", "dev.steer.engine.steering", "dev.steer.engine.telemetry",
            "dev.steer.engine.tensor", "dev.steer.engine.law", "dev.steer.engine.serving");

    record Source(String module, String pkg, Path file, String code) {
    }

    static List<Source> sources() throws IOException {
        List<Source> out = new ArrayList<>();
        for (String module : List.of("engine/core", "engine/djl", "engine/study", "models", "kernels", "cli")) {
            Path dir = ROOT.resolve(module).resolve("src/main/java");
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                    String code = stripComments(Files.readString(f));
                    Matcher m = PACKAGE.matcher(code);
                    assertTrue(m.find(), f + " has no package line");
                    out.add(new Source(module, m.group(1), f, code));
                }
            }
        }
        return out;
    }

    /** Block and line comments and string literals removed, so a javadoc link or a message names nothing. */
    static String stripComments(String s) {
        return s.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\\n]*", " ").replaceAll("\"(?:\\\\.|[^\"\\\\])*\"", "\"\"");
    }

    static Map<String, Set<String>> packageGraph(List<Source> sources) {
        Map<String, Set<String>> g = new TreeMap<>();
        for (Source s : sources) {
            Set<String> to = g.computeIfAbsent(s.pkg(), k -> new TreeSet<>());
            Matcher m = REFERENCE.matcher(s.code());
            while (m.find()) if (!m.group(1).equals(s.pkg())) to.add(m.group(1));
        }
        return g;
    }

    @Test
    void noPackageCycles() throws IOException {
        Map<String, Set<String>> g = packageGraph(sources());
        assertTrue(g.size() > 20, "read the packages: " + g.keySet());
        List<List<String>> cycles = stronglyConnected(g).stream().filter(c -> c.size() > 1).toList();
        assertEquals(List.of(), cycles, "package cycles");
    }

    @Test
    void theCoreImportsNothingAboveIt() throws IOException {
        for (Source s : sources()) {
            Set<String> refs = references(s);
            switch (s.module()) {
                case "engine/core" -> {
                    assertTrue(CORE.contains(s.pkg()), s.file() + ": package " + s.pkg() + " is not a core package");
                    for (String r : refs) assertTrue(CORE.contains(r), s.file() + " (core) uses " + r);
                    Matcher m = THIRD_PARTY.matcher(s.code());
                    assertFalse(m.find(), s.file() + " (core) imports a third-party type");
                }
                case "engine/study", "engine/djl", "models", "kernels" -> {
                    for (String r : refs) {
                        boolean ok = CORE.contains(r) || r.startsWith(own(s));
                        assertTrue(ok, s.file() + " (" + s.module() + ") uses " + r + ": only the core and its own module");
                    }
                }
                default -> { }
            }
        }
    }

    /** The package prefix of a source's own module (study's own packages are dropped from its references). */
    private static String own(Source s) {
        return switch (s.module()) {
            case "engine/study" -> "dev.steer.engine.study.none";
            case "engine/djl" -> "dev.steer.engine.djl";
            case "models" -> "dev.steer.models";
            case "kernels" -> "dev.steer.kernels";
            default -> "dev.steer.cli";
        };
    }

    private static Set<String> references(Source s) {
        Set<String> out = new TreeSet<>();
        Matcher m = REFERENCE.matcher(s.code());
        while (m.find()) if (!m.group(1).equals(s.pkg())) out.add(m.group(1));
        if (s.module().equals("engine/study")) out.removeIf(STUDY::contains);   // one module: its packages may meet
        return out;
    }

    private static final Set<String> STUDY = Set.of("dev.steer.engine.extract", "dev.steer.engine.judge",
            "dev.steer.engine.report", "dev.steer.engine.search", "dev.steer.engine.store", "dev.steer.engine.sweep",
            "dev.steer.engine.trait");

    /** Tarjan's strongly connected components, each sorted, in discovery order. */
    static List<List<String>> stronglyConnected(Map<String, Set<String>> g) {
        Map<String, Integer> index = new HashMap<>(), low = new HashMap<>();
        Deque<String> stack = new ArrayDeque<>();
        Set<String> onStack = new TreeSet<>();
        List<List<String>> out = new ArrayList<>();
        int[] counter = {0};
        for (String v : g.keySet()) if (!index.containsKey(v)) visit(v, g, index, low, stack, onStack, out, counter);
        return out;
    }

    private static void visit(String v, Map<String, Set<String>> g, Map<String, Integer> index, Map<String, Integer> low,
                              Deque<String> stack, Set<String> onStack, List<List<String>> out, int[] counter) {
        index.put(v, counter[0]);
        low.put(v, counter[0]++);
        stack.push(v);
        onStack.add(v);
        for (String w : g.getOrDefault(v, Set.of())) {
            if (!index.containsKey(w)) {
                visit(w, g, index, low, stack, onStack, out, counter);
                low.put(v, Math.min(low.get(v), low.get(w)));
            } else if (onStack.contains(w)) {
                low.put(v, Math.min(low.get(v), index.get(w)));
            }
        }
        if (low.get(v).equals(index.get(v))) {
            List<String> c = new ArrayList<>();
            String w;
            do {
                w = stack.pop();
                onStack.remove(w);
                c.add(w);
            } while (!w.equals(v));
            c.sort(null);
            out.add(c);
        }
    }

    @Test
    void cycleFinderFindsACycle() {
        Map<String, Set<String>> g = Map.of("a", Set.of("b"), "b", Set.of("c"), "c", Set.of("a"), "d", Set.of("a"));
        List<List<String>> c = stronglyConnected(new TreeMap<>(g)).stream().filter(x -> x.size() > 1).toList();
        assertEquals(List.of(List.of("a", "b", "c")), c);
    }
}
