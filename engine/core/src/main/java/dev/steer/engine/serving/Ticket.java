package dev.steer.engine.serving;

/** A submitted job's handle: {@link #cancel} frees its row before the next decode step (a client went away). */
public final class Ticket {
    private volatile boolean cancelled;

    public void cancel() {
        cancelled = true;
    }

    public boolean cancelled() {
        return cancelled;
    }
}
