package dev.steer.cli;

import dev.steer.engine.BadInputException;
import dev.steer.engine.trait.TraitDataset;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * {@code --trait-name}: what a trait from the user's own files is called where runs, vectors and reports name it
 * (extract's metadata, the results store's runs and their keys). A bundled trait keeps its own name, so a store
 * never holds "optimism" runs under two names.
 */
final class TraitName {
    /** The alphabet of a trait file's {@code name} field: names go into result stores and file names. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]+");

    private TraitName() {
    }

    /** {@code name}, checked; bad input naming the flag when it is outside the alphabet. */
    static String check(String name) {
        if (!NAME.matcher(name).matches())
            throw new BadInputException("--trait-name '" + name + "': use only letters, digits, '-' and '_'");
        return name;
    }

    /** Whether {@code --trait} names a bundled trait (which wins over a file of that name, as {@link TraitDataset#load}). */
    static boolean isBundled(String traitArg) {
        return traitArg != null && TraitDataset.bundled().contains(traitArg.strip().toLowerCase(Locale.ROOT));
    }

    /** {@code --trait} as loaded, renamed by {@code --trait-name} when given; refused for a bundled trait. */
    static TraitDataset load(String traitArg, String traitName) {
        if (traitName != null && isBundled(traitArg))
            throw new BadInputException("--trait-name " + traitName + ": --trait " + traitArg
                    + " is a bundled trait and keeps its name; --trait-name names a trait file or --positive/--negative prompts");
        if (traitName != null) check(traitName);
        TraitDataset t = TraitDataset.load(traitArg);
        if (traitName == null) return t;
        return new TraitDataset(traitName, t.description(), t.definitionHigh(), t.definitionLow(), t.pairs(), t.questions(),
                t.traitRubric(), t.coherenceRubric());
    }
}
