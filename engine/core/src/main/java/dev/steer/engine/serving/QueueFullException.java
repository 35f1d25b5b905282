package dev.steer.engine.serving;

/** The scheduler's queue holds as many waiting jobs as it may; the caller should retry later (HTTP 429). */
public final class QueueFullException extends RuntimeException {
    public QueueFullException(int limit) {
        super("the queue holds " + limit + " waiting requests, its limit");
    }
}
