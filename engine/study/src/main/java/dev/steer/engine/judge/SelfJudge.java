package dev.steer.engine.judge;

import dev.steer.engine.generation.GenerationOptions;
import dev.steer.engine.generation.GenerationRequest;
import dev.steer.engine.generation.GenerationResult;
import dev.steer.engine.generation.Generator;
import dev.steer.engine.model.CausalLm;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.function.Function;
import java.util.function.IntFunction;

/**
 * The loaded (unsteered) model as its own judge, scored by the same rule as an LLM judge ({@link LogprobScore}):
 * the rendered rubric prompt is encoded (through the chat template when the model has one: that is the caller's
 * encoder), one forward gives the next-token distribution, its top {@value ChatCompletions#TOP_LOGPROBS} tokens
 * are decoded to text and vote. Prompts run in left-padded batches of up to {@value #MAX_BATCH}.
 *
 * <p>A small base model is a weak judge; this exists so a sweep can run with no network and no second model.
 */
public final class SelfJudge implements Judge {
    public static final int MAX_BATCH = 16;

    private final String model;
    private final CausalLm lm;
    private final Function<String, int[]> encoder;
    private final IntFunction<String> decoder;

    /**
     * @param model   identity of the weights (a fingerprint or path), part of {@link #id()}
     * @param encoder rendered judge prompt → prompt token ids, BOS included
     * @param decoder one token id → its text
     */
    public SelfJudge(String model, CausalLm lm, Function<String, int[]> encoder, IntFunction<String> decoder) {
        this.model = model;
        this.lm = lm;
        this.encoder = encoder;
        this.decoder = decoder;
    }

    @Override
    public String id() {
        return "self:" + model;
    }

    @Override
    public List<OptionalDouble> score(List<JudgeItem> items) {
        Generator gen = new Generator(lm);
        // One new token: the prefill is the only forward, and its last-position logits are kept.
        GenerationOptions opts = new GenerationOptions(1, 0, 1, 0, false, null, true);
        List<OptionalDouble> out = new ArrayList<>(items.size());
        for (int from = 0; from < items.size(); from += MAX_BATCH) {
            List<GenerationRequest> reqs = new ArrayList<>();
            for (JudgeItem item : items.subList(from, Math.min(items.size(), from + MAX_BATCH)))
                reqs.add(GenerationRequest.plain(encoder.apply(item.prompt())));
            for (GenerationResult r : gen.generate(reqs, opts))
                out.add(LogprobScore.of(topLogprobs(r.promptLogits(), ChatCompletions.TOP_LOGPROBS, decoder)));
        }
        return out;
    }

    /** What the judge sees for one prompt: the top-20 next tokens as text → log probability (for inspection). */
    public Map<String, Double> topLogprobs(String prompt) {
        GenerationOptions opts = new GenerationOptions(1, 0, 1, 0, false, null, true);
        float[] logits = new Generator(lm).generate(List.of(GenerationRequest.plain(encoder.apply(prompt))), opts).get(0).promptLogits();
        return topLogprobs(logits, ChatCompletions.TOP_LOGPROBS, decoder);
    }

    /**
     * Text → natural-log probability of the {@code k} most likely tokens under softmax({@code logits}) (ties: the
     * lower id first), as the chat-completions API reports them; two ids decoding to the same text add up.
     */
    static Map<String, Double> topLogprobs(float[] logits, int k, IntFunction<String> decoder) {
        double max = Double.NEGATIVE_INFINITY;
        for (float x : logits) max = Math.max(max, x);
        double sum = 0;
        for (float x : logits) sum += Math.exp(x - max);
        double logZ = max + Math.log(sum);
        int size = Math.min(k, logits.length);
        int[] top = new int[size];
        int n = 0;
        for (int id = 0; id < logits.length; id++) {
            // Strictly greater to enter a full list and to move up: among equal logits the lower id stays first.
            if (n == size && !(logits[id] > logits[top[size - 1]])) continue;
            int pos = n < size ? n++ : size - 1;
            while (pos > 0 && logits[top[pos - 1]] < logits[id]) {
                top[pos] = top[pos - 1];
                pos--;
            }
            top[pos] = id;
        }
        Map<String, Double> out = new LinkedHashMap<>();
        for (int i = 0; i < n; i++)
            out.merge(decoder.apply(top[i]), logits[top[i]] - logZ, (a, b) -> Math.log(Math.exp(a) + Math.exp(b)));
        return out;
    }
}
