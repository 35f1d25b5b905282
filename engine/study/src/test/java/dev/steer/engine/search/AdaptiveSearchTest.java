package dev.steer.engine.search;

import dev.steer.engine.BadInputException;
import dev.steer.engine.generation.GenerationOptions;
import dev.steer.engine.judge.CachedJudge;
import dev.steer.engine.judge.Judge;
import dev.steer.engine.judge.JudgeCache;
import dev.steer.engine.judge.OpenAiJudge;
import dev.steer.engine.judge.ScriptedChatServer;
import dev.steer.engine.steering.Positions;
import dev.steer.engine.steering.SteeringVector;
import dev.steer.engine.store.ModelRecord;
import dev.steer.engine.store.RunFilter;
import dev.steer.engine.store.RunKind;
import dev.steer.engine.store.RunRecord;
import dev.steer.engine.store.RunStore;
import dev.steer.engine.sweep.Answer;
import dev.steer.engine.sweep.Candidate;
import dev.steer.engine.sweep.Evaluator;
import dev.steer.engine.steering.VectorProvenance;
import dev.steer.engine.sweep.Responder;
import dev.steer.engine.sweep.RunContext;
import dev.steer.engine.sweep.RunLog;
import dev.steer.engine.sweep.SweepListener;
import dev.steer.engine.telemetry.HookTelemetry;
import dev.steer.engine.trait.TraitDataset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The search rule end to end through real judges: answers carry their coef ("coef=…"), a loopback chat-completions
 * server scores them (coherent while |coef| ≤ 4), and the search must walk the exact ×1.3 / ×0.85 sequence.
 */
class AdaptiveSearchTest {
    static final List<String> QUESTIONS = List.of("Q one?", "Q two?");
    static final TraitDataset TRAIT = new TraitDataset("scripted", "test trait", "high", "low", List.of(), QUESTIONS,
            "TRAIT {question} {answer}", "COHERENCE {question} {answer}");
    // ‖v‖ = 2 on both layers; question norms 4 and 8 make coef_for(1) = 2 and 4, so the starts are 1.4 and 2.8.
    static final SteeringVector V = new SteeringVector(new float[] {2, 0, 0, 0}, "v");

    static SteeringVector vector(int layer, String source) {
        return new SteeringVector(V.values(), new VectorProvenance(source, null, layer, "mean_diff", "response", null, Map.of()));
    }

    @TempDir
    Path tmp;

    /** Answers "coef=<coef>" with telemetry reporting ‖h‖ = the layer's question norm. */
    static final class CoefResponder implements Responder {
        final AtomicInteger rows = new AtomicInteger();

        @Override
        public List<List<Answer>> answer(List<Candidate> candidates) {
            List<List<Answer>> out = new ArrayList<>();
            for (Candidate c : candidates) {
                List<Answer> as = new ArrayList<>();
                for (String q : QUESTIONS) {
                    rows.incrementAndGet();
                    HookTelemetry t = c.steered() ? new HookTelemetry("blocks." + c.layer() + ".hook_resid_post", c.layer(), c.coef(),
                            2, "all", norm(c.layer()), 3, norm(c.layer()), 1, norm(c.layer()), Math.abs(c.coef()) * 2 / norm(c.layer()),
                            Math.abs(c.coef()) * 2 / norm(c.layer())) : null;
                    as.add(new Answer(String.format(Locale.ROOT, "coef=%s", c.coef()), 1, t));
                }
                out.add(as);
            }
            return out;
        }
    }

    static double norm(int layer) {
        return layer == 1 ? 4 : 8;
    }

    static double trait(double coef) {
        return Math.max(0, Math.min(100, 50 + 10 * coef));
    }

    Judge judge(ScriptedChatServer server, JudgeCache cache) {
        // Concurrency 1 so that requests arrive in item order (irrelevant to the scores, kept simple).
        OpenAiJudge j = new OpenAiJudge(new OpenAiJudge.Config(server.baseUrl(), "", "scripted", 1, 2, Duration.ofSeconds(10)));
        return new CachedJudge(j, cache);
    }

    AdaptiveSearch.Result search(Path db, ScriptedChatServer server, CoefResponder responder, SearchSettings settings) {
        try (RunStore store = RunStore.open(db); JudgeCache cache = JudgeCache.open(tmp.resolve("judge-cache.db"));
             Judge traitJudge = judge(server, cache); Judge coherenceJudge = judge(server, cache)) {
            ModelRecord model = store.saveModel(new ModelRecord(0, "m", "gemma2", 4, 4, "fp-1"));
            RunContext ctx = new RunContext(model, "scripted", QUESTIONS, Positions.ALL, traitJudge.id(), coherenceJudge.id() + "#coh",
                    GenerationOptions.greedy(4), new RunContext.Setup(false, "test:default", RunContext.traitSha256(TRAIT),
                    traitJudge.scoreIdentity(), coherenceJudge.scoreIdentity() + "#coh"));
            RunLog log = new RunLog(store, ctx, Map.of(1, vector(1, "v1"), 2, vector(2, "v2")));
            Evaluator ev = new Evaluator(TRAIT, QUESTIONS, responder, traitJudge, coherenceJudge);
            return new AdaptiveSearch(settings).run(ev, log, List.of(new AdaptiveSearch.LayerStart(1, 4), new AdaptiveSearch.LayerStart(2, 8)),
                    SweepListener.NONE);
        }
    }

    static void assertCoefs(double start, double[] factors, LayerTrajectory t) {
        double c = start;
        assertEquals(factors.length + 1, t.steps().size());
        for (int i = 0; i < t.steps().size(); i++) {
            assertEquals(c, t.steps().get(i).coef(), 1e-12 * Math.abs(c), "layer " + t.layer() + " step " + i);
            if (i < factors.length) c *= factors[i];
        }
    }

    @Test
    void walksTheExactCoefSequenceAndResumesFromTheStore() throws Exception {
        Path db = tmp.resolve("runs.db");
        CoefResponder responder = new CoefResponder();
        try (ScriptedChatServer server = new ScriptedChatServer(ScriptedChatServer.byCoef(AdaptiveSearchTest::trait, c -> Math.abs(c) <= 4 ? 90 : 40))) {
            AdaptiveSearch.Result r = search(db, server, responder, SearchSettings.defaults(Direction.POSITIVE));
            // Layer 1: 1.4 1.82 2.366 3.0758 3.99854 | 5.198 (incoherent) 4.418 (incoherent) 3.756
            assertCoefs(1.4, new double[] {1.3, 1.3, 1.3, 1.3, 1.3, 0.85, 0.85}, r.layers().get(0));
            // Layer 2: 2.8 3.64 | 4.732 4.022 (incoherent) 3.419 | 4.445 (incoherent) 3.778 | 4.911
            assertCoefs(2.8, new double[] {1.3, 1.3, 0.85, 0.85, 1.3, 0.85, 1.3}, r.layers().get(1));
            assertEquals(2 * 8 * 2 * 2 + 2 * 2, server.requests.get(), "judge requests: 16 runs + baseline, 2 questions, 2 judges");
            assertEquals(2 + 2 * 8 * 2, responder.rows.get());

            SearchStep step0 = r.layers().get(0).steps().get(0);
            assertEquals(1.4 * 2 / 4, step0.nominalRatio(), 1e-12);
            assertEquals(1.4 * 2 / 4, step0.steeredRatio(), 1e-12);
            assertEquals(trait(1.4), step0.traitMean(), 1e-9);
            assertEquals(90, step0.coherenceMean(), 1e-9);
            SearchStep best = r.layers().get(0).best(Direction.POSITIVE).orElseThrow();
            assertEquals(4, best.step(), "highest trait among coherent steps: coef 3.99854");
            assertEquals(1.4 * Math.pow(1.3, 4), best.coef(), 1e-12);
            assertEquals(50, r.baseline().run().traitMean(), 1e-9);

            try (RunStore store = RunStore.open(db)) {
                List<RunRecord> search = store.runs(RunFilter.ALL.withKind(RunKind.SEARCH));
                assertEquals(16, search.size());
                assertEquals(1, store.runs(RunFilter.ALL.withKind(RunKind.BASELINE)).size());
                RunRecord last = search.get(15);
                assertEquals(7, last.searchStep());
                assertEquals(2, last.layer());
                assertEquals(trait(last.coef()) - 50, last.delta(), 1e-9);
                assertEquals(8.0, last.activationNorm(), 0);
            }

            int before = server.requests.get();
            AdaptiveSearch.Result again = search(db, server, responder, SearchSettings.defaults(Direction.POSITIVE));
            assertEquals(before, server.requests.get(), "a repeated search asks the judge nothing");
            assertEquals(2 + 2 * 8 * 2, responder.rows.get(), "and generates nothing");
            assertTrue(again.layers().get(1).steps().stream().allMatch(SearchStep::reused));
            assertEquals(r.layers().get(1).steps().get(7).runId(), again.layers().get(1).steps().get(7).runId());
            try (RunStore store = RunStore.open(db)) {
                assertEquals(17, store.runs().size(), "no duplicates");
            }
        }
    }

    @Test
    void negativeDirectionFlipsTheSignAndPicksTheStrongestSuppression() throws Exception {
        try (ScriptedChatServer server = new ScriptedChatServer(ScriptedChatServer.byCoef(AdaptiveSearchTest::trait, c -> Math.abs(c) <= 4 ? 90 : 40))) {
            AdaptiveSearch.Result r = search(tmp.resolve("neg.db"), server, new CoefResponder(),
                    SearchSettings.defaults(Direction.NEGATIVE).withSteps(4));
            assertCoefs(-1.4, new double[] {1.3, 1.3, 1.3}, r.layers().get(0));
            assertCoefs(-2.8, new double[] {1.3, 1.3, 0.85}, r.layers().get(1));
            SearchStep best = r.layers().get(1).best(Direction.NEGATIVE).orElseThrow();
            // Layer 2: -2.8, -3.64 coherent; -4.732 incoherent; -4.022 incoherent: the lowest coherent trait is at -3.64.
            assertEquals(1, best.step());
            assertEquals(trait(-3.64), best.traitMean(), 1e-9);
            assertTrue(best.coef() < 0 && best.steeredRatio() > 0, "the sign lives in coef; ratios are unsigned");
        }
    }

    @Test
    void unscoredCoherenceCountsAsIncoherent() {
        SearchSettings s = SearchSettings.defaults(Direction.POSITIVE);
        assertFalse(s.coherent(null));
        assertTrue(s.coherent(70.0));
        assertFalse(s.coherent(69.999));
    }

    @Test
    void momentumAcceleratesInLogSpace() {
        SearchSettings s = SearchSettings.defaults(Direction.POSITIVE).withMomentum(0.5);
        SearchSettings.Stride a = new SearchSettings.Stride(1, 0);
        SearchSettings.Stride b = a.next(true, s);
        assertEquals(1.3, b.magnitude(), 1e-12);
        SearchSettings.Stride c = b.next(true, s);
        assertEquals(1.3 * Math.pow(1.3, 1.5), c.magnitude(), 1e-12);
        SearchSettings.Stride d = c.next(false, s);
        assertEquals(c.magnitude() * Math.pow(1.3, 0.75) * 0.85, d.magnitude(), 1e-12);
        SearchSettings plain = SearchSettings.defaults(Direction.POSITIVE);
        assertEquals(0.85 * 1.3, a.next(true, plain).next(false, plain).magnitude(), 1e-12);
    }

    @Test
    void badSettingsNameTheFlag() {
        BadInputException e = assertThrows(BadInputException.class, () -> SearchSettings.defaults(Direction.POSITIVE).withMomentum(1));
        assertTrue(e.getMessage().startsWith("--momentum"), e.getMessage());
        e = assertThrows(BadInputException.class, () -> SearchSettings.defaults(Direction.POSITIVE).withSteps(0));
        assertTrue(e.getMessage().startsWith("--steps"), e.getMessage());
        e = assertThrows(BadInputException.class, () -> SearchSettings.defaults(Direction.POSITIVE).withThreshold(101));
        assertTrue(e.getMessage().startsWith("--coherence-threshold"), e.getMessage());
        e = assertThrows(BadInputException.class, () -> Direction.parse("up", "--direction"));
        assertTrue(e.getMessage().contains("--direction") && e.getMessage().contains("'up'"), e.getMessage());
    }
}
