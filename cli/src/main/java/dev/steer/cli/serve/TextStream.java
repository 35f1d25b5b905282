package dev.steer.cli.serve;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * A response's text as its tokens arrive: the tokens so far are decoded whole, and what is new since the last call
 * goes out as a delta, except (a) a trailing incomplete character (U+FFFD of a multi-byte character cut between
 * tokens) and (b) the longest suffix that is the start of a stop string: held back until the next token shows
 * whether a stop string follows. When the text holds a stop string it ends before it and {@link #stopped()}.
 * The response's text is the concatenation of the deltas, streamed or not, so the two always agree.
 */
final class TextStream {
    private final Function<int[], String> decode;
    private final List<String> stops;
    private final List<Integer> ids = new ArrayList<>();
    private final StringBuilder text = new StringBuilder();
    private boolean stopped;

    TextStream(Function<int[], String> decode, List<String> stops) {
        this.decode = decode;
        this.stops = List.copyOf(stops);
    }

    /** Takes the next token; returns the text that may go out now (often empty). Nothing after a stop. */
    String add(int id) {
        if (stopped) return "";
        ids.add(id);
        String full = decoded();
        int end = full.length();
        while (end > 0 && full.charAt(end - 1) == '\uFFFD') end--;
        String whole = full.substring(0, end);
        int from = Math.max(0, Math.min(text.length(), whole.length()));
        int stopAt = -1;
        for (String s : stops) {
            int i = whole.indexOf(s, from);
            if (i >= 0 && (stopAt < 0 || i < stopAt)) stopAt = i;
        }
        if (stopAt >= 0) {
            stopped = true;
            return advanceTo(whole.substring(0, stopAt));
        }
        return advanceTo(whole.substring(0, whole.length() - heldBack(whole)));
    }

    /** The last delta, once the tokens are all in (nothing is held back any more). */
    String finish() {
        if (stopped) return "";
        return advanceTo(decoded());
    }

    /** The response text so far: every delta returned, in order. */
    String text() {
        return text.toString();
    }

    /** Whether a stop string ended the text. */
    boolean stopped() {
        return stopped;
    }

    /** Tokens taken (up to and including the one that completed a stop string). */
    int tokens() {
        return ids.size();
    }

    private String decoded() {
        int[] a = new int[ids.size()];
        for (int i = 0; i < a.length; i++) a[i] = ids.get(i);
        return decode.apply(a);
    }

    /** The length of the longest suffix of {@code s} that is a proper prefix of a stop string. */
    private int heldBack(String s) {
        int best = 0;
        for (String stop : stops)
            for (int k = Math.min(stop.length() - 1, s.length()); k > best; k--)
                if (s.regionMatches(s.length() - k, stop, 0, k)) {
                    best = k;
                    break;
                }
        return best;
    }

    /** Emits what {@code target} adds to the text so far (nothing when it does not extend it). */
    private String advanceTo(String target) {
        if (target.length() <= text.length() || !target.startsWith(text.toString())) return "";
        String delta = target.substring(text.length());
        text.append(delta);
        return delta;
    }
}
