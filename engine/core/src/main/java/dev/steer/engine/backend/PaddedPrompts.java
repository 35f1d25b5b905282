package dev.steer.engine.backend;

import java.util.Arrays;
import java.util.List;

/**
 * Prompts of different lengths laid out as one left-padded prefill batch: {@code ids} [batch, length] row-major,
 * row r padded with {@code padId} in its first {@code padLeft[r]} slots, so every row's last token sits in the
 * last slot. {@link #layout()} is the matching prefill {@link StepLayout}.
 */
public record PaddedPrompts(int[] ids, int batch, int length, int[] padLeft) {
    public static PaddedPrompts of(List<int[]> prompts, int padId) {
        if (prompts.isEmpty()) throw new IllegalArgumentException("no prompts to batch");
        int batch = prompts.size();
        int length = prompts.stream().mapToInt(p -> p.length).max().orElseThrow();
        if (length == 0) throw new IllegalArgumentException("every prompt is empty");
        int[] ids = new int[batch * length];
        int[] padLeft = new int[batch];
        for (int r = 0; r < batch; r++) {
            int[] p = prompts.get(r);
            if (p.length == 0) throw new IllegalArgumentException("prompt " + r + " of the batch is empty");
            padLeft[r] = length - p.length;
            Arrays.fill(ids, r * length, r * length + padLeft[r], padId);
            System.arraycopy(p, 0, ids, r * length + padLeft[r], p.length);
        }
        return new PaddedPrompts(ids, batch, length, padLeft);
    }

    public StepLayout layout() {
        return new StepLayout(batch, 0, length, padLeft);
    }

    /** The token ids as an int tensor [batch, length] of {@code backend}. */
    public Tensor upload(Backend backend) {
        return backend.ints(ids, batch, length);
    }

    /** Row r's first real token (BOS for prompts encoded with special tokens). */
    public int firstToken(int r) {
        return ids[r * length + padLeft[r]];
    }
}
