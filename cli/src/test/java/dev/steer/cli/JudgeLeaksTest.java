package dev.steer.cli;

import com.sun.net.httpserver.HttpServer;
import dev.steer.engine.judge.Judge;
import dev.steer.engine.judge.JudgeSpec;
import dev.steer.engine.judge.OpenAiJudge;
import dev.steer.models.vectors.VectorFile;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.steer.cli.BadInputTest.assertBad;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What a failing judge leaks: stdout before the error, the default 60 s timeout, a pipe given as --prompts. */
class JudgeLeaksTest {
    @TempDir
    Path tmp;
    private HttpServer server;
    private final AtomicInteger chatRequests = new AtomicInteger(), modelRequests = new AtomicInteger();
    /** Status for GET /v1/models and POST /v1/chat/completions. */
    private volatile int modelsStatus, chatStatus;

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/v1/models", ex -> {
            modelRequests.incrementAndGet();
            reply(ex, modelsStatus);
        });
        server.createContext("/v1/chat/completions", ex -> {
            chatRequests.incrementAndGet();
            ex.getRequestBody().readAllBytes();
            reply(ex, chatStatus);
        });
        server.start();
    }

    private static void reply(com.sun.net.httpserver.HttpExchange ex, int status) throws IOException {
        try (ex) {
            byte[] body = (status == 200 ? "{\"object\":\"list\",\"data\":[]}" : "{\"error\":{\"message\":\"Incorrect API key provided\"}}")
                    .getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("Content-Type", "application/json");
            ex.sendResponseHeaders(status, body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private String baseUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
    }

    private CliRun sweep(String... extra) throws IOException {
        Path vectors = Files.createDirectories(tmp.resolve("vecs"));
        float[] v = new float[64];
        v[0] = 1;
        VectorFile.write(vectors.resolve("mean_diff_layer1.safetensors"), v, Map.of());
        List<String> a = new ArrayList<>(List.of("sweep", "--model", CliRun.TINY.toString(), "--trait", "optimism",
                "--vectors", vectors.toString(), "--layers", "1", "--coefs", "1", "--questions", "1", "--max-new-tokens", "2",
                "--judge", "openai:m", "--judge-base-url", baseUrl(), "--db", tmp.resolve("r.db").toString()));
        a.addAll(Arrays.asList(extra));
        return CliRun.of(a.toArray(String[]::new));
    }

    @Test
    void aWrongKeyIsFoundBeforeAnythingIsGeneratedAndNothingReachesStdout() throws IOException {
        modelsStatus = 401;
        chatStatus = 401;
        assertBad(sweep(), "HTTP 401", "API key", baseUrl());
        assertEquals(0, chatRequests.get(), "the access check answers before any answer is generated and judged");
        assertEquals(1, modelRequests.get());
    }

    @Test
    void aJudgeThatRefusesOnlyWhenScoringLeavesStdoutEmptyToo() throws IOException {
        // A server without the models route (or one that lets it through) passes the check; the 401 comes later.
        modelsStatus = 404;
        chatStatus = 401;
        assertBad(sweep(), "HTTP 401", baseUrl());
        assertTrue(chatRequests.get() >= 1);
    }

    @Test
    void judgeTimeoutIsCheckedBeforeTheModelAndReachesTheJudge() throws IOException {
        for (String bad : List.of("0", "-1", "abc", "NaN", "1e9", ""))
            assertBad(CliRun.of("sweep", "--model", tmp.resolve("no-model").toString(), "--trait", "optimism", "--vectors",
                    tmp.toString(), "--layers", "1", "--coefs", "1", "--judge", "openai:m", "--judge-timeout", bad),
                    "--judge-timeout", "0.001..3600");
        JudgeOptions o = new JudgeOptions();
        o.baseUrl = baseUrl();
        o.timeout("2.5");
        modelsStatus = 200;
        try (Judge j = JudgeFactory.create(JudgeSpec.parse("openai:m"), null, new JudgeFactory.Flags(o, "fp", false))) {
            assertEquals(Duration.ofMillis(2500), ((OpenAiJudge) j).config().timeout());
        }
        assertEquals(OpenAiJudge.Config.DEFAULT_TIMEOUT, new JudgeOptions().timeout);
    }

    @Test
    void promptsFromAPipeStillWork() throws Exception {
        Path fifo = tmp.resolve("prompts.fifo");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        Path vector = tmp.resolve("v.safetensors");
        float[] v = new float[64];
        v[0] = 1;
        VectorFile.write(vector, v, Map.of());
        Thread writer = new Thread(() -> {
            try {
                Files.writeString(fifo, "Hello there\nWhat a day\n");
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        writer.start();
        CliRun r = CliRun.of("ratio", "--model", CliRun.TINY.toString(), "--layer", "1", "--vector", vector.toString(), "--coef", "1",
                "--prompts", fifo.toString(), "--format", "json");
        writer.join(10_000);
        assertEquals(0, r.code(), r.err());
        assertEquals(2, r.json().get("prompts").getAsInt(), r.out());
    }
}
