package dev.steer.engine.report;

import java.util.ArrayList;
import java.util.List;

/**
 * Run sets built to known statistics. Every point has ‖v‖ = ‖h‖ = 1, so its ratio is exactly |coef|, and a
 * baseline trait mean of 40, so its delta is traitMean − 40.
 */
final class SyntheticRuns {
    private SyntheticRuns() {
    }

    static RunPoint point(String trait, int layer, double coef, double coherence, double delta) {
        return RunPoint.of(trait, layer, "mean_diff", coef, 1.0, 1.0, coherence, 40.0 + delta, 40.0);
    }

    /**
     * One trait, 71 runs shaped like DESIGN.md's table. Per bucket (ratios, coherences, deltas):
     * <pre>
     * 0.0-0.3   4 runs  0.05 0.1 0.2 0.299     coh 90 88 86 89.6   delta 2 4 3 3.4
     * 0.3-0.5   4 runs  0.3 0.4(coef −0.4) 0.45 0.49  coh 92 90 89 91  delta −5 −6 −4.6 −6
     * 0.5-0.8  20 runs  0.5 + 0.015 i         coh 17×85 then 3×57   delta 1
     * 0.8-1.0  15 runs  0.8 + 0.0125 i        coh 8×80 then 7×57.5  delta 8.5
     * 1.0-1.3  16 runs  1.0 + 0.018 i         coh 3×76 then 13×48   delta 25.5
     * 1.3+     12 runs  1.3 + 0.1 i           coh 1×70 then 11×36.5 delta 26.2
     * </pre>
     */
    static List<RunPoint> designShaped() {
        List<RunPoint> ps = new ArrayList<>();
        double[] r0 = {0.05, 0.1, 0.2, 0.299}, c0 = {90, 88, 86, 89.6}, d0 = {2, 4, 3, 3.4};
        for (int i = 0; i < 4; i++) ps.add(point("refusal", 6 + i % 2 * 6, r0[i], c0[i], d0[i]));
        double[] r1 = {0.3, -0.4, 0.45, 0.49}, c1 = {92, 90, 89, 91}, d1 = {-5, -6, -4.6, -6};
        for (int i = 0; i < 4; i++) ps.add(point("refusal", 6 + i % 2 * 6, r1[i], c1[i], d1[i]));
        for (int i = 0; i < 20; i++) ps.add(point("refusal", 6 + i % 2 * 6, 0.5 + 0.015 * i, i < 17 ? 85 : 57, 1));
        for (int i = 0; i < 15; i++) ps.add(point("refusal", 6 + i % 2 * 6, 0.8 + 0.0125 * i, i < 8 ? 80 : 57.5, 8.5));
        for (int i = 0; i < 16; i++) ps.add(point("refusal", 6 + i % 2 * 6, 1.0 + 0.018 * i, i < 3 ? 76 : 48, 25.5));
        for (int i = 0; i < 12; i++) ps.add(point("refusal", 6 + i % 2 * 6, 1.3 + 0.1 * i, i < 1 ? 70 : 36.5, 26.2));
        return ps;
    }

    /**
     * Two traits, two layers, with cliffs placed by construction (window 5):
     * <ul>
     *   <li>A, layer 6: ratios 0.1..1.0 (k/10), coherence 90 below 0.5 and 30 from 0.5 → cliff 0.4, mean 42;</li>
     *   <li>A, layer 12: ratios 0.1..1.5, coherence 85 below 1.0 and 20 from 1.0 → cliff 0.8, mean 46;</li>
     *   <li>B, layer 6: ratios 2.0..2.5, coherence 80 → no cliff.</li>
     * </ul>
     * A pooled (ties keep A6 before A12): the window starting at 1.0(A12) averages exactly 50 and is not broken;
     * the first broken one starts at 0.9 (A6): 30, 85, 30, 20, 20 → mean 37.
     */
    static List<RunPoint> twoTraitsTwoLayers() {
        List<RunPoint> ps = new ArrayList<>();
        for (int k = 1; k <= 10; k++) ps.add(point("A", 6, k / 10.0, k < 5 ? 90 : 30, 10));
        for (int k = 1; k <= 15; k++) ps.add(point("A", 12, k / 10.0, k < 10 ? 85 : 20, 20));
        for (int k = 20; k <= 25; k++) ps.add(point("B", 6, k / 10.0, 80, -5));
        return ps;
    }
}
