package dev.steer.engine.generation;

import dev.steer.engine.telemetry.HookTelemetry;

import java.util.List;

/**
 * One row's output: the new token ids (the EOS that stopped it included), whether it stopped at EOS, live
 * telemetry per hooked layer, and (when asked) the logits at the last prompt position.
 */
public record GenerationResult(int[] tokens, boolean stoppedAtEos, List<HookTelemetry> telemetry, float[] promptLogits) {
}
