package dev.steer.engine.judge;

import dev.steer.engine.BadInputException;

/**
 * A judge as the user names it on the command line: {@code openai:MODEL}, {@code onnx:DIR}, {@code self} or
 * {@code perplexity}. Parsing only splits and checks the form; building the judge is the CLI's job.
 *
 * @param kind     which family of judge
 * @param argument the model name for {@code openai}, the export directory for {@code onnx}, empty otherwise
 */
public record JudgeSpec(Kind kind, String argument) {

    /** The forms accepted, as shown in error messages and help. */
    public static final String VALID_FORMS = "openai:MODEL, onnx:DIR, self, perplexity";

    public enum Kind {
        /** An OpenAI-compatible chat-completions model scored by the logprob rule. */
        OPENAI,
        /** An exported sequence classifier run through ONNX Runtime. */
        ONNX,
        /** The steered model judging its own answers. */
        SELF,
        /** Coherence from the unsteered model's perplexity of the answer. */
        PERPLEXITY
    }

    /**
     * Parses a judge spec.
     *
     * @param flag the flag the spec came from (e.g. {@code --judge}), named in error messages
     * @throws BadInputException for an unknown kind or a missing model / directory
     */
    public static JudgeSpec parse(String spec, String flag) {
        String s = spec == null ? "" : spec.strip();
        if (s.equals("self")) {
            return new JudgeSpec(Kind.SELF, "");
        }
        if (s.equals("perplexity")) {
            return new JudgeSpec(Kind.PERPLEXITY, "");
        }
        int colon = s.indexOf(':');
        String prefix = colon < 0 ? s : s.substring(0, colon);
        String argument = colon < 0 ? "" : s.substring(colon + 1).strip();
        Kind kind = switch (prefix) {
            case "openai" -> Kind.OPENAI;
            case "onnx" -> Kind.ONNX;
            default -> throw new BadInputException(flag + " '" + s + "': unknown judge; expected one of " + VALID_FORMS);
        };
        if (argument.isEmpty()) {
            String what = kind == Kind.OPENAI ? "a model name, as in openai:gpt-4o-mini" : "a directory, as in onnx:DIR";
            throw new BadInputException(flag + " '" + s + "': " + prefix + " judge needs " + what);
        }
        return new JudgeSpec(kind, argument);
    }

    /** Parses a spec given to {@code --judge}. */
    public static JudgeSpec parse(String spec) {
        return parse(spec, "--judge");
    }

    @Override
    public String toString() {
        return argument.isEmpty() ? kind.name().toLowerCase() : kind.name().toLowerCase() + ":" + argument;
    }
}
