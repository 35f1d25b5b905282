package dev.steer.cli;

import dev.steer.engine.judge.CachedJudge;
import dev.steer.engine.judge.Judge;
import dev.steer.engine.judge.JudgeCache;
import dev.steer.engine.judge.JudgeItem;
import dev.steer.engine.judge.JudgeSpec;
import dev.steer.engine.judge.OnnxJudge;
import dev.steer.engine.judge.OpenAiJudge;
import dev.steer.engine.judge.PerplexityJudge;
import dev.steer.engine.judge.SelfJudge;
import dev.steer.models.LoadedModel;
import dev.steer.models.text.TextTokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalDouble;
import java.util.function.Function;

/**
 * Builds the judge a user names ({@link JudgeSpec}): {@code openai:MODEL} (base URL and key from the flags or the
 * environment), {@code onnx:DIR} (tokenized with DIR/tokenizer.json when present, else with the model's tokenizer),
 * {@code self} (the loaded model, its chat template when it has one) and {@code perplexity} (the unsteered model's
 * likelihood of the answer; coherence only). Every judge is wrapped in a {@link CachedJudge}.
 */
final class JudgeFactory {
    /**
     * @param baseUrl     {@code --judge-base-url}, null when not given
     * @param apiKey      {@code --judge-api-key}, null when not given
     * @param timeout     {@code --judge-timeout}: per request of an openai judge
     * @param fingerprint identity of the loaded weights, part of the self and perplexity judges' ids
     * @param chat        whether questions are wrapped in the chat template (the perplexity judge must see the
     *                    prompt the steered model saw)
     */
    record Flags(String baseUrl, String apiKey, Duration timeout, String fingerprint, boolean chat) {
        Flags(JudgeOptions judge, String fingerprint, boolean chat) {
            this(judge.baseUrl, judge.apiKey, judge.timeout, fingerprint, chat);
        }
    }

    private JudgeFactory() {
    }

    static CachedJudge create(JudgeSpec spec, LoadedModel model, Flags flags, JudgeCache cache) {
        return new CachedJudge(create(spec, model, flags), cache);
    }

    /** The judge itself, uncached. */
    static Judge create(JudgeSpec spec, LoadedModel model, Flags flags) {
        return switch (spec.kind()) {
            case OPENAI -> openai(spec.argument(), flags);
            case ONNX -> onnx(Path.of(spec.argument()), model);
            case SELF -> new SelfJudge(flags.fingerprint(), model.lm(), text -> selfPrompt(model, text),
                    id -> model.tokenizer().decode(new int[] {id}));
            case PERPLEXITY -> new PerplexityJudge(flags.fingerprint() + (flags.chat() ? "+chat" : ""), model.lm(),
                    question -> model.encodePrompt(question, flags.chat(), "--trait question"),
                    answer -> model.tokenizer().encodeNoSpecial(answer));
        };
    }

    /**
     * Checked for a wrong key before anything is generated ({@link OpenAiJudge#checkAccess}). Warnings (a judge whose
     * tokenizer splits numbers) go to stderr, where the progress bar and errors go.
     */
    private static Judge openai(String model, Flags flags) {
        OpenAiJudge.Config c = OpenAiJudge.Config.fromEnv(model, flags.baseUrl(), flags.apiKey());
        OpenAiJudge judge = new OpenAiJudge(c.with(c.concurrency(), c.maxAttempts(), flags.timeout(), c.backoff()),
                line -> System.err.println("steer: warning: " + line));
        try {
            judge.checkAccess();
        } catch (RuntimeException e) {
            judge.close();
            throw e;
        }
        return judge;
    }

    /** The rubric as one user turn through the chat template when the model has one, else raw text with BOS. */
    private static int[] selfPrompt(LoadedModel model, String text) {
        return model.encodePrompt(text, model.chatTemplate().isPresent(), "--judge self");
    }

    private static Judge onnx(Path dir, LoadedModel model) {
        if (Files.isRegularFile(dir.resolve("tokenizer.json"))) {
            TextTokenizer own = TextTokenizer.open(dir);
            return new TokenizerOwningJudge(OnnxJudge.open(dir, null, own::encode), own);
        }
        Function<String, int[]> modelTokenizer = text -> model.tokenizer().encode(text);
        return OnnxJudge.open(dir, null, modelTokenizer);
    }

    /** An ONNX judge with its own tokenizer, closed together. */
    private record TokenizerOwningJudge(Judge inner, TextTokenizer tokenizer) implements Judge {
        @Override
        public List<OptionalDouble> score(List<JudgeItem> items) {
            return inner.score(items);
        }

        @Override
        public String id() {
            return inner.id();
        }

        @Override
        public void close() {
            inner.close();
            tokenizer.close();
        }
    }
}
