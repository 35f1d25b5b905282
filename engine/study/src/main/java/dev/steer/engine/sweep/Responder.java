package dev.steer.engine.sweep;

import java.util.List;

/** Produces every candidate's answers to the evaluation questions. */
public interface Responder {
    /** Per candidate (in order), one answer per question (in question order). */
    List<List<Answer>> answer(List<Candidate> candidates);
}
