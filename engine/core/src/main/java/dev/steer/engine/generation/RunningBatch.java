package dev.steer.engine.generation;

import dev.steer.engine.backend.Backend;
import dev.steer.engine.backend.KvCache;
import dev.steer.engine.backend.PaddedPrompts;
import dev.steer.engine.backend.Pending;
import dev.steer.engine.backend.Scope;
import dev.steer.engine.backend.StepLayout;
import dev.steer.engine.backend.Tensor;
import dev.steer.engine.model.CausalLm;
import dev.steer.engine.model.ModelDims;
import dev.steer.engine.steering.SteeringPlan;
import dev.steer.engine.steering.SteeringSpec;
import dev.steer.engine.telemetry.HookTelemetry;
import dev.steer.engine.telemetry.NormTelemetry;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * A batch being generated: its rows in KV-cache slots, each with its own steering, the cache, the steering plan and
 * the norm telemetry. It is prefilled once (prompts left-padded together), then advanced one token per row per
 * decode step. Between steps a row may leave ({@link #leave}, its slot is free) and a new request may join a free
 * slot ({@link #join}): the newcomer's slots before the join count as padding for it, and its prompt is fed one
 * token per step while the others generate, so its positions, attention and telemetry are what it would have had
 * alone. A change of rows makes a new {@link SteeringPlan}; the plan itself never changes.
 */
public final class RunningBatch implements AutoCloseable {
    private final CausalLm model;
    private final Backend backend;
    private final ModelDims dims;
    private final GenerationOptions opts;
    private final Row[] slots;
    private final int[] padLeft;
    private final int[] promptEnd;
    private final KvCache cache;
    private final Scope scope;
    private final NormTelemetry telemetry;
    private SteeringPlan plan;
    private StepHook hook;
    /** The prefill's tokens until a strategy hands them to the rows ({@link #prefillTokens}). */
    private int[] prefillTokens;

    private RunningBatch(CausalLm model, GenerationOptions opts, List<GenerationRequest> requests,
                         List<GenerationOptions> rowOptions, PaddedPrompts padded, int capacity) {
        this.model = model;
        this.backend = model.backend();
        this.dims = model.dims();
        this.opts = opts;
        int batch = padded.batch();
        this.slots = new Row[batch];
        this.padLeft = padded.padLeft().clone();
        this.promptEnd = new int[batch];
        Arrays.fill(promptEnd, padded.length());
        for (int r = 0; r < requests.size(); r++) {
            GenerationRequest q = requests.get(r);
            slots[r] = new Row(q, r, rowOptions.get(r), q.promptIds().length);
        }
        this.plan = plan();
        this.telemetry = new NormTelemetry(dims.layers(), NormTelemetry.startsWithBos(padded, dims.bosId()));
        for (int r = requests.size(); r < batch; r++) telemetry.stop(r);
        this.cache = model.newCache(batch, capacity);
        this.scope = backend.openScope();
        this.hook = newHook();
    }

    /**
     * Prefills {@code requests} as one left-padded batch and chooses each row's first token. {@code capacity}: cache
     * slots per row, at least the longest prompt plus {@code maxNewTokens} (more leaves room for rows that join).
     */
    static RunningBatch prefill(CausalLm model, List<GenerationRequest> requests, GenerationOptions opts, int capacity) {
        return prefill(model, requests, java.util.Collections.nCopies(requests.size(), opts), opts, requests.size(), capacity);
    }

    /**
     * As above with each request's own options ({@code batch} gives the layers measured for every row and whether
     * prompt logits are kept) and {@code slots} ≥ requests rows, the rest free for requests that join later (their
     * prefill slot holds one pad token, which nobody reads).
     */
    public static RunningBatch prefill(CausalLm model, List<GenerationRequest> requests, List<GenerationOptions> rowOptions,
                                       GenerationOptions batch, int slots, int capacity) {
        if (requests.isEmpty()) throw new IllegalArgumentException("no requests to prefill");
        if (slots < requests.size()) throw new IllegalArgumentException(slots + " slots for " + requests.size() + " requests");
        for (int r = 0; r < requests.size(); r++)
            model.dims().checkContext(requests.get(r).promptIds().length, rowOptions.get(r).maxNewTokens());
        List<int[]> ids = new ArrayList<>();
        for (GenerationRequest r : requests) ids.add(r.promptIds());
        while (ids.size() < slots) ids.add(new int[] {model.dims().padId()});
        PaddedPrompts padded = PaddedPrompts.of(ids, model.dims().padId());
        int longest = 0;
        for (int r = 0; r < requests.size(); r++) longest = Math.max(longest, rowOptions.get(r).maxNewTokens());
        if (capacity < padded.length() + longest)
            throw new IllegalArgumentException("cache capacity " + capacity + " < prompt " + padded.length() + " + " + longest + " new tokens");
        RunningBatch b = new RunningBatch(model, batch, requests, rowOptions, padded, capacity);
        try {
            b.prefill(padded);
        } catch (RuntimeException e) {
            b.close();
            throw e;
        }
        return b;
    }

    private void prefill(PaddedPrompts padded) {
        int[] next;
        try (Scope step = backend.openScope()) {
            Tensor logits = model.forward(padded.upload(backend), layout(0, padded.length()), cache, hook, false);
            hook.collect();
            if (opts.keepPromptLogits()) {
                float[] all = backend.toHost(logits);
                for (Row r : rows()) r.promptLogits = Arrays.copyOfRange(all, r.slot * dims.vocab(), (r.slot + 1) * dims.vocab());
            }
            next = chooseLater(logits).get();
        }
        prefillTokens = next;
    }

    /** The prefill's chosen tokens, not yet taken by the rows (once; null after). */
    int[] prefillTokens() {
        int[] t = prefillTokens;
        prefillTokens = null;
        return t;
    }

    private SteeringPlan plan() {
        List<List<SteeringSpec>> rows = new ArrayList<>();
        for (Row r : slots) rows.add(r == null ? List.of() : r.request.steering());
        return SteeringPlan.of(rows, opts.measureLayers(), dims);
    }

    private StepHook newHook() {
        // Between steps the batch's own scope is the backend's current one, so the deltas live as long as the batch.
        StepHook h = new StepHook(backend, plan, telemetry, dims.hidden(), null);
        h.upload();
        return h;
    }

    Backend backend() {
        return backend;
    }

    KvCache cache() {
        return cache;
    }

    StepHook hook() {
        return hook;
    }

    /** The layout of the next step of {@code steps} tokens per row. */
    StepLayout layout(int past, int steps) {
        return new StepLayout(slots.length, past, steps, padLeft.clone(), promptEnd.clone());
    }

    /** The layout of the next decode step. */
    StepLayout decodeLayout() {
        return layout(cache.length(), 1);
    }

    Tensor forward(Tensor ids, StepLayout layout) {
        return model.forward(ids, layout, cache, hook, false);
    }

    /**
     * Hands each row the token its last step chose: a generating row appends it, a row feeding its prompt appends it
     * only after its last prompt token. Rows that finish stop counting in telemetry. False when no row is left.
     */
    boolean take(int[] next, IntConsumer progress) {
        int fresh = 0;
        for (Row r : slots) {
            if (r == null || r.finished()) continue;
            if (r.feeding()) {
                r.fed++;
                if (r.feeding()) continue;   // its prompt goes on: this step's token is not an answer yet
            }
            r.take(next[r.slot], dims.isEos(next[r.slot]));
            fresh++;
            if (r.finished()) telemetry.stop(r.slot);
        }
        if (progress != null) progress.accept(fresh);
        return live();
    }

    /** Whether any row is still generating or feeding its prompt. */
    public boolean live() {
        for (Row r : slots) if (r != null && !r.finished()) return true;
        return false;
    }

    /** Each slot's input for the next step: its last token, its next prompt token, or the pad id. */
    int[] feed() {
        int[] feed = new int[slots.length];
        for (int s = 0; s < slots.length; s++) {
            Row r = slots[s];
            feed[s] = r == null || r.finished() ? dims.padId() : r.feeding() ? r.nextPromptToken() : r.lastToken();
        }
        return feed;
    }

    /** Whether the tokens in flight end every row by length (so no step is worth recording ahead). */
    boolean lastStepForSure() {
        for (Row r : slots) if (r != null && !r.finished() && (r.feeding() || r.produced() + 1 < r.opts.maxNewTokens())) return false;
        return true;
    }

    /**
     * The next token of each slot, greedy or sampled, queued. A row draws its uniform only at the steps whose token
     * it takes, in step order, so its tokens are the same alone, in any batch, eager or look-ahead.
     */
    Pending<int[]> chooseLater(Tensor logits) {
        // Rows of one (temperature, top-p) share one sampling pass; greedy rows one argmax. Usually one pass in all.
        java.util.Map<List<Double>, double[]> passes = new java.util.LinkedHashMap<>();
        boolean greedy = false;
        for (Row r : slots) {
            if (r == null || r.finished()) continue;
            if (r.opts.temperature() == 0) {
                greedy = true;
                continue;
            }
            boolean takes = !r.feeding() || r.fed + 1 == r.request.promptIds().length;
            double[] u = passes.computeIfAbsent(List.of(r.opts.temperature(), r.opts.topP()), k -> new double[slots.length]);
            if (takes) u[r.slot] = r.rng.nextDouble();
        }
        if (passes.isEmpty()) return backend.argmaxLater(logits);
        Pending<int[]> argmax = greedy ? backend.argmaxLater(logits) : null;
        java.util.Map<List<Double>, Pending<int[]>> sampled = new java.util.LinkedHashMap<>();
        for (var e : passes.entrySet())
            sampled.put(e.getKey(), backend.sampleLater(logits, e.getKey().get(0), e.getKey().get(1), e.getValue()));
        if (argmax == null && sampled.size() == 1) return sampled.values().iterator().next();
        Row[] now = slots.clone();
        return () -> {
            int[] out = new int[now.length];
            int[] g = argmax == null ? null : argmax.get();
            java.util.Map<List<Double>, int[]> got = new java.util.HashMap<>();
            for (var e : sampled.entrySet()) got.put(e.getKey(), e.getValue().get());
            for (int s = 0; s < now.length; s++) {
                Row r = now[s];
                if (r == null || r.opts.temperature() == 0) out[s] = g == null ? dims.padId() : g[s];
                else out[s] = got.get(List.of(r.opts.temperature(), r.opts.topP()))[s];
            }
            return out;
        };
    }

    /** Hands the prefill's tokens to the rows now (else the first {@link #step} does); false when no row is left. */
    public boolean takePrefill(IntConsumer progress) {
        int[] first = prefillTokens();
        return first == null ? live() : take(first, progress);
    }

    /** One eager decode step for every live row; false when no row is left (or none was live). */
    public boolean step(IntConsumer progress) {
        int[] first = prefillTokens();
        if (first != null && !take(first, progress)) return false;
        if (!live()) return false;
        int[] next;
        Runnable norms;
        try (Scope step = backend.openScope()) {
            Tensor logits;
            // a backend that records decode steps replays this one (a CUDA graph) when it repeats the last
            backend.beginRepeatedStep(cache);
            try {
                logits = forward(backend.ints(feed(), slots.length, 1), decodeLayout());
            } finally {
                backend.endRepeatedStep();
            }
            norms = hook.collectLater();
            next = chooseLater(logits).get();
        }
        norms.run();
        return take(next, progress);
    }

    /**
     * Places {@code request} in a free slot; its prompt is fed from the next step on. Throws when no slot is free or
     * the cache cannot hold its prompt and answer.
     */
    public Row join(GenerationRequest request) {
        return join(request, opts);
    }

    /** As {@link #join(GenerationRequest)} with the request's own limits and sampling. */
    public Row join(GenerationRequest request, GenerationOptions rowOptions) {
        int s = 0;
        while (s < slots.length && slots[s] != null) s++;
        if (s == slots.length) throw new IllegalStateException("no free slot in a batch of " + slots.length);
        dims.checkContext(request.promptIds().length, rowOptions.maxNewTokens());
        int past = cache.length();
        if (!fits(request, rowOptions))
            throw new IllegalStateException("the cache has " + (cache.capacity() - past) + " slots left, the request needs "
                    + (request.promptIds().length + rowOptions.maxNewTokens()));
        Row row = new Row(request, s, rowOptions, 0);
        slots[s] = row;
        padLeft[s] = past;
        promptEnd[s] = past + request.promptIds().length;
        telemetry.reset(s, request.promptIds()[0] == dims.bosId());
        replan();
        return row;
    }

    /** Whether a slot is free for a request to join. */
    public boolean hasFreeSlot() {
        for (Row r : slots) if (r == null) return true;
        return false;
    }

    /** Whether the cache has room for {@code request}'s prompt and answer if it joined now. */
    public boolean fits(GenerationRequest request, GenerationOptions rowOptions) {
        return cache.length() + request.promptIds().length + rowOptions.maxNewTokens() <= cache.capacity();
    }

    /** Frees {@code row}'s slot (finished or not); its tokens and telemetry stay readable on the row's result. */
    public GenerationResult leave(Row row) {
        if (slots[row.slot] != row) throw new IllegalArgumentException("row is not in this batch");
        GenerationResult result = result(row);
        row.finish();
        telemetry.stop(row.slot);
        slots[row.slot] = null;
        replan();
        return result;
    }

    private void replan() {
        plan = plan();
        hook = newHook();
    }

    /** The rows in slot order (free slots left out). */
    public List<Row> rows() {
        List<Row> out = new ArrayList<>();
        for (Row r : slots) if (r != null) out.add(r);
        return out;
    }

    /** A row's output so far: tokens, whether it stopped at EOS, telemetry per spec, prompt logits if kept. */
    public GenerationResult result(Row r) {
        List<HookTelemetry> t = hook.entries(r.slot);
        return new GenerationResult(r.tokens(), r.stoppedAtEos(), t, r.promptLogits);
    }

    @Override
    public void close() {
        try {
            scope.close();
        } finally {
            cache.close();
        }
    }
}
