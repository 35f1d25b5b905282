package dev.steer.engine.generation;

import dev.steer.engine.BadInputException;
import dev.steer.engine.law.PerturbationRatio;
import dev.steer.engine.model.CausalLm;
import dev.steer.engine.steering.RatioSpec;
import dev.steer.engine.steering.SteeringSpec;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * Resolves a request's {@link RatioSpec}s into coefficients from its own prompt: for each layer with ratio specs,
 * in ascending order, one prefill of the prompt steered by the fixed specs and the ratio specs already resolved
 * (steering at a layer never changes the norm measured before the add there or earlier), measuring that layer's
 * {@code activation_norm}. So a request with one ratio spec gets exactly the coef {@code steer ratio} computes for
 * the same prompt; one with ratio specs at several layers gets each measured after the earlier layers' adds.
 */
public final class RatioSteering {
    private RatioSteering() {
    }

    /** {@code fixed} followed by the resolved ratio specs, in the order given. */
    public static List<SteeringSpec> resolve(CausalLm lm, int[] prompt, List<SteeringSpec> fixed, List<RatioSpec> ratios) {
        if (ratios.isEmpty()) return fixed;
        TreeMap<Integer, List<Integer>> byLayer = new TreeMap<>();
        for (int i = 0; i < ratios.size(); i++) byLayer.computeIfAbsent(ratios.get(i).layer(), l -> new ArrayList<>()).add(i);
        SteeringSpec[] resolved = new SteeringSpec[ratios.size()];
        List<SteeringSpec> steering = new ArrayList<>(fixed);
        for (var e : byLayer.entrySet()) {
            int layer = e.getKey();
            double h = PromptNorms.steeredActivationNorm(lm, prompt, steering, layer).mean();
            if (!(h > 0)) throw new BadInputException("ratio at layer " + layer + ": " + PerturbationRatio.undefinedBecause(h));
            for (int i : e.getValue()) {
                resolved[i] = ratios.get(i).resolve(h);
                steering.add(resolved[i]);
            }
        }
        List<SteeringSpec> out = new ArrayList<>(fixed);
        out.addAll(List.of(resolved));
        return out;
    }
}
