package dev.steer.kernels.check;

import dev.steer.engine.tensor.ArrayTensor;
import dev.steer.engine.backend.AttentionSpec;
import dev.steer.engine.backend.KvCache;
import dev.steer.engine.backend.Scope;
import dev.steer.engine.backend.StepLayout;
import dev.steer.engine.backend.SteerResult;
import dev.steer.engine.backend.Tensor;
import dev.steer.engine.tensor.Bf16;
import dev.steer.kernels.CudaBackend;
import dev.steer.kernels.KernelSettings;
import dev.steer.kernels.LinearPlan;
import dev.steer.kernels.Precision;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.DoubleSupplier;

/**
 * Runs every CUDA op against its Java reference ({@link ReferenceOps}) on random inputs, in both precisions, and
 * prints one line per check: PASS/FAIL, precision, op, max abs error, tolerance. Exit 0 all pass, 1 any fail,
 * 2 no usable GPU. In BF16 the reference gets the same bf16-rounded weights (and KV entries, and GEMM inputs)
 * the device holds, so what remains is accumulation order: tolerances stay near float32 round-off.
 *
 * <p>On the GPU machine (no Maven there): {@code ../shared/device/prepare-carry.sh kernels} here, then there
 * <pre>
 * tar xzf .carry/jre.tgz -C /tmp
 * export PATH=/tmp/jre/bin:$PATH LD_LIBRARY_PATH=/opt/torch/.venv/lib/python3.12/site-packages/nvidia/cu13/lib
 * java -Dorg.bytedeco.javacpp.cachedir=/tmp/javacpp -cp '.carry/lib/*' dev.steer.kernels.check.GpuSelfCheck
 * </pre>
 */
public final class GpuSelfCheck {
    /** One comparison; {@code failure} is the exception text when the op threw. */
    public record Result(Precision precision, String op, double maxAbsError, double tolerance, String failure) {
        public boolean pass() {
            return failure == null && maxAbsError <= tolerance;
        }

        public String line() {
            return String.format(Locale.ROOT, "%s %-4s %-58s max_abs_err=%.3e tol=%.1e%s", pass() ? "PASS" : "FAIL",
                    precision.name().toLowerCase(Locale.ROOT), op, maxAbsError, tolerance, failure == null ? "" : "  " + failure);
        }
    }

    /** The backend under check; inside {@link #on}, the one opened with a switch flipped. */
    private CudaBackend be;
    private final Precision precision;
    private final Random random = new Random(20261126);
    private final List<Result> results = new ArrayList<>();
    /** Backends like {@link #be} with other settings, opened when a check first needs them, closed at the end. */
    private final Map<KernelSettings, CudaBackend> others = new LinkedHashMap<>();

    private GpuSelfCheck(CudaBackend be) {
        this.be = be;
        this.precision = be.precision();
    }

    /** {@code --emulate}: the same checks with the kernels run by the CPU emulator ({@link CudaBackend#emulated}). */
    public static void main(String[] args) {
        boolean emulate = java.util.Arrays.asList(args).contains("--emulate");
        String reason = emulate ? null : CudaBackend.unavailableReason();
        if (reason != null) {
            System.out.println("SKIP gpu self-check: " + reason);
            System.exit(2);
        }
        KernelSettings settings = KernelSettings.fromEnvironment();
        List<Result> all = new ArrayList<>();
        for (Precision p : Precision.values()) {
            try (CudaBackend be = emulate ? CudaBackend.emulated(p, settings) : CudaBackend.open(0, p, settings)) {
                System.out.println("device: " + be.device());
                for (Result r : run(be)) {
                    System.out.println(r.line());
                    all.add(r);
                }
            } catch (RuntimeException e) {
                // open (kernel compile) or close failed, e.g. after a kernel fault poisoned the context
                Result r = new Result(p, "open/close backend", Double.NaN, 0, e.toString().replace('\n', ' '));
                System.out.println(r.line());
                all.add(r);
            }
        }
        long failed = all.stream().filter(r -> !r.pass()).count();
        System.out.println(all.size() + " checks, " + failed + " failed");
        System.exit(failed == 0 ? 0 : 1);
    }

    /** Every check on an open backend, in its precision. */
    public static List<Result> run(CudaBackend be) {
        return run(be, op -> true);
    }

    /**
     * The checks whose name {@code only} accepts. Those of another setting than {@code be}'s (a fixed linear plan, the
     * rope kernel before decode attention, sampling slices) run on backends opened like it with that setting.
     */
    public static List<Result> run(CudaBackend be, java.util.function.Predicate<String> only) {
        GpuSelfCheck c = new GpuSelfCheck(be);
        c.only = only;
        try {
            c.runAll();
        } finally {
            c.closeOthers();
        }
        return c.results;
    }

    private void closeOthers() {
        for (CudaBackend other : others.values()) {
            try {
                other.close();
            } catch (RuntimeException e) {
                results.add(new Result(precision, "close backend " + other.settings(), Double.NaN, 0, e.toString().replace('\n', ' ')));
            }
        }
        others.clear();
    }

    /** {@code body} on a backend like this one with {@code settings} (opened the first time, kept for the run). */
    private double on(KernelSettings settings, DoubleSupplier body) {
        CudaBackend main = be;
        CudaBackend other = others.get(settings);
        if (other == null) {
            other = main.openLike(settings);
            others.put(settings, other);
        }
        be = other;
        try (Scope s = other.openScope()) {
            return body.getAsDouble();
        } finally {
            be = main;
        }
    }

    private void runAll() {
        GpuSelfCheck c = this;
        c.weights();
        c.embed();
        c.check("rmsNorm [3,5,300]", 1e-5, () -> c.rmsNorm(300));
        c.check("rmsNorm [3,5,2304] (row in registers, 3 chunks a thread)", 1e-5, () -> c.rmsNorm(2304));
        c.check("rmsNorm [3,5,302] (row width not a multiple of 4: element loop)", 1e-5, () -> c.rmsNorm(302));
        c.check("linear [2,3,160] x [96,160]", 1e-4, () -> c.linear(new long[] {2, 3, 160}, 96, false));
        c.check("linear [5,2304] x [300,2304]", 1e-4, () -> c.linear(new long[] {5, 2304}, 300, false));
        c.check("linear [4,64] x float32 weight [40,64]", 1e-4, () -> c.linear(new long[] {4, 64}, 40, true));
        c.gemvChecks();
        c.ltChecks();
        c.check("rmsNorm then linear (bf16 operand from the norm) [3,5,300] x [64,300]", 1e-4, () -> c.producerThenLinear(0));
        c.check("geluTanhMul then linear (bf16 operand from the gate) [4,1000] x [48,1000]", 1e-4, () -> c.producerThenLinear(1));
        c.check("addRmsNorm [3,5,300]: residual and norm", 1e-5, () -> c.addRmsNorm(false, 300));
        c.check("addRmsNorm [3,5,2304]: residual and norm (row in registers)", 1e-5, () -> c.addRmsNorm(false, 2304));
        c.check("addRmsNorm [3,5,302]: residual and norm (element loop)", 1e-5, () -> c.addRmsNorm(false, 302));
        c.check("addRmsNorm then linear (bf16 operand from the norm) x [64,300]", 1e-4, () -> c.addRmsNorm(true, 300));
        c.check("add [4,1000]", 1e-6, () -> c.elementwise(0));
        c.check("geluTanhMul [4,1000]", 5e-5, () -> c.elementwise(1));
        c.check("softcap 30 [4,1000]", 1e-4, () -> c.elementwise(2));
        c.check("rope heads 4, headDim 16, past 1, padLeft {0,2}", 1e-5, () -> c.rope(4, 16, 1, new int[] {0, 2}));
        c.check("rope heads 8, headDim 256, past 190, padLeft {3,0}", 1e-5, () -> c.rope(8, 256, 190, new int[] {3, 0}));
        c.check("geluTanhMulPacked [4,2x1000]", 5e-5, c::geluPacked);
        c.check("packed weight upload (3 parts) then linear [3,64] x [96+48+48,64]", 1e-4, c::packedLinear);
        c.check("attentionPacked (rope + cache write fused) GQA 4/2 D32 softcap 50 pad {0,2,4} T 5,1,1", 5e-5,
                () -> c.attentionPacked(3, 4, 2, 32, 50f, 0, 16, new int[] {0, 2, 4}, 5, 1, 1));
        c.check("attentionPacked 8/4 D256 window 3 pad {1,0} T 7,1,1", 5e-5,
                () -> c.attentionPacked(2, 8, 4, 256, 0f, 3, 12, new int[] {1, 0}, 7, 1, 1));
        c.check("attentionPacked GQA 8/2 D64 softcap 30 pad {3,0} T 6,1,1,1 (four q heads a kv head)", 5e-5,
                () -> c.attentionPacked(2, 8, 2, 64, 30f, 0, 12, new int[] {3, 0}, 6, 1, 1, 1));
        c.check("attentionPacked GQA 4/2 D32 pad {0,2,4} T 5,1,1 with the rope kernel before decode attention", 5e-5,
                () -> c.on(c.be.settings().withFusedRope(false), () -> c.attentionPacked(3, 4, 2, 32, 0f, 0, 16, new int[] {0, 2, 4}, 5, 1, 1)));
        c.check("attention GQA 4/2 D32 softcap 50 pad {0,2,4} T 5,1,1,1", 5e-5,
                () -> c.attention(3, 4, 2, 32, 50f, 0, 16, new int[] {0, 2, 4}, 5, 1, 1, 1));
        c.check("attention 8/4 D256 window 3 pad {1,0} T 7,1,1", 5e-5,
                () -> c.attention(2, 8, 4, 256, 0f, 3, 12, new int[] {1, 0}, 7, 1, 1));
        c.check("attention 2/1 D256 softcap 50 pad {0,37} T 300,1,1 (2 tiles)", 5e-5,
                () -> c.attention(2, 2, 1, 256, 50f, 0, 600, new int[] {0, 37}, 300, 1, 1));
        c.check("attention GQA 2/1 D64 softcap 30 pad {0,5} T 530,1,1 (decode over 2 key tiles)", 5e-5,
                () -> c.attention(2, 2, 1, 64, 30f, 0, 540, new int[] {0, 5}, 530, 1, 1));
        c.check("lastStep [3,4,50]", 0, () -> c.lastStep(4));
        c.check("lastStep [3,1,50] (a view, no copy)", 0, () -> c.lastStep(1));
        c.check("steer add + norms [3,4,200]", 1e-4, () -> c.steer(true, true, 200));
        c.check("steer add + norms [3,4,2304] (row in registers)", 1e-4, () -> c.steer(true, true, 2304));
        c.check("steer add + norms [3,4,202] (element loop)", 1e-4, () -> c.steer(true, true, 202));
        c.check("steer norms only (residual is h)", 1e-4, () -> c.steer(false, true, 200));
        c.check("steer add, no norms", 1e-6, () -> c.steer(true, false, 200));
        c.check("addSteer: residual add + steer add + norms [3,4,200]", 1e-4, () -> c.addSteer(true, true));
        c.check("addSteer: residual add + norms, nothing steered", 1e-4, () -> c.addSteer(false, true));
        c.check("addSteer: residual add + steer add, no norms", 1e-6, () -> c.addSteer(true, false));
        c.check("argmax [4,256000] (ties: lowest index)", 0, () -> c.argmax(256000));
        c.check("argmax [4,250001] (odd width: element loop)", 0, () -> c.argmax(250001));
        c.check("sample [4,256000] T 1/0.7/1.3, top-p 1/0.9/0.5: tokens equal the host sampler's", 0, () -> c.sample(256000, 4, false));
        c.check("sample [16,1000] tied and -inf logits, top-p 0.01..1", 0, () -> c.sample(1000, 16, true));
        c.check("sample [3,5000] in 7 slices (uneven), tied and -inf logits, top-p 0.01..1", 0, () -> c.sampleSliced(5000, 3, 7));
        c.check("sample [2,300] in 64 slices (some empty), tied and -inf logits, top-p 0.01..1", 0, () -> c.sampleSliced(300, 2, 64));
        c.check("queued reads (toHostLater, argmaxLater, sampleLater) equal the direct ones, two in flight", 0, c::queuedReads);
        c.check("scope keep survives the inner scope", 0, c::keep);
    }

    private java.util.function.Predicate<String> only = op -> true;

    private void check(String op, double tolerance, DoubleSupplier body) {
        if (!only.test(op)) return;
        try (Scope s = be.openScope()) {
            results.add(new Result(precision, op, body.getAsDouble(), tolerance, null));
        } catch (RuntimeException e) {
            results.add(new Result(precision, op, Double.NaN, tolerance, e.toString().replace('\n', ' ')));
        }
    }

    /** What the device holds for a weight matrix: bf16-rounded in BF16. */
    private float stored(float v) {
        return precision == Precision.BF16 ? Bf16.round(v) : v;
    }

    private float[] stored(float[] v) {
        return precision == Precision.BF16 ? Bf16.round(v) : v;
    }

    private float[] random(int n, float amplitude) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (random.nextGaussian() * amplitude);
        return x;
    }

    private static float[] values(SyntheticWeight w) {
        float[] v = new float[(int) w.elementCount()];
        for (int i = 0; i < v.length; i++) v[i] = w.at(i);
        return v;
    }

    private static double maxAbs(float[] got, float[] want) {
        if (got.length != want.length) return Double.POSITIVE_INFINITY;
        double m = 0;
        for (int i = 0; i < got.length; i++) {
            double e = Math.abs((double) got[i] - want[i]);
            if (Double.isNaN(e)) return Double.NaN;
            m = Math.max(m, e);
        }
        return m;
    }

    /** A vocab-sized matrix over several upload chunks, read back, then multiplied; and a vector that stays float32. */
    private void weights() {
        SyntheticWeight big = new SyntheticWeight("check.big", new long[] {40000, 1024}, 7, 0.05f);
        Tensor[] w = new Tensor[1];
        check("weight upload [40000,1024] (3 chunks)", 0, () -> {
            w[0] = be.weight(big);
            float[] got = be.toHost(w[0]);
            double m = 0;
            for (int i = 0; i < got.length; i++) m = Math.max(m, Math.abs(got[i] - stored(big.at(i))));
            return m;
        });
        check("linear [3,1024] x uploaded [40000,1024]", 1e-4, () -> {
            float[] x = random(3 * 1024, 1f);
            float[] got = be.toHost(be.linear(be.floats(x, 3, 1024), w[0]));
            return maxAbs(got, ReferenceOps.linear(stored(x), stored(values(big)), 1024));
        });
        SyntheticWeight vector = new SyntheticWeight("check.norm", new long[] {300}, 8, 1f);
        check("weight upload [300] stays float32", 0, () -> maxAbs(be.toHost(be.weight(vector)), values(vector)));
    }

    private void embed() {
        SyntheticWeight table = new SyntheticWeight("check.embed", new long[] {50, 72}, 9, 1f);
        for (float scale : new float[] {8f, 7.3f}) {
            check("embed [50,72] ids [2,3] scale " + scale, 1e-6, () -> {
                int[] ids = {0, 49, 7, 7, 13, 2};
                float[] got = be.toHost(be.embed(be.weight(table), be.ints(ids, 2, 3), scale));
                return maxAbs(got, ReferenceOps.embed(stored(values(table)), 72, ids, stored(scale)));
            });
        }
    }

    private double rmsNorm(int k) {
        float[] x = random(3 * 5 * k, 3f), w = random(k, 0.5f);
        float[] got = be.toHost(be.rmsNorm(be.floats(x, 3, 5, k), be.floats(w, k), 1e-6f));
        return maxAbs(got, ReferenceOps.rmsNorm(x, w, 1e-6f));
    }

    /** {@code floatWeight}: the weight made by floats() (float32 GEMM even in BF16). */
    private double linear(long[] xShape, int out, boolean floatWeight) {
        int k = (int) xShape[xShape.length - 1];
        int m = (int) (java.util.Arrays.stream(xShape).reduce(1, (a, b) -> a * b) / k);
        float[] x = random(m * k, 1f), w = random(out * k, (float) (1 / Math.sqrt(k)));
        Tensor weight = floatWeight ? be.floats(w, out, k)
                : be.weight(new ArrayTensor("check.linear", new long[] {out, k}, w));
        float[] got = be.toHost(be.linear(be.floats(x, xShape), weight));
        boolean bf16 = !floatWeight && precision == Precision.BF16;
        return maxAbs(got, ReferenceOps.linear(bf16 ? Bf16.round(x) : x, bf16 ? Bf16.round(w) : w, k));
    }

    /**
     * Every gemv.cu instantiation (bf16 only: a float32 weight always goes to cuBLAS), through the backend's linear
     * op with the plan fixed to its configuration: rows 1, 2, 3 and 8 pick R = 1, 2, 4, 8 where declared; 67
     * columns leave a partial last block for every C; k 2312 (289 chunks) and 1000 (125) exercise both the paired
     * loop and its tail.
     */
    private void gemvChecks() {
        if (precision != Precision.BF16) return;
        for (String config : LinearPlan.ALL.stream().map(LinearPlan.Gemv::config).distinct().toList()) {
            for (int m : new int[] {1, 2, 3, 8}) {
                LinearPlan.Gemv g = LinearPlan.candidates(m).stream().filter(x -> x.config().equals(config)).findFirst().orElse(null);
                if (g == null) continue;
                int k = m <= 2 ? 2312 : 1000, n = 67;
                check("linear by " + g.kernel() + " [" + m + "," + k + "] x [" + n + "," + k + "]", 1e-4, () -> gemv(g, m, n, k));
                if (g.columns() >= 2)
                    check("gate/up + gelu by " + g.geluKernel() + " [" + m + "," + k + "] x [2x" + n + "," + k + "], then a linear",
                            1e-4, () -> gemvGelu(g, m, n, k));
            }
        }
        for (int m : new int[] {1, 3})
            check("gate/up + gelu by the auto plan (candidates timed with their gelu) [" + m + ",2312] x [2x67,2312], then a linear",
                    1e-4, () -> autoGateUpGelu(m, 67, 2312, true));
        check("gate/up + gelu by the auto plan, projection timed alone (STEER_GELU_TIMED=0) [1,2312] x [2x67,2312], then a linear",
                1e-4, () -> autoGateUpGelu(1, 67, 2312, false));
    }

    /**
     * The fused gate/up form of gemv instantiation {@code g} (the backend's linearGeluTanhMulPacked with the plan fixed
     * to it): gelu_tanh(gate) × up against the reference, and a linear reading its bf16 copy.
     */
    private double gemvGelu(LinearPlan.Gemv g, int m, int inner, int k) {
        return withGemv(g, new LinearPlan.Shape(m, 2 * inner, k, true), () -> gateUpGelu(m, inner, k));
    }

    /** linearGeluTanhMulPacked by the backend's current plan against the reference, and a linear reading its bf16 copy. */
    private double gateUpGelu(int m, int inner, int k) {
        float[] x = random(m * k, 1f), w = random(2 * inner * k, (float) (2 / Math.sqrt(k))), w2 = random(16 * inner, 0.1f);
        try (Scope s = be.openScope()) {
            Tensor act = be.linearGeluTanhMulPacked(be.floats(x, m, k), be.weight(new ArrayTensor("check.gate_up", new long[] {2 * inner, k}, w)));
            float[] got = be.toHost(act);
            float[] after = be.toHost(be.linear(act, be.weight(new ArrayTensor("check.down", new long[] {16, inner}, w2))));
            float[] proj = ReferenceOps.linear(Bf16.round(x), Bf16.round(w), k), gate = new float[m * inner], up = new float[m * inner];
            for (int r = 0; r < m; r++) {
                System.arraycopy(proj, r * 2 * inner, gate, r * inner, inner);
                System.arraycopy(proj, r * 2 * inner + inner, up, r * inner, inner);
            }
            return Math.max(maxAbs(got, ReferenceOps.geluTanhMul(gate, up)), maxAbs(after, ReferenceOps.linear(Bf16.round(got), Bf16.round(w2), inner)));
        }
    }

    /**
     * The auto plan on the packed gate/up projection (the default on a GPU): every candidate timed as it runs in a
     * step (fused gemv forms, or the method then the gelu kernel) into scratch tensors, then the chosen one computes
     * the output, which must equal the reference whichever won; the choice is kept under the gelu shape. With
     * {@code timedWithGelu} false (STEER_GELU_TIMED=0), the projection timed alone, under the plain shape.
     */
    private double autoGateUpGelu(int m, int inner, int k, boolean timedWithGelu) {
        return withPlan(be.settings().withGemv("auto").withGeluTimed(timedWithGelu), () -> gateUpGelu(m, inner, k), () -> {
            LinearPlan plan = be.linearPlan();
            LinearPlan.Choice used = plan.choices().get(new LinearPlan.Shape(m, 2 * inner, k, timedWithGelu));
            if (used == null || Double.isNaN(used.micros())) return "the projection was not timed: " + plan.describe();
            int expected = 1 + be.ltAlgorithms(m, 2 * inner, k).size() + LinearPlan.candidates(m).size();
            return used.note().split(", ").length == expected ? null : expected + " candidates expected: " + used.note();
        });
    }

    /**
     * {@code body} with the linear plan fixed to gemv instantiation {@code g}; fails unless the plan ran {@code g} for
     * {@code shape}.
     */
    private double withGemv(LinearPlan.Gemv g, LinearPlan.Shape shape, DoubleSupplier body) {
        return withPlan(be.settings().withGemv(g.config()), body, () -> {
            LinearPlan.Choice used = be.linearPlan().choices().get(shape);
            return used != null && g.equals(used.method()) ? null
                    : "the plan ran " + (used == null ? "nothing" : used.method().kernel()) + ", not " + g.kernel();
        });
    }

    /**
     * {@code body} on a backend with {@code settings} (its linear plan); {@code fault} (null: none) is checked after
     * it, on that backend.
     */
    private double withPlan(KernelSettings settings, DoubleSupplier body, java.util.function.Supplier<String> fault) {
        return on(settings, () -> {
            double err = body.getAsDouble();
            String f = fault.get();
            if (f != null) throw new IllegalStateException(f);
            return err;
        });
    }

    /**
     * Each of cuBLASLt's algorithms for two decode shapes (1 and 64 rows), bf16 only, by {@link CudaBackend#linearBy}; on a
     * machine without cuBLASLt (the emulator has one stand-in) the list is what the backend offers.
     */
    private void ltChecks() {
        if (precision != Precision.BF16) return;
        for (int[] s : new int[][] {{1, 300, 1024}, {64, 200, 520}}) {
            int m = s[0], n = s[1], k = s[2];
            List<LinearPlan.Lt> algorithms = be.ltAlgorithms(m, n, k);
            check("cuBLASLt offers algorithms for [" + m + "," + k + "] x [" + n + "," + k + "]: " + algorithms.size(), 0,
                    () -> algorithms.isEmpty() ? 1 : 0);
            for (LinearPlan.Lt lt : algorithms) {
                check("linear by cuBLASLt " + lt.label() + " [" + m + "," + k + "] x [" + n + "," + k + "] (" + lt.name() + ")", 1e-4, () -> {
                    float[] x = random(m * k, 1f), w = random(n * k, (float) (1 / Math.sqrt(k)));
                    float[] got = be.toHost(be.linearBy(be.floats(x, m, k), be.weight(new ArrayTensor("check.lt", new long[] {n, k}, w)), lt));
                    return maxAbs(got, ReferenceOps.linear(Bf16.round(x), Bf16.round(w), k));
                });
            }
        }
    }

    private double gemv(LinearPlan.Gemv g, int m, int n, int k) {
        return withGemv(g, new LinearPlan.Shape(m, n, k), () -> {
            float[] x = random(m * k, 1f), w = random(n * k, (float) (1 / Math.sqrt(k)));
            float[] got = be.toHost(be.linear(be.floats(x, m, k), be.weight(new ArrayTensor("check.gemv", new long[] {n, k}, w))));
            return maxAbs(got, ReferenceOps.linear(Bf16.round(x), Bf16.round(w), k));
        });
    }

    /** An op that writes the next GEMM's bf16 operand itself, then that GEMM: against the reference in the precision. */
    private double producerThenLinear(int which) {
        boolean bf16 = precision == Precision.BF16;
        float[] x, y;
        int k, rows, out;
        if (which == 0) {
            rows = 15; k = 300; out = 64;
            float[] in = random(rows * k, 3f), w = random(k, 0.5f);
            Tensor normed = be.rmsNorm(be.floats(in, 3, 5, k), be.floats(w, k), 1e-6f);
            y = be.toHost(be.linear(normed, be.weight(new ArrayTensor("check.after-norm", new long[] {out, k}, x = random(out * k, 0.06f)))));
            float[] n = be.toHost(normed);   // the bf16 copy must be exactly this, rounded
            return Math.max(maxAbs(n, ReferenceOps.rmsNorm(in, w, 1e-6f)),
                    maxAbs(y, ReferenceOps.linear(bf16 ? Bf16.round(n) : n, bf16 ? Bf16.round(x) : x, k)));
        }
        rows = 4; k = 1000; out = 48;
        float[] g = random(rows * k, 2f), u = random(rows * k, 2f);
        x = random(out * k, 0.03f);
        Tensor act = be.geluTanhMul(be.floats(g, rows, k), be.floats(u, rows, k));
        y = be.toHost(be.linear(act, be.weight(new ArrayTensor("check.after-gelu", new long[] {out, k}, x))));
        float[] a = be.toHost(act);
        return Math.max(maxAbs(a, ReferenceOps.geluTanhMul(g, u)),
                maxAbs(y, ReferenceOps.linear(bf16 ? Bf16.round(a) : a, bf16 ? Bf16.round(x) : x, k)));
    }

    /** The fused add between two norms; {@code thenLinear}: the GEMM reading the second norm's bf16 operand. */
    private double addRmsNorm(boolean thenLinear, int k) {
        boolean bf16 = precision == Precision.BF16;
        float[] h = random(15 * k, 2f), x = random(15 * k, 3f), post = random(k, 0.5f), pre = random(k, 0.5f);
        Tensor[] r = be.addRmsNorm(be.floats(h, 3, 5, k), be.floats(x, 3, 5, k), be.floats(post, k), be.floats(pre, k), 1e-6f);
        float[] res = ReferenceOps.add(h, ReferenceOps.rmsNorm(x, post, 1e-6f));
        float[] norm = ReferenceOps.rmsNorm(res, pre, 1e-6f);
        if (!thenLinear) return Math.max(maxAbs(be.toHost(r[0]), res), maxAbs(be.toHost(r[1]), norm));
        float[] w = random(64 * k, 0.06f);
        float[] y = be.toHost(be.linear(r[1], be.weight(new ArrayTensor("check.after-add-norm", new long[] {64, k}, w))));
        float[] own = be.toHost(r[1]);
        return Math.max(maxAbs(own, norm), maxAbs(y, ReferenceOps.linear(bf16 ? Bf16.round(own) : own, bf16 ? Bf16.round(w) : w, k)));
    }

    private double geluPacked() {
        float[] gu = random(4 * 2000, 4f), g = new float[4000], u = new float[4000];
        for (int r = 0; r < 4; r++) {
            System.arraycopy(gu, r * 2000, g, r * 1000, 1000);
            System.arraycopy(gu, r * 2000 + 1000, u, r * 1000, 1000);
        }
        return maxAbs(be.toHost(be.geluTanhMulPacked(be.floats(gu, 4, 2000))), ReferenceOps.geluTanhMul(g, u));
    }

    /** Three weights uploaded as one packed tensor (RowConcat): one GEMM equals the three stacked. */
    private double packedLinear() {
        boolean bf16 = precision == Precision.BF16;
        float[] a = random(96 * 64, 0.1f), b = random(48 * 64, 0.1f), c = random(48 * 64, 0.1f), x = random(3 * 64, 1f);
        Tensor w = be.weight(new dev.steer.engine.tensor.RowConcat("check.qkv", java.util.List.of(
                new ArrayTensor("q", new long[] {96, 64}, a), new ArrayTensor("k", new long[] {48, 64}, b), new ArrayTensor("v", new long[] {48, 64}, c))));
        float[] all = new float[192 * 64];
        System.arraycopy(a, 0, all, 0, a.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        System.arraycopy(c, 0, all, a.length + b.length, c.length);
        return maxAbs(be.toHost(be.linear(be.floats(x, 3, 64), w)), ReferenceOps.linear(bf16 ? Bf16.round(x) : x, bf16 ? Bf16.round(all) : all, 64));
    }

    private double elementwise(int which) {
        float[] a = random(4000, 4f), b = random(4000, 4f);
        Tensor ta = be.floats(a, 4, 1000), tb = be.floats(b, 4, 1000);
        return switch (which) {
            case 0 -> maxAbs(be.toHost(be.add(ta, tb)), ReferenceOps.add(a, b));
            case 1 -> maxAbs(be.toHost(be.geluTanhMul(ta, tb)), ReferenceOps.geluTanhMul(a, b));
            default -> {
                float[] big = random(4000, 40f);
                yield maxAbs(be.toHost(be.softcap(be.floats(big, 4, 1000), 30f)), ReferenceOps.softcap(big, 30f));
            }
        };
    }

    private double rope(int heads, int headDim, int past, int[] padLeft) {
        StepLayout layout = new StepLayout(padLeft.length, past, 3, padLeft);
        float[] x = random(padLeft.length * 3 * heads * headDim, 1f);
        Tensor out = be.rope(be.floats(x, padLeft.length, 3, (long) heads * headDim), heads, headDim, be.ropeTable(layout, headDim, 10000.0));
        return maxAbs(be.toHost(out), ReferenceOps.rope(x, heads, headDim, layout.positions(), 10000.0));
    }

    /** Runs the given step sizes through layer 1 of a 2-layer cache and compares every step's output. */
    private double attention(int batch, int heads, int kvHeads, int d, float softcap, int window, int capacity,
                             int[] padLeft, int... steps) {
        AttentionSpec spec = new AttentionSpec(heads, kvHeads, d, (float) (1 / Math.sqrt(d)), softcap, window);
        int kvWidth = kvHeads * d;
        float[] keys = new float[batch * capacity * kvWidth], vals = new float[keys.length];
        float qScale = softcap > 0 ? 8f : 1f;   // large scores, so the cap changes the answer
        double err = 0;
        // the o projection after it: in BF16 it reads the attention kernel's own bf16 copy of the output
        int width = heads * d;
        float[] wo = random(16 * width, (float) (1 / Math.sqrt(width)));
        Tensor woT = be.weight(new ArrayTensor("check.o_proj", new long[] {16, width}, wo));
        boolean bf16 = precision == Precision.BF16;
        try (KvCache cache = be.kvCache(2, batch, kvHeads, d, capacity)) {
            int past = 0;
            for (int t : steps) {
                float[] q = random(batch * t * heads * d, qScale), k = random(batch * t * kvWidth, 1f), v = random(batch * t * kvWidth, 1f);
                StepLayout layout = new StepLayout(batch, past, t, padLeft);
                float[] got, projected;
                try (Scope s = be.openScope()) {
                    Tensor a = be.attention(be.floats(q, batch, t, (long) heads * d), be.floats(k, batch, t, kvWidth),
                            be.floats(v, batch, t, kvWidth), cache, 1, layout, spec);
                    got = be.toHost(a);
                    projected = be.toHost(be.linear(a, woT));
                }
                for (int b = 0; b < batch; b++)
                    for (int i = 0; i < t; i++)
                        for (int e = 0; e < kvWidth; e++) {
                            keys[(b * capacity + past + i) * kvWidth + e] = stored(k[(b * t + i) * kvWidth + e]);
                            vals[(b * capacity + past + i) * kvWidth + e] = stored(v[(b * t + i) * kvWidth + e]);
                        }
                float[] want = ReferenceOps.attention(q, keys, vals, batch, t, capacity, past, padLeft, spec);
                err = Math.max(err, maxAbs(got, want));
                // against the device's own float32 output (rounded, in BF16): the bf16 copy must be exactly that
                err = Math.max(err, maxAbs(projected, ReferenceOps.linear(bf16 ? Bf16.round(got) : got, bf16 ? Bf16.round(wo) : wo, width)));
                cache.advance(t);
                past += t;
            }
        }
        return err;
    }

    /** The packed path: qkv in, rotary + cache write in one kernel; against rope + the reference attention. */
    private double attentionPacked(int batch, int heads, int kvHeads, int d, float softcap, int window, int capacity,
                                   int[] padLeft, int... steps) {
        AttentionSpec spec = new AttentionSpec(heads, kvHeads, d, (float) (1 / Math.sqrt(d)), softcap, window);
        int qw = heads * d, kw = kvHeads * d, width = qw + 2 * kw;
        float[] keys = new float[batch * capacity * kw], vals = new float[keys.length];
        double err = 0;
        try (KvCache cache = be.kvCache(2, batch, kvHeads, d, capacity)) {
            int past = 0;
            for (int t : steps) {
                int rows = batch * t;
                float[] qkv = random(rows * width, softcap > 0 ? 4f : 1f);
                StepLayout layout = new StepLayout(batch, past, t, padLeft);
                float[] got;
                try (Scope s = be.openScope()) {
                    got = be.toHost(be.attentionPacked(be.floats(qkv, batch, t, width), be.ropeTable(layout, d, 10000.0), cache, 1, layout, spec));
                }
                float[] q = new float[rows * qw], k = new float[rows * kw], v = new float[rows * kw];
                for (int r = 0; r < rows; r++) {
                    System.arraycopy(qkv, r * width, q, r * qw, qw);
                    System.arraycopy(qkv, r * width + qw, k, r * kw, kw);
                    System.arraycopy(qkv, r * width + qw + kw, v, r * kw, kw);
                }
                int[] positions = layout.positions();
                q = ReferenceOps.rope(q, heads, d, positions, 10000.0);
                k = ReferenceOps.rope(k, kvHeads, d, positions, 10000.0);
                for (int b = 0; b < batch; b++)
                    for (int i = 0; i < t; i++)
                        for (int e = 0; e < kw; e++) {
                            keys[(b * capacity + past + i) * kw + e] = stored(k[(b * t + i) * kw + e]);
                            vals[(b * capacity + past + i) * kw + e] = stored(v[(b * t + i) * kw + e]);
                        }
                err = Math.max(err, maxAbs(got, ReferenceOps.attention(q, keys, vals, batch, t, capacity, past, padLeft, spec)));
                cache.advance(t);
                past += t;
            }
        }
        return err;
    }

    private double lastStep(int steps) {
        float[] x = random(3 * steps * 50, 1f);
        Tensor last = be.lastStep(be.floats(x, 3, steps, 50));
        if (!java.util.Arrays.equals(last.shape(), new long[] {3, 50})) throw new IllegalStateException("lastStep shape " + java.util.Arrays.toString(last.shape()));
        return maxAbs(be.toHost(last), ReferenceOps.lastStep(x, 3, steps, 50));
    }

    private double steer(boolean add, boolean norms, int width) {
        float[] h = random(3 * 4 * width, 2f), delta = random(3 * width, 1f);
        float[] mask = {1, 1, 0, 1, 0, 0, 0, 0, 0.5f, 1, 1, 1};   // row 1 unsteered; positions vary
        Tensor th = be.floats(h, 3, 4, width);
        SteerResult r = be.steer(th, add ? be.floats(delta, 3, width) : null, add ? be.floats(mask, 3, 4) : null, norms);
        if (!add && r.residual() != th) throw new IllegalStateException("unsteered residual is not h itself");
        if (!norms && r.norms() != null) throw new IllegalStateException("norms returned although not asked for");
        double err = maxAbs(be.toHost(r.residual()), add ? ReferenceOps.steer(h, delta, mask, 3, 4, width) : h);
        if (norms) err = Math.max(err, maxAbs(be.toHost(r.norms()), ReferenceOps.norms(h, width)));
        return err;
    }

    /** The hook fused with the layer's residual add: against the reference add, then the reference steer. */
    private double addSteer(boolean add, boolean norms) {
        float[] h = random(3 * 4 * 200, 2f), update = random(3 * 4 * 200, 1f), delta = random(3 * 200, 1f);
        float[] mask = {1, 1, 0, 1, 0, 0, 0, 0, 0.5f, 1, 1, 1};
        SteerResult r = be.addSteer(be.floats(h, 3, 4, 200), be.floats(update, 3, 4, 200), add ? be.floats(delta, 3, 200) : null,
                add ? be.floats(mask, 3, 4) : null, norms);
        if (!norms && r.norms() != null) throw new IllegalStateException("norms returned although not asked for");
        float[] sum = ReferenceOps.add(h, update);
        double err = maxAbs(be.toHost(r.residual()), add ? ReferenceOps.steer(sum, delta, mask, 3, 4, 200) : sum);
        if (norms) err = Math.max(err, maxAbs(be.toHost(r.norms()), ReferenceOps.norms(sum, 200)));
        return err;
    }

    private double argmax(int vocab) {
        float[] x = random(4 * vocab, 3f);
        x[4] = 55f;
        x[7] = 55f;                                // tie inside one 4-wide chunk
        x[vocab - 1] = 55f;
        x[vocab + 1000] = 50f;
        x[vocab + 200000] = 50f;                   // tie: the lower index wins
        java.util.Arrays.fill(x, 2 * vocab, 3 * vocab, 0f);
        x[4 * vocab - 1] = 60f;                    // the last column
        int[] got = be.argmax(be.floats(x, 4, vocab)), want = ReferenceOps.argmax(x, vocab);
        int wrong = 0;
        for (int i = 0; i < want.length; i++) if (got[i] != want[i]) wrong++;
        return wrong;
    }

    /**
     * Rows of one random logit vector (several with -inf, or quantised so tokens tie), each with its own
     * temperature, top-p and draw; the number of rows whose token differs from {@code Sampling}'s.
     */
    private double sample(int vocab, int rows, boolean ties) {
        double[] temperatures = {1.0, 0.7, 1.3};
        double[] topPs = ties ? new double[] {1.0, 0.999999, 0.9, 0.5, 0.2, 0.01} : new double[] {1.0, 0.9, 0.5};
        int wrong = 0;
        for (double t : temperatures) {
            for (double topP : topPs) {
                float[] x = random(rows * vocab, 3f);
                for (int i = 0; i < x.length; i++) {
                    if (ties) x[i] = Math.round(x[i] * 2) / 2f;            // a handful of distinct values
                    if (i % 97 == 5) x[i] = Float.NEGATIVE_INFINITY;     // masked tokens
                    // a masked first token: with u = 0 (row 0) the pick must pass over its zero mass
                    if (ties && i % vocab == 0) x[i] = Float.NEGATIVE_INFINITY;
                }
                double[] u = new double[rows];
                for (int r = 0; r < rows; r++) u[r] = r == 0 ? 0.0 : random.nextDouble();
                int[] got = be.sample(be.floats(x, rows, vocab), t, topP, u);
                int[] want = dev.steer.engine.backend.Sampling.sampleRows(x, vocab, t, topP, u);
                for (int r = 0; r < rows; r++) if (got[r] != want[r]) wrong++;
            }
        }
        return wrong;
    }

    private double sampleSliced(int vocab, int rows, int slices) {
        return on(be.settings().withSampleSlices(slices), () -> sample(vocab, rows, true));
    }

    /**
     * The look-ahead loop's reads: two queued copies in flight at once (pinned buffers from the pool), each equal to
     * the direct read of the same tensor; then the pool's buffers are reused.
     */
    private double queuedReads() {
        double wrong = 0;
        for (int round = 0; round < 2; round++) {
            float[] a = random(3 * 5000, 2f), b = random(2 * 300, 1f);
            Tensor ta = be.floats(a, 3, 5000), tb = be.floats(b, 2, 300);
            dev.steer.engine.backend.Pending<float[]> la = be.toHostLater(ta);
            dev.steer.engine.backend.Pending<int[]> ia = be.argmaxLater(ta);
            dev.steer.engine.backend.Pending<int[]> sa = be.sampleLater(ta, 1.0, 0.9, new double[] {0.1, 0.5, 0.9});
            dev.steer.engine.backend.Pending<float[]> lb = be.toHostLater(tb);
            wrong += maxAbs(lb.get(), b) + maxAbs(la.get(), a);
            int[] want = be.argmax(ta), got = ia.get(), drawn = be.sample(ta, 1.0, 0.9, new double[] {0.1, 0.5, 0.9}), queued = sa.get();
            for (int r = 0; r < 3; r++) if (want[r] != got[r] || drawn[r] != queued[r]) wrong++;
        }
        return wrong;
    }

    private double keep() {
        float[] data = random(1000, 1f);
        Tensor x = be.floats(data, 1000);
        Tensor y;
        try (Scope inner = be.openScope()) {
            be.floats(new float[5000], 5000);      // so y does not sit at the start of the inner region
            y = inner.keep(be.add(x, x));
        }
        float[] ones = new float[20000];
        java.util.Arrays.fill(ones, 1f);
        be.floats(ones, 20000);                    // reuses the inner region
        Tensor dead;
        try (Scope s = be.openScope()) {
            dead = be.floats(data, 1000);
        }
        try {
            be.toHost(dead);
            return Double.POSITIVE_INFINITY;       // a closed scope's tensor must not be readable
        } catch (IllegalStateException expected) {
            return maxAbs(be.toHost(y), ReferenceOps.add(data, data));
        }
    }
}
