package dev.steer.cli;

import dev.steer.engine.backend.Backend;
import dev.steer.engine.backend.KvCache;
import dev.steer.engine.backend.StepLayout;
import dev.steer.engine.backend.Tensor;
import dev.steer.engine.model.CausalLm;
import dev.steer.engine.model.ModelDims;
import dev.steer.engine.model.ResidualHook;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A language model that answers a rubric prompt by script: after a registered prompt it writes one of several
 * answers (token sequences, from a real tokenizer), each with its probability, then EOS. Its next-token
 * distribution is exactly the script's conditional (every other token at logit {@value #OFF_SCRIPT}), so a judge
 * reading it can be checked against the expected score by hand. It runs on a real backend through the real
 * generator; it hooks nothing (nothing steers a judge).
 */
final class ScriptedRater implements CausalLm {
    static final float OFF_SCRIPT = -40;

    private final Backend backend;
    private final ModelDims dims;
    private final Map<List<Integer>, Map<List<Integer>, Double>> scripts = new HashMap<>();
    /** Rows run through forward, prefill rows counted once each. */
    final AtomicInteger rows = new AtomicInteger();

    ScriptedRater(Backend backend, int vocab, int bosId, int eosId) {
        this.backend = backend;
        this.dims = new ModelDims("gemma2", 1, 8, vocab, bosId, 0, new int[] {eosId});
    }

    /** After {@code prompt} the model writes each answer (its token ids) with the given probability. */
    void script(int[] prompt, Map<int[], Double> answers) {
        Map<List<Integer>, Double> m = new LinkedHashMap<>();
        answers.forEach((ids, p) -> m.merge(list(ids), p, Double::sum));
        scripts.put(list(prompt), m);
    }

    @Override
    public ModelDims dims() {
        return dims;
    }

    @Override
    public Backend backend() {
        return backend;
    }

    @Override
    public KvCache newCache(int batch, int capacity) {
        return new History(batch, capacity);
    }

    @Override
    public Tensor forward(Tensor ids, StepLayout layout, KvCache cache, ResidualHook hook, boolean allSteps) {
        if (allSteps) throw new UnsupportedOperationException("the scripted rater gives last-step logits only");
        if (hook.hooks(0)) throw new IllegalStateException("nothing may steer the scripted rater");
        History h = (History) cache;
        float[] host = backend.toHost(ids);
        int batch = layout.batch(), steps = layout.steps(), vocab = dims.vocab();
        float[] logits = new float[batch * vocab];
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < steps; t++) if (layout.isReal(b, t)) h.rows.get(b).add((int) host[b * steps + t]);
            float[] row = next(h.rows.get(b));
            System.arraycopy(row, 0, logits, b * vocab, vocab);
        }
        if (layout.past() == 0) rows.addAndGet(batch);
        h.advance(steps);
        return backend.floats(logits, batch, vocab);
    }

    /** Logits after {@code seen}: log P(next | script) on scripted tokens, {@link #OFF_SCRIPT} elsewhere. */
    private float[] next(List<Integer> seen) {
        float[] row = new float[dims.vocab()];
        Arrays.fill(row, OFF_SCRIPT);
        Map<Integer, Double> weights = new HashMap<>();
        for (Map.Entry<List<Integer>, Map<List<Integer>, Double>> s : scripts.entrySet()) {
            List<Integer> prompt = s.getKey();
            if (seen.size() < prompt.size() || !seen.subList(0, prompt.size()).equals(prompt)) continue;
            List<Integer> written = seen.subList(prompt.size(), seen.size());
            s.getValue().forEach((answer, p) -> {
                if (answer.size() < written.size() || !answer.subList(0, written.size()).equals(written)) return;
                int token = answer.size() == written.size() ? dims.eosIds()[0] : answer.get(written.size());
                weights.merge(token, p, Double::sum);
            });
        }
        if (weights.isEmpty()) weights.put(dims.eosIds()[0], 1.0);
        double total = weights.values().stream().mapToDouble(Double::doubleValue).sum();
        weights.forEach((token, w) -> row[token] = (float) Math.log(w / total));
        return row;
    }

    private static List<Integer> list(int[] ids) {
        return Arrays.stream(ids).boxed().toList();
    }

    @Override
    public void close() {
    }

    /** The "cache": each row's tokens so far. */
    private static final class History implements KvCache {
        final List<List<Integer>> rows = new ArrayList<>();
        private final int capacity;
        private int length;

        History(int batch, int capacity) {
            for (int b = 0; b < batch; b++) rows.add(new ArrayList<>());
            this.capacity = capacity;
        }

        @Override
        public int batch() {
            return rows.size();
        }

        @Override
        public int length() {
            return length;
        }

        @Override
        public int capacity() {
            return capacity;
        }

        @Override
        public void advance(int steps) {
            length += steps;
        }

        @Override
        public void close() {
        }
    }
}
