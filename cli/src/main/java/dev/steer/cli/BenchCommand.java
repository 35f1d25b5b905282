package dev.steer.cli;

import dev.steer.engine.BadInputException;
import dev.steer.engine.backend.Backend;
import dev.steer.engine.generation.GenerationOptions;
import dev.steer.engine.generation.GenerationRequest;
import dev.steer.engine.generation.GenerationStats;
import dev.steer.engine.generation.Generator;
import dev.steer.engine.model.CausalLm;
import dev.steer.engine.steering.Positions;
import dev.steer.engine.steering.SteeringSpec;
import dev.steer.engine.steering.SteeringVector;
import dev.steer.models.LoadedModel;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Measure prefill and decode speed (tokens/s, ms per decode step) per batch size, for three "
                + "variants of the same run: plain (no hook), telemetry (norms measured at the hooked layer), "
                + "steered (steering add + telemetry), and their overhead against plain. Prompts are random token "
                + "ids (BOS first), greedy, EOS ignored.",
                "Example: steer bench --random gemma-2-2b --backend cuda --batch 1,8,64 --prompt-len 64 --max-new-tokens 128"})
final class BenchCommand implements Callable<Integer> {
    static final class Source {
        @Option(names = "--model", paramLabel = "DIR", description = "Hugging Face checkpoint directory.")
        Path model;

        @Option(names = "--random", paramLabel = "SHAPE", description = "Random weights of a named shape: gemma-2-2b, tiny.")
        String random;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    @Mixin
    BackendOptions backend;

    @Option(names = "--batch", split = ",", defaultValue = "1,8", paramLabel = "B,...", description = "Batch sizes. Default: ${DEFAULT-VALUE}.")
    List<Integer> batches;

    @Option(names = "--prompt-len", defaultValue = "64", paramLabel = "N", description = "Default: ${DEFAULT-VALUE}.")
    int promptLen;

    @Option(names = {"--max-new-tokens", "--new-tokens"}, defaultValue = "128", paramLabel = "N",
            description = "Tokens generated per row (EOS ignored, so exactly N); --new-tokens is the old name. Default: ${DEFAULT-VALUE}.")
    int newTokens;

    @Option(names = "--layer", paramLabel = "L", description = "Hooked layer. Default: the middle layer.")
    Integer layer;

    @Option(names = "--temperature", defaultValue = "0", paramLabel = "T",
            description = "0: greedy (token choice by argmax on the device); above 0: sampled, seeded. Default: ${DEFAULT-VALUE}.")
    double temperature;

    @Option(names = "--top-p", defaultValue = "1", paramLabel = "P", description = "Nucleus mass when sampling, in (0, 1]. Default: ${DEFAULT-VALUE}.")
    double topP;

    @Option(names = "--repeats", defaultValue = "1", paramLabel = "N", description = "Timed repeats per variant (best kept). Default: ${DEFAULT-VALUE}.")
    int repeats;

    @Option(names = "--serve", description = "Bench the continuous-batching scheduler instead (what steer serve runs): "
            + "closed-loop clients, each request steered by one of K configurations; tokens/s and p50/p99 time to first "
            + "token and between tokens, per client count (K = 1) and per K (at the largest client count).")
    boolean serve;

    @Option(names = "--clients", split = ",", defaultValue = "1,8,32,64", paramLabel = "C,...",
            description = "With --serve: concurrent clients. Default: ${DEFAULT-VALUE}.")
    List<Integer> clients;

    @Option(names = "--configs", split = ",", defaultValue = "1,8,64", paramLabel = "K,...",
            description = "With --serve: distinct steering configurations among the requests. Default: ${DEFAULT-VALUE}.")
    List<Integer> configs;

    @Option(names = "--requests", defaultValue = "4", paramLabel = "N", description = "With --serve: requests per client. Default: ${DEFAULT-VALUE}.")
    int requests;

    @Option(names = "--max-batch", defaultValue = "64", paramLabel = "N", description = "With --serve: rows decoded together. Default: ${DEFAULT-VALUE}.")
    int maxBatch;

    @Mixin
    OutputFormat format;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    private record Variant(String name, boolean measure, boolean steer) {
    }

    @Override
    public Integer call() {
        if (promptLen < 1) throw new BadInputException("--prompt-len: must be at least 1, was " + promptLen);
        if (newTokens < 2) throw new BadInputException("--max-new-tokens: must be at least 2, was " + newTokens);
        for (int b : batches) if (b < 1) throw new BadInputException("--batch: sizes must be at least 1, was " + b);
        if (!(temperature >= 0) || Double.isInfinite(temperature)) throw new BadInputException("--temperature: must be 0 or positive, was " + temperature);
        if (!(topP > 0 && topP <= 1)) throw new BadInputException("--top-p: must be in (0, 1], was " + topP);
        var out = spec.commandLine().getOut();
        try (Backend b = backend.open()) {
            // On the cpu backend every figure comes with its floor: measured here, before the weights take the memory.
            ReadBandwidth bandwidth = b.name().equals("cpu") ? ReadBandwidth.measure(b, backendThreads(b)) : null;
            long t0 = System.nanoTime();
            LoadedModel m = source.model != null ? LoadedModel.open(source.model, b) : LoadedModel.random(source.random, 1234, b);
            double loadSeconds = (System.nanoTime() - t0) / 1e9;
            CausalLm lm = m.lm();
            int hooked = layer == null ? lm.dims().layers() / 2 : layer;
            SplittableRandom rnd = new SplittableRandom(7);
            float[] direction = new float[lm.dims().hidden()];
            for (int i = 0; i < direction.length; i++) direction[i] = (float) rnd.nextGaussian();
            SteeringSpec steerSpec = new SteeringSpec(hooked, new SteeringVector(direction, "random"), 0.5, Positions.ALL);
            steerSpec.checkAgainst(lm.dims());
            if (serve) {
                serveBench(out, m, b, hooked, loadSeconds);
                m.close();
                return 0;
            }
            List<Variant> variants = List.of(new Variant("plain", false, false), new Variant("telemetry", true, false),
                    new Variant("steered", true, true));
            List<Map<String, Object>> rows = new ArrayList<>();
            Generator gen = new Generator(lm);
            long weightBytes = b.stats().get("weight_bytes") instanceof Long l ? l : -1;
            Double floorMs = bandwidth != null && weightBytes > 0 ? bandwidth.floorMillis(weightBytes) : null;
            if (!format.json()) {
                out.printf("model %s, backend %s (%s), prompt %d, new tokens %d, %s, hook blocks.%d.hook_resid_post, load %.1f s%n",
                        m.source(), b.name(), b.device(), promptLen, newTokens, sampling(), hooked, loadSeconds);
                if (floorMs != null)
                    out.printf("floor: read bandwidth %.1f GB/s before loading (%d threads, %s, %d MiB buffer, best of %d passes); weights %.3f GB, "
                            + "so a decode step needs at least %.3f ms; each row's floor is measured again, reading %s, just before and after "
                            + "its best run (the higher bandwidth of the two, best of %d passes each)%n", bandwidth.gbPerSecond(), bandwidth.threads(),
                            bandwidth.method(), bandwidth.bufferBytes() >> 20, bandwidth.passes(), weightBytes / 1e9, floorMs, adjacentMethod(b), ADJACENT_PASSES);
                out.printf("%6s %-10s %14s %14s %12s %10s", "batch", "variant", "prefill tok/s", "decode tok/s", "ms/step", "overhead");
                out.println(floorMs != null ? String.format(" %10s %9s %8s", "floor ms", "of floor", "GB/s") : "");
            }
            for (int batch : batches) {
                List<int[]> prompts = new ArrayList<>();
                for (int r = 0; r < batch; r++) {
                    int[] ids = new int[promptLen];
                    ids[0] = lm.dims().bosId();
                    for (int t = 1; t < promptLen; t++) ids[t] = 3 + rnd.nextInt(lm.dims().vocab() - 3);
                    prompts.add(ids);
                }
                // Warm-up, full length and steered: first calls pay for JIT, allocation and (on cuda) kernel loading.
                gen.generate(requests(prompts, steerSpec), new GenerationOptions(newTokens, temperature, topP, 0, false, null, false));
                // Repeats outermost, variants interleaved: drift (JIT, allocator, clocks) hits every variant alike.
                GenerationStats[] best = new GenerationStats[variants.size()];
                // The host's bandwidth drifts (a shared VM's moved 26-50 GB/s within minutes), so each run's floor is
                // measured right before and right after it; a row's floor is the higher bandwidth of its best run's.
                double[] runBandwidth = new double[variants.size()];
                for (int i = 0; i < Math.max(1, repeats); i++) {
                    for (int v = 0; v < variants.size(); v++) {
                        Variant var = variants.get(v);
                        GenerationOptions opts = new GenerationOptions(newTokens, temperature, topP, 0, false,
                                var.measure && !var.steer ? new int[] {hooked} : null, false);
                        double before = bandwidth != null ? adjacentBandwidth(b, bandwidth.threads()) : 0;
                        gen.generate(requests(prompts, var.steer ? steerSpec : null), opts);
                        GenerationStats s = gen.lastStats();
                        double after = bandwidth != null ? adjacentBandwidth(b, bandwidth.threads()) : 0;
                        if (best[v] == null || s.decodeNanos() < best[v].decodeNanos()) {
                            best[v] = s;
                            runBandwidth[v] = Math.max(before, after);
                        }
                    }
                }
                // The floor at the same moments as the steps: one more plain run, each decode step followed by the
                // passes of the kind beside the runs (the bandwidth beside a whole run is the best of a few passes, on a VM
                // whose bandwidth moves within a second: measured 30-55 GB/s between consecutive runs).
                // Not for weights smaller than the buffer: there a pass after each step evicts weights a step would
                // find in the caches (tiny model: 0.2 -> 0.7-0.95 ms a step), and the floor means nothing.
                Interleaved inter = floorMs != null && weightBytes >= ReadBandwidth.BUFFER_BYTES
                        ? interleaved(gen, b, bandwidth.threads(), requests(prompts, null),
                                new GenerationOptions(newTokens, temperature, topP, 0, false, null, false), weightBytes)
                        : null;
                double plainDecode = best[0].decodeTokensPerSecond();
                for (int v = 0; v < variants.size(); v++) {
                    Variant var = variants.get(v);
                    double prefill = best[v].prefillTokensPerSecond((long) batch * promptLen);
                    double decode = best[v].decodeTokensPerSecond();
                    double overhead = plainDecode / decode - 1;
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("batch", batch);
                    row.put("variant", var.name);
                    row.put("prefill_tokens_per_s", prefill);
                    row.put("decode_tokens_per_s", decode);
                    row.put("decode_ms_per_step", best[v].decodeMillisPerStep());
                    row.put("overhead_vs_plain", overhead);
                    row.put("peak_memory_bytes", peakDeviceMemory(b));
                    row.put("peak_rss_bytes", ProcessMemory.peakRssBytes());
                    // the floor's share of the step: 100% is a step that only streams the weights
                    Double rowFloor = floorMs != null ? weightBytes / runBandwidth[v] * 1e3 : null;
                    if (rowFloor != null) {
                        row.put("read_bandwidth_bytes_per_s", runBandwidth[v]);
                        row.put("floor_ms_per_step", rowFloor);
                        row.put("of_floor", rowFloor / best[v].decodeMillisPerStep());
                    }
                    if (v == 0 && inter != null) {
                        row.put("interleaved_steps", inter.steps());
                        row.put("interleaved_ms_per_step", inter.stepMillis());
                        row.put("interleaved_floor_ms_per_step", inter.floorMillis());
                        row.put("interleaved_of_floor", inter.ofFloor());
                    }
                    rows.add(row);
                    if (!format.json()) {
                        out.printf("%6d %-10s %14.1f %14.1f %12.3f %9.1f%%", batch, var.name, prefill, decode,
                                best[v].decodeMillisPerStep(), 100 * overhead);
                        out.println(rowFloor != null ? String.format(" %10.3f %8.1f%% %8.1f", rowFloor, 100 * rowFloor / best[v].decodeMillisPerStep(),
                                runBandwidth[v] / 1e9) : "");
                    }
                }
                if (!format.json() && inter != null)
                    out.printf("%6d %-10s %d decode steps of %.3f ms, each followed by %d passes over %s (the fastest counts): a floor of %.3f ms a "
                            + "step = %.1f%% of floor at the same moments%n", batch, "interleaved", inter.steps(), inter.stepMillis(), ADJACENT_PASSES, adjacentMethod(b),
                            inter.floorMillis(), 100 * inter.ofFloor());
            }
            if (format.json()) {
                Map<String, Object> o = CommandJson.header(m.source(), b.name(), b.device());
                o.put("prompt_len", promptLen);
                o.put("max_new_tokens", newTokens);
                o.put("new_tokens", newTokens);
                o.put("token_choice", sampling());
                o.put("hook", "blocks." + hooked + ".hook_resid_post");
                o.put("load_seconds", loadSeconds);
                o.put("peak_memory_bytes", peakDeviceMemory(b));
                o.put("peak_rss_bytes", ProcessMemory.peakRssBytes());
                if (floorMs != null) {
                    Map<String, Object> floor = new LinkedHashMap<>();
                    floor.put("read_bandwidth_bytes_per_s", bandwidth.bytesPerSecond());
                    floor.put("threads", bandwidth.threads());
                    floor.put("buffer_bytes", bandwidth.bufferBytes());
                    floor.put("passes", bandwidth.passes());
                    floor.put("method", bandwidth.method());
                    floor.put("beside_runs", adjacentMethod(b));
                    floor.put("beside_runs_passes", ADJACENT_PASSES);
                    floor.put("weight_bytes", weightBytes);
                    floor.put("ms_per_step", floorMs);
                    o.put("floor", floor);
                }
                o.put("backend_stats", b.stats());
                o.put("runs", rows);
                CommandJson.print(out, o);
            } else {
                if (b.peakMemoryBytes() >= 0) out.printf("peak device memory %.2f GiB%n", b.peakMemoryBytes() / (double) (1L << 30));
                Long rss = ProcessMemory.peakRssBytes();
                if (rss != null) out.printf("peak resident memory %.2f GiB%n", rss / (double) (1L << 30));
                // scalars on one line; lists (the linear-layer plan's choices) one entry per line
                Map<String, Object> scalars = new LinkedHashMap<>();
                b.stats().forEach((k, v) -> {
                    if (!(v instanceof List<?>)) scalars.put(k, v);
                });
                if (!scalars.isEmpty()) out.println("backend stats " + scalars);
                b.stats().forEach((k, v) -> {
                    if (v instanceof List<?> l && !l.isEmpty()) {
                        out.println(k + ":");
                        l.forEach(e -> out.println("  " + e));
                    }
                });
            }
            m.close();
        }
        return 0;
    }

    /** {@code --serve}: per client count at K = 1, then per K at the largest client count. */
    private void serveBench(java.io.PrintWriter out, LoadedModel m, Backend b, int hooked, double loadSeconds) {
        for (int c : clients) if (c < 1) throw new BadInputException("--clients: counts must be at least 1, was " + c);
        for (int k : configs) if (k < 1) throw new BadInputException("--configs: counts must be at least 1, was " + k);
        if (requests < 1) throw new BadInputException("--requests: must be at least 1, was " + requests);
        if (maxBatch < 1) throw new BadInputException("--max-batch: must be at least 1, was " + maxBatch);
        int most = clients.stream().mapToInt(Integer::intValue).max().orElseThrow();
        // Room for a batch's worth of joins before it must drain: joins write after the cache's current length.
        int capacity = (promptLen + newTokens) * (requests + 2);
        List<int[]> grid = new ArrayList<>();
        for (int c : clients) grid.add(new int[] {c, 1});
        for (int k : configs) if (k != 1 || !clients.contains(most)) grid.add(new int[] {most, k});
        if (!format.json()) {
            out.printf("model %s, backend %s (%s), prompt %d, new tokens %d, greedy, %d requests per client, max batch %d, "
                    + "cache %d slots per row, steering at blocks.%d.hook_resid_post, load %.1f s%n", m.source(), b.name(),
                    b.device(), promptLen, newTokens, requests, maxBatch, capacity, hooked, loadSeconds);
            out.printf("%7s %7s %12s %12s %12s %12s %12s%n", "clients", "configs", "tokens/s", "ttft p50 ms", "ttft p99 ms", "itl p50 ms", "itl p99 ms");
        }
        List<Map<String, Object>> rows = new ArrayList<>();
        try {
            // warm-up at full concurrency: JIT and (on cuda) kernel loading and graph capture
            ServingBench.run(m.lm(), most, 1, requests, promptLen, newTokens, hooked, maxBatch, capacity);
            for (int[] g : grid) {
                ServingBench.Result r = ServingBench.run(m.lm(), g[0], g[1], requests, promptLen, newTokens, hooked, maxBatch, capacity);
                rows.add(ServingBench.json(r));
                if (!format.json())
                    out.printf("%7d %7d %12.1f %12.2f %12.2f %12.3f %12.3f%n", r.clients(), r.configs(), r.tokensPerSecond(),
                            ServingBench.percentile(r.ttftMillis(), 50), ServingBench.percentile(r.ttftMillis(), 99),
                            ServingBench.percentile(r.itlMillis(), 50), ServingBench.percentile(r.itlMillis(), 99));
            }
        } catch (Exception e) {
            throw new IllegalStateException("serve bench failed: " + e.getMessage(), e);
        }
        if (format.json()) {
            Map<String, Object> o = CommandJson.header(m.source(), b.name(), b.device());
            o.put("mode", "serve");
            o.put("prompt_len", promptLen);
            o.put("max_new_tokens", newTokens);
            o.put("new_tokens", newTokens);
            o.put("requests_per_client", requests);
            o.put("max_batch", maxBatch);
            o.put("cache_slots_per_row", capacity);
            o.put("hook", "blocks." + hooked + ".hook_resid_post");
            o.put("runs", rows);
            CommandJson.print(out, o);
        }
    }

    /** The backend's peak device memory, null where it cannot tell (cpu): JSON null, not -1. */
    private static Long peakDeviceMemory(Backend b) {
        long peak = b.peakMemoryBytes();
        return peak >= 0 ? peak : null;
    }

    /** Decode steps each followed by a pass over the weights: their mean times, the pass's scaled to every weight byte. */
    record Interleaved(int steps, double stepMillis, double floorMillis) {
        double ofFloor() {
            return floorMillis / stepMillis;
        }
    }

    /**
     * One generation whose every decode step is followed (in the progress callback, outside the step's timing) by the
     * passes of {@link #adjacentBandwidth} (the backend's weights in place where they are larger than the caches; one
     * pass of each read pattern where the backend has several);
     * a step's time runs from the end of the previous callback to the start of its own.
     */
    private static Interleaved interleaved(Generator gen, Backend b, int threads, List<GenerationRequest> reqs, GenerationOptions opts,
                                           long weightBytes) {
        long[] mark = {0};
        double[] stepNanos = {0}, floorNanos = {0};
        int[] steps = {0};
        gen.generate(reqs, opts, fresh -> {
            long enter = System.nanoTime();
            if (mark[0] != 0) {
                stepNanos[0] += enter - mark[0];
                steps[0]++;
                floorNanos[0] += weightBytes / adjacentBandwidth(b, threads) * 1e9;
            }
            mark[0] = System.nanoTime();
        });
        return new Interleaved(steps[0], stepNanos[0] / 1e6 / steps[0], floorNanos[0] / 1e6 / steps[0]);
    }

    /**
     * Passes of each floor measured beside a run (the one before loading takes {@link ReadBandwidth#PASSES}): three, so
     * that the cpu kernels' pass reads once in each of its patterns (one stream, 4 streams 8 KiB apart, 4 streams 32 KiB
     * apart) and the fastest counts.
     */
    static final int ADJACENT_PASSES = 3;

    /**
     * The bandwidth beside a run: the backend streaming its own weights in place where it can and they are far larger
     * than the caches (the memory a step reads, for as long as a step takes), else the buffer pass.
     */
    private static double adjacentBandwidth(Backend b, int threads) {
        return adjacentBandwidth(b, threads, ADJACENT_PASSES);
    }

    private static double adjacentBandwidth(Backend b, int threads, int passes) {
        double w = inPlace(b) ? b.weightReadBandwidth(passes) : Double.NaN;
        return w > 0 ? w : ReadBandwidth.measure(b, threads, passes).bytesPerSecond();
    }

    private static boolean inPlace(Backend b) {
        return b.weightReadBytes() >= ReadBandwidth.BUFFER_BYTES;
    }

    /** What the floors beside the runs read, in words. */
    private static String adjacentMethod(Backend b) {
        if (inPlace(b)) return String.format("the %.3f GB of weight matrices read in place", b.weightReadBytes() / 1e9);
        return b.weightReadBytes() > 0 ? "the buffer (the weights are smaller than it)" : "the buffer (this backend cannot read its weights in place)";
    }

    /** The threads the backend computes on (what its floor is measured with): its own count, else the cores. */
    private static int backendThreads(Backend b) {
        return b.stats().get("intra_op_threads") instanceof Integer n ? n : Runtime.getRuntime().availableProcessors();
    }

    private String sampling() {
        return temperature == 0 ? "greedy" : "sampled (temperature " + temperature + ", top-p " + topP + ")";
    }

    private static List<GenerationRequest> requests(List<int[]> prompts, SteeringSpec spec) {
        List<GenerationRequest> reqs = new ArrayList<>();
        for (int[] p : prompts) reqs.add(new GenerationRequest(p, spec == null ? List.of() : List.of(spec)));
        return reqs;
    }
}
