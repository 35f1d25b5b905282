package dev.steer.engine.store;

/**
 * The runs database failed in a way that is not the user's input (a write refused, a disk full, a duplicate
 * config key): an internal error for the CLI (exit 1). Bad files given by the user are {@code BadInputException}.
 */
public class StoreException extends RuntimeException {
    public StoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
