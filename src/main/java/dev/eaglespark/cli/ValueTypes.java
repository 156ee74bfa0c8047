package dev.eaglespark.cli;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import picocli.CommandLine;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.OptionSpec;

/**
 * How option values become Java values: numbers (surrounding blanks ignored), comma-separated
 * token ids, DJL's device and dtype, every type of the project that reads itself with a static
 * {@code parse(String)} (DeviceChoice, Precision, LossType, ...) and any other enum of the
 * project by its constants' names in lower case. A value that does not
 * convert throws IllegalArgumentException, whose message {@link OptionParser} puts after the
 * option's name in the usage error.
 */
final class ValueTypes {
    private ValueTypes() {}

    /** Registers the converters of every type the options of {@code cl}'s command hold. */
    static void register(CommandLine cl) {
        register(cl, Integer.class, int.class, "an integer", s -> Integer.parseInt(s.strip()));
        register(cl, Long.class, long.class, "an integer", s -> Long.parseLong(s.strip()));
        register(cl, Double.class, double.class, "a number", s -> Double.parseDouble(s.strip()));
        cl.registerConverter(long[].class, ValueTypes::ids);
        cl.registerConverter(Device.class, ValueTypes::device);
        cl.registerConverter(DataType.class, ValueTypes::dtype);
        for (OptionSpec o : cl.getCommandSpec().options()) {
            for (Class<?> type : o.auxiliaryTypes()) {
                if (!type.getName().startsWith("dev.eaglespark.")) {
                    continue;
                }
                ITypeConverter<?> parse = selfParsing(type);
                if (parse == null && type.isEnum()) {
                    parse = byName(type.getEnumConstants());
                }
                if (parse != null) {
                    registerUnchecked(cl, type, parse);
                }
            }
        }
    }

    private static <T> void register(CommandLine cl, Class<T> boxed, Class<T> primitive, String what,
                                     Function<String, T> parse) {
        ITypeConverter<T> c = s -> {
            try {
                return parse.apply(s);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("needs " + what + ", got '" + s + "'");
            }
        };
        cl.registerConverter(boxed, c);
        cl.registerConverter(primitive, c);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static void registerUnchecked(CommandLine cl, Class type, ITypeConverter c) {
        cl.registerConverter(type, c);
    }

    /** The type's own {@code static T parse(String)}, or null. */
    private static ITypeConverter<?> selfParsing(Class<?> type) {
        Method parse;
        try {
            parse = type.getMethod("parse", String.class);
        } catch (NoSuchMethodException e) {
            return null;
        }
        if (!Modifier.isStatic(parse.getModifiers()) || parse.getReturnType() != type) {
            return null;
        }
        return s -> {
            try {
                return parse.invoke(null, s);
            } catch (InvocationTargetException e) {
                throw e.getCause() instanceof IllegalArgumentException bad ? bad : e;
            }
        };
    }

    /** An enum constant by its name in any case; the error lists the names in lower case. */
    private static ITypeConverter<?> byName(Object[] constants) {
        List<String> names = Arrays.stream(constants).map(c -> ((Enum<?>) c).name().toLowerCase(Locale.ROOT)).toList();
        return s -> {
            int i = names.indexOf(s.toLowerCase(Locale.ROOT));
            if (i < 0) {
                throw new IllegalArgumentException("must be " + String.join(", ", names.subList(0, names.size() - 1))
                        + " or " + names.get(names.size() - 1) + ", got '" + s + "'");
            }
            return constants[i];
        };
    }

    /** Comma-separated token ids of one sequence. */
    static long[] ids(String s) {
        try {
            return Arrays.stream(s.split(",")).map(String::trim).filter(x -> !x.isEmpty())
                    .mapToLong(Long::parseLong).toArray();
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("needs comma-separated integers, got '" + s + "'");
        }
    }

    static Device device(String s) {
        return switch (s) {
            case "cpu" -> Device.cpu();
            case "gpu", "cuda" -> Device.gpu();
            default -> throw new IllegalArgumentException("must be cpu or gpu, got '" + s + "'");
        };
    }

    static DataType dtype(String s) {
        return switch (s) {
            case "fp32", "float32" -> DataType.FLOAT32;
            case "fp16", "float16" -> DataType.FLOAT16;
            default -> throw new IllegalArgumentException("must be fp32 or fp16, got '" + s + "'");
        };
    }
}
