package dev.steer.cli.serve;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
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
import dev.steer.models.LoadedModel;
import dev.steer.models.vectors.VectorFile;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The concurrent-equality property through {@code --backend cuda-emu --precision f32} (the CUDA kernels on the CPU
 * emulator): a few requests with mixed steering share a batch, each equal to the same request alone on that backend.
 */
class ServeCudaEmuTest {
    @BeforeAll
    static void emulatorAvailable() {
        String reason = dev.steer.kernels.CudaBackend.emulatorUnavailableReason();
        if (reason != null) System.out.println("ServeCudaEmuTest skipped: " + reason);
        Assumptions.assumeTrue(reason == null, reason);
    }

    @TempDir
    static Path tmp;

    @Test
    void concurrentMixedRequestsEqualTheirAloneRuns() throws Exception {
        Path file = tmp.resolve("v.json");
        float[] v = ServeTest.random(5, 4.0f);
        Files.writeString(file, new com.google.gson.Gson().toJson(v));
        String prompt = "The river runs past the old mill";
        String[] steer = {"", ",\"steer\":[{\"layer\":1,\"vector\":\"v\",\"coef\":4,\"positions\":\"response\"}]",
                ",\"steer\":[{\"layer\":2,\"vector\":\"v\",\"ratio\":0.7}]"};
        List<String> texts = new ArrayList<>();
        try (ServeHarness serve = ServeHarness.start("--model", ServeHarness.TINY.toString(), "--backend", "cuda-emu", "--precision", "f32",
                "--max-batch", "3", "--max-context", "32", "--vector", "v=" + file)) {
            List<CompletableFuture<HttpResponse<String>>> fs = new ArrayList<>();
            for (String s : steer)
                fs.add(serve.postAsync("/v1/completions", "{\"prompt\":\"" + prompt + "\",\"max_tokens\":4,\"temperature\":0" + s + "}"));
            for (var f : fs) {
                HttpResponse<String> r = f.get();
                assertEquals(200, r.statusCode(), r.body());
                JsonObject o = JsonParser.parseString(r.body()).getAsJsonObject();
                texts.add(o.getAsJsonArray("choices").get(0).getAsJsonObject().get("text").getAsString());
            }
        }
        try (Backend b = BackendProvider.open("cuda-emu", "f32"); LoadedModel m = LoadedModel.open(ServeHarness.TINY, b)) {
            SteeringVector sv = new SteeringVector(v, "v");
            int[] ids = m.tokenizer().encode(prompt);
            List<List<SteeringSpec>> specs = List.of(List.of(), List.of(new SteeringSpec(1, sv, 4, Positions.RESPONSE)),
                    RatioSteering.resolve(m.lm(), ids, List.of(), List.of(new RatioSpec(2, sv, 0.7, Positions.ALL))));
            for (int i = 0; i < specs.size(); i++) {
                GenerationResult alone = new Generator(m.lm(), false).generate(List.of(new GenerationRequest(ids, specs.get(i))),
                        GenerationOptions.greedy(4)).get(0);
                assertEquals(m.tokenizer().decode(alone.tokens()), texts.get(i), "request " + i);
            }
        }
    }
}
