package dev.steer.cli;

import picocli.CommandLine.Option;

import java.util.List;

/** {@code --shard I/N} for sweep and search: this process runs the I-th of N round-robin parts of the configs ({@link Shard}). */
final class ShardOption {
    @Option(names = "--shard", paramLabel = "I/N", converter = Shard.Converter.class,
            description = "Run only every N-th config from the I-th (0-based, e.g. $SLURM_ARRAY_TASK_ID/8); steer merge joins the shards' databases.")
    Shard shard;

    /** The items this process runs: all of them without --shard. */
    <T> List<T> of(List<T> items) {
        return shard == null ? items : shard.of(items);
    }
}
