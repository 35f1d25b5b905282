package dev.steer.cli;

import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A loopback chat-completions judge that answers every request with the alternatives "60" (p 0.5) and "80" (p 0.5):
 * score 70 by the logprob rule. Counts requests.
 */
final class FixedJudgeServer implements AutoCloseable {
    static final double SCORE = 70;
    final AtomicInteger requests = new AtomicInteger();
    private final HttpServer server;
    private final ExecutorService pool = Executors.newCachedThreadPool();

    FixedJudgeServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(pool);
        server.createContext("/v1/chat/completions", ex -> {
            requests.incrementAndGet();
            try (ex) {
                ex.getRequestBody().readAllBytes();
                String lp = Double.toString(Math.log(0.5));
                byte[] body = ("{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"60\"},\"logprobs\":{\"content\":"
                        + "[{\"token\":\"60\",\"logprob\":" + lp + ",\"top_logprobs\":[{\"token\":\"60\",\"logprob\":" + lp
                        + "},{\"token\":\"80\",\"logprob\":" + lp + "}]}]}}]}").getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().add("Content-Type", "application/json");
                ex.sendResponseHeaders(200, body.length);
                try (OutputStream out = ex.getResponseBody()) {
                    out.write(body);
                }
            }
        });
        server.start();
    }

    String baseUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
    }

    @Override
    public void close() {
        server.stop(0);
        pool.shutdownNow();
    }
}
