package dev.steer.engine.backend;

/**
 * Cosines and sines of the rotary angles for one step's positions, made by {@link Backend#ropeTable} and used
 * by {@link Backend#rope} for queries and keys of every layer. Angles are computed in double precision:
 * {@code angle(p, i) = p * theta^(-2i/headDim)}, i in [0, headDim/2).
 */
public interface RopeTable {
}
