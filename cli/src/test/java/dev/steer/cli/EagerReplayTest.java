package dev.steer.cli;

import com.google.gson.JsonObject;
import dev.steer.engine.generation.GenerationOptions;
import dev.steer.engine.generation.GenerationRequest;
import dev.steer.engine.generation.GenerationResult;
import dev.steer.engine.generation.Generator;
import dev.steer.engine.serving.Job;
import dev.steer.engine.serving.JobListener;
import dev.steer.engine.serving.Scheduler;
import dev.steer.engine.steering.SteeringSpec;
import dev.steer.kernels.CudaBackend;
import dev.steer.kernels.KernelSettings;
import dev.steer.kernels.Precision;
import dev.steer.models.LoadedModel;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Eager decoding (STEER_LOOKAHEAD=0, and the scheduler's steps) replays the captured decode step too, and gives the
 * reference tokens; the scheduler on cuda-emu gives each job its alone tokens, replaying its decode steps.
 */
class EagerReplayTest {
    @Test
    void eagerStepsReplayTheGraphAndTheSchedulerToo() throws Exception {
        JsonObject ref = com.google.gson.JsonParser.parseString(java.nio.file.Files.readString(CliRun.REFERENCE)).getAsJsonObject();
        List<GenerationRequest> requests = EmulatedCudaCommandTest.mixedFixtureBatch(ref);
        CudaBackend be = CudaBackend.emulated(Precision.F32, KernelSettings.fromEnvironment().withGemv("0"));
        try (LoadedModel m = LoadedModel.open(CliRun.TINY, be)) {
            GenerationOptions opts = new GenerationOptions(12, 0, 1, 0, false, null, false);
            List<GenerationResult> out = new Generator(m.lm(), false).generate(requests, opts);
            EmulatedCudaCommandTest.assertMixedReferenceTokens(ref, out);
            // 11 eager decode steps: the first runs, the second is captured, the other 9 replay
            assertEquals(9L, be.graphReplays());
            assertEquals(0L, be.graphMismatches());

            // Three jobs through two slots: the third joins the slot the first frees.
            // alone first: the backend serves one thread at a time, and the scheduler's thread owns it while it runs
            List<int[]> alone = new ArrayList<>();
            for (int p = 0; p < 3; p++)
                alone.add(new Generator(m.lm(), false).generate(List.of(requests.get(p)),
                        new GenerationOptions(4 + 3 * p, 0, 1, 0, false, null, false)).get(0).tokens());
            long before = be.graphReplays();
            List<CompletableFuture<GenerationResult>> done = new ArrayList<>();
            try (Scheduler s = new Scheduler(m.lm(), new Scheduler.Settings(2, 8, 64, new int[0]))) {
                for (int p = 0; p < 3; p++) {
                    CompletableFuture<GenerationResult> f = new CompletableFuture<>();
                    done.add(f);
                    s.submit(new Job(requests.get(p).promptIds(), requests.get(p).steering(), List.of(),
                            new GenerationOptions(4 + 3 * p, 0, 1, 0, false, null, false)), new JobListener() {
                        public void started(List<SteeringSpec> steering) { }
                        public void token(int id) { }
                        public void finished(GenerationResult result, boolean cancelled) { f.complete(result); }
                        public void failed(RuntimeException error) { f.completeExceptionally(error); }
                    });
                }
                for (int p = 0; p < 3; p++)
                    assertArrayEquals(alone.get(p), done.get(p).get(120, TimeUnit.SECONDS).tokens(), "job " + p);
            }
            assertTrue(be.graphReplays() > before, "the scheduler's steps replay");
            // A row leaving or joining makes a new steering plan (new delta tensors): the captured step no longer
            // matches, runs eagerly once and is captured again. Two changes of rows here (job 0 leaves, job 2 joins).
            assertTrue(be.graphMismatches() <= 2, "mismatches " + be.graphMismatches());
        } finally {
            be.close();
        }
    }
}
