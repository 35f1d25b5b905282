package dev.steer.engine.model;

/** The sizes generation and steering need to know about a causal language model. */
public record ModelDims(String architecture, int layers, int hidden, int vocab, int bosId, int padId, int[] eosIds) {
    public boolean isEos(int id) {
        for (int e : eosIds) if (e == id) return true;
        return false;
    }
}
