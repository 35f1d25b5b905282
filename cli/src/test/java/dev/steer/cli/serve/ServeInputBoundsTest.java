package dev.steer.cli.serve;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The server's side of issue 15's unchecked sizes: with no --max-context the model's own max_position_embeddings
 * (512 for the tiny model) bounds prompt + max_tokens (HTTP 400, not a run past it), and a chat template that
 * renders an empty prompt is the request's 400, not a 500.
 */
class ServeInputBoundsTest {
    @TempDir
    Path tmp;

    @Test
    void defaultContextIsTheModelsAndAnEmptyChatRenderIsRefused() throws Exception {
        Path model = Files.createDirectories(tmp.resolve("model"));
        for (String f : new String[] {"config.json", "generation_config.json", "tokenizer.json", "model.safetensors"})
            Files.copy(ServeHarness.TINY.resolve(f), model.resolve(f));
        JsonObject tc = JsonParser.parseString(Files.readString(ServeHarness.TINY.resolve("tokenizer_config.json"))).getAsJsonObject();
        tc.addProperty("chat_template", "{% for m in messages %}{% if m['role'] == 'system' %}{{ m['content'] }}{% endif %}{% endfor %}");
        Files.writeString(model.resolve("tokenizer_config.json"), tc.toString());
        try (ServeHarness serve = ServeHarness.start("--model", model.toString())) {
            String longPrompt = "The river runs past the old mill. ".repeat(120);
            assertRefused(serve.post("/v1/completions", "{\"prompt\": \"" + longPrompt + "\", \"max_tokens\": 2}"), "prompt",
                    "maximum context length is 512");
            assertRefused(serve.post("/v1/completions", "{\"prompt\": \"Hello\", \"max_tokens\": 600}"), "max_tokens", "limit of 511");
            assertRefused(serve.post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}"),
                    "messages", "empty prompt");
            assertEquals(200, serve.post("/v1/completions", "{\"prompt\": \"Hello\", \"max_tokens\": 2}").statusCode());
        }
    }

    private static void assertRefused(HttpResponse<String> r, String param, String fragment) {
        assertEquals(400, r.statusCode(), r.body());
        JsonObject err = JsonParser.parseString(r.body()).getAsJsonObject().getAsJsonObject("error");
        if (param != null) assertEquals(param, err.get("param").getAsString(), r.body());
        assertTrue(err.get("message").getAsString().contains(fragment), fragment + " in " + r.body());
    }
}
