package dev.steer.engine.trait;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import dev.steer.engine.BadInputException;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Reads the trait file format (docs/traits.md) into a {@link TraitDataset}, checking every field so that a mistake
 * is reported as {@code <file>: field 'pairs[3].negative' is missing or not a string}, never as a stack trace later.
 */
final class TraitFile {
    /** The minimum for a mean difference to mean anything, and for an evaluation to have something to score. */
    static final int MIN_PAIRS = 2;
    static final int MIN_QUESTIONS = 1;
    static final String QUESTION = "{question}";
    static final String ANSWER = "{answer}";

    /** Names go into result stores and file names, so they are kept to a safe alphabet. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]+");

    private final String source;

    private TraitFile(String source) {
        this.source = source;
    }

    /** @param source what the text came from (a path, or a bundled trait), used as every message's prefix */
    static TraitDataset parse(String text, String source) {
        return new TraitFile(source).read(StrictJson.parse(text, source));
    }

    private TraitDataset read(JsonElement root) {
        if (!root.isJsonObject())
            throw bad("the top level must be a JSON object with fields name, description, definition, pairs, questions, rubric");
        JsonObject top = root.getAsJsonObject();

        String name = string(top, "name", "name");
        if (!NAME.matcher(name).matches())
            throw bad("field 'name' is \"" + name + "\"; use only letters, digits, '-' and '_'");
        String description = string(top, "description", "description");
        JsonObject definition = object(top, "definition", "definition");
        String high = string(definition, "high", "definition.high");
        String low = string(definition, "low", "definition.low");

        JsonArray pairArray = array(top, "pairs", "pairs");
        if (pairArray.size() < MIN_PAIRS)
            throw bad("field 'pairs' has " + pairArray.size() + " pair(s); extraction needs at least " + MIN_PAIRS);
        List<ContrastPair> pairs = new ArrayList<>();
        for (int i = 0; i < pairArray.size(); i++)
            pairs.add(pair(pairArray.get(i), "pairs[" + i + "]"));

        JsonArray questionArray = array(top, "questions", "questions");
        if (questionArray.size() < MIN_QUESTIONS)
            throw bad("field 'questions' is empty; evaluation needs at least " + MIN_QUESTIONS + " question");
        List<String> questions = new ArrayList<>();
        for (int i = 0; i < questionArray.size(); i++)
            questions.add(string(questionArray.get(i), "questions[" + i + "]"));

        JsonObject rubric = object(top, "rubric", "rubric");
        String traitRubric = template(rubric, "trait", "rubric.trait");
        String coherenceRubric = template(rubric, "coherence", "rubric.coherence");
        return new TraitDataset(name, description, high, low, pairs, questions, traitRubric, coherenceRubric);
    }

    private ContrastPair pair(JsonElement element, String path) {
        if (!element.isJsonObject())
            throw bad("field '" + path + "' is not an object with question, positive and negative");
        JsonObject o = element.getAsJsonObject();
        ContrastPair pair = new ContrastPair(string(o, "question", path + ".question"),
                string(o, "positive", path + ".positive"), string(o, "negative", path + ".negative"));
        // Identical texts add nothing to the difference but still dilute the mean: almost surely a copy-paste slip.
        if (pair.positive().equals(pair.negative()))
            throw bad("field '" + path + "' has the same text for positive and negative; they must differ in the trait");
        return pair;
    }

    /** A judge template: the judge must see both the question and the answer it scores. */
    private String template(JsonObject parent, String key, String path) {
        String text = string(parent, key, path);
        if (!text.contains(QUESTION) || !text.contains(ANSWER))
            throw bad("field '" + path + "' must contain both placeholders " + QUESTION + " and " + ANSWER);
        return text;
    }

    private String string(JsonObject parent, String key, String path) {
        return string(parent.get(key), path);
    }

    private String string(JsonElement element, String path) {
        if (!(element instanceof JsonPrimitive p) || !p.isString())
            throw bad("field '" + path + "' is missing or not a string");
        String text = p.getAsString();
        if (text.isBlank())
            throw bad("field '" + path + "' is empty");
        return text;
    }

    private JsonObject object(JsonObject parent, String key, String path) {
        JsonElement element = parent.get(key);
        if (element == null || !element.isJsonObject())
            throw bad("field '" + path + "' is missing or not an object");
        return element.getAsJsonObject();
    }

    private JsonArray array(JsonObject parent, String key, String path) {
        JsonElement element = parent.get(key);
        if (element == null || !element.isJsonArray())
            throw bad("field '" + path + "' is missing or not an array");
        return element.getAsJsonArray();
    }

    private BadInputException bad(String what) {
        return new BadInputException(source + ": " + what);
    }
}
