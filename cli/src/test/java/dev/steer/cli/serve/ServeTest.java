package dev.steer.cli.serve;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.steer.cli.Steer;
import dev.steer.engine.backend.Backend;
import dev.steer.engine.backend.BackendProvider;
import dev.steer.engine.generation.GenerationOptions;
import dev.steer.engine.generation.GenerationRequest;
import dev.steer.engine.generation.GenerationResult;
import dev.steer.engine.generation.Generator;
import dev.steer.engine.generation.RatioSteering;
import dev.steer.engine.steering.Positions;
import dev.steer.engine.steering.RatioSpec;
import dev.steer.engine.steering.SteeringSpec;
import dev.steer.engine.steering.SteeringVector;
import dev.steer.engine.telemetry.HookTelemetry;
import dev.steer.models.LoadedModel;
import dev.steer.models.vectors.VectorFile;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code steer serve} on the tiny model, in-process: the OpenAI wire format, streaming, steering by coef and ratio,
 * 32 concurrent mixed requests each equal to the same request run alone, and a 400 for every bad field.
 */
class ServeTest {
    static final int TELEMETRY_LAYER = 2;   // the tiny model's middle layer, the default
    static final List<String> PROMPTS = List.of("The river runs past the old mill", "What is the capital of France?",
            "I am certain that tomorrow will be better", "Sure, here is", "Once upon a time", "The weather is cold");

    @TempDir
    static Path tmp;
    static ServeHarness serve;
    static Backend refBackend;
    static LoadedModel ref;
    static SteeringVector meanDiff, probe, rand;
    static Path meanDiffFile, probeFile, randFile;

    @BeforeAll
    static void start() throws Exception {
        JsonObject fixture = JsonParser.parseString(Files.readString(ServeHarness.TINY.resolveSibling("tiny-gemma2.reference.json"))).getAsJsonObject();
        float[] md = floats(fixture.getAsJsonObject("steering").getAsJsonArray("vector"));
        Path dir = Files.createDirectories(tmp.resolve("vectors"));
        meanDiffFile = dir.resolve("mean_diff_layer1.safetensors");
        probeFile = dir.resolve("probe_layer2.safetensors");
        randFile = tmp.resolve("rand.json");
        VectorFile.write(meanDiffFile, md, Map.of("method", "mean_diff", "layer", "1", "trait", "fixture"));
        VectorFile.write(probeFile, random(11, 3.0f), Map.of("method", "probe", "layer", "2"));
        Files.writeString(randFile, new com.google.gson.Gson().toJson(random(12, 2.0f)));
        Path model = ServeHarness.tinyWithStrictTemplate(tmp);
        serve = ServeHarness.start("--model", model.toString(), "--max-batch", "8", "--max-context", "128",
                "--vectors", dir.toString(), "--vector", "rand=" + randFile);
        refBackend = BackendProvider.open("cpu", null);
        ref = LoadedModel.open(ServeHarness.TINY, refBackend);
        meanDiff = VectorFile.read(meanDiffFile, null);
        probe = VectorFile.read(probeFile, null);
        rand = VectorFile.read(randFile, null);
    }

    @AfterAll
    static void stop() throws Exception {
        if (serve != null) serve.close();
        if (ref != null) ref.close();
        if (refBackend != null) refBackend.close();
    }

    static float[] random(long seed, float norm) {
        Random r = new Random(seed);
        float[] v = new float[64];
        double s = 0;
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
            s += v[i] * v[i];
        }
        for (int i = 0; i < v.length; i++) v[i] *= (float) (norm / Math.sqrt(s));
        return v;
    }

    static float[] floats(JsonArray a) {
        float[] v = new float[a.size()];
        for (int i = 0; i < v.length; i++) v[i] = a.get(i).getAsFloat();
        return v;
    }

    // ---- a request, in JSON and as the engine runs it alone ----

    /** One steering entry: a registered vector by name or an inline vector, a coef or a ratio. */
    record Spec(int layer, String name, SteeringVector vector, boolean inline, Double coef, Double ratio, Positions positions) {
        JsonObject json() {
            JsonObject o = new JsonObject();
            o.addProperty("layer", layer);
            if (inline) {
                JsonArray a = new JsonArray();
                for (float f : vector.values()) a.add(f);
                o.add("vector", a);
            } else o.addProperty("vector", name);
            if (coef != null) o.addProperty("coef", coef);
            else o.addProperty("ratio", ratio);
            if (positions != null) o.addProperty("positions", positions.cliName());
            return o;
        }
    }

    static Spec coef(int layer, String name, double c, Positions p) {
        return new Spec(layer, name, vector(name), false, c, null, p);
    }

    static Spec ratio(int layer, String name, double r, Positions p) {
        return new Spec(layer, name, vector(name), false, null, r, p);
    }

    static Spec inline(int layer, SteeringVector v, double c, Positions p) {
        return new Spec(layer, null, v, true, c, null, p);
    }

    static SteeringVector vector(String name) {
        return switch (name) {
            case "mean_diff_layer1" -> meanDiff;
            case "probe_layer2" -> probe;
            case "rand" -> rand;
            default -> throw new IllegalArgumentException(name);
        };
    }

    record Req(String prompt, List<Spec> steer, int maxTokens, double temperature, long seed, boolean stream) {
        String body() {
            JsonObject o = new JsonObject();
            o.addProperty("model", "tiny-gemma2");
            o.addProperty("prompt", prompt);
            o.addProperty("max_tokens", maxTokens);
            o.addProperty("temperature", temperature);
            o.addProperty("seed", seed);
            o.addProperty("stream", stream);
            if (!steer.isEmpty()) {
                JsonArray a = new JsonArray();
                for (Spec s : steer) a.add(s.json());
                o.add("steer", a);
            }
            return o.toString();
        }

        /** The same request alone through the engine's one-request path (what steer generate runs). */
        GenerationResult alone() {
            int[] ids = ref.tokenizer().encode(prompt);
            List<SteeringSpec> fixed = new ArrayList<>();
            List<RatioSpec> ratios = new ArrayList<>();
            for (Spec s : steer) {
                Positions p = s.positions() == null ? Positions.ALL : s.positions();
                if (s.coef() != null) fixed.add(new SteeringSpec(s.layer(), s.vector(), s.coef(), p));
                else ratios.add(new RatioSpec(s.layer(), s.vector(), s.ratio(), p));
            }
            List<SteeringSpec> specs = RatioSteering.resolve(ref.lm(), ids, fixed, ratios);
            GenerationOptions opts = new GenerationOptions(maxTokens, temperature, 1.0, seed, true, new int[] {TELEMETRY_LAYER}, false);
            return new Generator(ref.lm(), false).generate(List.of(new GenerationRequest(ids, specs)), opts).get(0);
        }
    }

    /** Text, finish reason, completion tokens and telemetry of a response, streamed or not. */
    record Answer(String text, String finish, int completionTokens, JsonArray telemetry) {
        static Answer of(HttpResponse<String> r, boolean stream) {
            assertEquals(200, r.statusCode(), r.body());
            if (!stream) {
                JsonObject o = JsonParser.parseString(r.body()).getAsJsonObject();
                JsonObject c = o.getAsJsonArray("choices").get(0).getAsJsonObject();
                return new Answer(c.get("text").getAsString(), c.get("finish_reason").getAsString(),
                        o.getAsJsonObject("usage").get("completion_tokens").getAsInt(), o.getAsJsonObject("steer").getAsJsonArray("telemetry"));
            }
            StringBuilder text = new StringBuilder();
            String finish = null;
            JsonArray telemetry = null;
            for (JsonObject e : ServeHarness.sseEvents(r.body())) {
                assertEquals("text_completion", e.get("object").getAsString());
                JsonObject c = e.getAsJsonArray("choices").get(0).getAsJsonObject();
                assertNull(finish, "nothing after the chunk with finish_reason");
                text.append(c.get("text").getAsString());
                if (!c.get("finish_reason").isJsonNull()) finish = c.get("finish_reason").getAsString();
                if (e.has("steer")) telemetry = e.getAsJsonObject("steer").getAsJsonArray("telemetry");
            }
            assertTrue(telemetry != null, "the last chunk carries steer.telemetry");
            return new Answer(text.toString(), finish, -1, telemetry);
        }

        void assertAlone(GenerationResult alone, String what) {
            assertEquals(ref.tokenizer().decode(alone.tokens()), text, what + ": text");
            if (completionTokens >= 0) assertEquals(alone.tokens().length, completionTokens, what + ": tokens");
            assertEquals(alone.stoppedAtEos() ? "stop" : "length", finish, what + ": finish_reason");
            assertEquals(alone.telemetry().size(), telemetry.size(), what + ": telemetry entries " + telemetry);
            for (int i = 0; i < telemetry.size(); i++) {
                HookTelemetry t = alone.telemetry().get(i);
                JsonObject j = telemetry.get(i).getAsJsonObject();
                assertEquals(t.layer(), j.get("layer").getAsInt(), what);
                assertEquals(t.coef(), j.get("coef").getAsDouble(), 1e-9 * Math.max(1, Math.abs(t.coef())), what + ": coef");
                assertEquals(t.promptNormMean(), j.get("activation_norm").getAsDouble(), 1e-5 * t.promptNormMean(), what + ": activation_norm");
                assertEquals(t.responseCount(), j.get("response_tokens").getAsLong(), what + ": response_tokens");
            }
        }
    }

    // ---- tests ----

    @Test
    void completionChatAndModelsInOpenAisShape() throws Exception {
        JsonObject c = serve.ok("/v1/completions", "{\"model\":\"tiny-gemma2\",\"prompt\":\"Hello\",\"max_tokens\":5,\"temperature\":0}");
        assertTrue(c.get("id").getAsString().startsWith("cmpl-"));
        assertEquals("text_completion", c.get("object").getAsString());
        assertEquals("tiny-gemma2", c.get("model").getAsString());
        assertTrue(c.get("created").getAsLong() > 1_600_000_000L);
        JsonObject choice = c.getAsJsonArray("choices").get(0).getAsJsonObject();
        assertEquals(0, choice.get("index").getAsInt());
        assertTrue(choice.has("logprobs") && choice.get("logprobs").isJsonNull());
        JsonObject usage = c.getAsJsonObject("usage");
        assertEquals(usage.get("prompt_tokens").getAsInt() + usage.get("completion_tokens").getAsInt(), usage.get("total_tokens").getAsInt());
        JsonArray tel = c.getAsJsonObject("steer").getAsJsonArray("telemetry");
        assertEquals(1, tel.size(), "an unsteered request reports the middle layer");
        assertEquals("blocks.2.hook_resid_post", tel.get(0).getAsJsonObject().get("hook").getAsString());

        JsonObject chat = serve.ok("/v1/chat/completions", "{\"model\":\"tiny-gemma2\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":4,\"temperature\":0}");
        assertEquals("chat.completion", chat.get("object").getAsString());
        assertTrue(chat.get("id").getAsString().startsWith("chatcmpl-"));
        JsonObject msg = chat.getAsJsonArray("choices").get(0).getAsJsonObject().getAsJsonObject("message");
        assertEquals("assistant", msg.get("role").getAsString());
        int[] ids = ref.chatTemplate().orElseThrow().encodeChat(ref.tokenizer(), List.of(dev.steer.models.text.ChatMessage.user("Hi")));
        GenerationResult alone = new Generator(ref.lm(), false).generate(List.of(new GenerationRequest(ids, List.of())),
                GenerationOptions.greedy(4)).get(0);
        assertEquals(ref.tokenizer().decode(alone.tokens()), msg.get("content").getAsString());
        assertEquals(ids.length, chat.getAsJsonObject("usage").get("prompt_tokens").getAsInt());

        JsonObject models = JsonParser.parseString(serve.get("/v1/models").body()).getAsJsonObject();
        assertEquals("list", models.get("object").getAsString());
        assertEquals("tiny-gemma2", models.getAsJsonArray("data").get(0).getAsJsonObject().get("id").getAsString());
        assertEquals("model", models.getAsJsonArray("data").get(0).getAsJsonObject().get("object").getAsString());
        assertEquals(200, serve.get("/health").statusCode());
        JsonArray vectors = JsonParser.parseString(serve.get("/v1/steer/vectors").body()).getAsJsonObject().getAsJsonArray("data");
        assertEquals(3, vectors.size(), vectors.toString());
        JsonObject first = vectors.get(0).getAsJsonObject();
        assertEquals("rand", first.get("name").getAsString());
        JsonObject md = vectors.get(1).getAsJsonObject();
        assertEquals("mean_diff_layer1", md.get("name").getAsString());
        assertEquals(1, md.get("layer").getAsInt());
        assertEquals(meanDiff.norm(), md.get("norm").getAsDouble(), 1e-9);
        assertEquals("fixture", md.getAsJsonObject("metadata").get("trait").getAsString());
    }

    @Test
    void streamedDeltasConcatenateToTheNonStreamedTextAndStopStringsCut() throws Exception {
        for (String prompt : List.of("Hello", "The river runs past the old mill")) {
            Req plain = new Req(prompt, List.of(), 24, 0, 0, false);
            Answer whole = Answer.of(serve.post("/v1/completions", plain.body()), false);
            Answer streamed = Answer.of(serve.post("/v1/completions", new Req(prompt, List.of(), 24, 0, 0, true).body()), true);
            assertEquals(whole.text(), streamed.text(), prompt);
            assertEquals(whole.finish(), streamed.finish());
            assertTrue(whole.text().length() > 6, whole.text());
            // a stop string taken from the middle of the text: the answer ends just before it
            String stop = whole.text().substring(4, 6);
            String cut = whole.text().substring(0, whole.text().indexOf(stop));
            for (boolean stream : List.of(false, true)) {
                JsonObject o = JsonParser.parseString(plain.body()).getAsJsonObject();
                o.addProperty("stream", stream);
                JsonArray stops = new JsonArray();
                stops.add(stop);
                stops.add("\u0000never");
                o.add("stop", stops);
                Answer a = Answer.of(serve.post("/v1/completions", o.toString()), stream);
                assertEquals(cut, a.text(), "stop " + stop + " stream " + stream);
                assertEquals("stop", a.finish());
            }
        }
        // chat streaming: role first, then content deltas, then finish_reason with the telemetry
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi there\"}],\"max_tokens\":6,\"temperature\":0";
        JsonObject whole = serve.ok("/v1/chat/completions", body + "}");
        HttpResponse<String> r = serve.post("/v1/chat/completions", body + ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
        List<JsonObject> events = ServeHarness.sseEvents(r.body());
        assertEquals("assistant", events.get(0).getAsJsonArray("choices").get(0).getAsJsonObject().getAsJsonObject("delta").get("role").getAsString());
        StringBuilder text = new StringBuilder();
        JsonObject usage = null, last = null;
        for (JsonObject e : events) {
            assertEquals("chat.completion.chunk", e.get("object").getAsString());
            if (e.has("usage")) {
                usage = e.getAsJsonObject("usage");
                continue;
            }
            JsonObject c = e.getAsJsonArray("choices").get(0).getAsJsonObject();
            JsonObject delta = c.getAsJsonObject("delta");
            if (delta.has("content")) text.append(delta.get("content").getAsString());
            if (!c.get("finish_reason").isJsonNull()) last = e;
        }
        JsonObject wholeChoice = whole.getAsJsonArray("choices").get(0).getAsJsonObject();
        assertEquals(wholeChoice.getAsJsonObject("message").get("content").getAsString(), text.toString());
        assertEquals(wholeChoice.get("finish_reason").getAsString(), last.getAsJsonArray("choices").get(0).getAsJsonObject().get("finish_reason").getAsString());
        assertTrue(last.has("steer"));
        assertEquals(whole.getAsJsonObject("usage"), usage);
    }

    @Test
    void thirtyTwoConcurrentMixedRequestsEachGetTheirAloneAnswer() throws Exception {
        List<List<Spec>> configs = List.of(
                List.of(),
                List.of(coef(1, "mean_diff_layer1", 4.0, null)),
                List.of(coef(1, "mean_diff_layer1", 3.0, Positions.PROMPT), coef(2, "probe_layer2", -5.0, Positions.RESPONSE)),
                List.of(ratio(2, "probe_layer2", 0.5, null)),
                List.of(inline(1, rand, 2.0, Positions.ALL), ratio(3, "mean_diff_layer1", -0.4, Positions.RESPONSE)),
                List.of(inline(0, probe, 6.0, Positions.RESPONSE)),
                List.of(coef(1, "mean_diff_layer1", 2.0, null), coef(1, "rand", -3.0, Positions.PROMPT)),
                List.of(ratio(1, "rand", 0.8, null), ratio(2, "probe_layer2", 0.3, Positions.ALL)));
        List<Req> reqs = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            boolean sampled = i % 8 == 5;
            reqs.add(new Req(PROMPTS.get(i % PROMPTS.size()), configs.get(i % configs.size()), 3 + i % 6,
                    sampled ? 0.8 : 0, sampled ? 100 + i : 0, i % 4 == 3));
        }
        List<CompletableFuture<HttpResponse<String>>> futures = new ArrayList<>();
        for (Req r : reqs) futures.add(serve.postAsync("/v1/completions", r.body()));
        List<Answer> answers = new ArrayList<>();
        for (int i = 0; i < reqs.size(); i++) answers.add(Answer.of(futures.get(i).get(), reqs.get(i).stream()));
        for (int i = 0; i < reqs.size(); i++) answers.get(i).assertAlone(reqs.get(i).alone(), "request " + i + " " + reqs.get(i).body().substring(0, 60));
        // the steering does steer: the unsteered and a steered answer to one prompt differ somewhere
        boolean differs = false;
        for (int i = 0; i < 32; i++) for (int j = 0; j < 32; j++)
            if (reqs.get(i).prompt().equals(reqs.get(j).prompt()) && reqs.get(i).maxTokens() == reqs.get(j).maxTokens()
                    && !answers.get(i).text().equals(answers.get(j).text())) differs = true;
        assertTrue(differs, "steering changes some answer");

        // and once through the CLI itself: steer generate with the equivalent --steer
        Req one = new Req(PROMPTS.get(0), List.of(coef(1, "mean_diff_layer1", 4.0, null)), 8, 0, 0, false);
        Answer served = Answer.of(serve.post("/v1/completions", one.body()), false);
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Steer.execute(new String[] {"generate", "--model", ServeHarness.TINY.toString(), "--prompt", one.prompt(),
                "--max-new-tokens", "8", "--steer", "1:4.0:" + meanDiffFile, "--format", "json"}, new PrintWriter(out), new PrintWriter(err));
        assertEquals(0, code, err.toString());
        JsonObject g = JsonParser.parseString(out.toString()).getAsJsonObject().getAsJsonArray("results").get(0).getAsJsonObject();
        assertEquals(g.get("text").getAsString(), served.text());
        assertEquals(g.getAsJsonArray("tokens").size(), served.completionTokens());
        JsonObject gt = g.getAsJsonArray("telemetry").get(0).getAsJsonObject();
        JsonObject st = served.telemetry().get(0).getAsJsonObject();
        for (String k : List.of("hook", "coef", "positions", "vector_norm", "prompt_tokens", "response_tokens"))
            assertEquals(gt.get(k), st.get(k), k);
        assertEquals(gt.get("activation_norm").getAsDouble(), st.get("activation_norm").getAsDouble(), 1e-5 * gt.get("activation_norm").getAsDouble());
    }

    @Test
    void aRatioRequestsCoefIsWhatSteerRatioComputesOnTheSamePrompt() throws Exception {
        String prompt = PROMPTS.get(2);
        Answer a = Answer.of(serve.post("/v1/completions", new Req(prompt, List.of(ratio(1, "mean_diff_layer1", 0.6, null)), 4, 0, 0, false).body()), false);
        JsonObject entry = null;
        for (JsonElement e : a.telemetry()) if (e.getAsJsonObject().has("positions")) entry = e.getAsJsonObject();
        assertEquals(1, entry.get("layer").getAsInt());
        assertEquals(0.6, entry.get("ratio").getAsDouble(), 1e-9, "the telemetry's ratio is the one asked for");
        Path prompts = Files.writeString(tmp.resolve("one-prompt.txt"), prompt + "\n");
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Steer.execute(new String[] {"ratio", "--model", ServeHarness.TINY.toString(), "--vector", meanDiffFile.toString(),
                "--layer", "1", "--target-ratio", "0.6", "--prompts", prompts.toString(), "--format", "json"}, new PrintWriter(out), new PrintWriter(err));
        assertEquals(0, code, err.toString());
        JsonObject r = JsonParser.parseString(out.toString()).getAsJsonObject();
        assertEquals(r.get("coef").getAsDouble(), entry.get("coef").getAsDouble(), 1e-9 * Math.abs(r.get("coef").getAsDouble()));
        assertEquals(r.get("activation_norm").getAsDouble(), entry.get("activation_norm").getAsDouble(), 1e-6 * r.get("activation_norm").getAsDouble());
        // negative: the negative direction, same magnitude
        Answer neg = Answer.of(serve.post("/v1/completions", new Req(prompt, List.of(ratio(1, "mean_diff_layer1", -0.6, null)), 4, 0, 0, false).body()), false);
        for (JsonElement e : neg.telemetry())
            if (e.getAsJsonObject().has("positions"))
                assertEquals(-r.get("coef").getAsDouble(), e.getAsJsonObject().get("coef").getAsDouble(), 1e-9 * Math.abs(r.get("coef").getAsDouble()));
    }

    @Test
    void aLongPromptAndALongAnswerThatEachFitTheContextRunTogether() throws Exception {
        // each fits the 128-token context alone; one batch prefilled with both would need 113 + 24 > 128 per row
        String longPrompt = "The river runs past the old mill and the weather is cold. ".repeat(7);
        int promptTokens = ref.tokenizer().encode(longPrompt).length;
        assertTrue(promptTokens > 104 && promptTokens <= 124, "prompt tokens " + promptTokens);
        SteerServer server = serve.server();
        // X holds the batch so that A and B wait and start the next batch together; X's answer as long as the context
        // allows and a 1 ms poll, since on the CPU kernels X can finish within one 10 ms poll
        int xTokens = Math.min(15, 127 - promptTokens);
        var x = serve.postAsync("/v1/completions", new Req(longPrompt, List.of(), xTokens, 0, 0, false).body());
        ServeLoadTest.waitFor(() -> server.scheduler().runningRows() == 1, "X running", 1);
        var a = serve.postAsync("/v1/completions", new Req(longPrompt, List.of(), 4, 0, 0, false).body());
        ServeLoadTest.waitFor(() -> server.scheduler().queued() == 1 || x.isDone(), "A queued");
        var b = serve.postAsync("/v1/completions", new Req("Hello", List.of(), 24, 0, 0, false).body());
        for (var f : List.of(x, a, b)) assertEquals(200, f.get().statusCode(), f.get().body());
    }

    /** A body with a field set or replaced; {@code value} is JSON text. */
    static String with(String field, String value) {
        JsonObject o = JsonParser.parseString("{\"model\":\"tiny-gemma2\",\"prompt\":\"Hello\",\"max_tokens\":4,\"temperature\":0}").getAsJsonObject();
        if (value == null) o.remove(field);
        else o.add(field, JsonParser.parseString(value));
        return o.toString();
    }

    static String steer(String spec) {
        return with("steer", "[" + spec + "]");
    }

    @Test
    void everyBadFieldIsA400NamingItAndTheServerKeepsServing() throws Exception {
        String v64 = "[" + "0.5,".repeat(63) + "0.5]";
        String nan = "{\"prompt\":\"Hello\",\"max_tokens\":4,\"steer\":[{\"layer\":1,\"vector\":[" + "0.5,".repeat(10) + "NaN" + ",0.5".repeat(53) + "],\"coef\":1}]}";
        Object[][] cases = {
                {"/v1/completions", steer("{\"layer\":1,\"vector\":\"nope\",\"coef\":1}"), "steer[0].vector", "unknown vector 'nope'"},
                {"/v1/completions", steer("{\"layer\":4,\"vector\":\"rand\",\"coef\":1}"), "steer[0].layer", "out of range"},
                {"/v1/completions", steer("{\"layer\":-1,\"vector\":\"rand\",\"coef\":1}"), "steer[0].layer", "out of range"},
                {"/v1/completions", steer("{\"layer\":1.5,\"vector\":\"rand\",\"coef\":1}"), "steer[0].layer", "integer"},
                {"/v1/completions", steer("{\"layer\":1,\"vector\":[1,2,3],\"coef\":1}"), "steer[0].vector", "hidden size is 64"},
                {"/v1/completions", nan, "steer[0].vector", "NaN"},
                {"/v1/completions", steer("{\"layer\":1,\"vector\":\"rand\",\"coef\":1,\"ratio\":0.5}"), "steer[0]", "exactly one of coef and ratio"},
                {"/v1/completions", steer("{\"layer\":1,\"vector\":\"rand\"}"), "steer[0]", "exactly one of coef and ratio"},
                {"/v1/completions", steer("{\"layer\":1,\"vector\":" + v64.replace("0.5", "0") + ",\"ratio\":0.5}"), "steer[0].vector", "all zeros"},
                {"/v1/completions", steer("{\"layer\":1,\"vector\":\"rand\",\"coef\":1,\"positions\":\"middle\"}"), "steer[0].positions", "not one of"},
                {"/v1/completions", steer("{\"layer\":1,\"vector\":\"rand\",\"coeff\":1}"), "steer[0].coeff", "unknown field"},
                {"/v1/completions", with("steer", "{\"layer\":1}"), "steer", "list"},
                {"/v1/completions", with("max_tokens", "128"), "max_tokens", "limit"},
                {"/v1/completions", with("max_tokens", "0"), "max_tokens", "at least 1"},
                {"/v1/completions", with("max_tokens", "127"), "prompt", "context length is 128"},
                {"/v1/completions", "{\"prompt\": \"Hello\", max_tokens: 3}", null, "not valid JSON"},
                {"/v1/completions", "[1, 2]", null, "JSON object"},
                {"/v1/completions", with("prompt", null), "prompt", "required"},
                {"/v1/completions", with("prompt", "\"\""), "prompt", "empty"},
                {"/v1/completions", with("prompt", "42"), "prompt", "string"},
                {"/v1/completions", with("n", "2"), "n", "n = 1"},
                {"/v1/completions", with("temperature", "-1"), "temperature", ">= 0"},
                {"/v1/completions", with("top_p", "0"), "top_p", "(0, 1]"},
                {"/v1/completions", with("stop", "[1]"), "stop", "string"},
                {"/v1/completions", with("stream", "\"yes\""), "stream", "true or false"},
                {"/v1/completions", with("seed", "0.5"), "seed", "integer"},
                {"/v1/chat/completions", "{\"messages\":[{\"role\":\"system\",\"content\":\"Be nice\"},{\"role\":\"user\",\"content\":\"Hi\"}]}", "messages", "System role not supported"},
                {"/v1/chat/completions", "{\"messages\":[]}", "messages", "non-empty"},
                {"/v1/chat/completions", "{\"messages\":[{\"role\":\"user\"}]}", "messages[0].content", "string"},
        };
        for (Object[] c : cases) {
            HttpResponse<String> r = serve.post((String) c[0], (String) c[1]);
            assertEquals(400, r.statusCode(), c[1] + " -> " + r.body());
            JsonObject err = JsonParser.parseString(r.body()).getAsJsonObject().getAsJsonObject("error");
            assertEquals("invalid_request_error", err.get("type").getAsString());
            if (c[2] == null) assertTrue(err.get("param").isJsonNull(), r.body());
            else assertEquals(c[2], err.get("param").getAsString(), r.body());
            assertTrue(err.get("message").getAsString().contains((String) c[3]), c[3] + " in " + r.body());
        }
        HttpResponse<String> other = serve.post("/v1/completions", with("model", "\"gpt-4o\""));
        assertEquals(404, other.statusCode());
        JsonObject err = JsonParser.parseString(other.body()).getAsJsonObject().getAsJsonObject("error");
        assertEquals("model_not_found", err.get("code").getAsString());
        assertEquals("invalid_request_error", err.get("type").getAsString());
        assertEquals("model", err.get("param").getAsString());
        assertEquals(404, serve.get("/v1/models/gpt-4o").statusCode());
        // still serving, and the metrics count the refusals
        serve.ok("/v1/completions", with("max_tokens", "2"));
        String metrics = serve.get("/metrics").body();
        assertTrue(metrics.contains("steer_requests_total{endpoint=\"/v1/completions\",status=\"400\"}"), metrics);
        assertTrue(metrics.contains("steer_requests_total{endpoint=\"/v1/completions\",status=\"404\"}"), metrics);
        for (String m : List.of("steer_queue_depth", "steer_running_rows", "steer_tokens_generated_total",
                "steer_time_to_first_token_seconds_bucket", "steer_inter_token_latency_seconds_count"))
            assertTrue(metrics.contains(m), m + " in " + metrics);
        assertFalse(metrics.contains("NaN"), metrics);
        assertNotEquals(0, serve.server().scheduler().tokensGenerated());
    }
}
