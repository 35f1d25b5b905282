package dev.steer.cli;

import dev.steer.engine.BadInputException;
import picocli.CommandLine;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code --shard I/N}: this process does the I-th of N disjoint parts (I from 0, as a Slurm array index or a
 * Kubernetes Indexed Job's JOB_COMPLETION_INDEX gives it). Work item k belongs to shard {@code k mod N}: a
 * round-robin split of a list every shard computes the same way, so the shards cover it exactly once, and
 * {@code steer merge} puts their databases back together.
 */
record Shard(int index, int count) {
    static final Shard WHOLE = new Shard(0, 1);

    Shard {
        if (count < 1) throw new BadInputException("--shard " + index + "/" + count + ": N must be at least 1");
        if (index < 0 || index >= count)
            throw new BadInputException("--shard " + index + "/" + count + ": I must be in 0.." + (count - 1) + " (0-based)");
    }

    static Shard parse(String text) {
        String[] p = text.split("/", -1);
        if (p.length != 2) throw new BadInputException("--shard " + text + ": expected I/N, e.g. 0/4 (I from 0)");
        try {
            return new Shard(Integer.parseInt(p[0].trim()), Integer.parseInt(p[1].trim()));
        } catch (NumberFormatException e) {
            throw new BadInputException("--shard " + text + ": expected I/N with whole numbers, e.g. 0/4 (I from 0)");
        }
    }

    /** The items of this shard, in their order: item k when {@code k mod N == I}. */
    <T> List<T> of(List<T> items) {
        List<T> out = new ArrayList<>();
        for (int k = 0; k < items.size(); k++) if (k % count == index) out.add(items.get(k));
        return out;
    }

    boolean whole() {
        return count == 1;
    }

    @Override
    public String toString() {
        return index + "/" + count;
    }

    /** picocli's converter: a bad value is a bad-input line naming --shard. */
    static final class Converter implements CommandLine.ITypeConverter<Shard> {
        @Override
        public Shard convert(String value) {
            return parse(value);
        }
    }
}
