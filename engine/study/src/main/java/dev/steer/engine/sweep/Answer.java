package dev.steer.engine.sweep;

import dev.steer.engine.telemetry.HookTelemetry;

/**
 * One generated answer: its text, how many tokens it took, and the live telemetry at the steered layer (null for an
 * unsteered row).
 */
public record Answer(String text, int tokens, HookTelemetry telemetry) {
}
