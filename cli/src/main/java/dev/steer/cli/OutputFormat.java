package dev.steer.cli;

import picocli.CommandLine.Option;

/** {@code --format text|json}: json prints exactly one object on stdout ({@link CommandJson}), for scripts. */
final class OutputFormat {
    enum Kind { text, json }

    @Option(names = "--format", defaultValue = "text", paramLabel = "FMT",
            converter = LowerCaseEnum.OfFormat.class, completionCandidates = LowerCaseEnum.OfFormat.class, description = "text or json. Default: ${DEFAULT-VALUE}.")
    Kind kind;

    boolean json() {
        return kind == Kind.json;
    }
}
