package dev.steer.models.text;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.steer.engine.BadInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;

import static dev.steer.models.text.ChatMessage.assistant;
import static dev.steer.models.text.ChatMessage.user;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Expected strings were rendered by Python jinja2 3.1.6 in an ImmutableSandboxedEnvironment(trim_blocks=True,
 * lstrip_blocks=True) with a raise_exception global: the environment transformers' apply_chat_template uses.
 */
class ChatTemplateTest {
    static final Path FIXTURES = Path.of("src/test/resources/fixtures");
    /** The fixture checkpoint's own (short) Gemma template. */
    static final Path TINY_GEMMA = FIXTURES.resolve("tiny-gemma2");
    /** google/gemma-2-2b-it's template, which raises on a system turn and on roles that do not alternate. */
    static final Path GEMMA_IT = FIXTURES.resolve("gemma-2-it-template");

    static final List<ChatMessage> MULTI_TURN =
            List.of(user("  Hi there \n"), assistant("Hello! How can I help?"), user("Tell me a joke."));

    @Test
    void singleTurnIsGemmaFormatExactly() {
        for (Path dir : List.of(TINY_GEMMA, GEMMA_IT)) {
            ChatTemplate template = ChatTemplate.fromModelDir(dir).orElseThrow();
            assertEquals("<bos><start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n",
                    template.render(List.of(user("Hello")), true), dir.toString());
            assertEquals("<bos><start_of_turn>user\nHello<end_of_turn>\n",
                    template.render(List.of(user("Hello")), false), dir.toString());
        }
    }

    @Test
    void multiTurnTrimsContentAndNamesTheAssistantModel() {
        for (Path dir : List.of(TINY_GEMMA, GEMMA_IT)) {
            ChatTemplate template = ChatTemplate.fromModelDir(dir).orElseThrow();
            assertEquals("<bos><start_of_turn>user\nHi there<end_of_turn>\n"
                            + "<start_of_turn>model\nHello! How can I help?<end_of_turn>\n"
                            + "<start_of_turn>user\nTell me a joke.<end_of_turn>\n"
                            + "<start_of_turn>model\n",
                    template.render(MULTI_TURN, true), dir.toString());
        }
    }

    @Test
    void systemTurnIsRejectedByGemmaTemplate() {
        ChatTemplate template = ChatTemplate.fromModelDir(GEMMA_IT).orElseThrow();
        BadInputException e = assertThrows(BadInputException.class,
                () -> template.render(List.of(new ChatMessage("system", "Be brief."), user("Hello")), true));
        assertEquals("chat template: System role not supported", e.getMessage());
    }

    @Test
    void rolesThatDoNotAlternateAreRejectedByGemmaTemplate() {
        ChatTemplate template = ChatTemplate.fromModelDir(GEMMA_IT).orElseThrow();
        for (List<ChatMessage> bad : List.of(
                List.of(user("a"), user("b")),
                List.of(assistant("a")),
                List.of(user("a"), assistant("b"), assistant("c")))) {
            BadInputException e = assertThrows(BadInputException.class, () -> template.render(bad, true));
            assertEquals("chat template: Conversation roles must alternate user/assistant/user/assistant/...", e.getMessage());
        }
    }

    @Test
    void encodeChatTokenizesTheRenderedTextWithBosOnce() {
        try (TextTokenizer tokenizer = TextTokenizer.open(TINY_GEMMA)) {
            ChatTemplate template = ChatTemplate.fromModelDir(TINY_GEMMA).orElseThrow();
            int[] ids = template.encodeChat(tokenizer, List.of(user("Hello")));
            // Special tokens written in the text split it; each piece in between is tokenized on its own.
            int[] expected = IntStream.concat(IntStream.of(2, 4), IntStream.concat(
                    IntStream.of(tokenizer.encodeNoSpecial("user\nHello")),
                    IntStream.concat(IntStream.of(5), IntStream.concat(
                            IntStream.of(tokenizer.encodeNoSpecial("\n")),
                            IntStream.concat(IntStream.of(4), IntStream.of(tokenizer.encodeNoSpecial("model\n"))))))).toArray();
            assertArrayEquals(expected, ids);
            assertEquals(1, IntStream.of(ids).filter(id -> id == 2).count(), "exactly one <bos>");
            assertEquals("<bos><start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n",
                    tokenizer.decodeRaw(ids).replace("<unk>", "\n"), "the unknown pieces are the newlines");
        }
    }

    @Test
    void trimAndLstripBlocksMatchJinja2() {
        String source = "{{ bos_token }}\n{% for message in messages %}\n    {% if message['role'] == 'user' %}\n"
                + "<|user|>\n{{ message['content'].strip() }}{{ eos_token }}\n    {% else %}\n<|assistant|>\n"
                + "  {{ message['content'] }}{{ eos_token }}\n    {% endif %}\n{% endfor %}\n"
                + "{% if add_generation_prompt %}\n<|assistant|>\n{% endif %}";
        ChatTemplate template = ChatTemplate.of(source, "<s>", "</s>", "test");
        assertEquals("<s>\n<|user|>\nHi there</s>\n<|assistant|>\n  Hello! How can I help?</s>\n"
                + "<|user|>\nTell me a joke.</s>\n<|assistant|>\n", template.render(MULTI_TURN, true));

        String dashes = "{%- for message in messages -%}\n  {{- '<' + message.role + '>' + message.content + '</' + message.role + '>' -}}\n"
                + "  {%- if not loop.last %}\n\n{% endif -%}\n{%- endfor -%}\n{%- if add_generation_prompt %} GEN{% endif %}";
        assertEquals("<user>  Hi there \n</user>\n<assistant>Hello! How can I help?</assistant>\n<user>Tell me a joke.</user> GEN",
                ChatTemplate.of(dashes, "", "", "test").render(MULTI_TURN, true));
    }

    @Test
    void separateJinjaFileWinsAndLosesItsTrailingNewline(@TempDir Path dir) throws IOException {
        Files.copy(GEMMA_IT.resolve("tokenizer_config.json"), dir.resolve("tokenizer_config.json"));
        Files.writeString(dir.resolve("chat_template.jinja"),
                "{{ bos_token }}{% for m in messages %}[{{ m['role'] }}]{{ m['content'] }}{% endfor %}\r\n");
        ChatTemplate template = ChatTemplate.fromModelDir(dir).orElseThrow();
        assertEquals("<bos>[user]Hello", template.render(List.of(user("Hello")), true));
        assertEquals("<bos>", template.bosToken());
        assertEquals("<eos>", template.eosToken());
    }

    @Test
    void namedTemplateListTakesDefaultAndSpecialTokensMayBeObjects(@TempDir Path dir) throws IOException {
        JsonObject config = new JsonObject();
        JsonObject bos = new JsonObject();
        bos.addProperty("content", "<s>");
        bos.addProperty("special", true);
        config.add("bos_token", bos);
        config.addProperty("eos_token", "</s>");
        JsonArray templates = new JsonArray();
        templates.add(named("tool_use", "TOOLS"));
        templates.add(named("default", "{{ bos_token }}{{ messages[0]['content'] }}{{ eos_token }}"));
        config.add("chat_template", templates);
        Files.writeString(dir.resolve("tokenizer_config.json"), config.toString());
        assertEquals("<s>Hello</s>", ChatTemplate.fromModelDir(dir).orElseThrow().render(List.of(user("Hello")), false));

        templates.remove(1);
        Files.writeString(dir.resolve("tokenizer_config.json"), config.toString());
        BadInputException e = assertThrows(BadInputException.class, () -> ChatTemplate.fromModelDir(dir));
        assertTrue(e.getMessage().contains(dir.resolve("tokenizer_config.json").toString()), e.getMessage());
        assertTrue(e.getMessage().contains("[tool_use]") && e.getMessage().contains("default"), e.getMessage());
    }

    @Test
    void modelWithoutTemplateHasNone(@TempDir Path dir) throws IOException {
        assertTrue(ChatTemplate.fromModelDir(dir).isEmpty(), "no files at all");
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": \"<bos>\", \"chat_template\": null}");
        assertTrue(ChatTemplate.fromModelDir(dir).isEmpty(), "config without a template");
    }

    @Test
    void malformedConfigNamesTheFile(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("tokenizer_config.json");
        Files.writeString(file, "{\"chat_template\": \"{{ x }}\"");
        BadInputException e = assertThrows(BadInputException.class, () -> ChatTemplate.fromModelDir(dir));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("not valid JSON"), e.getMessage());
    }

    @Test
    void brokenTemplateIsBadInputNamingItsSource(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("chat_template.jinja");
        Files.writeString(file, "{{ bos_token }}{% for m in messages %}{{ m['content'] }}");
        ChatTemplate template = ChatTemplate.fromModelDir(dir).orElseThrow();
        BadInputException e = assertThrows(BadInputException.class, () -> template.render(List.of(user("Hello")), true));
        assertTrue(e.getMessage().startsWith("chat template from " + file + " failed"), e.getMessage());
        assertTrue(e.getMessage().contains("endfor"), e.getMessage());
    }

    @Test
    void noMessagesIsBadInput() {
        ChatTemplate template = ChatTemplate.fromModelDir(TINY_GEMMA).orElseThrow();
        BadInputException e = assertThrows(BadInputException.class, () -> template.render(List.of(), true));
        assertTrue(e.getMessage().contains("no messages"), e.getMessage());
    }

    @Test
    void longContentIsRenderedWhole() {
        String content = "word ".repeat(50_000).trim();
        ChatTemplate template = ChatTemplate.fromModelDir(GEMMA_IT).orElseThrow();
        String rendered = template.render(List.of(user(content)), true);
        assertEquals("<bos><start_of_turn>user\n" + content + "<end_of_turn>\n<start_of_turn>model\n", rendered);
    }

    private static JsonObject named(String name, String template) {
        JsonObject o = new JsonObject();
        o.addProperty("name", name);
        o.addProperty("template", template);
        return o;
    }
}
