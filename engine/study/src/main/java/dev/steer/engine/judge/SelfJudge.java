package dev.steer.engine.judge;

import dev.steer.engine.generation.GenerationOptions;
import dev.steer.engine.generation.GenerationRequest;
import dev.steer.engine.generation.GenerationResult;
import dev.steer.engine.generation.Generator;
import dev.steer.engine.judge.WrittenNumber.Candidate;
import dev.steer.engine.model.CausalLm;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.function.Function;
import java.util.function.IntFunction;

/**
 * The loaded (unsteered) model as its own judge: the rendered rubric prompt is encoded (through the chat template
 * when the model has one: that is the caller's encoder), and the score is the number the model would write
 * ({@link WrittenNumber}): one forward gives the first token's top {@value ChatCompletions#TOP_LOGPROBS}
 * candidates, and every digit prefix that may still grow (a first digit 1-9, then "10") gets one more batched
 * step, so a rating of 85 counts as 85 on a tokenizer such as Gemma's that writes it "8", "5", not as 8. Prompts
 * run in left-padded batches of up to {@value #MAX_BATCH} rows; the steps after the first re-read the prompt with
 * the prefix appended (the backends have no way to fork a row's KV cache), typically one to three rows per
 * answer.
 *
 * <p>A small base model is a weak judge; this exists so a sweep can run with no network and no second model.
 */
public final class SelfJudge implements Judge {
    public static final int MAX_BATCH = 16;

    /** One new token: the prefill is the only forward, and its last-position logits are kept. */
    private static final GenerationOptions NEXT_TOKEN = new GenerationOptions(1, 0, 1, 0, false, null, true);

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
        // "digits": scores read over digit sequences; a one-token score cached under the old id is not reused.
        return "self:" + model + ":digits";
    }

    @Override
    public List<OptionalDouble> score(List<JudgeItem> items) {
        Generator gen = new Generator(lm);
        List<int[]> prompts = new ArrayList<>(items.size());
        for (JudgeItem item : items) prompts.add(encoder.apply(item.prompt()));
        List<WrittenNumber> numbers = new ArrayList<>(items.size());
        for (List<Candidate> first : nextTokens(gen, prompts)) numbers.add(new WrittenNumber(first));
        // Each round extends every pending prefix by one token; digits stop growing after "10", so at most two rounds.
        while (true) {
            List<Integer> owner = new ArrayList<>();
            List<WrittenNumber.Prefix> prefixes = new ArrayList<>();
            List<int[]> rows = new ArrayList<>();
            for (int i = 0; i < numbers.size(); i++) {
                for (WrittenNumber.Prefix p : numbers.get(i).takePending()) {
                    owner.add(i);
                    prefixes.add(p);
                    int[] prompt = prompts.get(i);
                    int[] row = Arrays.copyOf(prompt, prompt.length + p.ids().length);
                    System.arraycopy(p.ids(), 0, row, prompt.length, p.ids().length);
                    rows.add(row);
                }
            }
            if (rows.isEmpty()) break;
            List<List<Candidate>> next = nextTokens(gen, rows);
            for (int r = 0; r < rows.size(); r++) numbers.get(owner.get(r)).expand(prefixes.get(r), next.get(r));
        }
        List<OptionalDouble> out = new ArrayList<>(items.size());
        for (WrittenNumber n : numbers) out.add(n.score());
        return out;
    }

    /** The top next-token candidates after each of {@code prompts}, in batches of {@value #MAX_BATCH}. */
    private List<List<Candidate>> nextTokens(Generator gen, List<int[]> prompts) {
        List<List<Candidate>> out = new ArrayList<>(prompts.size());
        for (int from = 0; from < prompts.size(); from += MAX_BATCH) {
            List<GenerationRequest> reqs = new ArrayList<>();
            for (int[] ids : prompts.subList(from, Math.min(prompts.size(), from + MAX_BATCH))) reqs.add(GenerationRequest.plain(ids));
            for (GenerationResult r : gen.generate(reqs, NEXT_TOKEN))
                out.add(candidates(r.promptLogits(), ChatCompletions.TOP_LOGPROBS, decoder));
        }
        return out;
    }

    /** What the judge sees for one prompt: the top-20 next tokens as text → log probability (for inspection). */
    public Map<String, Double> topLogprobs(String prompt) {
        float[] logits = new Generator(lm).generate(List.of(GenerationRequest.plain(encoder.apply(prompt))), NEXT_TOKEN).get(0).promptLogits();
        return topLogprobs(logits, ChatCompletions.TOP_LOGPROBS, decoder);
    }

    /**
     * Text → natural-log probability of the {@code k} most likely tokens under softmax({@code logits}) (ties: the
     * lower id first), as the chat-completions API reports them; two ids decoding to the same text add up.
     */
    static Map<String, Double> topLogprobs(float[] logits, int k, IntFunction<String> decoder) {
        Map<String, Double> out = new LinkedHashMap<>();
        for (Candidate c : candidates(logits, k, decoder))
            out.merge(c.text(), c.logprob(), (a, b) -> Math.log(Math.exp(a) + Math.exp(b)));
        return out;
    }

    /** The {@code k} most likely tokens under softmax({@code logits}), most likely first (ties: the lower id first). */
    static List<Candidate> candidates(float[] logits, int k, IntFunction<String> decoder) {
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
        List<Candidate> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) out.add(new Candidate(top[i], decoder.apply(top[i]), logits[top[i]] - logZ));
        return out;
    }
}
