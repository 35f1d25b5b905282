package dev.steer.engine;

/**
 * The user's input is wrong: a file, flag or value. The CLI prints {@link #getMessage()} as one line on stderr
 * and exits with 2, without a stack trace, so the message must name the file, flag or value and say what is wrong.
 */
public class BadInputException extends RuntimeException {
    public BadInputException(String message) {
        super(message);
    }

    public BadInputException(String message, Throwable cause) {
        super(message, cause);
    }
}
