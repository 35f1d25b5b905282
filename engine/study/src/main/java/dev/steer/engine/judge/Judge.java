package dev.steer.engine.judge;

import java.util.List;
import java.util.OptionalDouble;

/**
 * Scores answers on a 0-100 scale (100 = the trait or quality is fully present).
 *
 * <p>An empty {@link OptionalDouble} means "unscored": the judge could not produce a score for that answer
 * (no usable logprobs, a response that never parsed, ...). Callers record it as unscored and never treat it as
 * zero, because a zero would drag averages down for answers nobody actually rated.
 */
public interface Judge extends AutoCloseable {

    /** One score per item, in the items' order; the list has exactly {@code items.size()} entries. */
    List<OptionalDouble> score(List<JudgeItem> items);

    /**
     * Stable identity of this judge, such as {@code openai:gpt-4o-mini} or {@code onnx:/models/trait}; the
     * cache and the results store key scores by it, so two judges that may score differently never share one.
     */
    String id();

    /**
     * Everything this judge's scores depend on besides the prompt: {@link #id()}, plus what the id leaves out (an
     * OpenAI-compatible judge adds its server, since local servers answer whatever model name they are sent). The
     * judge cache and run keys use it, so scores from one server are never reused for another.
     */
    default String scoreIdentity() {
        return id();
    }

    /** Why the most recent unscored answer got no score, if the judge knows; shown to the user when scores are missing. */
    default java.util.Optional<String> lastProblem() {
        return java.util.Optional.empty();
    }

    /** Releases native sessions, threads or connections; the default holds none. */
    @Override
    default void close() {
    }
}
