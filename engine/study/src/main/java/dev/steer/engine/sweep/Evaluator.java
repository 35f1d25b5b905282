package dev.steer.engine.sweep;

import dev.steer.engine.judge.Judge;
import dev.steer.engine.law.PerturbationRatio;
import dev.steer.engine.judge.JudgeItem;
import dev.steer.engine.store.ResponseRecord;
import dev.steer.engine.telemetry.HookTelemetry;
import dev.steer.engine.trait.TraitDataset;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;

/**
 * Generates every candidate's answers (one {@link Responder} call, so all candidates share batches), then scores
 * them all with the trait judge and all with the coherence judge (one call each, so a remote judge works in
 * parallel), and aggregates per candidate.
 */
public final class Evaluator {
    private final TraitDataset trait;
    private final List<String> questions;
    private final Responder responder;
    private final Judge traitJudge;
    private final Judge coherenceJudge;

    public Evaluator(TraitDataset trait, List<String> questions, Responder responder, Judge traitJudge, Judge coherenceJudge) {
        if (questions.isEmpty()) throw new IllegalArgumentException("no questions to evaluate on");
        this.trait = trait;
        this.questions = List.copyOf(questions);
        this.responder = responder;
        this.traitJudge = traitJudge;
        this.coherenceJudge = coherenceJudge;
    }

    public List<String> questions() {
        return questions;
    }

    public List<Evaluation> evaluate(List<Candidate> candidates) {
        if (candidates.isEmpty()) return List.of();
        List<List<Answer>> answers = responder.answer(candidates);
        List<JudgeItem> traitItems = new ArrayList<>(), coherenceItems = new ArrayList<>();
        for (List<Answer> perCandidate : answers) {
            for (int i = 0; i < questions.size(); i++) {
                String q = questions.get(i), a = perCandidate.get(i).text();
                traitItems.add(new JudgeItem(trait.traitPrompt(q, a), q, a));
                coherenceItems.add(new JudgeItem(trait.coherencePrompt(q, a), q, a));
            }
        }
        List<OptionalDouble> traitScores = traitJudge.score(traitItems);
        List<OptionalDouble> coherenceScores = coherenceJudge.score(coherenceItems);
        List<Evaluation> out = new ArrayList<>(candidates.size());
        for (int c = 0; c < candidates.size(); c++) {
            Candidate cand = candidates.get(c);
            List<ResponseRecord> responses = new ArrayList<>(questions.size());
            double normSum = 0, promptSum = 0;
            int normRows = 0;
            long promptTokens = 0;
            long tokens = 0;
            for (int i = 0; i < questions.size(); i++) {
                Answer a = answers.get(c).get(i);
                int k = c * questions.size() + i;
                responses.add(new ResponseRecord(i, questions.get(i), a.text(), boxed(traitScores.get(k)),
                        boxed(coherenceScores.get(k))));
                tokens += a.tokens();
                HookTelemetry t = a.telemetry();
                if (t == null) continue;
                if (Double.isFinite(t.steeredNormMean())) {
                    normSum += t.steeredNormMean();
                    normRows++;
                }
                if (t.promptCount() > 0) {
                    promptSum += t.promptNormMean() * t.promptCount();
                    promptTokens += t.promptCount();
                }
            }
            Double steered = normRows == 0 ? null : normSum / normRows;
            Double law = promptTokens == 0 ? null : promptSum / promptTokens;
            double vnorm = cand.steered() ? cand.vector().norm() : 0;
            out.add(new Evaluation(cand, responses, mean(responses, true), mean(responses, false), law,
                    ratio(cand.coef(), vnorm, law), steered, ratio(cand.coef(), vnorm, steered), tokens));
        }
        return out;
    }

    private static Double ratio(double coef, double vectorNorm, Double norm) {
        if (norm == null) return null;
        double r = PerturbationRatio.ratio(coef, vectorNorm, norm);
        return Double.isNaN(r) ? null : r;
    }

    private static Double boxed(OptionalDouble d) {
        return d.isPresent() ? d.getAsDouble() : null;
    }

    private static Double mean(List<ResponseRecord> rs, boolean traitScore) {
        double sum = 0;
        int n = 0;
        for (ResponseRecord r : rs) {
            Double s = traitScore ? r.traitScore() : r.coherenceScore();
            if (s != null) {
                sum += s;
                n++;
            }
        }
        return n == 0 ? null : sum / n;
    }
}
