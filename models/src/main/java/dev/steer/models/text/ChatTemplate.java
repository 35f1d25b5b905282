package dev.steer.models.text;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import dev.steer.engine.BadInputException;
import dev.steer.engine.JsonErrorText;
import dev.steer.models.hf.InputFiles;

import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A model's chat template (Jinja), rendered the way {@code transformers}' {@code apply_chat_template} does:
 * Jinja with {@code trim_blocks} and {@code lstrip_blocks}, one trailing newline of the template dropped
 * (Jinja2's {@code keep_trailing_newline=False}), variables {@code messages} (a list of {role, content}),
 * {@code bos_token}, {@code eos_token}, {@code add_generation_prompt}, and a {@code raise_exception(msg)}
 * function that templates use to reject a conversation (Gemma: a system turn, or roles that do not
 * alternate user/model).
 *
 * <p>Rendered by Jinjava, which differs from Python Jinja2 in ways a template can see: booleans print as
 * {@code true}/{@code false}, not {@code True}/{@code False}, and Python string methods other than the few
 * Jinjava maps (such as {@code .strip()}) are missing ({@code .startswith()} fails). Gemma's template uses
 * none of these.
 */
public final class ChatTemplate {
    static final String CONFIG_FILE = "tokenizer_config.json";
    static final String TEMPLATE_FILE = "chat_template.jinja";

    private static final Jinjava JINJA = newJinja();

    private final String template;
    private final String bosToken;
    private final String eosToken;
    private final String source;

    private ChatTemplate(String template, String bosToken, String eosToken, String source) {
        this.template = withoutTrailingNewline(template);
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        this.source = source;
    }

    /** A template given as text; {@code source} names where it came from in error messages. */
    public static ChatTemplate of(String template, String bosToken, String eosToken, String source) {
        return new ChatTemplate(template, bosToken, eosToken, source);
    }

    /**
     * The template of a Hugging Face model directory: {@code chat_template.jinja} if present (newer
     * checkpoints), else {@code chat_template} in {@code tokenizer_config.json} (a string, or a list of
     * {name, template} of which "default" is taken). Empty when the model has no template (a base model).
     */
    public static Optional<ChatTemplate> fromModelDir(Path dir) {
        Path configFile = dir.resolve(CONFIG_FILE);
        JsonObject config = Files.isRegularFile(configFile) ? readConfig(configFile) : new JsonObject();
        String bos = specialToken(config, "bos_token", configFile);
        String eos = specialToken(config, "eos_token", configFile);

        Path templateFile = dir.resolve(TEMPLATE_FILE);
        if (Files.isRegularFile(templateFile)) {
            try {
                return Optional.of(new ChatTemplate(
                        Files.readString(templateFile, StandardCharsets.UTF_8), bos, eos, templateFile.toString()));
            } catch (IOException e) {
                throw InputFiles.unreadable(templateFile, e);
            }
        }
        JsonElement entry = config.get("chat_template");
        if (entry == null || entry.isJsonNull()) {
            return Optional.empty();
        }
        return Optional.of(new ChatTemplate(templateText(entry, configFile), bos, eos, configFile.toString()));
    }

    /** The prompt text; with {@code addGenerationPrompt} it ends where the model's reply begins. */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        if (messages.isEmpty()) {
            throw new BadInputException("chat template: no messages to render");
        }
        List<Map<String, Object>> turns = new ArrayList<>();
        for (ChatMessage m : messages) {
            turns.add(m.asTemplateValue());
        }
        Map<String, Object> context = new HashMap<>();
        context.put("messages", turns);
        context.put("bos_token", bosToken);
        context.put("eos_token", eosToken);
        context.put("add_generation_prompt", addGenerationPrompt);

        RenderResult result = JINJA.renderForResult(template, context);
        for (TemplateError error : result.getErrors()) {
            for (Throwable t = error.getException(); t != null; t = t.getCause()) {
                if (t instanceof TemplateRaised raised) {
                    throw new BadInputException("chat template: " + raised.getMessage());
                }
            }
        }
        for (TemplateError error : result.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                // Jinjava quotes template source in its messages; the CLI prints one line.
                throw new BadInputException("chat template from " + source + " failed at line " + error.getLineno()
                        + ": " + error.getMessage().replaceAll("\\s*\\R\\s*", " "));
            }
        }
        String text = result.getOutput();
        // An empty prompt has nothing to condition on (and no tokens to prefill): the template is broken for this input.
        if (text.isEmpty()) {
            throw new BadInputException("chat template from " + source + " renders an empty prompt for " + messages.size()
                    + (messages.size() == 1 ? " message" : " messages") + " (roles " + roles(messages) + ")");
        }
        return text;
    }

    private static List<String> roles(List<ChatMessage> messages) {
        List<String> roles = new ArrayList<>();
        for (ChatMessage m : messages) roles.add(m.role());
        return roles;
    }

    /**
     * Token ids of the rendered conversation, ready for generation (generation prompt added). The template
     * already writes {@code <bos>}, so the text is tokenized without added special tokens: BOS exactly once.
     */
    public int[] encodeChat(TextTokenizer tokenizer, List<ChatMessage> messages) {
        return tokenizer.encodeNoSpecial(render(messages, true));
    }

    public String bosToken() {
        return bosToken;
    }

    public String eosToken() {
        return eosToken;
    }

    /** Called by templates as {@code raise_exception(msg)}; Jinjava records the throw, {@link #render} rethrows. */
    private static String raiseException(Object message) {
        throw new TemplateRaised(String.valueOf(message));
    }

    private static final class TemplateRaised extends RuntimeException {
        TemplateRaised(String message) {
            super(message, null, false, false);
        }
    }

    private static Jinjava newJinja() {
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                // Jinja2's precedence: in `'a' + content | trim + 'b'` the filter binds to content only.
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withUseNaturalOperatorPrecedence(true)
                        .withParseWhitespaceControlStrictly(true)
                        .build())
                .build();
        Jinjava jinja = new Jinjava(config);
        try {
            Method raise = ChatTemplate.class.getDeclaredMethod("raiseException", Object.class);
            raise.setAccessible(true);
            jinja.registerFunction(new ELFunctionDefinition("", "raise_exception", raise));
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException(e);
        }
        return jinja;
    }

    private static JsonObject readConfig(Path file) {
        try {
            JsonElement root = JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8));
            if (!root.isJsonObject()) {
                throw new BadInputException("tokenizer config " + file + " is not a JSON object");
            }
            return root.getAsJsonObject();
        } catch (IOException e) {
            throw InputFiles.unreadable(file, e);
        } catch (JsonParseException e) {
            throw new BadInputException("tokenizer config " + file + " is not valid JSON: " + JsonErrorText.of(e), e);
        }
    }

    /** A special token is saved as a string, or as an AddedToken object {"content": "<bos>", ...}; absent is "". */
    private static String specialToken(JsonObject config, String key, Path file) {
        JsonElement value = config.get(key);
        if (value == null || value.isJsonNull()) {
            return "";
        }
        if (value.isJsonPrimitive()) {
            return value.getAsString();
        }
        if (value.isJsonObject() && value.getAsJsonObject().has("content")) {
            return value.getAsJsonObject().get("content").getAsString();
        }
        throw new BadInputException("tokenizer config " + file + ": " + key + " is neither a string nor {\"content\": ...}");
    }

    private static String templateText(JsonElement entry, Path file) {
        if (entry.isJsonPrimitive()) {
            return entry.getAsString();
        }
        if (entry.isJsonArray()) {
            List<String> names = new ArrayList<>();
            for (JsonElement named : entry.getAsJsonArray()) {
                if (named.isJsonObject() && named.getAsJsonObject().has("name")) {
                    String name = named.getAsJsonObject().get("name").getAsString();
                    names.add(name);
                    if (name.equals("default") && named.getAsJsonObject().has("template")) {
                        return named.getAsJsonObject().get("template").getAsString();
                    }
                }
            }
            throw new BadInputException("tokenizer config " + file + ": chat_template lists " + names
                    + " but no \"default\" template");
        }
        throw new BadInputException("tokenizer config " + file + ": chat_template is neither a string nor a list");
    }

    /** Jinja2 (keep_trailing_newline=False) drops one newline at the end of the template; Jinjava keeps it. */
    private static String withoutTrailingNewline(String template) {
        String unified = template.replace("\r\n", "\n").replace('\r', '\n');
        return unified.endsWith("\n") ? unified.substring(0, unified.length() - 1) : unified;
    }
}
