package dev.steer.models.generation;

import dev.steer.engine.backend.Backend;
import dev.steer.engine.djl.DjlBackend;
import dev.steer.engine.generation.GenerationOptions;
import dev.steer.engine.generation.GenerationRequest;
import dev.steer.engine.generation.GenerationResult;
import dev.steer.engine.generation.Generator;
import dev.steer.engine.generation.Row;
import dev.steer.engine.generation.RunningBatch;
import dev.steer.engine.steering.Positions;
import dev.steer.engine.steering.SteeringSpec;
import dev.steer.engine.steering.SteeringVector;
import dev.steer.engine.telemetry.HookTelemetry;
import dev.steer.models.Fixtures;
import dev.steer.models.LoadedModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Rows leave and join a running batch between steps (what continuous batching needs): a request that joins late,
 * into the slot another left, gets the tokens and telemetry it gets alone, and the rows already running are not
 * disturbed. Tiny fixture model, cpu backend, greedy and seeded sampling.
 */
class RunningBatchTest {
    static Backend backend;
    static LoadedModel model;

    @BeforeAll
    static void load() {
        backend = DjlBackend.cpu();
        model = LoadedModel.open(Fixtures.tinyGemma2(), backend);
    }

    @AfterAll
    static void close() {
        model.close();
        backend.close();
    }

    static GenerationRequest request(String text, List<SteeringSpec> steering) {
        return new GenerationRequest(model.encodePrompt(text, false, "--prompt"), steering);
    }

    static List<SteeringSpec> steer(int layer, double coef, Positions positions) {
        float[] v = new float[model.lm().dims().hidden()];
        for (int i = 0; i < v.length; i++) v[i] = (float) Math.sin(0.37 * i + layer);
        return List.of(new SteeringSpec(layer, new SteeringVector(v, "sine"), coef, positions));
    }

    static GenerationResult alone(GenerationRequest r, GenerationOptions opts) {
        return new Generator(model.lm(), false).generate(List.of(r), opts).get(0);
    }

    @Test
    void aRowThatJoinsLateGetsItsTokensAndTelemetryAlone() {
        for (GenerationOptions opts : List.of(new GenerationOptions(8, 0, 1, 0, false, new int[] {3}, false),
                new GenerationOptions(8, 0.9, 0.95, 11, false, new int[] {3}, false))) {
            GenerationRequest a = request("The river runs past the old mill", steer(1, 4.0, Positions.ALL));
            GenerationRequest c = request("Once", List.of());
            GenerationRequest b = request("A short note about the weather today", steer(2, -6.0, Positions.RESPONSE));
            GenerationResult aAlone = alone(a, opts), bAlone = alone(b, opts);
            try (RunningBatch batch = new Generator(model.lm(), false).start(List.of(a, c), opts, 64)) {
                batch.step(null);
                batch.step(null);
                Row leaving = batch.rows().get(1);
                assertEquals(3, leaving.produced(), "the prefill's token and two steps");
                batch.leave(leaving);
                Row joined = batch.join(b);
                assertEquals(1, joined.slot(), "the freed slot is reused");
                assertTrue(joined.feeding());
                while (batch.live()) batch.step(null);
                GenerationResult aHere = batch.result(batch.rows().get(0)), bHere = batch.result(joined);
                assertArrayEquals(aAlone.tokens(), aHere.tokens(), "a running row is not disturbed (T=" + opts.temperature() + ")");
                assertArrayEquals(bAlone.tokens(), bHere.tokens(), "the late row's tokens (T=" + opts.temperature() + ")");
                assertTelemetryEquals(aAlone.telemetry(), aHere.telemetry());
                assertTelemetryEquals(bAlone.telemetry(), bHere.telemetry());
            }
        }
    }

    static void assertTelemetryEquals(List<HookTelemetry> want, List<HookTelemetry> got) {
        assertEquals(want.size(), got.size());
        for (int i = 0; i < want.size(); i++) {
            HookTelemetry w = want.get(i), g = got.get(i);
            assertEquals(w.layer(), g.layer());
            assertEquals(w.coef(), g.coef(), 0);
            assertEquals(w.promptCount(), g.promptCount(), "prompt tokens, BOS excluded");
            assertEquals(w.responseCount(), g.responseCount());
            assertEquals(w.activationNorm(), g.activationNorm(), 1e-5 * w.activationNorm(), "layer " + w.layer());
            assertEquals(w.responseNormMean(), g.responseNormMean(), 1e-4 * w.responseNormMean(), "layer " + w.layer());
            assertEquals(w.ratio(), g.ratio(), 1e-5 * Math.max(1e-9, w.ratio()));
        }
    }

    @Test
    void aFullBatchRefusesAJoinAndAForeignRowCannotLeave() {
        GenerationOptions opts = GenerationOptions.greedy(2);
        GenerationRequest a = request("One", List.of());
        try (RunningBatch batch = new Generator(model.lm(), false).start(List.of(a), opts, 8);
             RunningBatch other = new Generator(model.lm(), false).start(List.of(a), opts, 8)) {
            assertThrows(IllegalStateException.class, () -> batch.join(a));
            Row foreign = other.rows().get(0);
            assertThrows(IllegalArgumentException.class, () -> batch.leave(foreign));
            while (batch.live()) batch.step(null);
            assertFalse(batch.live());
            assertEquals(2, batch.rows().get(0).produced());
        }
    }
}
