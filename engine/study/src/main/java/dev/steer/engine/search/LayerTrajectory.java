package dev.steer.engine.search;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * One layer's search: its vector norm, the question norm its ratios use, and the steps in order.
 */
public record LayerTrajectory(int layer, double vectorNorm, double questionNorm, List<SearchStep> steps) {
    public LayerTrajectory {
        steps = List.copyOf(steps);
    }

    /**
     * The best coherent step: for a positive search the highest trait mean, for a negative one the lowest (the
     * strongest suppression). Steps without a trait mean are skipped; ties go to the earlier step.
     */
    public Optional<SearchStep> best(Direction direction) {
        Comparator<SearchStep> byTrait = Comparator.comparingDouble(SearchStep::traitMean);
        if (direction == Direction.NEGATIVE) byTrait = byTrait.reversed();
        SearchStep best = null;
        for (SearchStep s : steps) {
            if (!s.coherent() || s.traitMean() == null) continue;
            if (best == null || byTrait.compare(s, best) > 0) best = s;
        }
        return Optional.ofNullable(best);
    }
}
