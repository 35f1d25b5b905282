package dev.steer.engine.search;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.DoubleUnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A loopback chat-completions judge for answers of the form {@code coef=<number>}: prompts starting with TRAIT get
 * {@code trait(coef)}, prompts starting with COHERENCE get {@code coherence(coef)}. A score s is sent as the
 * top-logprobs alternatives floor(s) and floor(s)+1 weighted so that the logprob rule gives back s.
 */
final class CoefJudgeServer implements AutoCloseable {
    private static final Pattern COEF = Pattern.compile("coef=(-?[0-9.Ee+-]+)");

    final AtomicInteger requests = new AtomicInteger();
    private final DoubleUnaryOperator trait;
    private final DoubleUnaryOperator coherence;
    private final HttpServer server;
    private final ExecutorService pool = Executors.newCachedThreadPool();

    CoefJudgeServer(DoubleUnaryOperator trait, DoubleUnaryOperator coherence) throws IOException {
        this.trait = trait;
        this.coherence = coherence;
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(pool);
        server.createContext("/v1/chat/completions", this::handle);
        server.start();
    }

    String baseUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
    }

    private void handle(HttpExchange ex) throws IOException {
        requests.incrementAndGet();
        try (ex) {
            JsonObject body = JsonParser.parseString(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8)).getAsJsonObject();
            String prompt = body.getAsJsonArray("messages").get(0).getAsJsonObject().get("content").getAsString();
            Matcher m = COEF.matcher(prompt);
            if (!m.find()) throw new IllegalStateException("no coef in " + prompt);
            double coef = Double.parseDouble(m.group(1));
            double s = prompt.startsWith("TRAIT") ? trait.applyAsDouble(coef) : coherence.applyAsDouble(coef);
            byte[] bytes = completion(s).getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("Content-Type", "application/json");
            ex.sendResponseHeaders(200, bytes.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    static String completion(double score) {
        int lo = (int) Math.floor(score);
        double frac = score - lo;
        String top = "{\"token\":\"" + lo + "\",\"logprob\":" + Math.log(1 - frac) + "}";
        if (frac > 0) top += ",{\"token\":\"" + (lo + 1) + "\",\"logprob\":" + Math.log(frac) + "}";
        return String.format(Locale.ROOT, "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"%d\"},"
                + "\"logprobs\":{\"content\":[{\"token\":\"%d\",\"logprob\":0,\"top_logprobs\":[%s]}]}}]}", lo, lo, top);
    }

    @Override
    public void close() {
        server.stop(0);
        pool.shutdownNow();
    }
}
