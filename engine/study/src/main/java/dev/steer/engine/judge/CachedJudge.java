package dev.steer.engine.judge;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A judge that first looks in a {@link JudgeCache} and asks the wrapped judge only about prompts it has not
 * scored before (each distinct prompt once per batch), keyed by the judge's {@link Judge#scoreIdentity()}. New
 * scores are stored; unscored answers are not, so they are asked again next time. A score that is not a finite number
 * in 0..100 (an overflowing logprob, a judge's bug) is no score: it is passed on as unscored, never as zero, and never
 * cached. Counts the answers left unscored, so the caller can say why scores are missing. Closing closes the wrapped
 * judge but not the cache, which judges may share.
 */
public final class CachedJudge implements Judge {

    private final Judge inner;
    private final JudgeCache cache;
    private final AtomicInteger unscored = new AtomicInteger();
    private final AtomicReference<String> rejected = new AtomicReference<>();

    public CachedJudge(Judge inner, JudgeCache cache) {
        this.inner = inner;
        this.cache = cache;
    }

    @Override
    public String id() {
        return inner.id();
    }

    @Override
    public String scoreIdentity() {
        return inner.scoreIdentity();
    }

    /** The wrapped judge's last problem, or, when it gave an unusable number, that. */
    @Override
    public Optional<String> lastProblem() {
        Optional<String> own = inner.lastProblem();
        return own.isPresent() ? own : Optional.ofNullable(rejected.get());
    }

    /** How many answers (items, counting repeats) this judge has left unscored so far. */
    public int unscored() {
        return unscored.get();
    }

    @Override
    public List<OptionalDouble> score(List<JudgeItem> items) {
        String identity = inner.scoreIdentity();
        Set<String> prompts = new LinkedHashSet<>();
        items.forEach(item -> prompts.add(item.prompt()));
        Map<String, Double> known = new HashMap<>(cache.lookup(identity, prompts));

        List<JudgeItem> missing = new ArrayList<>();
        Set<String> asked = new LinkedHashSet<>();
        for (JudgeItem item : items) {
            if (!known.containsKey(item.prompt()) && asked.add(item.prompt())) {
                missing.add(item);
            }
        }
        Map<String, Double> fresh = new HashMap<>();
        if (!missing.isEmpty()) {
            List<OptionalDouble> scores = inner.score(missing);
            for (int i = 0; i < missing.size(); i++) {
                if (scores.get(i).isEmpty()) continue;
                double s = scores.get(i).getAsDouble();
                if (JudgeCache.usable(s)) fresh.put(missing.get(i).prompt(), s);
                else rejected.set(String.format(Locale.ROOT, "the judge gave %s, not a score in 0..100", s));
            }
            cache.store(identity, fresh);
            known.putAll(fresh);
        }

        List<OptionalDouble> out = new ArrayList<>(items.size());
        for (JudgeItem item : items) {
            Double s = known.get(item.prompt());
            if (s == null) unscored.incrementAndGet();
            out.add(s == null ? OptionalDouble.empty() : OptionalDouble.of(s));
        }
        return out;
    }

    @Override
    public void close() {
        inner.close();
    }
}
