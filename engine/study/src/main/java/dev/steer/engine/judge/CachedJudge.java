package dev.steer.engine.judge;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.Set;

/**
 * A judge that first looks in a {@link JudgeCache} and asks the wrapped judge only about prompts it has not
 * scored before (each distinct prompt once per batch). New scores are stored; unscored answers are not, so they
 * are asked again next time. Closing closes the wrapped judge but not the cache, which judges may share.
 */
public final class CachedJudge implements Judge {

    private final Judge inner;
    private final JudgeCache cache;

    public CachedJudge(Judge inner, JudgeCache cache) {
        this.inner = inner;
        this.cache = cache;
    }

    @Override
    public String id() {
        return inner.id();
    }

    @Override
    public List<OptionalDouble> score(List<JudgeItem> items) {
        Set<String> prompts = new LinkedHashSet<>();
        items.forEach(item -> prompts.add(item.prompt()));
        Map<String, Double> known = new HashMap<>(cache.lookup(inner.id(), prompts));

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
                if (scores.get(i).isPresent()) {
                    fresh.put(missing.get(i).prompt(), scores.get(i).getAsDouble());
                }
            }
            cache.store(inner.id(), fresh);
            known.putAll(fresh);
        }

        List<OptionalDouble> out = new ArrayList<>(items.size());
        for (JudgeItem item : items) {
            Double s = known.get(item.prompt());
            out.add(s == null ? OptionalDouble.empty() : OptionalDouble.of(s));
        }
        return out;
    }

    @Override
    public void close() {
        inner.close();
    }
}
