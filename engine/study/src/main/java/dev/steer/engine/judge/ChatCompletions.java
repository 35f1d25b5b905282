package dev.steer.engine.judge;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonSyntaxException;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalInt;

/**
 * The slice of the OpenAI chat-completions protocol a logprob judge needs: a request for exactly one token at
 * temperature 0 with the top-20 alternatives, and the extraction of those alternatives from the response.
 */
final class ChatCompletions {

    /** How many alternatives the API returns per position; 20 is the API's maximum and the DESIGN.md rule. */
    static final int TOP_LOGPROBS = 20;

    private ChatCompletions() {
    }

    /** The JSON body of a one-token, top-20-logprobs request for {@code prompt} as a single user message. */
    static String requestBody(String model, String prompt) {
        JsonObject message = new JsonObject();
        message.addProperty("role", "user");
        message.addProperty("content", prompt);
        JsonArray messages = new JsonArray();
        messages.add(message);
        JsonObject body = new JsonObject();
        body.addProperty("model", model);
        body.add("messages", messages);
        body.addProperty("max_tokens", 1);
        body.addProperty("temperature", 0);
        body.addProperty("logprobs", true);
        body.addProperty("top_logprobs", TOP_LOGPROBS);
        return body.toString();
    }

    /**
     * The JSON body of a request for the answer itself, up to {@value #WRITTEN_TOKENS} tokens at temperature 0:
     * enough for "100" and what follows it when every digit is one token.
     */
    static String writtenNumberBody(String model, String prompt) {
        JsonObject body = JsonParser.parseString(requestBody(model, prompt)).getAsJsonObject();
        body.remove("logprobs");
        body.remove("top_logprobs");
        body.addProperty("max_tokens", WRITTEN_TOKENS);
        return body.toString();
    }

    /** Tokens asked for when the judge's number is read from its text ({@link #writtenNumberBody}). */
    static final int WRITTEN_TOKENS = 4;

    /**
     * The score 0..100 the answer in {@code choices[0].message.content} starts with (leading whitespace skipped;
     * the number ends at the first non-digit), or empty when it starts with none.
     *
     * @throws MalformedResponse when the body is not JSON or has no string content
     */
    static OptionalInt writtenNumber(String body) throws MalformedResponse {
        JsonElement root;
        try {
            root = JsonParser.parseString(body);
        } catch (JsonSyntaxException | IllegalStateException e) {
            throw new MalformedResponse("response is not JSON");
        }
        JsonObject choice = object(first(array(object(root, "response"), "choices"), "choices"), "choices[0]");
        JsonObject message = object(choice.get("message"), "choices[0].message");
        JsonElement content = message.get("content");
        if (content == null || !content.isJsonPrimitive()) {
            throw new MalformedResponse("choices[0].message.content is not a string");
        }
        String text = content.getAsString().stripLeading();
        int k = 0;
        while (k < text.length() && k < 4 && text.charAt(k) >= '0' && text.charAt(k) <= '9') k++;
        int n = LogprobScore.parseScore(text.substring(0, k));
        boolean ends = k == text.length() || text.charAt(k) < '0' || text.charAt(k) > '9';
        return n >= 0 && ends ? OptionalInt.of(n) : OptionalInt.empty();
    }

    /**
     * Token → logprob from {@code choices[0].logprobs.content[0].top_logprobs}. A token listed twice (two token
     * ids that decode to the same text) keeps the sum of both probabilities.
     *
     * @throws MalformedResponse when the body is not JSON or lacks that structure
     */
    static Map<String, Double> topLogprobs(String body) throws MalformedResponse {
        JsonElement root;
        try {
            root = JsonParser.parseString(body);
        } catch (JsonSyntaxException | IllegalStateException e) {
            throw new MalformedResponse("response is not JSON");
        }
        JsonObject response = object(root, "response");
        JsonObject choice = object(first(array(response, "choices"), "choices"), "choices[0]");
        JsonObject logprobs = object(choice.get("logprobs"), "choices[0].logprobs");
        JsonObject position = object(first(array(logprobs, "content"), "choices[0].logprobs.content"),
                "choices[0].logprobs.content[0]");
        JsonArray top = array(position, "top_logprobs");
        Map<String, Double> out = new LinkedHashMap<>();
        for (JsonElement e : top) {
            JsonObject alt = object(e, "top_logprobs entry");
            JsonElement token = alt.get("token");
            JsonElement logprob = alt.get("logprob");
            if (token == null || !token.isJsonPrimitive() || logprob == null || !logprob.isJsonPrimitive()
                    || !logprob.getAsJsonPrimitive().isNumber()) {
                throw new MalformedResponse("top_logprobs entry lacks a string token and a numeric logprob");
            }
            double value = logprob.getAsDouble();
            if (!Double.isFinite(value) && value != Double.NEGATIVE_INFINITY || value > 1e-3) {
                // An overflowed or positive logprob is no probability; scoring it would give NaN or nonsense.
                throw new MalformedResponse("top_logprobs entry for " + token + " has logprob " + logprob + ", not a log probability");
            }
            out.merge(token.getAsString(), value, (a, b) -> Math.log(Math.exp(a) + Math.exp(b)));
        }
        return out;
    }

    private static JsonObject object(JsonElement e, String what) throws MalformedResponse {
        if (e == null || !e.isJsonObject()) {
            throw new MalformedResponse(what + " is not a JSON object");
        }
        return e.getAsJsonObject();
    }

    private static JsonArray array(JsonObject o, String field) throws MalformedResponse {
        JsonElement e = o.get(field);
        if (e == null || !e.isJsonArray()) {
            throw new MalformedResponse("response has no array '" + field + "'");
        }
        return e.getAsJsonArray();
    }

    private static JsonElement first(JsonArray a, String what) throws MalformedResponse {
        if (a.isEmpty()) {
            throw new MalformedResponse(what + " is empty");
        }
        return a.get(0);
    }

    /** The server answered 200 but not with a usable chat completion; worth retrying, never worth a zero. */
    static final class MalformedResponse extends Exception {
        MalformedResponse(String message) {
            super(message);
        }
    }
}
