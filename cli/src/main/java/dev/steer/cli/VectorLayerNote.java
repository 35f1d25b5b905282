package dev.steer.cli;

import dev.steer.engine.steering.SteeringVector;

import java.io.PrintWriter;

/**
 * The note {@code generate} and {@code ratio} print on stderr when a vector's own metadata says it was extracted
 * at another layer than the one it is applied at: allowed (a vector may transfer across layers), but worth seeing,
 * since ‖h‖ and so the ratio of a coefficient change from layer to layer.
 */
final class VectorLayerNote {
    private VectorLayerNote() {
    }

    /** The note for {@code v} applied at {@code layer}, or null when its metadata names no layer or this one. */
    static String of(String flag, SteeringVector v, int layer) {
        Integer extracted = v.provenance().layer();
        if (extracted == null || extracted == layer) return null;
        return "note: " + flag + ": the vector was extracted at layer " + extracted + ", applied here at layer " + layer;
    }

    static void print(PrintWriter err, String flag, SteeringVector v, int layer) {
        String note = of(flag, v, layer);
        if (note != null) err.println(note);
    }
}
