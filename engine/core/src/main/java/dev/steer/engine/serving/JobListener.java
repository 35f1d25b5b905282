package dev.steer.engine.serving;

import dev.steer.engine.generation.GenerationResult;
import dev.steer.engine.steering.SteeringSpec;

import java.util.List;

/**
 * What a submitted {@link Job} hears, on the scheduler's thread, in this order: {@link #started} once, then
 * {@link #token} for each generated token, then exactly one of {@link #finished} or {@link #failed}. Calls must not
 * block (hand the events to the request's own thread), since every other row waits for them.
 */
public interface JobListener {
    /** The job holds a batch slot; {@code steering}: its specs with ratio-mode coefficients resolved. */
    void started(List<SteeringSpec> steering);

    /** The next generated token (the EOS that stops a row included). */
    void token(int id);

    /**
     * The job left the batch: at EOS, at its token limit, or cancelled ({@link Ticket#cancel}); {@code result} holds
     * its tokens and its telemetry (one entry per spec, plus the scheduler's telemetry layers).
     */
    void finished(GenerationResult result, boolean cancelled);

    /** The job could not run (a ratio that cannot be resolved, a backend error); nothing more follows. */
    void failed(RuntimeException error);
}
