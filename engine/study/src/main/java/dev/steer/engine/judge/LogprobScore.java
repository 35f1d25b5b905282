package dev.steer.engine.judge;

import java.util.Map;
import java.util.OptionalDouble;

/**
 * The logprob-weighted 0-100 score of DESIGN.md. The judge is asked for one token with its top-20 logprobs;
 * every candidate token that, trimmed of whitespace, is an integer 0..100 in plain ASCII digits votes with its
 * probability p = exp(logprob). Score = Σ p·n / Σ p over those tokens. When Σ p &lt; 0.25 the judge mostly
 * wanted to say something other than a number (a refusal, "The", ...), so there is no score rather than a
 * score built from a sliver of probability mass. A logprob that is not a number or is above 0 (an overflow, a
 * broken server) leaves the answer unscored: a NaN must never be stored as a score.
 */
public final class LogprobScore {

    /** Below this much probability mass on numeric tokens the answer is unscored. */
    public static final double MIN_NUMERIC_MASS = 0.25;

    private LogprobScore() {
    }

    /**
     * @param topLogprobs candidate token → natural-log probability, as returned by the API (tokens untrimmed;
     *                    tokens such as "7" and " 7" are distinct keys and both vote for 7)
     * @return the score in [0, 100], or empty when the numeric mass is below {@link #MIN_NUMERIC_MASS}
     */
    public static OptionalDouble of(Map<String, Double> topLogprobs) {
        double mass = 0;
        double weighted = 0;
        for (Map.Entry<String, Double> e : topLogprobs.entrySet()) {
            int n = parseScore(e.getKey());
            Double logprob = e.getValue();
            if (n < 0) {
                continue;
            }
            double p = logprob == null ? Double.NaN : Math.exp(logprob);
            if (!(p >= 0 && p <= 1 + 1e-6)) {
                return OptionalDouble.empty();
            }
            mass += p;
            weighted += p * n;
        }
        if (!(mass >= MIN_NUMERIC_MASS)) {
            return OptionalDouble.empty();
        }
        double score = weighted / mass;
        return Double.isFinite(score) ? OptionalDouble.of(Math.min(100, score)) : OptionalDouble.empty();
    }

    /**
     * True when the numbers among these alternatives are all single digits although the list is a full top
     * {@value ChatCompletions#TOP_LOGPROBS}: the judge's tokenizer splits numbers (as Gemma's does), so the first
     * token is only a first digit and {@link #of} would read a rating of 85 as 8. A vocabulary with tokens for
     * 10-100 puts some of them among 20 alternatives of a rating prompt; a shorter list says too little to tell.
     */
    public static boolean onlySingleDigits(Map<String, Double> topLogprobs) {
        if (topLogprobs.size() < ChatCompletions.TOP_LOGPROBS) {
            return false;
        }
        boolean anyDigit = false;
        for (String token : topLogprobs.keySet()) {
            int n = parseScore(token);
            if (n >= 10) {
                return false;
            }
            anyDigit |= n >= 0;
        }
        return anyDigit;
    }

    /** The integer 0..100 a token stands for, or -1 when it is not one (signs, decimals, "1e2" are not). */
    static int parseScore(String token) {
        String t = token == null ? "" : token.strip();
        if (t.isEmpty() || t.length() > 3) {
            return -1;
        }
        int n = 0;
        for (int i = 0; i < t.length(); i++) {
            char c = t.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            n = n * 10 + (c - '0');
        }
        return n <= 100 ? n : -1;
    }
}
