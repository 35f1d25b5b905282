package dev.steer.engine.sweep;

import dev.steer.engine.generation.GenerationOptions;
import dev.steer.engine.steering.Positions;
import dev.steer.engine.store.ModelRecord;
import dev.steer.engine.store.RunConfig;
import dev.steer.engine.trait.TraitDataset;

import java.util.Arrays;
import java.util.List;

/**
 * What every run of one sweep or search shares: the stored model, the trait, the eval questions, the judges, the
 * generation settings, and the rest of what changes an answer or its score ({@link Setup}). Together with a
 * candidate it determines a run's {@link RunConfig}.
 *
 * @param traitJudge     the trait judge's id, as runs record it
 * @param coherenceJudge the coherence judge's id
 */
public record RunContext(ModelRecord model, String trait, List<String> questions, Positions positions,
                         String traitJudge, String coherenceJudge, GenerationOptions generation, Setup setup) {
    public RunContext {
        questions = List.copyOf(questions);
    }

    /**
     * What a run's result depends on beyond the model record, the questions and the generation settings.
     *
     * @param chat                whether questions are wrapped in the chat template
     * @param compute             backend and precision, e.g. {@code cpu:default}
     * @param traitSha256         {@link #traitSha256(TraitDataset)} of the trait judged
     * @param traitJudgeScope     the trait judge's {@code Judge.scoreIdentity()}
     * @param coherenceJudgeScope the coherence judge's
     */
    public record Setup(boolean chat, String compute, String traitSha256, String traitJudgeScope, String coherenceJudgeScope) {
    }

    /**
     * SHA-256 of what the judges read of a trait: its description, both definitions and both rubrics. Editing a
     * rubric or a definition changes every score, so runs judged with the old text are not reused.
     */
    public static String traitSha256(TraitDataset t) {
        return RunConfig.textsHash(Arrays.asList(t.description(), t.definitionHigh(), t.definitionLow(), t.traitRubric(),
                t.coherenceRubric()));
    }

    /** The config of a run of {@code c}; {@code vectorSha256} is null for the baseline. */
    public RunConfig config(Candidate c, String vectorSha256) {
        return new RunConfig(model.fingerprint(), vectorSha256, trait, c.layer(), c.coef(),
                c.steered() ? positions.cliName() : "none", setup.traitJudgeScope(), setup.coherenceJudgeScope(),
                RunConfig.questionsHash(questions), generation.maxNewTokens(), generation.seed(), generation.temperature(),
                setup.chat(), setup.traitSha256(), setup.compute());
    }
}
