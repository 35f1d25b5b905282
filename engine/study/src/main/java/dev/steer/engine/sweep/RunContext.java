package dev.steer.engine.sweep;

import dev.steer.engine.generation.GenerationOptions;
import dev.steer.engine.steering.Positions;
import dev.steer.engine.store.ModelRecord;
import dev.steer.engine.store.RunConfig;

import java.util.List;

/**
 * What every run of one sweep or search shares: the stored model, the trait, the eval questions, the judges'
 * ids and the generation settings. Together with a candidate it determines a run's {@link RunConfig}.
 */
public record RunContext(ModelRecord model, String trait, List<String> questions, Positions positions,
                         String traitJudge, String coherenceJudge, GenerationOptions generation) {
    public RunContext {
        questions = List.copyOf(questions);
    }

    /** The config of a run of {@code c}; {@code vectorSha256} is null for the baseline. */
    public RunConfig config(Candidate c, String vectorSha256) {
        return new RunConfig(model.fingerprint(), vectorSha256, trait, c.layer(), c.coef(),
                c.steered() ? positions.cliName() : "none", traitJudge, coherenceJudge,
                RunConfig.questionsHash(questions), generation.maxNewTokens(), generation.seed(), generation.temperature());
    }
}
