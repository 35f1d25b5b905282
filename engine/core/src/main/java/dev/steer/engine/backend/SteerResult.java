package dev.steer.engine.backend;

/**
 * What {@link Backend#steer} returns: the residual after the steering add, and the L2 norm of every (row, slot)
 * of the residual BEFORE the add, shape [B, T] (null when norms were not asked for).
 */
public record SteerResult(Tensor residual, Tensor norms) {
}
