package dev.steer.models.serving;

import dev.steer.engine.backend.Backend;
import dev.steer.engine.djl.DjlBackend;
import dev.steer.engine.generation.GenerationOptions;
import dev.steer.engine.generation.GenerationRequest;
import dev.steer.engine.generation.GenerationResult;
import dev.steer.engine.generation.Generator;
import dev.steer.engine.generation.PromptNorms;
import dev.steer.engine.generation.RatioSteering;
import dev.steer.engine.serving.Job;
import dev.steer.engine.serving.JobListener;
import dev.steer.engine.serving.QueueFullException;
import dev.steer.engine.serving.Scheduler;
import dev.steer.engine.serving.Ticket;
import dev.steer.engine.steering.Positions;
import dev.steer.engine.steering.RatioSpec;
import dev.steer.engine.steering.SteeringSpec;
import dev.steer.engine.steering.SteeringVector;
import dev.steer.models.Fixtures;
import dev.steer.models.LoadedModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Continuous batching: jobs with mixed steering (none, coef, ratio, two layers, per-spec positions) and mixed
 * sampling, more of them than batch slots, so later ones join rows already decoding; each gets exactly the tokens
 * it gets alone. A ratio job's coef equals the one the law norm of its prompt gives. Cancel and queue limit.
 */
class SchedulerTest {
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

    static SteeringVector vector(int seed) {
        float[] v = new float[model.lm().dims().hidden()];
        for (int i = 0; i < v.length; i++) v[i] = (float) Math.sin(0.37 * i + seed);
        return new SteeringVector(v, "sine" + seed);
    }

    static final class Collect implements JobListener {
        final List<Integer> tokens = Collections.synchronizedList(new ArrayList<>());
        final CompletableFuture<GenerationResult> done = new CompletableFuture<>();
        volatile List<SteeringSpec> steering;
        volatile boolean cancelled;

        @Override
        public void started(List<SteeringSpec> steering) {
            this.steering = steering;
        }

        @Override
        public void token(int id) {
            tokens.add(id);
        }

        @Override
        public void finished(GenerationResult result, boolean cancelled) {
            this.cancelled = cancelled;
            done.complete(result);
        }

        @Override
        public void failed(RuntimeException error) {
            done.completeExceptionally(error);
        }
    }

    @Test
    void everyJobGetsItsAloneTokensWhateverSharesItsBatch() throws Exception {
        String[] prompts = {"The river runs past the old mill", "Once", "A short note about the weather today",
                "Numbers: one two three", "Hello there", "What is the capital of France?", "Tea or coffee", "Quiet night"};
        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < prompts.length; i++) {
            int[] ids = model.encodePrompt(prompts[i], false, "--prompt");
            List<SteeringSpec> fixed = switch (i % 4) {
                case 1 -> List.of(new SteeringSpec(1, vector(i), 5.0, Positions.ALL));
                case 2 -> List.of(new SteeringSpec(1, vector(i), -3.0, Positions.PROMPT), new SteeringSpec(3, vector(i + 1), 4.0, Positions.RESPONSE));
                default -> List.of();
            };
            List<RatioSpec> ratios = i % 4 == 3 ? List.of(new RatioSpec(2, vector(i), 0.6, Positions.ALL)) : List.of();
            GenerationOptions opts = i % 3 == 0 ? new GenerationOptions(5 + i, 0.8, 0.9, 100 + i, true, null, false)
                    : new GenerationOptions(5 + i, 0, 1, 0, true, null, false);
            jobs.add(new Job(ids, fixed, ratios, opts));
        }
        List<Collect> got = new ArrayList<>();
        try (Scheduler s = new Scheduler(model.lm(), new Scheduler.Settings(3, 64, 256, new int[] {0}))) {
            for (Job j : jobs) {
                Collect c = new Collect();
                s.submit(j, c);
                got.add(c);
            }
            for (Collect c : got) c.done.get(120, TimeUnit.SECONDS);
        }
        for (int i = 0; i < jobs.size(); i++) {
            Job j = jobs.get(i);
            List<SteeringSpec> steering = RatioSteering.resolve(model.lm(), j.promptIds(), j.steering(), j.ratios());
            GenerationOptions alone = j.options().measuring(0);
            GenerationResult want = new Generator(model.lm(), false).generate(List.of(new GenerationRequest(j.promptIds(), steering)), alone).get(0);
            GenerationResult have = got.get(i).done.get();
            assertArrayEquals(want.tokens(), have.tokens(), "job " + i);
            assertEquals(want.tokens().length, got.get(i).tokens.size(), "streamed tokens, job " + i);
            for (int k = 0; k < want.tokens().length; k++) assertEquals(want.tokens()[k], got.get(i).tokens.get(k));
            assertEquals(want.telemetry().size(), have.telemetry().size(), "job " + i);
            for (int k = 0; k < want.telemetry().size(); k++)
                assertEquals(want.telemetry().get(k).activationNorm(), have.telemetry().get(k).activationNorm(),
                        1e-5 * want.telemetry().get(k).activationNorm(), "job " + i + " entry " + k);
            if (!j.ratios().isEmpty()) {
                double h = PromptNorms.activationNorm(model.lm(), List.of(j.promptIds()), 2, 1).mean();
                SteeringSpec resolved = got.get(i).steering.get(got.get(i).steering.size() - 1);
                assertEquals(0.6 * h / j.ratios().get(0).vector().norm(), resolved.coef(), 1e-9 * resolved.coef());
                double ratio = have.telemetry().stream().filter(t -> t.layer() == 2).findFirst().orElseThrow().ratio();
                assertEquals(0.6, ratio, 1e-5, "the telemetry ratio is the one asked for");
            }
        }
    }

    @Test
    void cancelFreesTheRowAndTheQueueHasALimit() throws Exception {
        int[] ids = model.encodePrompt("The river runs past the old mill", false, "--prompt");
        GenerationOptions longRun = new GenerationOptions(200, 0, 1, 0, false, null, false);
        try (Scheduler s = new Scheduler(model.lm(), new Scheduler.Settings(1, 1, 512, new int[0]))) {
            Collect first = new Collect(), second = new Collect();
            Ticket t = s.submit(new Job(ids, List.of(), List.of(), longRun), first);
            while (first.tokens.size() < 2) Thread.sleep(5);
            s.submit(new Job(ids, List.of(), List.of(), GenerationOptions.greedy(3)), second);
            assertThrows(QueueFullException.class, () -> s.submit(new Job(ids, List.of(), List.of(), GenerationOptions.greedy(3)), new Collect()));
            t.cancel();
            GenerationResult r = first.done.get(60, TimeUnit.SECONDS);
            assertTrue(first.cancelled);
            assertTrue(r.tokens().length < 200, "stopped early: " + r.tokens().length);
            assertEquals(3, second.done.get(60, TimeUnit.SECONDS).tokens().length, "the freed slot serves the next job");
        }
    }
}
