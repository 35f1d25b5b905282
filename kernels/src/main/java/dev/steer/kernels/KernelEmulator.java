package dev.steer.kernels;

import dev.steer.engine.BadInputException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Builds the kernel families for the CPU (g++ with {@code emu/cuda_emu.h}) into one JNI library and runs their
 * kernels there: each CUDA thread a fiber, blocks one after the other (see {@code emu/runtime.cpp}). It checks
 * kernel logic (indexing, masking, reductions, barriers) without a GPU; it says nothing about GPU speed, and
 * math functions round as glibc's do, not as CUDA's. Cached as
 * {@code ~/.cache/steer/emulator/<sha256 of sources and options>/libsteer-emu.so}.
 */
final class KernelEmulator {
    private static final String RESOURCES = "emu/";
    private static final String[] CXX_OPTIONS = {"-std=c++17", "-O2", "-fPIC", "-shared", "-pthread", "-w", "-U_FORTIFY_SOURCE"};
    /** The kernels' definitions of the library loaded in this process (null before the first load). */
    private static List<String> loaded;

    /** g++'s options: the fixed ones and the kernels' definitions ({@link KernelSource#defines}). */
    private static List<String> options(List<String> defines) {
        List<String> options = new ArrayList<>(List.of(CXX_OPTIONS));
        options.addAll(defines);
        return options;
    }

    private KernelEmulator() {
    }

    /**
     * Builds (or finds in the cache) and loads the emulator library for these settings; BadInputException when it
     * cannot. One library per process (its JNI functions bind once), so a later backend must ask for the same
     * kernel definitions; the worker count is the first backend's too (one pool).
     */
    static synchronized void load(KernelSettings settings) {
        List<String> defines = KernelSource.defines(settings.rowVectors());
        if (loaded != null) {
            if (!loaded.equals(defines))
                throw new IllegalStateException("kernel emulator: loaded with " + loaded + " in this process, not " + defines);
            return;
        }
        Map<String, String> files = sources();
        String key = KernelSource.sha256(String.join("\0", files.values()) + "\0" + String.join(" ", options(defines)));
        Path dir = writableOrTemp(cacheRoot().resolve(key));
        Path lib = dir.resolve("libsteer-emu.so");
        // A damaged library crashes the dynamic loader itself (a truncated file is SIGBUS), so a cached build is
        // loaded only when it still has the digest recorded when it was built.
        if (!intact(lib)) build(files, dir, lib, defines);
        System.load(lib.toAbsolutePath().toString());
        poolThreads(settings.emulatorThreads());
        loaded = defines;
    }

    /** Null when the emulator can be built and loaded here, else the one-line reason (no g++, no jni.h). */
    static String unavailableReason(KernelSettings settings) {
        try {
            load(settings);
            return null;
        } catch (BadInputException e) {
            return e.getMessage();
        }
    }

    /** {@code dir}, created; a fresh temporary directory when it cannot be (a read-only home): built every run then. */
    private static Path writableOrTemp(Path dir) {
        try {
            Files.createDirectories(dir);
            if (Files.isWritable(dir)) return dir;
        } catch (IOException | SecurityException e) {
            // fall through
        }
        try {
            return Files.createTempDirectory("steer-emulator");
        } catch (IOException e) {
            throw new UncheckedIOException("kernel emulator: no writable directory for the build", e);
        }
    }

    private static Path digestOf(Path lib) {
        return lib.resolveSibling(lib.getFileName() + ".sha256");
    }

    private static boolean intact(Path lib) {
        try {
            return Files.isRegularFile(lib) && Files.readString(digestOf(lib)).strip().equals(KernelSource.sha256(Files.readAllBytes(lib)));
        } catch (IOException e) {
            return false;
        }
    }

    /** Runs kernel {@code name} over a (gridX, gridY) grid; {@code args} are the 8-byte argument slots. */
    static synchronized void run(String name, int gridX, int gridY, int block, int sharedBytes, long[] args) {
        String error = launch(name, gridX, gridY, block, sharedBytes, args);
        if (error != null) throw new IllegalStateException("kernel emulator: " + error);
    }

    static synchronized void matmul(long x, long w, long y, int m, int n, int k, boolean bf16) {
        gemm(x, w, y, m, n, k, bf16);
    }

    private static native String launch(String name, int gridX, int gridY, int block, int sharedBytes, long[] args);

    private static native void gemm(long x, long w, long y, int m, int n, int k, boolean bf16);

    /** Worker threads of the block pool, made at the first launch (0: one per core). */
    private static native void poolThreads(int threads);

    static Path cacheRoot() {
        return KernelLibrary.defaultCacheRoot().getParent().resolve("emulator");
    }

    /** File name → text of everything g++ compiles: the runtime, the header, and one translation unit per family. */
    static Map<String, String> sources() {
        Map<String, String> files = new java.util.LinkedHashMap<>();
        files.put("cuda_emu.h", KernelSource.read(RESOURCES + "cuda_emu.h"));
        files.put("runtime.cpp", KernelSource.read(RESOURCES + "runtime.cpp"));
        files.put(KernelSource.HEADER, KernelSource.read(KernelSource.HEADER));
        for (String family : KernelSource.FAMILIES) files.put(family + ".cpp", translationUnit(KernelSource.read(family + ".cu")));
        files.put("probes.cpp", translationUnit(KernelSource.read(RESOURCES + "probes.cu")));
        return files;
    }

    private static final Pattern DYNAMIC_SHARED = Pattern.compile("extern\\s+__shared__\\s+(\\w+)\\s+(\\w+)\\s*\\[\\s*\\]\\s*;");
    private static final Pattern PARAMETER = Pattern.compile("^(.*?)\\b(\\w+)\\s*$", Pattern.DOTALL);

    /**
     * A family's source for g++: the emulation header first, dynamic shared memory as the launch's buffer, and
     * per kernel a wrapper taking the argument slots plus its registration.
     */
    static String translationUnit(String source) {
        Matcher shared = DYNAMIC_SHARED.matcher(source);
        String body = shared.replaceAll("$1* $2 = ($1*)emu::dynamic_shared();");
        StringBuilder out = new StringBuilder("#include \"cuda_emu.h\"\n").append(body).append("\n\nnamespace {\n");
        List<String> names = new ArrayList<>();
        Matcher m = KernelSource.KERNEL.matcher(source);
        while (m.find()) {
            String name = m.group(1);
            int open = m.end(), close = source.indexOf(')', open);
            List<String> types = new ArrayList<>();
            String params = source.substring(open, close).trim();
            if (!params.isEmpty() && !params.equals("void")) {
                for (String p : params.split(",")) {
                    Matcher pm = PARAMETER.matcher(p.trim());
                    if (!pm.matches() || pm.group(1).isBlank()) throw new IllegalStateException(name + ": cannot read parameter '" + p.trim() + "'");
                    types.add(pm.group(1).trim());
                }
            }
            out.append("void emu_").append(name).append("(void** a) { ").append(name).append('(');
            for (int i = 0; i < types.size(); i++) {
                if (i > 0) out.append(", ");
                out.append("*reinterpret_cast<").append(types.get(i)).append("*>(a[").append(i).append("])");
            }
            out.append("); }\n");
            names.add(name);
        }
        out.append("struct Registration {\n    Registration() {\n");
        for (String n : names) out.append("        emu::register_kernel(\"").append(n).append("\", emu_").append(n).append(");\n");
        out.append("    }\n} registration;\n}  // namespace\n");
        return out.toString();
    }

    private static void build(Map<String, String> files, Path dir, Path lib, List<String> defines) {
        Path jniInclude = jniInclude();
        String cxx = findOnPath("g++");
        if (cxx == null) throw new BadInputException("--backend cuda-emu: needs g++ (C++17) on PATH to build the kernel emulator");
        try {
            Files.createDirectories(dir);
            Path work = Files.createTempDirectory(dir, "build");
            List<String> cmd = new ArrayList<>(List.of(cxx));
            cmd.addAll(options(defines));
            cmd.addAll(List.of("-I" + work, "-I" + jniInclude, "-I" + jniInclude.resolve("linux")));
            for (Map.Entry<String, String> f : files.entrySet()) {
                Files.writeString(work.resolve(f.getKey()), f.getValue());
                if (f.getKey().endsWith(".cpp")) cmd.add(work.resolve(f.getKey()).toString());
            }
            Path out = work.resolve("libsteer-emu.so");
            cmd.addAll(List.of("-o", out.toString()));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(600, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("kernel emulator: g++ did not finish in 600 s");
            }
            if (p.exitValue() != 0) throw new IllegalStateException("kernel emulator: g++ failed (sources in " + work + "):\n" + log);
            Path digest = work.resolve("digest");
            Files.writeString(digest, KernelSource.sha256(Files.readAllBytes(out)));
            Files.move(out, lib, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            Files.move(digest, digestOf(lib), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            try (var left = Files.walk(work)) {   // the sources stay only when g++ failed (the message names them)
                left.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("kernel emulator: building in " + dir, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("kernel emulator: interrupted while building", e);
        }
    }

    /** The JDK's {@code include} directory (jni.h): from java.home, else JAVA_HOME. */
    private static Path jniInclude() {
        List<Path> candidates = new ArrayList<>();
        candidates.add(Path.of(System.getProperty("java.home"), "include"));
        String env = System.getenv("JAVA_HOME");
        if (env != null) candidates.add(Path.of(env, "include"));
        for (Path c : candidates) if (Files.isRegularFile(c.resolve("jni.h"))) return c;
        throw new BadInputException("--backend cuda-emu: needs a JDK (jni.h under java.home or JAVA_HOME/include) to build the kernel emulator");
    }

    private static String findOnPath(String exe) {
        String path = System.getenv("PATH");
        if (path == null) return null;
        for (String d : path.split(":")) {
            if (d.isEmpty()) continue;
            Path p = Path.of(d, exe);
            if (Files.isExecutable(p)) return p.toString();
        }
        return null;
    }



    /** A kernel of the emulator library. */
    static final class EmulatedKernel extends Kernel {
        EmulatedKernel(String name, StepGraph steps) {
            super(name, steps);
        }

        @Override
        void invoke(long[] args, int n, int gridX, int gridY, int block, int sharedBytes, boolean replayed) {
            run(name, gridX, gridY, block, sharedBytes, java.util.Arrays.copyOf(args, n));
        }
    }

    /** Every kernel of every family, by name. */
    static final class Library implements Kernels {
        private final Map<String, Kernel> kernels = new HashMap<>();

        Library(StepGraph steps, KernelSettings settings) {
            load(settings);
            for (String family : KernelSource.FAMILIES)
                for (String name : KernelSource.kernelNames(KernelSource.read(family + ".cu"))) kernels.put(name, new EmulatedKernel(name, steps));
        }

        @Override
        public Kernel get(String name) {
            Kernel k = kernels.get(name);
            if (k == null) throw new IllegalStateException("no kernel named " + name + " in " + KernelSource.FAMILIES);
            return k;
        }

        @Override
        public void close() {
            for (Kernel k : kernels.values()) k.close();
            kernels.clear();
        }
    }

    /** cuBLAS's part: {@code y = x · wᵀ} with float32 products and sums. */
    static final class Matmul implements Linear {
        private final StepGraph steps;

        Matmul(StepGraph steps) {
            this.steps = steps;
        }

        /** A recorded GEMM. */
        record Call(long x, long w, long y, int m, int n, int k, DType inputs) implements StepGraph.Work {
            @Override
            public void run() {
                matmul(x, w, y, m, n, k, inputs == DType.BF16);
            }

            @Override
            public boolean equals(Object o) {
                return o instanceof Call c && c.x == x && c.w == w && c.y == y && c.m == m && c.n == n && c.k == k && c.inputs == inputs;
            }

            @Override
            public int hashCode() {
                return Long.hashCode(x * 31 + w) * 31 + m * 17 + n;
            }
        }

        @Override
        public void linear(long x, long w, long y, int m, int n, int k, DType inputs) {
            Call c = new Call(x, w, y, m, n, k, inputs);
            if (steps.mode() != StepGraph.Mode.EAGER && !steps.admit(c)) return;
            c.run();
        }

        /**
         * One stand-in "algorithm" (the same loop), so that the plan's cuBLASLt path, its records and their replay
         * run in the emulation too; what cuBLASLt itself does is only seen on a GPU.
         */
        @Override
        public java.util.List<LinearPlan.Lt> ltAlgorithms(int m, int n, int k, int max) {
            return max < 1 ? java.util.List.of() : java.util.List.of(new LinearPlan.Lt(0, "emulated (the plain loop)"));
        }

        @Override
        public void linearLt(LinearPlan.Lt algorithm, long x, long w, long y, int m, int n, int k) {
            if (algorithm.index() != 0) throw new IllegalArgumentException("kernel emulator: no cuBLASLt algorithm " + algorithm);
            linear(x, w, y, m, n, k, DType.BF16);
        }

        @Override
        public void close() {
        }
    }
}
