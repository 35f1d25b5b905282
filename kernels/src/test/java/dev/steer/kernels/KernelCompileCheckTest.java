package dev.steer.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Compiles every kernel family with nvcc for sm_90 (the H100/H200) where nvcc exists, so a kernel that does
 * not compile fails CI even without a GPU; skipped (and says so) where there is no nvcc.
 */
class KernelCompileCheckTest {
    static Path nvcc() {
        List<Path> candidates = new ArrayList<>();
        String path = System.getenv("PATH");
        if (path != null) for (String dir : path.split(":")) if (!dir.isEmpty()) candidates.add(Path.of(dir, "nvcc"));
        candidates.add(Path.of("/usr/local/cuda/bin/nvcc"));
        try (var dirs = Files.list(Path.of("/usr/local"))) {
            dirs.filter(d -> d.getFileName().toString().startsWith("cuda-")).sorted().forEach(d -> candidates.add(d.resolve("bin/nvcc")));
        } catch (IOException ignored) {
            // no /usr/local: only PATH
        }
        return candidates.stream().filter(Files::isExecutable).findFirst().orElse(null);
    }

    @Test
    void everyKernelFamilyCompilesForSm90(@TempDir Path dir) throws Exception {
        Path nvcc = nvcc();
        if (nvcc == null) System.out.println("KernelCompileCheck skipped: no nvcc on PATH or under /usr/local");
        assumeTrue(nvcc != null, "no nvcc");
        Files.writeString(dir.resolve(KernelSource.HEADER), KernelSource.read(KernelSource.HEADER));
        for (String family : KernelSource.FAMILIES) {
            String source = KernelSource.read(family + ".cu");
            Path cu = dir.resolve(family + ".cu"), ptx = dir.resolve(family + ".ptx");
            Files.writeString(cu, source);
            Process p = new ProcessBuilder(nvcc.toString(), "-ptx", "-arch=sm_90", "-o", ptx.toString(), cu.toString())
                    .redirectErrorStream(true).start();
            String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(300, TimeUnit.SECONDS), family + ".cu: nvcc timed out");
            assertEquals(0, p.exitValue(), family + ".cu does not compile:\n" + log);
            String text = Files.readString(ptx);
            List<String> kernels = KernelSource.kernelNames(source);
            assertFalse(kernels.isEmpty(), family + ".cu declares no extern \"C\" kernel");
            for (String k : kernels) assertTrue(text.contains(".entry " + k + "("), family + ".cu: no entry " + k + " in the PTX");
        }
    }

    /**
     * STEER_ROW_VECTORS=0 (the fallback should the float4 row paths fail on a GPU) must really remove them: the
     * default PTX of the norms, the hook and argmax has 16-byte global loads, the fallback's has none.
     */
    @Test
    void rowVectorSwitchRemovesTheFloat4Paths(@TempDir Path dir) throws Exception {
        Path nvcc = nvcc();
        assumeTrue(nvcc != null, "no nvcc");
        assertEquals(List.of(), KernelSource.defines(KernelSettings.defaultOn(null)));
        assertEquals(List.of(), KernelSource.defines(KernelSettings.defaultOn("1")));
        List<String> scalar = KernelSource.defines(KernelSettings.defaultOn("0"));
        assertEquals(List.of("-DSTEER_SCALAR_ROWS"), scalar);
        Files.writeString(dir.resolve(KernelSource.HEADER), KernelSource.read(KernelSource.HEADER));
        for (String family : List.of("rmsnorm", "steer", "argmax")) {
            Path cu = dir.resolve(family + ".cu");
            Files.writeString(cu, KernelSource.read(family + ".cu"));
            for (boolean fallback : new boolean[] {false, true}) {
                Path ptx = dir.resolve(family + (fallback ? ".scalar" : "") + ".ptx");
                List<String> cmd = new java.util.ArrayList<>(List.of(nvcc.toString(), "-ptx", "-arch=sm_90"));
                if (fallback) cmd.addAll(scalar);
                cmd.addAll(List.of("-o", ptx.toString(), cu.toString()));
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
                String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(p.waitFor(300, TimeUnit.SECONDS), family + ".cu: nvcc timed out");
                assertEquals(0, p.exitValue(), family + ".cu " + cmd + ":\n" + log);
                long v4 = Files.readString(ptx).lines().filter(l -> l.contains("ld.global.v4.f32") || l.contains("ld.global.nc.v4.f32")).count();
                if (fallback) assertEquals(0, v4, family + ".cu with " + scalar + " still loads float4");
                else assertTrue(v4 > 0, family + ".cu: no float4 loads in the default PTX");
            }
        }
    }

    @Test
    void kernelsIncludeNoSystemHeaders() {
        // NVRTC compiles with no include path: only "common.cuh", handed over as a named header, may be included.
        for (String family : KernelSource.FAMILIES)
            for (String line : KernelSource.read(family + ".cu").split("\n"))
                if (line.startsWith("#include")) assertEquals("#include \"common.cuh\"", line.strip(), family + ".cu");
        assertFalse(KernelSource.read(KernelSource.HEADER).contains("#include"), "common.cuh");
    }

    /** Every {@code __global__} in the sources is a declaration the loaders find (one with launch bounds too). */
    @Test
    void everyKernelDeclarationIsFound() {
        for (String family : KernelSource.FAMILIES) {
            String source = KernelSource.read(family + ".cu");
            int globals = source.split("__global__", -1).length - 1;
            assertEquals(globals, KernelSource.kernelNames(source).size(), family + ".cu: kernels found " + KernelSource.kernelNames(source));
        }
        assertTrue(KernelSource.kernelNames(KernelSource.read("attention.cu")).contains("attention_decode_bf16"));
    }

    /**
     * With programmatic dependent launch (STEER_PDL=1) a kernel may start before its predecessor ends: each must
     * wait, in {@code pdl_begin()}, before its first memory access, so that call is every kernel's first statement.
     */
    @Test
    void everyKernelBeginsByWaitingForItsPredecessor() {
        int kernels = 0;
        for (String family : KernelSource.FAMILIES) {
            String source = KernelSource.read(family + ".cu");
            var m = KernelSource.KERNEL.matcher(source);
            while (m.find()) {
                int i = m.end(), depth = 1;
                while (depth > 0) {
                    char c = source.charAt(i++);
                    if (c == '(') depth++;
                    else if (c == ')') depth--;
                }
                int brace = source.indexOf('{', i);
                assertTrue(source.substring(i, brace).isBlank(), family + ".cu: " + m.group(1) + ": no body after its parameters");
                String body = source.substring(brace + 1).stripLeading();
                assertTrue(body.startsWith("pdl_begin();"), family + ".cu: " + m.group(1) + " does not begin with pdl_begin();");
                kernels++;
            }
        }
        int declared = 0;
        for (String family : KernelSource.FAMILIES) declared += KernelSource.kernelNames(KernelSource.read(family + ".cu")).size();
        assertEquals(declared, kernels, "kernels checked");
        assertTrue(kernels >= 45, "only " + kernels + " kernels found");
        assertTrue(KernelSource.read(KernelSource.HEADER).contains("griddepcontrol.wait"), "common.cuh: pdl_begin waits");
    }

    @Test
    void everyKernelTheBackendLaunchesIsDeclared() {
        List<String> declared = new ArrayList<>();
        for (String family : KernelSource.FAMILIES) declared.addAll(KernelSource.kernelNames(KernelSource.read(family + ".cu")));
        for (String name : List.of("embed_f32", "embed_bf16", "rmsnorm_f32", "rope_f32", "kv_write_f32", "kv_write_bf16",
                "attention_f32", "attention_bf16", "add_f32", "gelu_tanh_mul_f32", "softcap_f32", "to_bf16", "last_step_f32",
                "steer_f32", "argmax_f32"))
            assertTrue(declared.contains(name), name + " is launched but not declared in any .cu");
    }
}
