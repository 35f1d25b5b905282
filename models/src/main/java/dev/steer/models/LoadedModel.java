package dev.steer.models;

import dev.steer.engine.BadInputException;
import dev.steer.engine.backend.Backend;
import dev.steer.engine.model.CausalLm;
import dev.steer.models.gemma2.Gemma2;
import dev.steer.models.gemma2.Gemma2Config;
import dev.steer.models.gemma2.RandomWeights;
import dev.steer.models.hf.Checkpoint;
import dev.steer.models.text.ChatMessage;
import dev.steer.models.text.ChatTemplate;
import dev.steer.models.text.TextTokenizer;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A model ready to run: config, forward bound to a backend, tokenizer and chat template. The one place that
 * turns a Hugging Face directory (or a named random shape) into a {@link CausalLm}.
 */
public final class LoadedModel implements AutoCloseable {
    private final String source;
    private final Gemma2Config config;
    private final Gemma2 model;
    private final TextTokenizer tokenizer;
    private final Path dir;
    private Optional<ChatTemplate> chat;

    private LoadedModel(String source, Path dir, Gemma2Config config, Gemma2 model, TextTokenizer tokenizer) {
        this.source = source;
        this.dir = dir;
        this.config = config;
        this.model = model;
        this.tokenizer = tokenizer;
    }

    /** Reads and validates {@code dir} (config, weights, tokenizer) and uploads the weights to {@code backend}. */
    public static LoadedModel open(Path dir, Backend backend) {
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            Gemma2Config cfg = Gemma2Config.read(dir);
            ckpt.expect(cfg.weightShapes());
            // A checkpoint saved without a tokenizer (a random benchmark model) still runs on token ids.
            boolean hasTokenizer = java.nio.file.Files.exists(dir.resolve("tokenizer.json"));
            TextTokenizer tok = hasTokenizer ? TextTokenizer.open(dir) : null;
            try {
                if (tok != null) tok.requireFits(cfg.vocabSize(), Checkpoint.configFile(dir));
                backend.checkRoomForWeights(cfg.parameterCount(), dir.toString());
                ckpt.requireFinite(cfg.weightShapes().keySet());
                Gemma2 model = new Gemma2(cfg, ckpt::tensor, backend);
                return new LoadedModel(dir.toString(), dir, cfg, model, tok);
            } catch (RuntimeException e) {
                if (tok != null) tok.close();
                throw e;
            }
        }
    }

    /** Random weights of a named shape ({@code gemma-2-2b}, {@code tiny}), for benchmarks: no tokenizer. */
    public static LoadedModel random(String preset, long seed, Backend backend) {
        Gemma2Config cfg = Gemma2Config.preset(preset);
        RandomWeights weights = new RandomWeights(cfg, seed);
        backend.checkRoomForWeights(cfg.parameterCount(), "random:" + preset);
        return new LoadedModel("random:" + preset, null, cfg, new Gemma2(cfg, weights::tensor, backend), null);
    }

    /** Reads only the config (no weights uploaded): for {@code steer info}. */
    public static Gemma2Config inspect(Path dir) {
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            Gemma2Config cfg = Gemma2Config.read(dir);
            ckpt.expect(cfg.weightShapes());
            return cfg;
        }
    }

    public String source() {
        return source;
    }

    public Gemma2Config config() {
        return config;
    }

    public CausalLm lm() {
        return model;
    }

    public TextTokenizer tokenizer() {
        if (tokenizer == null) throw new BadInputException(source + ": no tokenizer.json, so text cannot be encoded; use a checkpoint with a tokenizer");
        return tokenizer;
    }

    /** Read on first use: only {@code --chat} needs the template engine. */
    public Optional<ChatTemplate> chatTemplate() {
        if (chat == null) chat = dir == null || tokenizer == null ? Optional.empty() : ChatTemplate.fromModelDir(dir);
        return chat;
    }

    /** Token ids of a prompt: raw text with BOS, or, with {@code chat}, one user turn through the chat template. */
    public int[] encodePrompt(String text, boolean chat, String flag) {
        if (text == null || text.isEmpty()) throw new BadInputException(flag + ": prompt is empty");
        if (!chat) return tokenizer().encode(text);
        ChatTemplate t = chatTemplate().orElseThrow(() -> new BadInputException("--chat: " + source + "/tokenizer_config.json has no chat_template"));
        return tokenizer().encodeNoSpecial(t.render(List.of(new ChatMessage("user", text)), true));
    }

    @Override
    public void close() {
        model.close();
        if (tokenizer != null) tokenizer.close();
    }
}
