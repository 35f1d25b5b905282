package dev.steer.engine.serving;

import dev.steer.engine.generation.GenerationOptions;
import dev.steer.engine.generation.GenerationRequest;
import dev.steer.engine.generation.GenerationResult;
import dev.steer.engine.generation.RatioSteering;
import dev.steer.engine.generation.Row;
import dev.steer.engine.generation.RunningBatch;
import dev.steer.engine.model.CausalLm;
import dev.steer.engine.steering.SteeringSpec;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Continuous batching over one model: jobs wait in a bounded queue; one thread owns the model and a
 * {@link RunningBatch} of up to {@code maxBatch} rows. When nothing runs, the waiting jobs (up to a batch) are
 * prefilled together; while rows run, a waiting job joins a free slot between two decode steps (its prompt fed one
 * token per step beside the others' tokens) if the cache still has room for its prompt and answer, else it waits
 * for the batch to drain. Finished and cancelled rows leave at once, freeing their slots. Each row carries its own
 * steering, limits and sampling, so a request's tokens are what it gets alone, whatever shares its batch.
 */
public final class Scheduler implements AutoCloseable {
    /**
     * @param maxBatch        rows decoded together
     * @param maxQueue        jobs that may wait; one more is refused ({@link QueueFullException})
     * @param capacity        KV-cache slots per row of a batch: bounds prompt + answer, and how long a batch takes joins
     * @param telemetryLayers layers measured for every row (unsteered rows report these)
     */
    public record Settings(int maxBatch, int maxQueue, int capacity, int[] telemetryLayers) {
        public Settings {
            if (maxBatch < 1) throw new IllegalArgumentException("maxBatch must be at least 1, was " + maxBatch);
            if (maxQueue < 0) throw new IllegalArgumentException("maxQueue must be >= 0, was " + maxQueue);
            telemetryLayers = telemetryLayers.clone();
        }
    }

    private record Waiting(Job job, JobListener listener, Ticket ticket) {
    }

    private record Running(Waiting waiting, Row row, int[] seen) {
    }

    private final CausalLm model;
    private final Settings settings;
    private final ArrayDeque<Waiting> queue = new ArrayDeque<>();
    private final Map<Row, Running> running = new HashMap<>();
    private final Thread thread;
    private final AtomicLong tokens = new AtomicLong();
    private volatile int runningRows;
    private boolean stopping;
    private RunningBatch batch;

    public Scheduler(CausalLm model, Settings settings) {
        this.model = model;
        this.settings = settings;
        this.thread = new Thread(this::loop, "steer-scheduler");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    /** Queues {@code job}; throws {@link QueueFullException} past the queue limit, IllegalStateException once stopping. */
    public Ticket submit(Job job, JobListener listener) {
        Ticket t = new Ticket();
        synchronized (queue) {
            if (stopping) throw new IllegalStateException("the scheduler is stopping");
            if (queue.size() >= settings.maxQueue()) throw new QueueFullException(settings.maxQueue());
            queue.add(new Waiting(job, listener, t));
            queue.notifyAll();
        }
        return t;
    }

    /** Jobs waiting for a slot. */
    public int queued() {
        synchronized (queue) {
            return queue.size();
        }
    }

    /** Rows in the running batch. */
    public int runningRows() {
        return runningRows;
    }

    /** Tokens generated since the start, over every job. */
    public long tokensGenerated() {
        return tokens.get();
    }

    public Settings settings() {
        return settings;
    }

    /** Stops taking jobs; the queued and running ones finish; returns when they have (or the wait runs out). */
    public boolean drain(long timeoutMillis) throws InterruptedException {
        synchronized (queue) {
            stopping = true;
            queue.notifyAll();
        }
        thread.join(timeoutMillis);
        return !thread.isAlive();
    }

    @Override
    public void close() {
        try {
            drain(0);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void loop() {
        try {
            while (true) {
                if (!admit()) break;
                step();
            }
        } catch (RuntimeException e) {
            // a fault of the scheduler itself: every job still here hears of it
            for (Running r : running.values()) r.waiting().listener().failed(e);
            running.clear();
            synchronized (queue) {
                stopping = true;
                for (Waiting w : queue) w.listener().failed(e);
                queue.clear();
            }
        } finally {
            if (batch != null) batch.close();
            batch = null;
        }
    }

    /** Fills the batch from the queue; false when stopping with nothing left to do. Waits while idle. */
    private boolean admit() {
        if (batch == null || !batch.live()) {
            List<Waiting> fresh = new ArrayList<>();
            synchronized (queue) {
                while (queue.isEmpty() && !stopping) {
                    try {
                        queue.wait();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return false;
                    }
                }
                if (queue.isEmpty()) return false;
                // Prefilled together, the batch needs its longest prompt + its longest answer in each row's cache:
                // a job that would break that waits (in order) to join later or to start the next batch.
                int longestPrompt = 0, longestAnswer = 0;
                while (!queue.isEmpty() && fresh.size() < settings.maxBatch()) {
                    Job next = queue.peek().job();
                    int p = Math.max(longestPrompt, next.promptIds().length), a = Math.max(longestAnswer, next.options().maxNewTokens());
                    if (!fresh.isEmpty() && p + a > settings.capacity()) break;
                    longestPrompt = p;
                    longestAnswer = a;
                    fresh.add(queue.poll());
                }
            }
            if (batch != null) batch.close();
            batch = null;
            start(fresh);
            return true;
        }
        while (batch.hasFreeSlot()) {
            Waiting w;
            synchronized (queue) {
                w = queue.peek();
                if (w == null) break;
                if (!w.ticket().cancelled() && !batch.fits(request(w, w.job().steering()), w.job().options())) break;
                queue.poll();
            }
            if (w.ticket().cancelled()) {
                cancelledWhileWaiting(w);
                continue;
            }
            List<SteeringSpec> steering = resolve(w);
            if (steering == null) continue;
            Row row = batch.join(request(w, steering), w.job().options());
            w.listener().started(steering);
            running.put(row, new Running(w, row, new int[] {0}));
        }
        runningRows = running.size();
        return true;
    }

    private void start(List<Waiting> fresh) {
        List<GenerationRequest> requests = new ArrayList<>();
        List<GenerationOptions> options = new ArrayList<>();
        List<Waiting> admitted = new ArrayList<>();
        List<List<SteeringSpec>> steerings = new ArrayList<>();
        for (Waiting w : fresh) {
            if (w.ticket().cancelled()) {
                cancelledWhileWaiting(w);
                continue;
            }
            List<SteeringSpec> steering = resolve(w);
            if (steering == null) continue;
            requests.add(request(w, steering));
            options.add(w.job().options());
            admitted.add(w);
            steerings.add(steering);
        }
        if (requests.isEmpty()) return;
        GenerationOptions batchOptions = GenerationOptions.greedy(1).measuring(settings.telemetryLayers());
        try {
            batch = RunningBatch.prefill(model, requests, options, batchOptions, settings.maxBatch(), settings.capacity());
        } catch (RuntimeException e) {
            for (Waiting w : admitted) w.listener().failed(e);
            return;
        }
        List<Row> rows = batch.rows();
        for (int i = 0; i < admitted.size(); i++) {
            admitted.get(i).listener().started(steerings.get(i));
            running.put(rows.get(i), new Running(admitted.get(i), rows.get(i), new int[] {0}));
        }
        batch.takePrefill(null);
        publishAndRelease();
        runningRows = running.size();
    }

    /** A job cancelled before it held a slot: nothing generated. */
    private static void cancelledWhileWaiting(Waiting w) {
        w.listener().finished(new GenerationResult(new int[0], false, List.of(), null), true);
    }

    private static GenerationRequest request(Waiting w, List<SteeringSpec> steering) {
        return new GenerationRequest(w.job().promptIds(), steering);
    }

    /** The job's specs with its ratios resolved, or null (after telling the listener) when they cannot be. */
    private List<SteeringSpec> resolve(Waiting w) {
        try {
            return RatioSteering.resolve(model, w.job().promptIds(), w.job().steering(), w.job().ratios());
        } catch (RuntimeException e) {
            w.listener().failed(e);
            return null;
        }
    }

    /** Cancelled rows leave; one decode step; new tokens go out; finished rows leave. */
    private void step() {
        if (batch == null) return;
        for (Running r : List.copyOf(running.values())) {
            if (!r.waiting().ticket().cancelled()) continue;
            publish(r);
            GenerationResult result = batch.leave(r.row());
            running.remove(r.row());
            r.waiting().listener().finished(result, true);
        }
        if (batch.live()) {
            try {
                batch.step(null);
            } catch (RuntimeException e) {
                for (Running r : running.values()) r.waiting().listener().failed(e);
                running.clear();
                batch.close();
                batch = null;
                runningRows = 0;
                return;
            }
        }
        publishAndRelease();
        runningRows = running.size();
    }

    /** New tokens go out; rows that finished leave the batch. */
    private void publishAndRelease() {
        for (Running r : List.copyOf(running.values())) {
            publish(r);
            if (!r.row().finished()) continue;
            GenerationResult result = batch.leave(r.row());
            running.remove(r.row());
            r.waiting().listener().finished(result, false);
        }
    }

    /** Hands the row's tokens produced since the last call to its listener. */
    private void publish(Running r) {
        int[] t = r.row().tokens();
        for (int i = r.seen()[0]; i < t.length; i++) {
            r.waiting().listener().token(t[i]);
            tokens.incrementAndGet();
        }
        r.seen()[0] = t.length;
    }
}
