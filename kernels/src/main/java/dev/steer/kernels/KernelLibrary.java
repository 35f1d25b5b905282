package dev.steer.kernels;

import static dev.steer.kernels.CudaException.check;
import static dev.steer.kernels.CudaException.checkNvrtc;
import static org.bytedeco.cuda.global.cudart.cuModuleGetFunction;
import static org.bytedeco.cuda.global.cudart.cuModuleLoadData;
import static org.bytedeco.cuda.global.cudart.cuModuleUnload;
import static org.bytedeco.cuda.global.nvrtc.nvrtcCompileProgram;
import static org.bytedeco.cuda.global.nvrtc.nvrtcCreateProgram;
import static org.bytedeco.cuda.global.nvrtc.nvrtcDestroyProgram;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetCUBIN;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetCUBINSize;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetProgramLog;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetProgramLogSize;
import static org.bytedeco.cuda.global.nvrtc.nvrtcVersion;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUmod_st;
import org.bytedeco.cuda.nvrtc._nvrtcProgram;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;

/**
 * Compiles every kernel family with NVRTC for the device's architecture and loads it. Compiled to CUBIN (SASS)
 * rather than PTX: a CUBIN from a newer NVRTC still loads on an older driver of the same major version, PTX
 * does not. Cached as {@code <cacheRoot>/<arch>/<sha256 of source, header, options, NVRTC version>.cubin}, so
 * only the first run on a machine pays the compile; a cache that cannot be written is skipped, not an error.
 */
final class KernelLibrary implements Kernels {
    private final CudaDevice device;
    private final Path cacheRoot;
    private final List<CUmod_st> modules = new ArrayList<>();
    private final Map<String, Kernel> kernels = new HashMap<>();
    /** Programmatic dependent launch for every kernel (see {@link Kernel.Cuda}): asked for, and sm_90 or newer. */
    private final boolean programmatic;
    private final List<String> defines;
    /** Null unless profiling. */
    private final OpProfile profile;

    @Override
    public boolean programmatic() {
        return programmatic;
    }

    KernelLibrary(CudaDevice device, Path cacheRoot, KernelSettings settings, OpProfile profile) {
        this.device = device;
        this.cacheRoot = cacheRoot;
        this.programmatic = settings.programmatic() && device.major >= 9;
        this.defines = KernelSource.defines(settings.rowVectors());
        this.profile = profile;
        for (String family : KernelSource.FAMILIES) load(family);
    }

    /** {@code ~/.cache/steer/kernels}, or {@code $XDG_CACHE_HOME/steer/kernels}. */
    static Path defaultCacheRoot() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("steer").resolve("kernels");
    }

    @Override
    public Kernel get(String name) {
        Kernel k = kernels.get(name);
        if (k == null) throw new IllegalStateException("no kernel named " + name + " in " + KernelSource.FAMILIES);
        return k;
    }

    private void load(String family) {
        String source = KernelSource.read(family + ".cu");
        String header = KernelSource.read(KernelSource.HEADER);
        List<String> opts = new ArrayList<>(List.of("--gpu-architecture=" + device.arch(), "--std=c++17"));
        opts.addAll(defines);
        String[] options = opts.toArray(String[]::new);
        byte[] cubin = cached(family, source, header, options, false);
        CUmod_st module = new CUmod_st();
        int rc;
        try (BytePointer image = new BytePointer(cubin)) {
            rc = cuModuleLoadData(module, image);
        }
        if (rc != 0) {
            // a damaged cache entry (e.g. truncated by a full disk): compile again, replace it, load that
            cubin = cached(family, source, header, options, true);
            try (BytePointer image = new BytePointer(cubin)) {
                check(cuModuleLoadData(module, image), "cuModuleLoadData(" + family + ".cu, " + device.arch() + ")");
            }
        }
        modules.add(module);
        for (String name : KernelSource.kernelNames(source)) {
            CUfunc_st function = new CUfunc_st();
            check(cuModuleGetFunction(function, module, name), "cuModuleGetFunction(" + name + ")");
            kernels.put(name, new Kernel.Cuda(name, function, device.stream, device.steps, programmatic, profile));
        }
    }


    /** {@code fresh}: compile even when the cache holds an entry (which is then replaced). */
    private byte[] cached(String family, String source, String header, String[] options, boolean fresh) {
        int[] major = new int[1];
        int[] minor = new int[1];
        checkNvrtc(nvrtcVersion(major, minor), "nvrtcVersion");
        String key = KernelSource.sha256(source + "\0" + header + "\0" + String.join(" ", options) + "\0nvrtc " + major[0] + "." + minor[0]);
        Path file = cacheRoot.resolve(device.arch()).resolve(family + "-" + key + ".cubin");
        try {
            if (!fresh && Files.isRegularFile(file)) return Files.readAllBytes(file);
        } catch (IOException e) {
            // unreadable cache entry: compile again
        }
        byte[] cubin = compile(family, source, header, options);
        try {
            Files.createDirectories(file.getParent());
            Path tmp = Files.createTempFile(file.getParent(), family, ".tmp");
            Files.write(tmp, cubin);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | UnsupportedOperationException e) {
            // read-only home or full disk: run without the cache
        }
        return cubin;
    }

    private static byte[] compile(String family, String source, String header, String[] options) {
        _nvrtcProgram program = new _nvrtcProgram();
        try (BytePointer src = new BytePointer(source);
             BytePointer name = new BytePointer(family + ".cu");
             BytePointer headerText = new BytePointer(header);
             BytePointer headerName = new BytePointer(KernelSource.HEADER);
             PointerPointer<BytePointer> headers = new PointerPointer<>(new BytePointer[] {headerText});
             PointerPointer<BytePointer> headerNames = new PointerPointer<>(new BytePointer[] {headerName})) {
            // Arrays on purpose: PointerPointer(Pointer) with one argument is a cast, not a one-element array.
            checkNvrtc(nvrtcCreateProgram(program, src, name, 1, headers, headerNames), "nvrtcCreateProgram(" + family + ".cu)");
        }
        try (PointerPointer<BytePointer> opts = new PointerPointer<>(options)) {
            int rc = nvrtcCompileProgram(program, options.length, opts);
            if (rc != 0) throw new CudaException("NVRTC could not compile " + family + ".cu for " + options[0] + ":\n" + log(program));
            try (SizeTPointer size = new SizeTPointer(1)) {
                checkNvrtc(nvrtcGetCUBINSize(program, size), "nvrtcGetCUBINSize(" + family + ".cu)");
                byte[] cubin = new byte[(int) size.get()];
                checkNvrtc(nvrtcGetCUBIN(program, cubin), "nvrtcGetCUBIN(" + family + ".cu)");
                return cubin;
            }
        } finally {
            nvrtcDestroyProgram(program);
        }
    }

    private static String log(_nvrtcProgram program) {
        try (SizeTPointer size = new SizeTPointer(1)) {
            if (nvrtcGetProgramLogSize(program, size) != 0 || size.get() <= 1) return "(no log)";
            try (BytePointer text = new BytePointer(size.get())) {
                nvrtcGetProgramLog(program, text);
                return text.getString(StandardCharsets.UTF_8);
            }
        }
    }


    @Override
    public void close() {
        for (Kernel k : kernels.values()) k.close();
        kernels.clear();
        for (CUmod_st m : modules) cuModuleUnload(m);
        modules.clear();
    }
}
