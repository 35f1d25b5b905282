package dev.steer.kernels;

import dev.steer.engine.BadInputException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which method computes each bf16 linear layer of a decode-sized batch (at most {@link #MAX_TUNED_ROWS} rows;
 * at decode a layer is pure weight streaming): cuBLAS's default GEMM, one of cuBLASLt's algorithms for the shape,
 * or, up to {@link #MAX_GEMV_ROWS} rows, one of gemv.cu's instantiations {@code gemv_r<R>_c<C>_w<W>} (blocks of W
 * warps, C output columns each, for up to R rows). The setting ({@link KernelSettings#gemv}: environment variable
 * {@code STEER_GEMV}, else the system property {@code steer.gemv}):
 * <ul>
 *   <li>{@code 0} (or {@code cublas}): cuBLAS's default for every shape;</li>
 *   <li>{@code auto}, the default on a GPU (faster than cuBLAS alone at decode: BENCHMARKS.md, device run 6): the
 *       first time a shape (m, n, k) runs eagerly, cuBLAS's default, cuBLASLt's heuristic algorithms (up to
 *       {@link #LT_ALGORITHMS}) and every gemv instantiation that serves m are timed on the device on the layer's
 *       own operands, each run with the L2 cache flushed first (so the
 *       weights stream from memory, as they do in a step), and the fastest by median is kept for that shape for the
 *       life of the backend. The packed gate/up projection is timed with the gelu that follows it: a gemv's fused
 *       form against each other method plus the gelu kernel ({@link Shape#gelu}). A shape first met during graph
 *       capture, where nothing can be timed, keeps cuBLAS. The choices, with their times, are in {@link #describe}
 *       (bench prints them);</li>
 *   <li>{@code c<C>w<W>}, e.g. {@code c2w4}: that gemv instantiation for every shape it serves (for A/B runs and
 *       checks), with the smallest R that holds the rows.</li>
 * </ul>
 * Unset: {@code auto} on a GPU, {@code 0} on the kernel emulator (whose timings say nothing about a GPU, and whose
 * tests want one fixed method). Every method's numbers equal cuBLAS's up to float32 summation order (bf16 operands,
 * float32 accumulation); since {@code auto} chooses by timing, two processes may pick different methods and so
 * differ in the last bits of a bf16 logit: {@code STEER_GEMV=0} pins cuBLAS where runs must match bit for bit.
 */
public final class LinearPlan {
    /** Rows up to which a gemv may serve a linear layer. */
    static final int MAX_GEMV_ROWS = 8;
    /** Rows up to which {@code auto} times the methods (decode batches; larger GEMMs keep cuBLAS's default). */
    static final int MAX_TUNED_ROWS = 64;
    /** cuBLASLt algorithms asked of its heuristic per shape. */
    static final int LT_ALGORITHMS = 8;
    /** Timed runs per candidate and round, and rounds (candidates interleaved) per shape. */
    private static final int RUNS = 3;
    private static final int ROUNDS = 3;

    /** How one linear layer is computed. */
    public sealed interface Method permits Cublas, Lt, Gemv {
        /** Short name in timing lists: {@code cublas}, {@code lt2}, {@code c2w4}. */
        String label();

        /** Full name: {@code cublas}, the cuBLASLt algorithm's configuration, or the gemv kernel. */
        String kernel();
    }

    /** cuBLAS's default GEMM (cublasGemmEx). */
    public record Cublas() implements Method {
        @Override
        public String label() {
            return "cublas";
        }

        @Override
        public String kernel() {
            return "cublas";
        }
    }

    static final Cublas CUBLAS = new Cublas();

    /** cuBLASLt's algorithm {@code index} (its heuristic's order) for the shape; {@code name} describes it. */
    public record Lt(int index, String name) implements Method {
        @Override
        public String label() {
            return "lt" + index;
        }

        @Override
        public String kernel() {
            return "cublasLt " + name;
        }
    }

    /** One instantiation of gemv.cu: R rows at most, C columns per block, W warps per block. */
    public record Gemv(int rows, int columns, int warps) implements Method {
        @Override
        public String kernel() {
            return "gemv_r" + rows + "_c" + columns + "_w" + warps;
        }

        @Override
        public String label() {
            return config();
        }

        /** The fused gate/up form ({@code columns >= 2}): gelu_tanh(gate) × up for the packed projection. */
        public String geluKernel() {
            if (columns < 2) throw new IllegalStateException(kernel() + " has no fused gate/up form");
            return "gemv_gelu_r" + rows + "_c" + columns + "_w" + warps;
        }

        /** The setting that pins it: {@code c<C>w<W>}. */
        public String config() {
            return "c" + columns + "w" + warps;
        }
    }

    /**
     * A decode linear layer: m rows, n outputs, inner size k; {@code gelu}: the packed gate/up projection whose
     * output goes straight into gelu_tanh(gate) × up, timed as it runs (a gemv's fused form, or the method and then
     * the gelu kernel), so the fused form's saved launch and round trip count in the choice.
     */
    public record Shape(int m, int n, int k, boolean gelu) {
        /** A plain linear layer's shape. */
        public Shape(int m, int n, int k) {
            this(m, n, k, false);
        }

        /** Written out: looked up for every decode linear layer (a record's generated pair goes through method handles). */
        @Override
        public boolean equals(Object o) {
            return o instanceof Shape s && s.m == m && s.n == n && s.k == k && s.gelu == gelu;
        }

        @Override
        public int hashCode() {
            return ((m * 31 + n) * 31 + k) * 2 + (gelu ? 1 : 0);
        }

        @Override
        public String toString() {
            return "m" + m + " n" + n + " k" + k + (gelu ? " +gelu" : "");
        }
    }

    /** Times in microseconds per call (NaN when nothing was timed); {@code note}: the timings, or why none. */
    public record Choice(Method method, double micros, double cublasMicros, String note) {
    }

    /** Runs one method on the layer's operands; eager, so the device can time it. */
    interface Runner {
        void run(Method method);
    }

    private static final Pattern NAME = Pattern.compile("gemv_r(\\d+)_c(\\d+)_w(\\d+)");

    /** Every instantiation gemv.cu declares. */
    public static final List<Gemv> ALL = declared(KernelSource.read("gemv.cu"));

    static List<Gemv> declared(String source) {
        List<Gemv> out = new ArrayList<>();
        for (String name : KernelSource.kernelNames(source)) {
            Matcher m = NAME.matcher(name);
            if (m.matches()) out.add(new Gemv(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3))));
        }
        return List.copyOf(out);
    }

    private final String setting;
    private final boolean auto;
    /** For a fixed setting: its (C, W); null otherwise. */
    private final int[] fixed;
    private final Map<Shape, Choice> chosen = new LinkedHashMap<>();

    private LinearPlan(String setting, boolean auto, int[] fixed) {
        this.setting = setting;
        this.auto = auto;
        this.fixed = fixed;
    }

    /**
     * {@code null}/{@code 0}/{@code cublas}, {@code auto}, or {@code c<C>w<W>}; anything else is bad input naming
     * {@code what} and the choices.
     */
    static LinearPlan parse(String value, String what) {
        String v = value == null ? "0" : value.trim().toLowerCase(Locale.ROOT);
        if (v.isEmpty() || v.equals("0") || v.equals("cublas")) return new LinearPlan("cublas", false, null);
        if (v.equals("auto")) return new LinearPlan("auto", true, null);
        Matcher m = Pattern.compile("c(\\d+)w(\\d+)").matcher(v);
        if (m.matches()) {
            int c = Integer.parseInt(m.group(1)), w = Integer.parseInt(m.group(2));
            if (ALL.stream().anyMatch(g -> g.columns() == c && g.warps() == w)) return new LinearPlan(v, false, new int[] {c, w});
        }
        throw new BadInputException(what + "=" + value + ": expected 0 (cuBLAS), auto, or a gemv configuration: "
                + String.join(", ", ALL.stream().map(Gemv::config).distinct().toList()));
    }

    /** The setting: cublas, auto, or c<C>w<W>. */
    public String setting() {
        return setting;
    }

    /** Whether a bf16 linear of {@code m} rows and inner size {@code k} goes through this plan at all. */
    boolean covers(long m, long k) {
        if (auto) return m >= 1 && m <= MAX_TUNED_ROWS;
        return fixed != null && gemvFits(m, k);
    }

    private static boolean gemvFits(long m, long k) {
        return m >= 1 && m <= MAX_GEMV_ROWS && k % 8 == 0;
    }

    /** Instantiations that serve {@code m} rows: for each (C, W), the smallest R >= m. */
    public static List<Gemv> candidates(int m) {
        Map<String, Gemv> best = new LinkedHashMap<>();
        for (Gemv g : ALL) {
            if (g.rows() < m) continue;
            best.merge(g.config(), g, (a, b) -> a.rows() <= b.rows() ? a : b);
        }
        return List.copyOf(best.values());
    }

    /** The method already chosen for {@code shape}; null before its first {@link #choose}. */
    Method chosen(Shape shape) {
        Choice c = chosen.get(shape);
        return c == null ? null : c.method();
    }

    /**
     * The method for {@code shape}. With {@code auto} and {@code canTime}, an unseen shape is timed now: cuBLAS,
     * {@code ltAlgorithms} (cuBLASLt's, in its order; empty where there is none) and the gemv candidates, run by
     * {@code runner} on {@code device} ({@code runner} may be null when {@code canTime} is false). The caller then runs
     * the chosen method once more for the output.
     */
    Method choose(Shape shape, boolean canTime, Gpu device, java.util.function.Supplier<List<Lt>> ltAlgorithms, Runner runner) {
        Choice c = chosen.get(shape);
        if (c != null) return c.method();
        if (fixed != null) {
            Gemv g = candidates(shape.m()).stream().filter(x -> x.columns() == fixed[0] && x.warps() == fixed[1]).findFirst().orElse(null);
            String note = g != null ? "fixed: " + setting
                    : setting + " serves at most " + ALL.stream().filter(x -> x.config().equals(setting)).mapToInt(Gemv::rows).max().orElse(0) + " rows";
            chosen.put(shape, new Choice(g != null ? g : CUBLAS, Double.NaN, Double.NaN, note));
            return g != null ? g : CUBLAS;
        }
        if (!auto || !canTime) {
            chosen.put(shape, new Choice(CUBLAS, Double.NaN, Double.NaN, auto ? "met during graph capture: not timed" : "cublas"));
            return CUBLAS;
        }
        List<Method> options = new ArrayList<>();
        options.add(CUBLAS);
        options.addAll(ltAlgorithms.get());
        if (gemvFits(shape.m(), shape.k())) options.addAll(candidates(shape.m()));
        c = tune(options, device, runner);
        chosen.put(shape, c);
        return c.method();
    }

    /** {@code options.get(0)} is cuBLAS's default, the reference the others are reported against. */
    private static Choice tune(List<Method> options, Gpu device, Runner runner) {
        double[][] samples = new double[options.size()][RUNS * ROUNDS];
        for (Method m : options) runner.run(m);   // warm-up: module load, cuBLAS's first call
        for (int round = 0; round < ROUNDS; round++) {
            for (int i = 0; i < options.size(); i++) {
                Method m = options.get(i);
                double[] t = device.time(() -> runner.run(m), RUNS);
                System.arraycopy(t, 0, samples[i], round * RUNS, RUNS);
            }
        }
        double[] median = new double[options.size()];
        for (int i = 0; i < median.length; i++) median[i] = median(samples[i]);
        Integer[] order = new Integer[options.size()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> median[i]).thenComparingInt(i -> i));
        StringBuilder timings = new StringBuilder();
        for (int i : order) {
            if (timings.length() > 0) timings.append(", ");
            timings.append(options.get(i).label()).append(String.format(Locale.ROOT, " %.1f", median[i]));
        }
        int best = order[0];
        return new Choice(options.get(best), median[best], median[0], timings.toString());
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    /**
     * The choices so far, one line per shape, e.g. {@code m1 n18432 k2304: gemv_r1_c2_w4 31.2 us (cublas 46.1 us;
     * medians in us: c2w4 31.2, lt3 40.0, cublas 46.1, ...)}.
     */
    public List<String> describe() {
        List<String> out = new ArrayList<>();
        chosen.forEach((s, c) -> out.add(s + ": " + c.method().kernel() + (Double.isNaN(c.micros())
                ? (c.note().equals("cublas") ? "" : " (" + c.note() + ")")
                : String.format(Locale.ROOT, " %.1f us (cublas %.1f us; medians in us: %s)", c.micros(), c.cublasMicros(), c.note()))));
        return out;
    }

    /** Each shape met so far and its choice, in the order met. */
    public Map<Shape, Choice> choices() {
        return java.util.Collections.unmodifiableMap(chosen);
    }
}
