package dev.steer.engine.judge;

import dev.steer.engine.backend.Backend;
import dev.steer.engine.backend.KvCache;
import dev.steer.engine.backend.Scope;
import dev.steer.engine.backend.StepLayout;
import dev.steer.engine.backend.Tensor;
import dev.steer.engine.model.CausalLm;
import dev.steer.engine.model.ResidualHook;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalDouble;
import java.util.function.Function;

/**
 * Coherence without a second model: how likely the UNSTEERED model finds the answer after the question.
 * A teacher-forced forward over (question prompt, answer) gives, for each answer token a_j, log p(a_j | prompt,
 * a_&lt;j); their mean m (nats per token, ≤ 0) maps to
 *
 * <pre>  score = 100 × clamp(1 + m / {@value #NATS_AT_ZERO}, 0, 1)</pre>
 *
 * linear in the log-likelihood: 100 for an answer predicted with certainty, 70 (the coherence threshold) at a
 * per-token perplexity of e^3 ≈ 20, 50 at e^5 ≈ 148, 0 at e^10 ≈ 22026 or worse (gemma-2's uniform guess over
 * 256000 tokens is e^12.45). An empty answer has no score. Caveat: a model rates its own repetition loops as
 * likely, so degenerate repetition can score high; the trait judge's view of such answers is unaffected.
 *
 * <p>The judge ignores {@link JudgeItem#prompt()}: it reads question and answer. Rows are batched left-padded so
 * that at most {@value #MAX_HOST_LOGITS} logits are copied to the host at once.
 */
public final class PerplexityJudge implements Judge {
    /** Mean log-likelihood (nats per token, negated) at which the score reaches 0. */
    public static final double NATS_AT_ZERO = 10.0;
    static final long MAX_HOST_LOGITS = 1L << 25;

    private final String model;
    private final CausalLm lm;
    private final Function<String, int[]> promptEncoder;
    private final Function<String, int[]> answerEncoder;

    /**
     * @param model         identity of the weights, part of {@link #id()}
     * @param promptEncoder question → the prompt ids the steered model was given (BOS, chat template if used)
     * @param answerEncoder answer text → its token ids without special tokens
     */
    public PerplexityJudge(String model, CausalLm lm, Function<String, int[]> promptEncoder, Function<String, int[]> answerEncoder) {
        this.model = model;
        this.lm = lm;
        this.promptEncoder = promptEncoder;
        this.answerEncoder = answerEncoder;
    }

    @Override
    public String id() {
        return "perplexity:" + model + ":k" + NATS_AT_ZERO;
    }

    /** The documented mapping from a mean log-likelihood (nats per token) to 0-100. */
    public static double score(double meanLogprob) {
        return 100 * Math.max(0, Math.min(1, 1 + meanLogprob / NATS_AT_ZERO));
    }

    @Override
    public List<OptionalDouble> score(List<JudgeItem> items) {
        List<OptionalDouble> out = new ArrayList<>(items.size());
        int vocab = lm.dims().vocab();
        List<int[]> prompts = new ArrayList<>(), answers = new ArrayList<>();
        for (JudgeItem item : items) {
            prompts.add(promptEncoder.apply(item.question()));
            answers.add(answerEncoder.apply(item.answer()));
        }
        int from = 0;
        while (from < items.size()) {
            int to = from, maxLen = 0;
            while (to < items.size()) {
                int len = prompts.get(to).length + answers.get(to).length;
                int newMax = Math.max(maxLen, len);
                if (to > from && (long) (to - from + 1) * newMax * vocab > MAX_HOST_LOGITS) break;
                maxLen = newMax;
                to++;
            }
            double[] means = meanLogprobs(prompts.subList(from, to), answers.subList(from, to), maxLen);
            for (double m : means) out.add(Double.isNaN(m) ? OptionalDouble.empty() : OptionalDouble.of(score(m)));
            from = to;
        }
        return out;
    }

    /** Mean log p(answer token | everything before it) per row; NaN for an empty answer. */
    double[] meanLogprobs(List<int[]> prompts, List<int[]> answers, int maxLen) {
        Backend b = lm.backend();
        int batch = prompts.size(), vocab = lm.dims().vocab();
        int[] ids = new int[batch * maxLen];
        int[] padLeft = new int[batch];
        Arrays.fill(ids, lm.dims().padId());
        for (int r = 0; r < batch; r++) {
            int[] p = prompts.get(r), a = answers.get(r);
            padLeft[r] = maxLen - p.length - a.length;
            System.arraycopy(p, 0, ids, r * maxLen + padLeft[r], p.length);
            System.arraycopy(a, 0, ids, r * maxLen + padLeft[r] + p.length, a.length);
        }
        float[] logits;
        try (KvCache cache = lm.newCache(batch, maxLen); Scope s = b.openScope()) {
            Tensor t = lm.forward(b.ints(ids, batch, maxLen), new StepLayout(batch, 0, maxLen, padLeft), cache, ResidualHook.NONE, true);
            logits = b.toHost(t);
        }
        double[] out = new double[batch];
        for (int r = 0; r < batch; r++) {
            int[] a = answers.get(r);
            if (a.length == 0) {
                out[r] = Double.NaN;
                continue;
            }
            double sum = 0;
            int firstAnswer = padLeft[r] + prompts.get(r).length;
            for (int j = 0; j < a.length; j++) {
                // The logits at slot t predict the token at slot t + 1.
                int offset = (r * maxLen + firstAnswer + j - 1) * vocab;
                sum += logSoftmaxAt(logits, offset, vocab, a[j]);
            }
            out[r] = sum / a.length;
        }
        return out;
    }

    static double logSoftmaxAt(float[] logits, int offset, int vocab, int id) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) max = Math.max(max, logits[offset + i]);
        double sum = 0;
        for (int i = 0; i < vocab; i++) sum += Math.exp(logits[offset + i] - max);
        return logits[offset + id] - max - Math.log(sum);
    }
}
