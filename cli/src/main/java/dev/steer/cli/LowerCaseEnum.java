package dev.steer.cli;

import dev.steer.engine.extract.Pooling;
import dev.steer.engine.search.Direction;
import dev.steer.engine.steering.Positions;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

import java.util.Arrays;
import java.util.Iterator;
import java.util.Locale;

/**
 * An enum option written in lower case on the command line ({@code --positions all}): the picocli converter, which
 * accepts exactly the lower-case constant names, and the completion candidates, the same names. A bad value is a
 * {@link TypeConversionException} without the flag; {@link Steer} puts the flag in front.
 */
abstract class LowerCaseEnum<E extends Enum<E>> implements ITypeConverter<E>, Iterable<String> {
    private final Class<E> type;

    LowerCaseEnum(Class<E> type) {
        this.type = type;
    }

    /** A constant as the command line writes it. */
    static String cliName(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }

    @Override
    public E convert(String value) {
        for (E e : type.getEnumConstants()) if (cliName(e).equals(value)) return e;
        throw new TypeConversionException("'" + value + "' is not one of " + String.join(", ", this));
    }

    @Override
    public Iterator<String> iterator() {
        return Arrays.stream(type.getEnumConstants()).map(LowerCaseEnum::cliName).iterator();
    }

    /** {@code --positions}: all, prompt, response. */
    static final class OfPositions extends LowerCaseEnum<Positions> {
        OfPositions() {
            super(Positions.class);
        }
    }

    /** {@code --direction}: positive, negative. */
    static final class OfDirection extends LowerCaseEnum<Direction> {
        OfDirection() {
            super(Direction.class);
        }
    }

    /** {@code --pooling}: last, mean. */
    static final class OfPooling extends LowerCaseEnum<Pooling> {
        OfPooling() {
            super(Pooling.class);
        }
    }

    /** {@code --precision}: f32, bf16. */
    static final class OfPrecision extends LowerCaseEnum<Precision> {
        OfPrecision() {
            super(Precision.class);
        }
    }

    /** {@code --format}: text, json. */
    static final class OfFormat extends LowerCaseEnum<OutputFormat.Kind> {
        OfFormat() {
            super(OutputFormat.Kind.class);
        }
    }
}
