package dev.steer.cli;

import dev.steer.engine.BadInputException;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ShardTest {
    @Test
    void shardsSplitRoundRobinAndCoverEveryItemOnce() {
        List<String> traits = List.of("refusal", "optimism", "sycophancy", "confidence", "extra");
        assertEquals(List.of("refusal", "sycophancy", "extra"), Shard.parse("0/2").of(traits));
        assertEquals(List.of("optimism", "confidence"), Shard.parse("1/2").of(traits));
        List<String> all = new ArrayList<>();
        for (int i = 0; i < 7; i++) all.addAll(new Shard(i, 7).of(traits));
        assertEquals(traits.stream().sorted().toList(), all.stream().sorted().toList(), "7 shards of 5 items: each once, two empty");
        assertEquals(traits, Shard.WHOLE.of(traits));
        assertEquals("--shard 4/4: I must be in 0..3 (0-based)", assertThrows(BadInputException.class, () -> Shard.parse("4/4")).getMessage());
        assertEquals("--shard 0/0: N must be at least 1", assertThrows(BadInputException.class, () -> Shard.parse("0/0")).getMessage());
        assertEquals("--shard a/b: expected I/N with whole numbers, e.g. 0/4 (I from 0)",
                assertThrows(BadInputException.class, () -> Shard.parse("a/b")).getMessage());
    }
}
