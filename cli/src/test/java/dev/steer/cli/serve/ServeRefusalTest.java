package dev.steer.cli.serve;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a hostile review found: parameters the server does not implement are refused rather than silently ignored,
 * trailing data after the JSON body is bad JSON, a coefficient that would overflow the residual when squared is
 * refused (no empty 200), wrong methods and unknown paths answer in OpenAI's error shape, and no Gson advice or
 * CLI flag leaks into a message.
 */
class ServeRefusalTest {
    static ServeHarness serve;

    @BeforeAll
    static void start() throws Exception {
        serve = ServeHarness.start("--model", ServeHarness.TINY.toString(), "--max-batch", "4",
                "--vector", "fixture=../models/src/test/resources/fixtures/steering-vector.json");
    }

    @AfterAll
    static void stop() throws Exception {
        serve.close();
    }

    static final String OK = "\"prompt\": \"The river\", \"max_tokens\": 2, \"temperature\": 0";

    static JsonObject error(HttpResponse<String> r, int status) {
        assertEquals(status, r.statusCode(), r.body());
        JsonObject e = JsonParser.parseString(r.body()).getAsJsonObject().getAsJsonObject("error");
        assertTrue(e.has("message") && e.has("type"), r.body());
        return e;
    }

    @Test
    void unsupportedParametersAreRefusedNamingThem() throws Exception {
        for (String f : List.of("\"echo\": true", "\"logprobs\": 3", "\"suffix\": \"x\"", "\"best_of\": 2",
                "\"presence_penalty\": 0.5", "\"frequency_penalty\": 1", "\"logit_bias\": {\"5\": 10}",
                "\"response_format\": {\"type\": \"json_object\"}", "\"tools\": [{\"type\": \"function\"}]")) {
            JsonObject e = error(serve.post("/v1/completions", "{" + OK + ", " + f + "}"), 400);
            String name = f.substring(1, f.indexOf('"', 1));
            assertEquals(name, e.get("param").getAsString(), f);
            assertTrue(e.get("message").getAsString().contains("not supported"), e.toString());
        }
        // their defaults, and fields nobody defined, are fine
        HttpResponse<String> r = serve.post("/v1/completions", "{" + OK + ", \"echo\": false, \"logprobs\": null,"
                + " \"best_of\": 1, \"presence_penalty\": 0, \"user\": \"someone\", \"whatever\": [1]}");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(400, serve.post("/v1/completions", "{" + OK.replace("\"temperature\": 0", "\"temperature\": 2.5") + "}").statusCode());
    }

    @Test
    void trailingDataIsBadJsonAndMessagesCarryNoLibraryAdvice() throws Exception {
        JsonObject e = error(serve.post("/v1/completions", "{" + OK + "}xyz"), 400);
        assertTrue(e.get("message").getAsString().contains("not valid JSON"), e.toString());
        JsonObject bad = error(serve.post("/v1/completions", "{\"prompt\": 'single quotes'}"), 400);
        assertFalse(bad.get("message").getAsString().contains("setStrictness"), bad.toString());
        assertFalse(bad.get("message").getAsString().contains("https://"), bad.toString());
    }

    @Test
    void aCoefWhoseSquareOverflowsIsRefusedWithoutACliFlag() throws Exception {
        for (String coef : List.of("1e30", "1e300")) {
            JsonObject e = error(serve.post("/v1/completions", "{" + OK + ", \"steer\": [{\"layer\": 1, \"vector\": \"fixture\", \"coef\": " + coef + "}]}"), 400);
            assertEquals("steer[0].coef", e.get("param").getAsString(), e.toString());
            assertFalse(e.get("message").getAsString().contains("--steer"), e.toString());
            assertTrue(e.get("message").getAsString().contains("overflows float32"), e.toString());
        }
        assertEquals(200, serve.post("/v1/completions", "{" + OK + ", \"steer\": [{\"layer\": 1, \"vector\": \"fixture\", \"coef\": 1e4}]}").statusCode());
    }

    @Test
    void wrongMethodsAndUnknownPathsAnswerInOpenAisShape() throws Exception {
        HttpResponse<String> get = serve.get("/v1/completions");
        assertEquals("method_not_allowed", error(get, 405).get("code").getAsString());
        assertEquals("POST", get.headers().firstValue("Allow").orElse(""));
        HttpResponse<String> post = ServeHarness.HTTP.send(HttpRequest.newBuilder(URI.create(serve.url("/v1/models")))
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
        error(post, 405);
        assertEquals("not_found", error(serve.get("/v1/nothing"), 404).get("code").getAsString());
    }
}
