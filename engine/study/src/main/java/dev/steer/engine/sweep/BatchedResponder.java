package dev.steer.engine.sweep;

import dev.steer.engine.generation.GenerationOptions;
import dev.steer.engine.generation.GenerationRequest;
import dev.steer.engine.generation.GenerationResult;
import dev.steer.engine.generation.Generator;
import dev.steer.engine.model.CausalLm;
import dev.steer.engine.steering.Positions;
import dev.steer.engine.telemetry.HookTelemetry;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Answers by batched generation: the rows of all candidates (candidate-major, question-minor) are cut into batches
 * of {@code batchSize} regardless of which candidate they belong to, so rows of different layers and coefs share a
 * batch, each with its own steering. Every row is independent of its batch-mates (left padding, per-row specs),
 * so results do not depend on the batching.
 */
public final class BatchedResponder implements Responder {
    private final Generator generator;
    private final List<int[]> prompts;
    private final Function<int[], String> decode;
    private final GenerationOptions options;
    private final Positions positions;
    private final int batchSize;
    private final GenerationProgress progress;

    /**
     * @param prompts   the questions' prompt ids (BOS, chat template when used), in question order
     * @param decode    answer token ids → text (special tokens dropped)
     */
    public BatchedResponder(CausalLm lm, List<int[]> prompts, Function<int[], String> decode, GenerationOptions options,
                            Positions positions, int batchSize, GenerationProgress progress) {
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be at least 1, was " + batchSize);
        this.generator = new Generator(lm);
        this.prompts = List.copyOf(prompts);
        this.decode = decode;
        this.options = options;
        this.positions = positions;
        this.batchSize = batchSize;
        this.progress = progress;
    }

    @Override
    public List<List<Answer>> answer(List<Candidate> candidates) {
        int q = prompts.size();
        List<GenerationRequest> rows = new ArrayList<>(candidates.size() * q);
        for (Candidate c : candidates)
            for (int[] p : prompts) rows.add(new GenerationRequest(p, c.specs(positions)));
        List<GenerationResult> results = new ArrayList<>(rows.size());
        for (int from = 0; from < rows.size(); from += batchSize) {
            List<GenerationRequest> batch = rows.subList(from, Math.min(rows.size(), from + batchSize));
            results.addAll(generator.generate(batch, options, progress::tokens));
            progress.rows(batch.size());
        }
        List<List<Answer>> out = new ArrayList<>(candidates.size());
        for (int c = 0; c < candidates.size(); c++) {
            Candidate cand = candidates.get(c);
            List<Answer> answers = new ArrayList<>(q);
            for (int i = 0; i < q; i++) {
                GenerationResult r = results.get(c * q + i);
                answers.add(new Answer(decode.apply(r.tokens()), r.tokens().length, steeredTelemetry(cand, r)));
            }
            out.add(answers);
        }
        return out;
    }

    private static HookTelemetry steeredTelemetry(Candidate c, GenerationResult r) {
        if (!c.steered()) return null;
        for (HookTelemetry t : r.telemetry()) if (t.layer() == c.layer()) return t;
        return null;
    }
}
