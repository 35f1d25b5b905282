package dev.steer.cli;

import picocli.CommandLine.Option;

/** Where an {@code openai:MODEL} judge lives; flags win over OPENAI_BASE_URL / OPENAI_API_KEY. */
final class JudgeOptions {
    @Option(names = "--judge-base-url", paramLabel = "URL",
            description = "OpenAI-compatible API root for openai:MODEL judges (default: OPENAI_BASE_URL, else https://api.openai.com/v1).")
    String baseUrl;

    @Option(names = "--judge-api-key", paramLabel = "KEY", description = "API key for openai:MODEL judges (default: OPENAI_API_KEY).")
    String apiKey;
}
