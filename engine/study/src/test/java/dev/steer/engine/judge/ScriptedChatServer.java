package dev.steer.engine.judge;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.DoubleUnaryOperator;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The loopback fake judge every test uses: an HTTP server speaking the chat-completions protocol, with scripted
 * replies and faults. Each prompt has a queue of replies, consumed one per request; when it is empty the server gives
 * {@link #fallback}, which may depend on the prompt ({@link #perPrompt}, {@link #byCoef}). It counts requests and the
 * most requests it ever had in flight at once. The cli module's tests use it through steer-study's test jar.
 */
public final class ScriptedChatServer implements AutoCloseable {

    /** One scripted reply to one request for {@code prompt} (the first message's content). */
    public interface Reply {
        void send(HttpExchange exchange, String prompt) throws IOException, InterruptedException;
    }

    public final AtomicInteger requests = new AtomicInteger();
    public final AtomicInteger maxInFlight = new AtomicInteger();
    public final List<JsonObject> bodies = new CopyOnWriteArrayList<>();
    public final List<String> authorizations = new CopyOnWriteArrayList<>();
    public volatile Reply fallback;

    private final AtomicInteger inFlight = new AtomicInteger();
    private final Map<String, Deque<Reply>> scripts = new ConcurrentHashMap<>();
    private final HttpServer server;
    private final ExecutorService pool = Executors.newCachedThreadPool();

    public ScriptedChatServer(Reply fallback) throws IOException {
        this.fallback = fallback;
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(pool);
        server.createContext("/v1/chat/completions", this::handle);
        server.start();
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
    }

    /** Replies for requests whose prompt is {@code prompt}, in order. */
    public void script(String prompt, Reply... replies) {
        scripts.computeIfAbsent(prompt, p -> new ConcurrentLinkedDeque<>()).addAll(List.of(replies));
    }

    /**
     * Marks the handler thread's request answered, once, just before its reply is written ({@link #raw}); a thread
     * local, since HttpExchange attributes are the context's, shared by every exchange.
     */
    private static final ThreadLocal<Runnable> ANSWERED = new ThreadLocal<>();

    private void handle(HttpExchange exchange) throws IOException {
        int now = inFlight.incrementAndGet();
        maxInFlight.accumulateAndGet(now, Math::max);
        // A request stops counting as in flight before its reply goes out: once the client has the reply it may send
        // the next one, and counting that one while this handler is still finishing would see one request too many.
        java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        Runnable answered = () -> {
            if (done.compareAndSet(false, true)) inFlight.decrementAndGet();
        };
        ANSWERED.set(answered);
        requests.incrementAndGet();
        try {
            JsonObject body = JsonParser.parseString(
                    new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8)).getAsJsonObject();
            bodies.add(body);
            String auth = exchange.getRequestHeaders().getFirst("Authorization");
            authorizations.add(auth == null ? "" : auth);
            String prompt = body.getAsJsonArray("messages").get(0).getAsJsonObject().get("content").getAsString();
            Deque<Reply> queue = scripts.get(prompt);
            Reply scripted = queue == null ? null : queue.poll();
            Reply reply = scripted == null ? fallback : scripted;
            reply.send(exchange, prompt);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            answered.run();
            ANSWERED.remove();
            exchange.close();
        }
    }

    // ---- replies ----

    /** A well-formed completion whose first position has these alternatives (token → probability). */
    public static Reply completion(Map<String, Double> tokenProbabilities) {
        JsonArray top = new JsonArray();
        tokenProbabilities.forEach((token, p) -> {
            JsonObject alt = new JsonObject();
            alt.addProperty("token", token);
            alt.addProperty("logprob", Math.log(p));
            top.add(alt);
        });
        String first = tokenProbabilities.keySet().iterator().next();
        String json = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
                + "\"message\":{\"role\":\"assistant\",\"content\":" + quote(first) + "},"
                + "\"logprobs\":{\"content\":[{\"token\":" + quote(first) + ",\"logprob\":" + Math.log(tokenProbabilities.get(first))
                + ",\"top_logprobs\":" + top + "}]},\"finish_reason\":\"length\"}]}";
        return raw(200, json, Map.of());
    }

    /** A completion whose alternatives are 9 (p 0.6), 8 (p 0.3) and "Nine" (p 0.1): score (5.4+2.4)/0.9. */
    public static Reply nineish() {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("9", 0.6);
        m.put(" 8", 0.3);
        m.put("Nine", 0.1);
        return completion(m);
    }

    public static final double NINEISH_SCORE = (0.6 * 9 + 0.3 * 8) / 0.9;

    public static Reply raw(int status, String body, Map<String, String> headers) {
        return (exchange, prompt) -> {
            headers.forEach((k, v) -> exchange.getResponseHeaders().add(k, v));
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            Runnable answered = ANSWERED.get();
            if (answered != null) answered.run();
            exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        };
    }

    /** Holds the request for {@code millis} before replying with {@code then}. */
    public static Reply slow(long millis, Reply then) {
        return (exchange, prompt) -> {
            Thread.sleep(millis);
            then.send(exchange, prompt);
        };
    }

    /**
     * A completion the logprob rule scores as exactly {@code score} (0..100): the alternatives floor(s) and floor(s)+1,
     * weighted by the fraction.
     */
    public static Reply score(double score) {
        int lo = (int) Math.floor(score);
        double frac = score - lo;
        String top = "{\"token\":\"" + lo + "\",\"logprob\":" + Math.log(1 - frac) + "}";
        if (frac > 0) top += ",{\"token\":\"" + (lo + 1) + "\",\"logprob\":" + Math.log(frac) + "}";
        String json = String.format(Locale.ROOT, "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"%d\"},"
                + "\"logprobs\":{\"content\":[{\"token\":\"%d\",\"logprob\":0,\"top_logprobs\":[%s]}]}}]}", lo, lo, top);
        return raw(200, json, Map.of());
    }

    /** A reply chosen by the prompt. */
    public static Reply perPrompt(Function<String, Reply> choose) {
        return (exchange, prompt) -> choose.apply(prompt).send(exchange, prompt);
    }

    private static final Pattern COEF = Pattern.compile("coef=(-?[0-9.Ee+-]+)");

    /**
     * For answers of the form {@code coef=<number>}: prompts starting with TRAIT get {@link #score} of
     * {@code trait(coef)}, the others {@code coherence(coef)}.
     */
    public static Reply byCoef(DoubleUnaryOperator trait, DoubleUnaryOperator coherence) {
        return perPrompt(prompt -> {
            Matcher m = COEF.matcher(prompt);
            if (!m.find()) throw new IllegalStateException("no coef in " + prompt);
            double coef = Double.parseDouble(m.group(1));
            return score(prompt.startsWith("TRAIT") ? trait.applyAsDouble(coef) : coherence.applyAsDouble(coef));
        });
    }

    private static String quote(String s) {
        JsonArray a = new JsonArray();
        a.add(s);
        String t = a.toString();
        return t.substring(1, t.length() - 1);
    }

    @Override
    public void close() {
        server.stop(0);
        pool.shutdownNow();
    }
}
