package dev.steer.engine.trait;

import dev.steer.engine.BadInputException;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * One behavioural trait as data: its definition, the contrastive pairs a steering vector is extracted from, the
 * evaluation questions a steered model answers, and the judge templates that score those answers. Bundled traits
 * live in {@code dev/steer/traits/NAME.json}; a user's own trait is a file in the same format (docs/traits.md).
 *
 * @param traitRubric     judge prompt with {@code {question}} and {@code {answer}}, asking for a 0-100 trait score
 * @param coherenceRubric judge prompt with the same placeholders, asking for a 0-100 fluency score
 */
public record TraitDataset(String name, String description, String definitionHigh, String definitionLow,
                           List<ContrastPair> pairs, List<String> questions, String traitRubric, String coherenceRubric) {

    private static final List<String> BUNDLED = List.of("refusal", "optimism", "sycophancy", "confidence");
    private static final String RESOURCE_DIR = "/dev/steer/traits/";

    public TraitDataset {
        pairs = List.copyOf(pairs);
        questions = List.copyOf(questions);
    }

    /** The traits shipped with steer, in the order the docs list them. */
    public static List<String> bundled() {
        return BUNDLED;
    }

    /**
     * A bundled trait by name (case-insensitive), else a trait file at that path. A bundled name wins over a file
     * of the same name in the working directory; write {@code ./refusal} to mean the file.
     */
    public static TraitDataset load(String nameOrFile) {
        if (nameOrFile == null || nameOrFile.isBlank())
            throw new BadInputException("trait is empty; give a bundled trait (" + String.join(", ", BUNDLED)
                    + ") or the path of a trait .json file");
        String lower = nameOrFile.strip().toLowerCase(Locale.ROOT);
        if (BUNDLED.contains(lower))
            return loadBundled(lower);
        Path file = pathOrNull(nameOrFile);
        if (file != null && Files.isDirectory(file))
            throw new BadInputException(nameOrFile + ": is a directory, not a trait .json file");
        if (file == null || !Files.isRegularFile(file))
            throw new BadInputException("trait '" + nameOrFile + "' is neither a bundled trait ("
                    + String.join(", ", BUNDLED) + ") nor an existing file");
        return TraitFile.parse(TextFile.read(file), file.toString());
    }

    private static TraitDataset loadBundled(String name) {
        try (InputStream in = TraitDataset.class.getResourceAsStream(RESOURCE_DIR + name + ".json")) {
            if (in == null)
                throw new IllegalStateException("bundled trait resource " + RESOURCE_DIR + name + ".json is missing from the build");
            return TraitFile.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "bundled trait '" + name + "'");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path pathOrNull(String text) {
        try {
            return Path.of(text);
        } catch (InvalidPathException e) {
            return null;
        }
    }

    /** The texts showing the trait, in pair order (row i pairs with {@link #negatives()} row i). */
    public List<String> positives() {
        return pairs.stream().map(ContrastPair::positive).toList();
    }

    /** The texts showing the opposite, in pair order. */
    public List<String> negatives() {
        return pairs.stream().map(ContrastPair::negative).toList();
    }

    /** The trait judge's prompt for one answer. */
    public String traitPrompt(String question, String answer) {
        return fill(traitRubric, question, answer);
    }

    /** The coherence judge's prompt for one answer. */
    public String coherencePrompt(String question, String answer) {
        return fill(coherenceRubric, question, answer);
    }

    /**
     * Replaces {@code {question}} and {@code {answer}} in one left-to-right pass, so a placeholder that appears inside
     * the substituted question or answer text stays literal, as do all other braces in the template.
     */
    static String fill(String template, String question, String answer) {
        StringBuilder out = new StringBuilder(template.length() + question.length() + answer.length());
        int i = 0;
        while (i < template.length()) {
            if (template.startsWith(TraitFile.QUESTION, i)) {
                out.append(question);
                i += TraitFile.QUESTION.length();
            } else if (template.startsWith(TraitFile.ANSWER, i)) {
                out.append(answer);
                i += TraitFile.ANSWER.length();
            } else {
                out.append(template.charAt(i++));
            }
        }
        return out.toString();
    }
}
