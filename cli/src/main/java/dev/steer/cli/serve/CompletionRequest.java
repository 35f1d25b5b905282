package dev.steer.cli.serve;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import dev.steer.engine.BadInputException;
import dev.steer.engine.generation.GenerationOptions;
import dev.steer.engine.model.ModelDims;
import dev.steer.engine.steering.Positions;
import dev.steer.engine.steering.RatioSpec;
import dev.steer.engine.steering.SteeringSpec;
import dev.steer.engine.steering.SteeringVector;
import dev.steer.engine.steering.VectorProvenance;
import dev.steer.models.LoadedModel;
import dev.steer.models.text.ChatMessage;
import dev.steer.models.text.ChatTemplate;

import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One {@code /v1/completions} or {@code /v1/chat/completions} body, checked field by field: every bad field is an
 * {@link ApiError} 400 naming it (404 {@code model_not_found} for another model). Tokenizing and rendering the
 * chat template happen here, on the request's thread; they do not touch the backend.
 */
record CompletionRequest(int[] promptIds, List<SteeringSpec> steering, List<RatioSpec> ratios, GenerationOptions options,
                         List<String> stops, boolean stream, boolean includeUsage) {

    /** What a request is checked against. */
    record Limits(String servedName, ModelDims dims, int context, int maxNewTokensLimit, VectorRegistry vectors) {
    }

    private static final Set<String> SPEC_KEYS = Set.of("layer", "vector", "coef", "ratio", "positions");

    /** The body as JSON: strict, except that NaN and Infinity are read so the field holding them can be named. */
    static JsonObject parseBody(String body) {
        if (body == null || body.isBlank()) throw ApiError.invalid(null, "the request body is empty; expected a JSON object");
        JsonElement root;
        try {
            JsonReader r = new JsonReader(new StringReader(body));
            r.setStrictness(Strictness.STRICT);
            root = JsonParser.parseReader(r);
            if (r.peek() != com.google.gson.stream.JsonToken.END_DOCUMENT)
                throw ApiError.invalid(null, "the request body is not valid JSON: more follows the JSON object");
        } catch (java.io.IOException e) {
            throw ApiError.invalid(null, "the request body is not valid JSON: " + e.getMessage());
        } catch (JsonParseException | IllegalStateException strictError) {
            root = null;
            try {
                JsonElement lenient = JsonParser.parseString(body);
                if (holdsNonFinite(lenient)) root = lenient;
            } catch (JsonParseException | IllegalStateException ignored) {
                // bad JSON either way
            }
            if (root == null) throw ApiError.invalid(null, "the request body is not valid JSON: " + jsonProblem(strictError));
        }
        if (!root.isJsonObject()) throw ApiError.invalid(null, "the request body must be a JSON object");
        return root.getAsJsonObject();
    }

    /** Gson's message without its advice to the programmer (strictness settings, troubleshooting links). */
    static String jsonProblem(RuntimeException e) {
        Throwable t = e.getCause() != null && e.getCause().getMessage() != null ? e.getCause() : e;
        String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        int advice = m.indexOf("Use JsonReader.setStrictness");
        if (advice >= 0) m = m.substring(0, advice);
        int see = m.indexOf("\nSee https");
        if (see >= 0) m = m.substring(0, see);
        see = m.indexOf(" See https");
        if (see >= 0) m = m.substring(0, see);
        return m.strip();
    }

    /**
     * OpenAI parameters this server does not implement: a request that asks for one (a value other than its
     * default) is refused, rather than answered as if it had been honoured. Unknown fields are ignored, as OpenAI does.
     */
    private static void refuseUnsupported(JsonObject o) {
        for (String f : List.of("echo", "logprobs", "top_logprobs", "suffix", "logit_bias", "tools", "functions",
                "tool_choice", "response_format", "best_of", "presence_penalty", "frequency_penalty")) {
            JsonElement v = o.get(f);
            if (!present(v)) continue;
            boolean harmless = switch (f) {
                case "echo", "logprobs" -> v.isJsonPrimitive() && v.getAsJsonPrimitive().isBoolean() && !v.getAsBoolean();
                case "best_of" -> v.isJsonPrimitive() && v.getAsJsonPrimitive().isNumber() && v.getAsDouble() == 1;
                case "presence_penalty", "frequency_penalty" -> v.isJsonPrimitive() && v.getAsJsonPrimitive().isNumber() && v.getAsDouble() == 0;
                case "logit_bias" -> v.isJsonObject() && v.getAsJsonObject().isEmpty();
                case "tools", "functions" -> v.isJsonArray() && v.getAsJsonArray().isEmpty();
                case "response_format" -> v.isJsonObject() && v.getAsJsonObject().has("type")
                        && "text".equals(v.getAsJsonObject().get("type").getAsString());
                default -> false;
            };
            if (!harmless) throw ApiError.invalid(f, f + " is not supported by steer serve");
        }
    }

    private static boolean holdsNonFinite(JsonElement e) {
        if (e.isJsonPrimitive()) return nonFiniteLiteral(e.getAsJsonPrimitive());
        if (e.isJsonArray()) {
            for (JsonElement x : e.getAsJsonArray()) if (holdsNonFinite(x)) return true;
        } else if (e.isJsonObject()) {
            for (var x : e.getAsJsonObject().entrySet()) if (holdsNonFinite(x.getValue())) return true;
        }
        return false;
    }

    private static boolean nonFiniteLiteral(JsonPrimitive p) {
        if (!p.isString()) return false;
        String s = p.getAsString();
        return s.equals("NaN") || s.equals("Infinity") || s.equals("-Infinity");
    }

    static CompletionRequest parse(JsonObject o, boolean chat, LoadedModel model, Limits limits) {
        JsonElement modelName = o.get("model");
        if (present(modelName)) {
            String name = string(modelName, "model");
            if (!name.equals(limits.servedName()))
                throw new ApiError(404, "invalid_request_error", "model", "model_not_found",
                        "The model '" + name + "' does not exist; this server serves '" + limits.servedName() + "'");
        }
        JsonElement n = o.get("n");
        if (present(n) && integer(n, "n") != 1) throw ApiError.invalid("n", "only n = 1 is supported");
        refuseUnsupported(o);

        int maxTokens = 16;
        JsonElement mt = o.get(chat && present(o.get("max_completion_tokens")) ? "max_completion_tokens" : "max_tokens");
        String mtName = chat && present(o.get("max_completion_tokens")) ? "max_completion_tokens" : "max_tokens";
        if (present(mt)) {
            long v = integer(mt, mtName);
            if (v < 1) throw ApiError.invalid(mtName, mtName + " must be at least 1, was " + v);
            if (v > limits.maxNewTokensLimit())
                throw ApiError.invalid(mtName, mtName + " " + v + " is over this server's limit of " + limits.maxNewTokensLimit());
            maxTokens = (int) v;
        }
        double temperature = 1.0;
        if (present(o.get("temperature"))) {
            temperature = number(o.get("temperature"), "temperature");
            if (!(temperature >= 0 && temperature <= 2))
                throw ApiError.invalid("temperature", "temperature must be >= 0 and at most 2 (as OpenAI's), was " + temperature);
        }
        double topP = 1.0;
        if (present(o.get("top_p"))) {
            topP = number(o.get("top_p"), "top_p");
            if (!(topP > 0 && topP <= 1)) throw ApiError.invalid("top_p", "top_p must be in (0, 1], was " + topP);
        }
        long seed = present(o.get("seed")) ? integer(o.get("seed"), "seed") : ThreadLocalRandom.current().nextLong();
        boolean stream = present(o.get("stream")) && bool(o.get("stream"), "stream");
        boolean includeUsage = false;
        JsonElement so = o.get("stream_options");
        if (present(so)) {
            if (!so.isJsonObject()) throw ApiError.invalid("stream_options", "stream_options must be an object");
            JsonElement iu = so.getAsJsonObject().get("include_usage");
            includeUsage = present(iu) && bool(iu, "stream_options.include_usage");
        }
        boolean ignoreEos = present(o.get("ignore_eos")) && bool(o.get("ignore_eos"), "ignore_eos");
        List<String> stops = stops(o.get("stop"));

        int[] ids = chat ? chatPrompt(o.get("messages"), model) : textPrompt(o.get("prompt"), model);
        if (ids.length + maxTokens > limits.context())
            throw new ApiError(400, "invalid_request_error", chat ? "messages" : "prompt", "context_length_exceeded",
                    "This model's maximum context length is " + limits.context() + " tokens; the request asks for "
                            + (ids.length + maxTokens) + " (" + ids.length + " in the prompt, " + maxTokens + " for the completion)");

        List<SteeringSpec> fixed = new ArrayList<>();
        List<RatioSpec> ratios = new ArrayList<>();
        steer(o.get("steer"), limits, fixed, ratios);

        GenerationOptions options = new GenerationOptions(maxTokens, temperature, topP, seed, !ignoreEos, null, false);
        return new CompletionRequest(ids, fixed, ratios, options, stops, stream, includeUsage);
    }

    private static int[] textPrompt(JsonElement p, LoadedModel model) {
        if (!present(p)) throw ApiError.invalid("prompt", "prompt is required");
        String text;
        if (p.isJsonArray() && p.getAsJsonArray().size() == 1 && isString(p.getAsJsonArray().get(0))) text = p.getAsJsonArray().get(0).getAsString();
        else if (isString(p)) text = p.getAsString();
        else throw ApiError.invalid("prompt", "prompt must be a string (or a list of one string)");
        if (text.isEmpty()) throw ApiError.invalid("prompt", "prompt is empty");
        try {
            return model.tokenizer().encode(text);
        } catch (BadInputException e) {
            throw ApiError.invalid("prompt", e.getMessage());
        }
    }

    private static int[] chatPrompt(JsonElement m, LoadedModel model) {
        if (!present(m)) throw ApiError.invalid("messages", "messages is required");
        if (!m.isJsonArray() || m.getAsJsonArray().isEmpty()) throw ApiError.invalid("messages", "messages must be a non-empty array");
        List<ChatMessage> turns = new ArrayList<>();
        JsonArray a = m.getAsJsonArray();
        for (int i = 0; i < a.size(); i++) {
            String at = "messages[" + i + "]";
            if (!a.get(i).isJsonObject()) throw ApiError.invalid(at, at + " must be an object with role and content");
            JsonObject turn = a.get(i).getAsJsonObject();
            if (!isString(turn.get("role"))) throw ApiError.invalid(at + ".role", at + ".role must be a string");
            turns.add(new ChatMessage(turn.get("role").getAsString(), content(turn.get("content"), at + ".content")));
        }
        ChatTemplate template;
        try {
            template = model.chatTemplate().orElseThrow(() -> ApiError.invalid("messages",
                    "the model has no chat template (tokenizer_config.json has no chat_template); use /v1/completions"));
            return template.encodeChat(model.tokenizer(), turns);
        } catch (BadInputException e) {
            throw ApiError.invalid("messages", e.getMessage());
        }
    }

    /** A message's content: a string, or a list of {type: "text", text} parts, joined. */
    private static String content(JsonElement c, String at) {
        if (isString(c)) return c.getAsString();
        if (c != null && c.isJsonArray()) {
            StringBuilder sb = new StringBuilder();
            for (JsonElement part : c.getAsJsonArray()) {
                if (!part.isJsonObject() || !isString(part.getAsJsonObject().get("text"))
                        || !"text".equals(optString(part.getAsJsonObject().get("type"))))
                    throw ApiError.invalid(at, at + ": only text parts ({\"type\": \"text\", \"text\": ...}) are supported");
                sb.append(part.getAsJsonObject().get("text").getAsString());
            }
            return sb.toString();
        }
        throw ApiError.invalid(at, at + " must be a string");
    }

    private static List<String> stops(JsonElement s) {
        if (!present(s)) return List.of();
        List<String> out = new ArrayList<>();
        if (isString(s)) out.add(s.getAsString());
        else if (s.isJsonArray()) {
            for (JsonElement e : s.getAsJsonArray()) {
                if (!isString(e)) throw ApiError.invalid("stop", "stop must be a string or a list of strings");
                out.add(e.getAsString());
            }
            if (out.size() > 4) throw ApiError.invalid("stop", "stop holds at most 4 sequences, got " + out.size());
        } else throw ApiError.invalid("stop", "stop must be a string or a list of strings");
        for (String x : out) if (x.isEmpty()) throw ApiError.invalid("stop", "a stop sequence must not be empty");
        return out;
    }

    private static void steer(JsonElement s, Limits limits, List<SteeringSpec> fixed, List<RatioSpec> ratios) {
        if (!present(s)) return;
        if (!s.isJsonArray()) throw ApiError.invalid("steer", "steer must be a list of {layer, vector, coef | ratio, positions}");
        JsonArray a = s.getAsJsonArray();
        ModelDims dims = limits.dims();
        for (int i = 0; i < a.size(); i++) {
            String at = "steer[" + i + "]";
            if (!a.get(i).isJsonObject()) throw ApiError.invalid(at, at + " must be an object {layer, vector, coef | ratio, positions}");
            JsonObject spec = a.get(i).getAsJsonObject();
            for (String k : spec.keySet())
                if (!SPEC_KEYS.contains(k)) throw ApiError.invalid(at + "." + k, at + ": unknown field '" + k + "' (fields: layer, vector, coef, ratio, positions)");
            if (!present(spec.get("layer"))) throw ApiError.invalid(at + ".layer", at + ".layer is required");
            long layer = integer(spec.get("layer"), at + ".layer");
            if (layer < 0 || layer >= dims.layers())
                throw ApiError.invalid(at + ".layer", at + ".layer " + layer + " is out of range: the model has layers 0.." + (dims.layers() - 1));
            SteeringVector v = vector(spec.get("vector"), at + ".vector", limits);
            Positions positions = Positions.ALL;
            if (present(spec.get("positions"))) {
                String p = string(spec.get("positions"), at + ".positions");
                try {
                    positions = Positions.parse(p, at + ".positions");
                } catch (BadInputException e) {
                    throw ApiError.invalid(at + ".positions", e.getMessage());
                }
            }
            boolean hasCoef = present(spec.get("coef")), hasRatio = present(spec.get("ratio"));
            if (hasCoef == hasRatio)
                throw ApiError.invalid(at, at + ": give exactly one of coef and ratio" + (hasCoef ? ", not both" : ""));
            try {
                if (hasCoef) {
                    SteeringSpec sp = new SteeringSpec((int) layer, v, number(spec.get("coef"), at + ".coef"), positions);
                    sp.checkAgainst(dims);
                    fixed.add(sp);
                } else {
                    ratios.add(new RatioSpec((int) layer, v, number(spec.get("ratio"), at + ".ratio"), positions));
                }
            } catch (BadInputException e) {
                throw ApiError.invalid(hasCoef ? at + ".coef" : at + ".vector", at + ": " + e.getMessage().replaceFirst("^--steer: ", ""));
            }
        }
    }

    private static SteeringVector vector(JsonElement v, String at, Limits limits) {
        if (!present(v)) throw ApiError.invalid(at, at + " is required: a registered vector's name or a list of numbers");
        if (isString(v)) {
            VectorRegistry.Entry e = limits.vectors().get(v.getAsString());
            if (e == null) {
                List<String> names = limits.vectors().all().stream().map(VectorRegistry.Entry::name).toList();
                throw ApiError.invalid(at, at + ": unknown vector '" + v.getAsString() + "' (registered: "
                        + (names.isEmpty() ? "none" : String.join(", ", names)) + ")");
            }
            return e.vector();
        }
        if (!v.isJsonArray()) throw ApiError.invalid(at, at + " must be a registered vector's name or a list of numbers");
        JsonArray a = v.getAsJsonArray();
        if (a.size() != limits.dims().hidden())
            throw ApiError.invalid(at, at + " has " + a.size() + " elements, the model's hidden size is " + limits.dims().hidden());
        float[] values = new float[a.size()];
        for (int i = 0; i < values.length; i++) {
            double d;
            try {
                d = number(a.get(i), at + "[" + i + "]");
            } catch (ApiError e) {
                throw ApiError.invalid(at, e.getMessage());
            }
            if (!Float.isFinite((float) d)) throw ApiError.invalid(at, at + "[" + i + "] = " + d + " is out of float range");
            values[i] = (float) d;
        }
        return new SteeringVector(values, VectorProvenance.of("request " + at));
    }

    private static boolean present(JsonElement e) {
        return e != null && !e.isJsonNull();
    }

    private static boolean isString(JsonElement e) {
        return e != null && e.isJsonPrimitive() && e.getAsJsonPrimitive().isString();
    }

    private static String optString(JsonElement e) {
        return isString(e) ? e.getAsString() : null;
    }

    private static String string(JsonElement e, String name) {
        if (!isString(e)) throw ApiError.invalid(name, name + " must be a string");
        return e.getAsString();
    }

    private static boolean bool(JsonElement e, String name) {
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isBoolean()) throw ApiError.invalid(name, name + " must be true or false");
        return e.getAsBoolean();
    }

    /** A finite number (NaN and Infinity, which lenient JSON reads as these words, are refused by name). */
    private static double number(JsonElement e, String name) {
        if (e.isJsonPrimitive() && nonFiniteLiteral(e.getAsJsonPrimitive()))
            throw ApiError.invalid(name, name + " is " + e.getAsString() + ", not a finite number");
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) throw ApiError.invalid(name, name + " must be a number");
        double d = e.getAsDouble();
        if (!Double.isFinite(d)) throw ApiError.invalid(name, name + " is " + d + ", not a finite number");
        return d;
    }

    private static long integer(JsonElement e, String name) {
        number(e, name);
        try {
            return e.getAsJsonPrimitive().getAsBigDecimal().longValueExact();
        } catch (ArithmeticException | NumberFormatException x) {
            throw ApiError.invalid(name, name + " must be an integer (64-bit), was " + e);
        }
    }
}
