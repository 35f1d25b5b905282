package dev.steer.models.text;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.steer.engine.BadInputException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.OptionalInt;

/**
 * A Hugging Face {@code tokenizer.json} run by the Rust tokenizers library through DJL, so ids match
 * {@code transformers}' fast tokenizer exactly.
 *
 * <p>Configured for a steering engine, not for a fixed-width classifier: no truncation, no padding, no max
 * length (DJL otherwise truncates at 512 tokens by default), and nothing is lower-cased. Special tokens are
 * added only by the tokenizer's own post-processor (for Gemma: one {@code <bos>} in front), and only by
 * {@link #encode(String)}. Ids are token ids in {@code [0, vocabSize())}.
 */
public final class TextTokenizer implements AutoCloseable {
    static final String FILE_NAME = "tokenizer.json";

    private final HuggingFaceTokenizer tokenizer;
    private final Vocabulary vocabulary;

    private TextTokenizer(HuggingFaceTokenizer tokenizer, Vocabulary vocabulary) {
        this.tokenizer = tokenizer;
        this.vocabulary = vocabulary;
    }

    /** Loads {@code modelDir/tokenizer.json}; never touches the network. */
    public static TextTokenizer open(Path modelDir) {
        Path file = modelDir.resolve(FILE_NAME);
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            throw new BadInputException("tokenizer file " + file + " is missing or unreadable");
        }
        Vocabulary vocabulary = Vocabulary.read(file);
        // DJL pings EC2 metadata over the network when a tokenizer is created unless offline mode is on;
        // steer only reads local files, so offline is the default unless the user chose otherwise.
        if (System.getenv("DJL_OFFLINE") == null && System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        // Every option spelled out: DJL's defaults (truncation LONGEST_FIRST at 512, padding LONGEST) are wrong here.
        Map<String, String> options = Map.of(
                "addSpecialTokens", "true",
                "truncation", "false",
                "padding", "false",
                "doLowerCase", "false");
        try {
            return new TextTokenizer(HuggingFaceTokenizer.newInstance(file, options), vocabulary);
        } catch (IOException | RuntimeException e) {
            throw new BadInputException("tokenizer file " + file + " could not be loaded: " + e.getMessage(), e);
        }
    }

    /** Token ids of {@code text} with the tokenizer's special tokens (Gemma: {@code <bos>} first). */
    public int[] encode(String text) {
        return encode(text, true);
    }

    /**
     * Token ids of {@code text} without added special tokens. Special tokens written in the text itself (such
     * as {@code <bos>} or {@code <start_of_turn>} in a rendered chat template) still map to their ids.
     */
    public int[] encodeNoSpecial(String text) {
        return encode(text, false);
    }

    /** Token ids of {@code text}; {@code addSpecialTokens} runs the tokenizer's post-processor or not. */
    public int[] encode(String text, boolean addSpecialTokens) {
        long[] ids = tokenizer.encode(text, addSpecialTokens, false).getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    /** Text of {@code ids}, special tokens left out (what a user should read). */
    public String decode(int[] ids) {
        return tokenizer.decode(toLongs(ids), true);
    }

    /** Text of {@code ids} with special tokens written out (what the model saw). */
    public String decodeRaw(int[] ids) {
        return tokenizer.decode(toLongs(ids), false);
    }

    /** One past the largest token id in the vocabulary and added tokens (gemma-2-2b: 256000). */
    public int vocabSize() {
        return vocabulary.size();
    }

    /**
     * Refuses a tokenizer whose ids reach past the model's embedding table ({@code vocab_size} of
     * {@code configFile}): such an id would index outside it. Checked when the model is opened, before its weights.
     */
    public void requireFits(int modelVocabSize, Path configFile) {
        if (vocabSize() > modelVocabSize) {
            String token = vocabulary.token(vocabSize() - 1).orElse("?");
            throw new BadInputException(configFile + ": vocab_size " + modelVocabSize + " is smaller than the tokenizer's "
                    + vocabSize() + " ids (its largest, " + (vocabSize() - 1) + " '" + token + "', would index past the "
                    + "embedding table); vocab_size must be at least " + vocabSize());
        }
    }

    /** The id of a token as spelled in the vocabulary ({@code "<start_of_turn>"}, {@code "▁the"}). */
    public OptionalInt tokenId(String token) {
        return vocabulary.id(token);
    }

    /** The vocabulary spelling of a token id (SentencePiece marks a leading space as {@code ▁}). */
    public String token(int id) {
        return vocabulary.token(id).orElseThrow(() -> new BadInputException(
                "token id " + id + " is not in the vocabulary (size " + vocabSize() + ")"));
    }

    @Override
    public void close() {
        tokenizer.close();
    }

    private long[] toLongs(int[] ids) {
        long[] out = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocabSize()) {
                throw new BadInputException(
                        "token id " + ids[i] + " is not in the vocabulary (size " + vocabSize() + ")");
            }
            out[i] = ids[i];
        }
        return out;
    }
}
