package dev.steer.engine.judge;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonSyntaxException;

import java.util.LinkedHashMap;
import java.util.Map;

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
            out.merge(token.getAsString(), logprob.getAsDouble(), (a, b) -> Math.log(Math.exp(a) + Math.exp(b)));
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
