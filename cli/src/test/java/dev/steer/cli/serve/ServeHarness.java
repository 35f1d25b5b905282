package dev.steer.cli.serve;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.steer.cli.Steer;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

/** A real {@code steer serve} run in-process on a thread ({@code Steer.execute}, --port 0), and an HTTP client for it. */
final class ServeHarness implements AutoCloseable {
    static final Path TINY = Path.of("../models/src/test/resources/fixtures/tiny-gemma2");
    static final Pattern LISTENING = Pattern.compile("listening on http://([^:\\s]+):(\\d+)");
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();

    final int port;
    final Thread thread;
    final StringBuffer err;
    final int[] code;

    private ServeHarness(int port, Thread thread, StringBuffer err, int[] code) {
        this.port = port;
        this.thread = thread;
        this.err = err;
        this.code = code;
    }

    /** Starts {@code steer serve ARGS --port 0} and waits for its listening line. */
    static ServeHarness start(String... args) throws InterruptedException {
        List<String> argv = new ArrayList<>(List.of("serve", "--port", "0"));
        argv.addAll(List.of(args));
        StringBuffer err = new StringBuffer();
        int[] code = {-1};
        Thread t = new Thread(() -> code[0] = Steer.execute(argv.toArray(String[]::new),
                new PrintWriter(Writer.nullWriter()), new PrintWriter(new BufferWriter(err), true)), "steer-serve-test");
        t.setDaemon(true);
        t.start();
        long deadline = System.currentTimeMillis() + 120_000;
        while (System.currentTimeMillis() < deadline) {
            Matcher m = LISTENING.matcher(err);
            if (m.find()) return new ServeHarness(Integer.parseInt(m.group(2)), t, err, code);
            if (!t.isAlive()) fail("steer serve exited " + code[0] + ": " + err);
            Thread.sleep(20);
        }
        throw new AssertionError("steer serve did not start: " + err);
    }

    SteerServer server() {
        SteerServer s = SteerServer.listening(port);
        assertNotNull(s, "no server on port " + port);
        return s;
    }

    String url(String path) {
        return "http://127.0.0.1:" + port + path;
    }

    HttpResponse<String> post(String path, String body) throws IOException, InterruptedException {
        return HTTP.send(request(path, body), HttpResponse.BodyHandlers.ofString());
    }

    CompletableFuture<HttpResponse<String>> postAsync(String path, String body) {
        return HTTP.sendAsync(request(path, body), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url(path))).timeout(Duration.ofSeconds(120)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    JsonObject ok(String path, String body) throws IOException, InterruptedException {
        HttpResponse<String> r = post(path, body);
        assertEquals(200, r.statusCode(), r.body());
        return JsonParser.parseString(r.body()).getAsJsonObject();
    }

    private HttpRequest request(String path, String body) {
        return HttpRequest.newBuilder(URI.create(url(path))).timeout(Duration.ofSeconds(120))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    /** The data payloads of an SSE body, up to (not including) [DONE]; fails if [DONE] is missing. */
    static List<JsonObject> sseEvents(String body) {
        List<JsonObject> out = new ArrayList<>();
        boolean done = false;
        for (String line : body.split("\n")) {
            if (!line.startsWith("data: ")) continue;
            String data = line.substring(6);
            if (data.equals("[DONE]")) {
                done = true;
                break;
            }
            out.add(JsonParser.parseString(data).getAsJsonObject());
        }
        if (!done) fail("no data: [DONE] in " + body);
        return out;
    }

    /** A copy of the tiny model (links to its files) whose chat template, like Gemma's, refuses a system turn. */
    static Path tinyWithStrictTemplate(Path tmp) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("tiny-gemma2"));
        for (String f : List.of("config.json", "generation_config.json", "model.safetensors", "tokenizer.json"))
            Files.createSymbolicLink(dir.resolve(f), TINY.toAbsolutePath().resolve(f));
        JsonObject cfg = JsonParser.parseString(Files.readString(TINY.resolve("tokenizer_config.json"))).getAsJsonObject();
        cfg.addProperty("chat_template", "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
                + cfg.get("chat_template").getAsString());
        Files.writeString(dir.resolve("tokenizer_config.json"), cfg.toString());
        return dir;
    }

    /** Asks the server to stop (as SIGTERM does) and expects exit code 0. */
    @Override
    public void close() throws InterruptedException {
        SteerServer s = SteerServer.listening(port);
        if (s != null) s.requestStop();
        thread.join(120_000);
        assertEquals(0, code[0], "steer serve's exit code; stderr: " + err);
    }

    private static final class BufferWriter extends Writer {
        private final StringBuffer buf;

        BufferWriter(StringBuffer buf) {
            this.buf = buf;
        }

        @Override
        public void write(char[] c, int off, int len) {
            buf.append(c, off, len);
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    }
}
