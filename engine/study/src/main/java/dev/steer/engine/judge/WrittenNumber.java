package dev.steer.engine.judge;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;

/**
 * The 0-100 score a model would write, read over its digit tokens: the logprob rule of {@link LogprobScore} for
 * tokenizers that split numbers. Gemma's vocabulary has single tokens only for 0-9, so the first token of "85" is
 * "8", and a one-token rule reads a rating of 85 as 8; here "85" counts with P("8") · P("5" | "8").
 *
 * <p>The first token's top candidates start a tree of digit prefixes. A candidate whose text (leading whitespace
 * dropped at the first token) is all digits extends its prefix; one with digits and then other text ("8." or
 * "85\n") ends the number inside it; one that starts with no digit ends the number before it (at the first token:
 * no number at all). A prefix that can still grow into a score (1-9 into 10-99, 10 into 100) is {@link #pending}:
 * the caller runs one more step over every such prefix at once and {@link #expand}s it with that step's top
 * candidates; the number ends at that prefix with the probability its candidates do not put on digits. A prefix
 * that cannot grow (0, 11-100) is taken as the whole number, since one more digit would make no score. Prefixes
 * reached with probability below {@link #EXPAND_MIN} are not expanded and count in neither sum, so the cost stays
 * at a few rows per answer.
 *
 * <p>Score = Σ P(n)·n / Σ P(n) over n in 0..100; below {@link LogprobScore#MIN_NUMERIC_MASS} of probability on
 * numbers there is no score. On a tokenizer with multi-digit tokens ("85" one token) this is the one-token rule
 * plus a look past "1" and "10", so "100" is not read as "10".
 */
final class WrittenNumber {

    /** A prefix reached with less probability than this is not worth a decode row. */
    static final double EXPAND_MIN = 0.005;

    /** One of a position's top next tokens. */
    record Candidate(int id, String text, double logprob) {
    }

    /**
     * A digit prefix waiting for its next-token candidates.
     *
     * @param ids         the tokens that wrote it, to append to the prompt
     * @param digits      the number so far
     * @param probability P(the model writes these tokens first)
     */
    record Prefix(int[] ids, String digits, double probability) {
    }

    private final List<Prefix> pending = new ArrayList<>();
    private final double[] mass = new double[101];
    private boolean broken;

    /** @param first the first token's top candidates */
    WrittenNumber(List<Candidate> first) {
        add(new Prefix(new int[0], "", 1), first, true);
    }

    /** Prefixes to expand, taken: each is returned once. */
    List<Prefix> takePending() {
        List<Prefix> out = List.copyOf(pending);
        pending.clear();
        return out;
    }

    /** Adds what follows {@code prefix}: the top candidates of the step after its tokens. */
    void expand(Prefix prefix, List<Candidate> next) {
        add(prefix, next, false);
    }

    /** The expected number, or empty below the numeric mass or when a probability was not a number. */
    OptionalDouble score() {
        double total = 0, weighted = 0;
        for (int n = 0; n <= 100; n++) {
            total += mass[n];
            weighted += mass[n] * n;
        }
        if (broken || !(total >= LogprobScore.MIN_NUMERIC_MASS)) return OptionalDouble.empty();
        double s = weighted / total;
        return Double.isFinite(s) ? OptionalDouble.of(Math.max(0, Math.min(100, s))) : OptionalDouble.empty();
    }

    private void add(Prefix parent, List<Candidate> candidates, boolean first) {
        double onDigits = 0;
        for (Candidate c : candidates) {
            double p = Math.exp(c.logprob());
            if (!(p >= 0 && p <= 1 + 1e-6)) {
                // NaN or overflowing logits: no probability here can be trusted, and a NaN must never become a score.
                broken = true;
                return;
            }
            String t = first ? c.text().stripLeading() : c.text();
            int k = 0;
            while (k < t.length() && t.charAt(k) >= '0' && t.charAt(k) <= '9') k++;
            if (k == 0) continue;
            onDigits += p;
            String digits = parent.digits() + t.substring(0, k);
            double reach = parent.probability() * p;
            if (k == t.length() && canGrow(digits)) {
                if (reach >= EXPAND_MIN) pending.add(new Prefix(append(parent.ids(), c.id()), digits, reach));
            } else {
                credit(digits, reach);
            }
        }
        if (!first) credit(parent.digits(), parent.probability() * Math.max(0, 1 - onDigits));
    }

    private void credit(String digits, double p) {
        int n = value(digits);
        if (n >= 0) mass[n] += p;
    }

    /** 1-9 can become 10-99 and 10 can become 100; 0 (no leading zeros) and 11-100 cannot grow into a score. */
    private static boolean canGrow(String digits) {
        int n = value(digits);
        return n >= 1 && n <= 10;
    }

    /** The score these digits write, or -1: more than three digits, a leading zero ("05") or over 100. */
    private static int value(String digits) {
        if (digits.isEmpty() || digits.length() > 3 || digits.length() > 1 && digits.charAt(0) == '0') return -1;
        int n = Integer.parseInt(digits);
        return n <= 100 ? n : -1;
    }

    private static int[] append(int[] ids, int id) {
        int[] out = java.util.Arrays.copyOf(ids, ids.length + 1);
        out[ids.length] = id;
        return out;
    }
}
