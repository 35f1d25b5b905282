package dev.steer.cli;

import dev.steer.engine.generation.GenerationOptions;
import dev.steer.engine.generation.GenerationResult;
import dev.steer.engine.model.CausalLm;
import dev.steer.engine.serving.Job;
import dev.steer.engine.serving.JobListener;
import dev.steer.engine.serving.Scheduler;
import dev.steer.engine.steering.Positions;
import dev.steer.engine.steering.SteeringSpec;
import dev.steer.engine.steering.SteeringVector;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * {@code steer bench --serve}: the continuous-batching scheduler under closed-loop load. C client threads each send
 * requests one after another (random prompt, greedy, EOS ignored), every request steered by one of K distinct
 * configurations (a vector of its own at the hooked layer), all through one {@link Scheduler}. Per (C, K): generated
 * tokens per second over the wall time, and p50/p99 of time to first token (submit to first token) and of the time
 * between a request's tokens. No HTTP: this is the engine the server stands on.
 */
final class ServingBench {
    record Result(int clients, int configs, int requests, long tokens, double seconds, double[] ttftMillis, double[] itlMillis) {
        double tokensPerSecond() {
            return tokens / seconds;
        }
    }

    private ServingBench() {
    }

    static Result run(CausalLm lm, int clients, int configs, int requestsPerClient, int promptLen, int newTokens,
                      int hooked, int maxBatch, int capacity) throws Exception {
        SplittableRandom rnd = new SplittableRandom(11L * clients + configs);
        List<SteeringSpec> specs = new ArrayList<>();
        for (int k = 0; k < configs; k++) {
            float[] v = new float[lm.dims().hidden()];
            for (int i = 0; i < v.length; i++) v[i] = (float) rnd.nextGaussian();
            specs.add(new SteeringSpec(hooked, new SteeringVector(v, "random" + k), 0.5, Positions.ALL));
        }
        List<int[]> prompts = new ArrayList<>();
        for (int i = 0; i < clients * requestsPerClient; i++) {
            int[] ids = new int[promptLen];
            ids[0] = lm.dims().bosId();
            for (int t = 1; t < promptLen; t++) ids[t] = 3 + rnd.nextInt(lm.dims().vocab() - 3);
            prompts.add(ids);
        }
        GenerationOptions opts = new GenerationOptions(newTokens, 0, 1, 0, false, null, false);
        List<Double> ttft = new ArrayList<>(), itl = new ArrayList<>();
        long[] tokens = {0};
        long t0;
        try (Scheduler s = new Scheduler(lm, new Scheduler.Settings(maxBatch, clients * requestsPerClient + 1, capacity, new int[0]))) {
            List<Thread> threads = new ArrayList<>();
            List<Throwable> errors = new ArrayList<>();
            t0 = System.nanoTime();
            for (int c = 0; c < clients; c++) {
                int client = c;
                Thread th = new Thread(() -> {
                    try {
                        for (int r = 0; r < requestsPerClient; r++) {
                            int i = client * requestsPerClient + r;
                            Timed l = new Timed();
                            long submitted = System.nanoTime();
                            s.submit(new Job(prompts.get(i), List.of(specs.get(i % configs)), List.of(), opts), l);
                            GenerationResult res = l.done.get(30, TimeUnit.MINUTES);
                            synchronized (ttft) {
                                ttft.add((l.times.get(0) - submitted) / 1e6);
                                for (int k = 1; k < l.times.size(); k++) itl.add((l.times.get(k) - l.times.get(k - 1)) / 1e6);
                                tokens[0] += res.tokens().length;
                            }
                        }
                    } catch (Exception e) {
                        synchronized (errors) {
                            errors.add(e);
                        }
                    }
                }, "bench-client-" + c);
                threads.add(th);
                th.start();
            }
            for (Thread th : threads) th.join();
            if (!errors.isEmpty()) throw new IllegalStateException("a bench client failed: " + errors.get(0), errors.get(0));
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        return new Result(clients, configs, clients * requestsPerClient, tokens[0], seconds, sorted(ttft), sorted(itl));
    }

    static double percentile(double[] sorted, double p) {
        if (sorted.length == 0) return Double.NaN;
        int i = (int) Math.ceil(p / 100 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    static Map<String, Object> json(Result r) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("clients", r.clients());
        o.put("configs", r.configs());
        o.put("requests", r.requests());
        o.put("tokens", r.tokens());
        o.put("seconds", r.seconds());
        o.put("tokens_per_s", r.tokensPerSecond());
        o.put("ttft_ms_p50", percentile(r.ttftMillis(), 50));
        o.put("ttft_ms_p99", percentile(r.ttftMillis(), 99));
        o.put("itl_ms_p50", percentile(r.itlMillis(), 50));
        o.put("itl_ms_p99", percentile(r.itlMillis(), 99));
        return o;
    }

    private static double[] sorted(List<Double> xs) {
        double[] a = xs.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(a);
        return a;
    }

    /** Arrival times of a request's tokens. */
    private static final class Timed implements JobListener {
        final List<Long> times = new ArrayList<>();
        final CompletableFuture<GenerationResult> done = new CompletableFuture<>();

        @Override
        public void started(List<SteeringSpec> steering) {
        }

        @Override
        public void token(int id) {
            times.add(System.nanoTime());
        }

        @Override
        public void finished(GenerationResult result, boolean cancelled) {
            done.complete(result);
        }

        @Override
        public void failed(RuntimeException error) {
            done.completeExceptionally(error);
        }
    }
}
