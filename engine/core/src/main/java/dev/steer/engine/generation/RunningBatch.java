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

    private RunningBatch(CausalLm model, GenerationOptions opts, List<GenerationRequest> requests, PaddedPrompts padded, int capacity) {
        this.model = model;
        this.backend = model.backend();
        this.dims = model.dims();
        this.opts = opts;
        int batch = requests.size();
        this.slots = new Row[batch];
        this.padLeft = padded.padLeft().clone();
        this.promptEnd = new int[batch];
        Arrays.fill(promptEnd, padded.length());
        boolean[] bos = new boolean[batch];
        for (int r = 0; r < batch; r++) {
            GenerationRequest q = requests.get(r);
            slots[r] = new Row(q, r, opts.maxNewTokens(), opts.seed(), q.promptIds().length);
            bos[r] = padded.firstToken(r) == dims.bosId();
        }
        this.plan = plan();
        this.telemetry = new NormTelemetry(dims.layers(), bos);
        this.cache = model.newCache(batch, capacity);
        this.scope = backend.openScope();
        this.hook = newHook();
    }

    /**
     * Prefills {@code requests} as one left-padded batch and chooses each row's first token. {@code capacity}: cache
     * slots per row, at least the longest prompt plus {@code maxNewTokens} (more leaves room for rows that join).
     */
    static RunningBatch prefill(CausalLm model, List<GenerationRequest> requests, GenerationOptions opts, int capacity) {
        List<int[]> ids = new ArrayList<>();
        for (GenerationRequest r : requests) ids.add(r.promptIds());
        PaddedPrompts padded = PaddedPrompts.of(ids, model.dims().padId());
        if (capacity < padded.length() + opts.maxNewTokens())
            throw new IllegalArgumentException("cache capacity " + capacity + " < prompt " + padded.length() + " + " + opts.maxNewTokens() + " new tokens");
        RunningBatch b = new RunningBatch(model, opts, requests, padded, capacity);
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
                for (Row r : slots) r.promptLogits = Arrays.copyOfRange(all, r.slot * dims.vocab(), (r.slot + 1) * dims.vocab());
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
            r.take(next[r.slot], dims.isEos(next[r.slot]), opts);
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
        for (Row r : slots) {
            if (r == null) continue;
            feed[r.slot] = r.finished() ? dims.padId() : r.feeding() ? r.nextPromptToken() : r.lastToken();
        }
        for (int s = 0; s < slots.length; s++) if (slots[s] == null) feed[s] = dims.padId();
        return feed;
    }

    /** Whether the tokens in flight end every row by length (so no step is worth recording ahead). */
    boolean lastStepForSure() {
        for (Row r : slots) if (r != null && !r.finished() && (r.feeding() || r.produced() + 1 < opts.maxNewTokens())) return false;
        return true;
    }

    /**
     * The next token of each slot, greedy or sampled, queued. A row draws its uniform only at the steps whose token
     * it takes, in step order, so its tokens are the same alone, in any batch, eager or look-ahead.
     */
    Pending<int[]> chooseLater(Tensor logits) {
        if (opts.temperature() == 0) return backend.argmaxLater(logits);
        double[] u = new double[slots.length];
        for (Row r : slots) {
            if (r == null || r.finished()) continue;
            boolean takes = !r.feeding() || r.fed + 1 == r.request.promptIds().length;
            if (takes) u[r.slot] = r.rng.nextDouble();
        }
        return backend.sampleLater(logits, opts.temperature(), opts.topP(), u);
    }

    /** One eager decode step for every live row; false when no row is left (or none was live). */
    public boolean step(IntConsumer progress) {
        int[] first = prefillTokens();
        if (first != null && !take(first, progress)) return false;
        if (!live()) return false;
        int[] next;
        Runnable norms;
        try (Scope step = backend.openScope()) {
            Tensor logits = forward(backend.ints(feed(), slots.length, 1), decodeLayout());
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
        int s = 0;
        while (s < slots.length && slots[s] != null) s++;
        if (s == slots.length) throw new IllegalStateException("no free slot in a batch of " + slots.length);
        int past = cache.length();
        if (past + request.promptIds().length + opts.maxNewTokens() > cache.capacity())
            throw new IllegalStateException("the cache has " + (cache.capacity() - past) + " slots left, the request needs "
                    + (request.promptIds().length + opts.maxNewTokens()));
        Row row = new Row(request, s, opts.maxNewTokens(), opts.seed(), 0);
        slots[s] = row;
        padLeft[s] = past;
        promptEnd[s] = past + request.promptIds().length;
        telemetry.reset(s, request.promptIds()[0] == dims.bosId());
        replan();
        return row;
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
