package dev.steer.cli;

import dev.steer.engine.BadInputException;
import dev.steer.engine.judge.OpenAiJudge;
import picocli.CommandLine.Option;

import java.time.Duration;

/** Where an {@code openai:MODEL} judge lives and how long to wait for it; flags win over OPENAI_BASE_URL / OPENAI_API_KEY. */
final class JudgeOptions {
    /** The longest --judge-timeout accepted: an hour per request is already more than any judge needs. */
    static final double MAX_TIMEOUT_SECONDS = 3600;

    @Option(names = "--judge-base-url", paramLabel = "URL",
            description = "OpenAI-compatible API root for openai:MODEL judges (default: OPENAI_BASE_URL, else https://api.openai.com/v1).")
    String baseUrl;

    @Option(names = "--judge-api-key", paramLabel = "KEY", description = "API key for openai:MODEL judges (default: OPENAI_API_KEY).")
    String apiKey;

    Duration timeout = OpenAiJudge.Config.DEFAULT_TIMEOUT;

    /** Checked while the command line is parsed, so a bad value costs nothing (no weights loaded yet). */
    @Option(names = "--judge-timeout", paramLabel = "SECONDS",
            description = "Longest wait for one openai:MODEL judge response, in seconds (up to 3600); each answer is tried up to "
                    + OpenAiJudge.Config.DEFAULT_MAX_ATTEMPTS + " times, and once on a judge that timed out on every try. Default: 60.")
    void timeout(String seconds) {
        timeout = parseTimeout(seconds);
    }

    static Duration parseTimeout(String seconds) {
        double s;
        try {
            s = Double.parseDouble(seconds.strip());
        } catch (NumberFormatException e) {
            s = Double.NaN;
        }
        if (!(s >= 0.001 && s <= MAX_TIMEOUT_SECONDS))
            throw new BadInputException("--judge-timeout '" + seconds + "': give seconds in 0.001.." + (long) MAX_TIMEOUT_SECONDS);
        return Duration.ofMillis(Math.round(s * 1000));
    }
}
