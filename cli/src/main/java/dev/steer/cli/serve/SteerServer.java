package dev.steer.cli.serve;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import dev.steer.engine.BadInputException;
import dev.steer.engine.generation.GenerationResult;
import dev.steer.engine.serving.Job;
import dev.steer.engine.serving.JobListener;
import dev.steer.engine.serving.QueueFullException;
import dev.steer.engine.serving.Scheduler;
import dev.steer.engine.serving.Ticket;
import dev.steer.engine.steering.SteeringSpec;
import dev.steer.engine.telemetry.HookTelemetry;
import dev.steer.models.LoadedModel;
import io.javalin.Javalin;
import io.javalin.compression.CompressionStrategy;
import io.javalin.http.Context;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * {@code steer serve}'s HTTP front end: OpenAI's completions and chat completions (plain and SSE-streamed) with a
 * {@code steer} field per request, models, health, Prometheus metrics and the registered vectors, on Javalin (Jetty
 * 12). Each request is tokenized on its own thread and submitted to the {@link Scheduler}, whose one thread owns the
 * model; the scheduler's events come back through a queue to the request's thread, which decodes, checks stop
 * strings and writes. A client that goes away mid-stream (a write fails) cancels its row.
 */
public final class SteerServer implements AutoCloseable {
    /**
     * @param context           prompt + max_tokens per request (and the scheduler's cache slots per row)
     * @param telemetryJson     a telemetry entry as {@code steer generate --format json} prints it
     */
    public record Config(LoadedModel model, String servedName, String host, int port, VectorRegistry vectors,
                         int maxBatch, int maxQueue, int maxNewTokensLimit, int context, int[] telemetryLayers,
                         Function<HookTelemetry, Map<String, Object>> telemetryJson) {
    }

    private static final Gson GSON = new GsonBuilder().serializeNulls().disableHtmlEscaping().create();
    private static final Map<Integer, SteerServer> LISTENING = new ConcurrentHashMap<>();

    private final Config config;
    private final Scheduler scheduler;
    private final ServeMetrics metrics;
    private final CompletionRequest.Limits limits;
    private final long created = System.currentTimeMillis() / 1000;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final CountDownLatch stop = new CountDownLatch(1);
    private volatile boolean draining;
    private Javalin app;
    private int port;

    public SteerServer(Config config) {
        this.config = config;
        this.scheduler = new Scheduler(config.model().lm(),
                new Scheduler.Settings(config.maxBatch(), config.maxQueue(), config.context(), config.telemetryLayers()));
        this.metrics = new ServeMetrics(scheduler);
        this.limits = new CompletionRequest.Limits(config.servedName(), config.model().lm().dims(), config.context(),
                config.maxNewTokensLimit(), config.vectors());
    }

    /** Binds and serves; returns the bound port. */
    public int start() {
        int threads = config.maxBatch() + config.maxQueue() + 32;
        app = Javalin.create(cfg -> {
            cfg.startup.showJavalinBanner = false;
            cfg.startup.showOldJavalinVersionWarning = false;
            cfg.jetty.host = config.host();
            cfg.jetty.port = config.port();
            cfg.jetty.threadPool = new QueuedThreadPool(threads, 4, 60_000);
            cfg.http.compressionStrategy = CompressionStrategy.NONE;
            cfg.routes.post("/v1/completions", ctx -> complete(ctx, false));
            cfg.routes.post("/v1/chat/completions", ctx -> complete(ctx, true));
            cfg.routes.get("/v1/models", this::models);
            cfg.routes.get("/v1/models/{model}", this::model);
            cfg.routes.get("/v1/steer/vectors", this::vectors);
            cfg.routes.get("/health", this::health);
            cfg.routes.get("/metrics", this::metricsText);
            // Wrong method on a known path: 405 in OpenAI's error shape, with Allow.
            for (String path : List.of("/v1/completions", "/v1/chat/completions")) cfg.routes.get(path, ctx -> notAllowed(ctx, "POST"));
            for (String path : List.of("/v1/models", "/v1/steer/vectors", "/health", "/metrics")) cfg.routes.post(path, ctx -> notAllowed(ctx, "GET"));
            // Javalin's own answers (an unknown path is a NotFoundResponse) in OpenAI's error shape
            cfg.routes.exception(io.javalin.http.HttpResponseException.class, (e, ctx) -> error(ctx,
                    new ApiError(e.getStatus(), "invalid_request_error", null, e.getStatus() == 404 ? "not_found" : null, e.getMessage())));
            cfg.routes.exception(Exception.class, (e, ctx) -> error(ctx, new ApiError(500, "server_error", null, null,
                    "internal error: " + e)));
        });
        app.start();
        port = app.port();
        LISTENING.put(port, this);
        return port;
    }

    /** The server listening on {@code port} in this JVM, or null (for tests). */
    public static SteerServer listening(int port) {
        return LISTENING.get(port);
    }

    public int port() {
        return port;
    }

    public Scheduler scheduler() {
        return scheduler;
    }

    /** Asks {@link #awaitStop} to return (SIGTERM, SIGINT, a test). */
    public void requestStop() {
        stop.countDown();
    }

    public void awaitStop() throws InterruptedException {
        stop.await();
    }

    /**
     * Stops taking requests (503), lets the queued and running ones finish and their answers go out, then stops
     * the HTTP server. True when everything finished within {@code timeoutMillis}.
     */
    public boolean shutdown(long timeoutMillis) throws InterruptedException {
        draining = true;
        long deadline = System.currentTimeMillis() + timeoutMillis;
        boolean drained = scheduler.drain(timeoutMillis);
        while (inFlight.get() > 0 && System.currentTimeMillis() < deadline) Thread.sleep(10);
        drained &= inFlight.get() == 0;
        close();
        return drained;
    }

    @Override
    public void close() {
        draining = true;
        scheduler.close();
        if (app != null) {
            app.stop();
            LISTENING.remove(port, this);
            app = null;
        }
    }

    // ---- generation ----

    private sealed interface Event permits Started, Token, Finished, Failed {
    }

    private record Started(List<SteeringSpec> steering) implements Event {
    }

    private record Token(int id, long nanos) implements Event {
    }

    private record Finished(GenerationResult result, boolean cancelled) implements Event {
    }

    private record Failed(RuntimeException error) implements Event {
    }

    /** The scheduler's events for one request, handed to its thread. */
    private static final class Events implements JobListener {
        final BlockingQueue<Event> queue = new LinkedBlockingQueue<>();

        @Override
        public void started(List<SteeringSpec> steering) {
            queue.add(new Started(steering));
        }

        @Override
        public void token(int id) {
            queue.add(new Token(id, System.nanoTime()));
        }

        @Override
        public void finished(GenerationResult result, boolean cancelled) {
            queue.add(new Finished(result, cancelled));
        }

        @Override
        public void failed(RuntimeException error) {
            queue.add(new Failed(error));
        }
    }

    private void complete(Context ctx, boolean chat) {
        long t0 = System.nanoTime();
        String endpoint = chat ? "/v1/chat/completions" : "/v1/completions";
        int status = 500;
        inFlight.incrementAndGet();
        try {
            if (draining) throw new ApiError(503, "server_error", null, null, "the server is shutting down");
            CompletionRequest req = CompletionRequest.parse(CompletionRequest.parseBody(ctx.body()), chat, config.model(), limits);
            Events events = new Events();
            Ticket ticket;
            try {
                ticket = scheduler.submit(new Job(req.promptIds(), req.steering(), req.ratios(), req.options()), events);
            } catch (QueueFullException e) {
                ctx.header("Retry-After", "1");
                throw new ApiError(429, "rate_limit_error", null, "queue_full", e.getMessage() + "; retry later");
            } catch (IllegalStateException e) {
                throw new ApiError(503, "server_error", null, null, "the server is shutting down");
            }
            status = run(ctx, chat, req, events, ticket, t0);
        } catch (ApiError e) {
            status = e.status;
            error(ctx, e);
        } catch (io.javalin.http.HttpResponseException e) {
            // the body could not be read: too large (413), or shorter than its Content-Length (408)
            status = e.getStatus();
            error(ctx, new ApiError(status, "invalid_request_error", null, null, "the request body: " + e.getMessage()));
        } finally {
            metrics.request(endpoint, status);
            inFlight.decrementAndGet();
        }
    }

    /** Follows one submitted request to its end; returns the status answered (499: the client went away). */
    private int run(Context ctx, boolean chat, CompletionRequest req, Events events, Ticket ticket, long t0) {
        String id = (chat ? "chatcmpl-" : "cmpl-") + HexFormat.of().formatHex(randomBytes());
        long createdAt = System.currentTimeMillis() / 1000;
        TextStream text = new TextStream(ids -> config.model().tokenizer().decode(ids), req.stops());
        OutputStream sse = null;
        boolean gone = false;
        long last = -1;
        while (true) {
            Event ev;
            try {
                ev = events.queue.take();
            } catch (InterruptedException e) {
                ticket.cancel();
                Thread.currentThread().interrupt();
                return 500;
            }
            if (ev instanceof Started) {
                if (req.stream()) {
                    ctx.status(200);
                    ctx.res().setContentType("text/event-stream");
                    ctx.res().setHeader("Cache-Control", "no-cache");
                    try {
                        sse = ctx.res().getOutputStream();
                        if (chat) send(sse, chunk(id, createdAt, true, Map.of("role", "assistant", "content", ""), null));
                    } catch (IOException e) {
                        gone = true;
                        ticket.cancel();
                    }
                }
            } else if (ev instanceof Token t) {
                if (last < 0) metrics.firstToken((t.nanos() - t0) / 1e9);
                else metrics.interToken((t.nanos() - last) / 1e9);
                last = t.nanos();
                if (gone || text.stopped()) continue;
                String delta = text.add(t.id());
                if (text.stopped()) ticket.cancel();
                if (sse != null && !delta.isEmpty()) {
                    try {
                        send(sse, chunk(id, createdAt, chat, chat ? Map.of("content", delta) : delta, null));
                    } catch (IOException e) {
                        gone = true;
                        ticket.cancel();
                    }
                }
            } else if (ev instanceof Failed f) {
                ApiError err = f.error() instanceof BadInputException
                        ? ApiError.invalid("steer", f.error().getMessage().replaceFirst("^--steer: ", ""))
                        : new ApiError(500, "server_error", null, null, "generation failed: " + f.error());
                if (sse == null) throw err;
                if (!gone) {
                    try {
                        send(sse, GSON.toJson(errorBody(err)));
                        sseDone(sse);
                    } catch (IOException ignored) {
                        return 499;
                    }
                }
                return gone ? 499 : err.status;
            } else if (ev instanceof Finished fin) {
                if (gone) return 499;
                if (fin.cancelled() && !text.stopped()) return 499;
                String rest = text.finish();
                String finish = text.stopped() || fin.result().stoppedAtEos() ? "stop" : "length";
                Map<String, Object> usage = usage(req.promptIds().length, text.tokens());
                Map<String, Object> steer = Map.of("telemetry", telemetry(fin.result()));
                if (sse == null) {
                    Map<String, Object> choice = new LinkedHashMap<>();
                    choice.put("index", 0);
                    if (chat) choice.put("message", message(text.text()));
                    else choice.put("text", text.text());
                    choice.put("logprobs", null);
                    choice.put("finish_reason", finish);
                    Map<String, Object> body = head(id, createdAt, chat ? "chat.completion" : "text_completion");
                    body.put("choices", List.of(choice));
                    body.put("usage", usage);
                    body.put("steer", steer);
                    ctx.status(200).contentType("application/json").result(GSON.toJson(body));
                    return 200;
                }
                try {
                    if (!rest.isEmpty()) send(sse, chunk(id, createdAt, chat, chat ? Map.of("content", rest) : rest, null));
                    Map<String, Object> lastChunk = chunkBody(id, createdAt, chat, chat ? Map.of() : "", finish);
                    lastChunk.put("steer", steer);
                    send(sse, GSON.toJson(lastChunk));
                    if (req.includeUsage()) {
                        Map<String, Object> u = head(id, createdAt, chat ? "chat.completion.chunk" : "text_completion");
                        u.put("choices", List.of());
                        u.put("usage", usage);
                        send(sse, GSON.toJson(u));
                    }
                    sseDone(sse);
                } catch (IOException e) {
                    return 499;
                }
                return 200;
            }
        }
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[12];
        ThreadLocalRandom.current().nextBytes(b);
        return b;
    }

    private List<Map<String, Object>> telemetry(GenerationResult r) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (HookTelemetry t : r.telemetry()) {
            Map<String, Object> m = new LinkedHashMap<>(config.telemetryJson().apply(t));
            m.values().removeIf(v -> v == null);   // as generate's JSON prints it: no null fields
            out.add(m);
        }
        return out;
    }

    private static Map<String, Object> usage(int prompt, int completion) {
        Map<String, Object> u = new LinkedHashMap<>();
        u.put("prompt_tokens", prompt);
        u.put("completion_tokens", completion);
        u.put("total_tokens", prompt + completion);
        return u;
    }

    private static Map<String, Object> message(String content) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("role", "assistant");
        m.put("content", content);
        return m;
    }

    private Map<String, Object> head(String id, long createdAt, String object) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("id", id);
        o.put("object", object);
        o.put("created", createdAt);
        o.put("model", config.servedName());
        return o;
    }

    /** A stream chunk; {@code delta}: the chat delta object, or the completion's text. */
    private Map<String, Object> chunkBody(String id, long createdAt, boolean chat, Object delta, String finish) {
        Map<String, Object> choice = new LinkedHashMap<>();
        choice.put("index", 0);
        if (chat) choice.put("delta", delta);
        else choice.put("text", delta);
        choice.put("logprobs", null);
        choice.put("finish_reason", finish);
        Map<String, Object> o = head(id, createdAt, chat ? "chat.completion.chunk" : "text_completion");
        o.put("choices", List.of(choice));
        return o;
    }

    private String chunk(String id, long createdAt, boolean chat, Object delta, String finish) {
        return GSON.toJson(chunkBody(id, createdAt, chat, delta, finish));
    }

    private static void send(OutputStream out, String json) throws IOException {
        out.write(("data: " + json + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static void sseDone(OutputStream out) throws IOException {
        out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    // ---- the other endpoints ----

    private Map<String, Object> modelEntry() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", config.servedName());
        m.put("object", "model");
        m.put("created", created);
        m.put("owned_by", "steer");
        return m;
    }

    private void models(Context ctx) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("object", "list");
        o.put("data", List.of(modelEntry()));
        json(ctx, 200, o);
    }

    private void model(Context ctx) {
        if (!ctx.pathParam("model").equals(config.servedName())) {
            error(ctx, new ApiError(404, "invalid_request_error", "model", "model_not_found",
                    "The model '" + ctx.pathParam("model") + "' does not exist; this server serves '" + config.servedName() + "'"));
            return;
        }
        json(ctx, 200, modelEntry());
    }

    private void vectors(Context ctx) {
        List<Map<String, Object>> data = new ArrayList<>();
        for (VectorRegistry.Entry e : config.vectors().all()) {
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("name", e.name());
            v.put("layer", e.layer());
            v.put("norm", e.vector().norm());
            v.put("size", e.vector().size());
            v.put("file", e.file().toString());
            v.put("metadata", e.vector().provenance().metadata());
            data.add(v);
        }
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("object", "list");
        o.put("data", data);
        json(ctx, 200, o);
    }

    private void health(Context ctx) {
        json(ctx, draining ? 503 : 200, Map.of("status", draining ? "draining" : "ok"));
    }

    private void metricsText(Context ctx) {
        ctx.status(200).contentType(metrics.contentType()).result(metrics.scrape());
    }

    private static void json(Context ctx, int status, Object body) {
        ctx.status(status).contentType("application/json").result(GSON.toJson(body));
    }

    private static Map<String, Object> errorBody(ApiError e) {
        Map<String, Object> err = new LinkedHashMap<>();
        err.put("message", e.getMessage());
        err.put("type", e.type);
        err.put("param", e.param);
        err.put("code", e.code);
        return Map.of("error", err);
    }

    private static void notAllowed(Context ctx, String allow) {
        ctx.header("Allow", allow);
        error(ctx, new ApiError(405, "invalid_request_error", null, "method_not_allowed",
                ctx.method() + " " + ctx.path() + " is not allowed; use " + allow));
    }

    private static void error(Context ctx, ApiError e) {
        json(ctx, e.status, errorBody(e));
    }
}
