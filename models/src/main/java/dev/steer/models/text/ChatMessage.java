package dev.steer.models.text;

import java.util.Map;
import java.util.Objects;

/**
 * One turn of a conversation, as chat templates see it: {@code role} is {@code "user"}, {@code "assistant"}
 * or {@code "system"} (Gemma's template calls the assistant {@code model} and rejects {@code system}).
 */
public record ChatMessage(String role, String content) {
    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
    }

    public static ChatMessage user(String content) {
        return new ChatMessage("user", content);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content);
    }

    /** The shape templates index into: {@code message['role']}, {@code message.content}. */
    Map<String, Object> asTemplateValue() {
        return Map.of("role", role, "content", content);
    }
}
