package dev.steer.cli.serve;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.regex.Matcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Load and lifetime: 429 past --max-queue then recovery, a client that goes away frees its row, SIGTERM drains. */
class ServeLoadTest {
    static final String LONG_STREAM = "{\"prompt\":\"Once upon a time\",\"max_tokens\":200,\"temperature\":0,\"ignore_eos\":true,\"stream\":true}";

    static void waitFor(BooleanSupplier condition, String what) throws InterruptedException {
        waitFor(condition, what, 10);
    }

    static void waitFor(BooleanSupplier condition, String what, long pollMillis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 60_000;
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) fail("timed out waiting for " + what);
            Thread.sleep(pollMillis);
        }
    }

    /** A streaming request over a raw socket, read up to its first data line. */
    static Socket openStream(int port) throws Exception {
        Socket s = new Socket("127.0.0.1", port);
        byte[] body = LONG_STREAM.getBytes(StandardCharsets.UTF_8);
        OutputStream out = s.getOutputStream();
        out.write(("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
                + body.length + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        out.write(body);
        out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) if (line.contains("data: ")) return s;
        throw new AssertionError("the stream ended before its first chunk");
    }

    @Test
    void overloadIs429ThenADisconnectFreesTheRowAndTheServerRecovers() throws Exception {
        try (ServeHarness serve = ServeHarness.start("--model", ServeHarness.TINY.toString(), "--max-batch", "1", "--max-queue", "1",
                "--max-context", "256")) {
            SteerServer server = serve.server();
            Socket a = openStream(serve.port);                       // holds the only row
            waitFor(() -> server.scheduler().runningRows() == 1, "A running");
            CompletableFuture<HttpResponse<String>> b = serve.postAsync("/v1/completions",
                    "{\"prompt\":\"Hello\",\"max_tokens\":2,\"temperature\":0}");
            waitFor(() -> server.scheduler().queued() == 1, "B queued");
            HttpResponse<String> c = serve.post("/v1/completions", "{\"prompt\":\"Hello\",\"max_tokens\":2}");
            assertEquals(429, c.statusCode(), c.body());
            assertEquals("1", c.headers().firstValue("Retry-After").orElse(null));
            JsonObject err = JsonParser.parseString(c.body()).getAsJsonObject().getAsJsonObject("error");
            assertTrue(err.get("message").getAsString().contains("retry later"), c.body());

            long before = server.scheduler().tokensGenerated();
            a.close();                                                // the client goes away mid-stream
            HttpResponse<String> rb = b.get(60, TimeUnit.SECONDS);    // B gets the freed row
            assertEquals(200, rb.statusCode(), rb.body());
            waitFor(() -> server.scheduler().runningRows() == 0 && server.scheduler().queued() == 0, "the batch empty");
            long aTokens = server.scheduler().tokensGenerated() - 2;
            assertTrue(aTokens < 200, "A stopped early: " + aTokens + " tokens (" + before + " when it left)");
            assertTrue(server.scheduler().tokensGenerated() - before < 20, "A left within a few steps: " + (server.scheduler().tokensGenerated() - before));

            HttpResponse<String> d = serve.post("/v1/completions", "{\"prompt\":\"Hello\",\"max_tokens\":2,\"temperature\":0}");
            assertEquals(200, d.statusCode(), d.body());
            String metrics = serve.get("/metrics").body();
            assertTrue(metrics.contains("steer_requests_total{endpoint=\"/v1/completions\",status=\"429\"} 1.0"), metrics);
            assertTrue(metrics.contains("steer_requests_total{endpoint=\"/v1/completions\",status=\"499\"} 1.0"), metrics);
            assertTrue(metrics.contains("steer_requests_total{endpoint=\"/v1/completions\",status=\"200\"} 2.0"), metrics);
            assertTrue(metrics.contains("steer_running_rows 0.0"), metrics);
            assertTrue(metrics.contains("steer_queue_depth 0.0"), metrics);
        }
    }

    @TempDir
    Path tmp;

    @Test
    void sigtermLetsTheRunningRequestFinishThenExitsZero() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"), "dev.steer.cli.Steer",
                "serve", "--model", ServeHarness.TINY.toString(), "--port", "0", "--max-batch", "2", "--max-context", "64"));
        Path errFile = Files.createTempFile(tmp, "serve", ".err");
        Process p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(errFile.toFile()).start();
        try {
            Supplier<String> seen = () -> {
                try {
                    return Files.readString(errFile);
                } catch (IOException e) {
                    return "";
                }
            };
            waitFor(() -> ServeHarness.LISTENING.matcher(seen.get()).find() || !p.isAlive(), "the listening line");
            Matcher m = ServeHarness.LISTENING.matcher(seen.get());
            int port = m.find() ? Integer.parseInt(m.group(2)) : -1;
            assertTrue(port > 0, "no listening line: " + seen.get());
            Socket s = new Socket("127.0.0.1", port);
            byte[] body = "{\"prompt\":\"Hello\",\"max_tokens\":12,\"temperature\":0,\"ignore_eos\":true,\"stream\":true}".getBytes(StandardCharsets.UTF_8);
            s.getOutputStream().write(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: "
                    + body.length + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
            s.getOutputStream().write(body);
            s.getOutputStream().flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            String line;
            while ((line = in.readLine()) != null && !line.startsWith("data: ")) { }
            p.destroy();                                              // SIGTERM, while the request runs
            int chunks = 1;
            boolean done = false, finished = false;
            while ((line = in.readLine()) != null) {
                if (line.equals("data: [DONE]")) done = true;
                else if (line.startsWith("data: ")) {
                    chunks++;
                    if (line.contains("\"finish_reason\":\"length\"")) finished = true;
                }
            }
            assertTrue(done && finished, "the running request completed after SIGTERM (" + chunks + " chunks)");
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "steer serve exits after draining");
            assertEquals(0, p.exitValue());
            assertTrue(seen.get().contains("stopping"), seen.get());
        } finally {
            p.destroyForcibly();
        }
    }
}
